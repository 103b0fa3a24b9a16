//! Every spec shipped under `infra/platforms/` loads, and carries the names and settings its seed document
//! gives (`../shared/seeds/`, described in its README). The expected values are copied from the seed, not
//! from the spec: each assertion's comment names the seed file and section it comes from.

// Helpers of an integration test may panic: a failing fixture is a failing test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use platform_spec::{Architecture, LogLevel, PlatformSpec, QueueKind, RouteAuth, Tier, WorkflowType};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn platforms_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/platforms")
}

fn load(name: &str) -> PlatformSpec {
    platform_spec::load(&platforms_dir().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_shipped_spec_loads() {
    let mut names = Vec::new();
    for path in platform_spec::spec_files(&platforms_dir()).unwrap() {
        platform_spec::load(&path).unwrap_or_else(|e| panic!("{e}"));
        names.push(path.file_stem().unwrap().to_string_lossy().into_owned());
    }
    assert_eq!(
        names,
        [
            "backoffice-dev",
            "budgetbuddy-prod",
            "collectiq-dev",
            "collectiq-prod"
        ]
    );
}

/// Seed 004 "Build Output": the twelve functions, one bundle each.
const COLLECTIQ_FUNCTIONS: [&str; 12] = [
    "upload_presign",
    "cards_create",
    "cards_list",
    "cards_get",
    "cards_delete",
    "cards_revalue",
    "healthz",
    "pricing_agent",
    "authenticity_agent",
    "rekognition_extract",
    "aggregator",
    "error_handler",
];

/// What both CollectIQ environments share, each value from the seed named in its comment.
fn assert_collectiq_common(spec: &PlatformSpec, env: &str) {
    let mut ids: Vec<&str> = spec.functions.iter().map(|f| f.id.as_str()).collect();
    ids.sort_unstable();
    let mut want = COLLECTIQ_FUNCTIONS;
    want.sort_unstable();
    assert_eq!(ids, want, "004 Build Output: the twelve functions");
    // 000 "Cost Optimization Strategies" → "Lambda Optimization": "Use ARM64 architecture (20% cost
    // savings)" — for every function, as Terraform deploys them (the spec's default is x86_64).
    for f in &spec.functions {
        assert_eq!(f.architecture, Architecture::Arm64, "{}", f.id);
    }
    // 004 "Terraform Integration": `function_name = "${local.stage}-collectiq-upload-presign"`; its
    // "Troubleshooting": `--function-name dev-collectiq-cards-create`. Every function is
    // `<env>-collectiq-<id with dashes>` (000's `collectiq-hackathon-*` is the hackathon environment's).
    for f in &spec.functions {
        assert_eq!(
            f.name,
            format!("{env}-collectiq-{}", f.id.replace('_', "-")),
            "{env}"
        );
    }
    // 001 "Environment Configuration": "DynamoDB: dev-CollectIQ table", "prod-CollectIQ table"; 004's
    // restore runbook: `--source-table-name dev-CollectIQ`.
    assert_eq!(spec.tables[0].name, format!("{env}-CollectIQ"));
    // 004 "Environment Configuration": upload_presign timeout = 10.
    assert_eq!(spec.function("upload_presign").unwrap().timeout_s, 10);
    // 004 "Lambda Function Module": `variable "timeout"` default = 30 — the API's card functions set nothing
    // else. 001 "CloudWatch Alarms" (Critical): any function's error rate > 10 % for 5 minutes pages.
    for id in [
        "cards_create",
        "cards_list",
        "cards_get",
        "cards_delete",
        "cards_revalue",
    ] {
        assert_eq!(spec.function(id).unwrap().timeout_s, 30, "{env} {id}");
    }
    assert_eq!(
        spec.function("error_handler").unwrap().tier,
        platform_spec::Tier::Critical,
        "{env}"
    );
    // 001 "Cost Monitoring": the account's budget, whose EstimatedCharges alarms are CollectIQ's (seed 000).
    assert!(spec.budgets.iter().all(|b| b.billing_alarms), "{env}");
    // 000 "Infrastructure Overview": us-east-1; 001 diagram "AWS Cloud (us-east-1)".
    assert_eq!(spec.platform.region, "us-east-1");
    // 001 "Resource Tagging Strategy": `Owner = "DevOps"` on every resource (the spec's owner is the tag).
    assert_eq!(spec.platform.owner.as_deref(), Some("DevOps"), "{env}");
    // … and `Project = "CollectIQ"`, `CostCenter = "Engineering"`, which the generated alarms carry.
    assert_eq!(spec.platform.project.as_deref(), Some("CollectIQ"), "{env}");
    assert_eq!(spec.platform.cost_center.as_deref(), Some("Engineering"), "{env}");

    // 001 "API Gateway HTTP API Module" → Routes: seven routes, /healthz without auth.
    let api = &spec.http_apis[0];
    let mut routes: Vec<(String, &str)> = api
        .routes
        .iter()
        .map(|r| (r.route_key(), r.function.as_str()))
        .collect();
    routes.sort();
    assert_eq!(
        routes,
        [
            ("DELETE /cards/{id}".to_owned(), "cards_delete"),
            ("GET /cards".to_owned(), "cards_list"),
            ("GET /cards/{id}".to_owned(), "cards_get"),
            ("GET /healthz".to_owned(), "healthz"),
            ("POST /cards".to_owned(), "cards_create"),
            ("POST /cards/{id}/revalue".to_owned(), "cards_revalue"),
            ("POST /upload/presign".to_owned(), "upload_presign"),
        ]
    );
    for r in &api.routes {
        let want = if r.path == "/healthz" {
            RouteAuth::None
        } else {
            RouteAuth::Jwt
        };
        assert_eq!(
            r.auth,
            want,
            "001 JWT authorizer on every route but /healthz: {}",
            r.route_key()
        );
    }

    // 001 "Step Functions Module": RekognitionExtract → Pricing ∥ Authenticity → Aggregator.
    let sm = &spec.state_machines[0];
    assert_eq!(
        sm.tasks,
        [
            "rekognition_extract",
            "pricing_agent",
            "authenticity_agent",
            "aggregator"
        ]
    );
    // 000 Warning Alarms / 001: "Step Functions duration > 30 seconds".
    assert_eq!(sm.expected_duration_s, 30);
    // 001 "Step Functions Module": "DLQ for persistent failures"; "EventBridge Module": DLQ for failed deliveries.
    assert_eq!(spec.dlqs().count(), 2);
    assert!(spec.queues.iter().all(|q| q.kind == QueueKind::Dlq));

    // 001 "DynamoDB Module": PK/SK single table, GSI1 userId + createdAt, GSI2 set#rarity + valueMedian;
    // GSI3 (not in the seeds) is the stuck-valuation sweep's sparse, sharded index.
    let table = &spec.tables[0];
    assert_eq!(
        (table.partition_key.as_str(), table.sort_key.as_deref()),
        ("PK", Some("SK"))
    );
    let gsis: Vec<_> = table
        .gsis
        .iter()
        .map(|g| (g.name.as_str(), g.partition_key.as_str(), g.sort_key.as_deref()))
        .collect();
    assert_eq!(
        gsis,
        [
            ("GSI1", "userId", Some("createdAt")),
            ("GSI2", "setRarity", Some("valueMedian")),
            ("GSI3", "valuingShard", Some("updatedAt")),
        ]
    );

    // 000 "Compute & Orchestration": Amazon Bedrock (Claude 3.5 Sonnet).
    assert_eq!(spec.bedrock_models[0].label, "Claude 3.5 Sonnet");
    assert!(spec.model_aliases().is_empty());
    // 001 "IAM Least Privilege": only authenticity_agent has bedrock:InvokeModel.
    assert_eq!(
        spec.bedrock_models[0]
            .agents
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        ["authenticity"]
    );

    // 001 "Cost Monitoring": "alert at 80% and 100%".
    assert_eq!(spec.budgets.len(), 1);
    assert_eq!(spec.budgets[0].actual_thresholds_percent, [80, 100]);
    // 004 "Support": devops@collectiq.com.
    assert_eq!(spec.notifications.email, ["devops@collectiq.com"]);
    // No sampling rate is given for CollectIQ: Lambda's default applies.
    assert_eq!(spec.platform.xray_sampling(), None);
}

/// Seed 000 "Monthly Cost Breakdown" (50,000 card valuations per month), per component, in USD.
const SEED_000_COST_TABLE: [(&str, Decimal); 8] = [
    ("lambda", dec!(11)),
    ("bedrock", dec!(75)),
    ("rekognition", dec!(50)),
    ("dynamodb", dec!(15)),
    ("s3", dec!(5)),
    ("api_gateway", dec!(5)),
    ("step_functions", dec!(5)),
    ("cloudwatch", dec!(10)),
];

#[test]
fn collectiq_prod_carries_seed_000_001_004() {
    let spec = load("collectiq-prod.toml");
    assert_collectiq_common(&spec, "prod");
    for f in &spec.functions {
        // 001 "Environment Configuration" → Production: "Lambda: 1024MB memory, info logging only".
        assert_eq!(f.memory_mb, 1024, "{}", f.id);
        assert_eq!(f.runtime, "provided.al2023", "{}", f.id);
    }
    assert_eq!(spec.platform.log_level, Some(LogLevel::Info));
    // 001 "Environment Configuration" → Production: "Step Functions: Express workflows for performance".
    assert_eq!(spec.state_machines[0].workflow_type, WorkflowType::Express);
    // 001 "Cost Monitoring": Prod $500/month.
    assert_eq!(spec.budgets[0].limit_usd, dec!(500));
    // 001 "Structured Logging" → Log Retention: Prod 90 days.
    assert_eq!(spec.platform.log_retention_days, 90);

    // 000 "Monthly Cost Breakdown": each component, and $176 for 50k valuations.
    let model = spec.cost.design_model.as_ref().unwrap();
    assert_eq!(model.valuations_per_month, 50_000);
    assert_eq!(model.components_usd.len(), SEED_000_COST_TABLE.len());
    for (component, usd) in SEED_000_COST_TABLE {
        assert_eq!(model.components_usd.get(component), Some(&usd), "{component}");
    }
    assert_eq!(model.total_usd(), dec!(176));
    // 000: "50k invocations × 1200 tokens" (split 1,000 in / 200 out).
    let tokens = model.tokens_per_valuation.unwrap();
    assert_eq!(tokens.input + tokens.output, 1200);
}

#[test]
fn collectiq_dev_carries_seed_001_004() {
    let spec = load("collectiq-dev.toml");
    assert_collectiq_common(&spec, "dev");
    for f in &spec.functions {
        // 001 "Environment Configuration" → Development: "Lambda: 512MB memory, debug logging enabled".
        assert_eq!(f.memory_mb, 512, "{}", f.id);
    }
    assert_eq!(spec.platform.log_level, Some(LogLevel::Debug));
    // 001 "Environment Configuration" → Development: "Step Functions: Standard workflows for debugging".
    assert_eq!(spec.state_machines[0].workflow_type, WorkflowType::Standard);
    // 001 "Cost Monitoring": Dev $50/month.
    assert_eq!(spec.budgets[0].limit_usd, dec!(50));
    // 001 "Structured Logging" → Log Retention: Dev 30 days.
    assert_eq!(spec.platform.log_retention_days, 30);

    // Dev's model is seed 000's table at 2,000 valuations: every component costs what it costs per
    // valuation in the seed (component / 50,000).
    let model = spec.cost.design_model.as_ref().unwrap();
    assert_eq!(model.valuations_per_month, 2000);
    let per_valuation = |usd: Decimal, n: u64| usd / Decimal::from(n);
    for (component, usd) in SEED_000_COST_TABLE {
        let dev = *model.components_usd.get(component).unwrap();
        assert_eq!(
            per_valuation(dev, 2000),
            per_valuation(usd, 50_000),
            "{component}"
        );
    }
    assert_eq!(per_valuation(model.total_usd(), 2000), dec!(0.00352));
}

#[test]
fn backoffice_dev_carries_seed_002() {
    let spec = load("backoffice-dev.toml");
    // 002 "Components" → CMDB: AppRegistry `backoffice-dev`.
    assert_eq!(spec.managed_prefix(), "backoffice-dev");
    assert_eq!(spec.functions.len(), 1);
    let f = &spec.functions[0];
    // 002 "Monitoring"/"Operations": `--function-name dev-backoffice-api`.
    assert_eq!(f.name, "dev-backoffice-api");
    assert_eq!(f.log_group(), "/aws/lambda/dev-backoffice-api");
    // 002 "Components" → Compute: "Lambda (Arm64) | Python 3.11, 256 MB, 30s timeout".
    assert_eq!(f.runtime, "python3.11");
    assert_eq!(f.architecture, Architecture::Arm64);
    assert_eq!(f.memory_mb, 256);
    assert_eq!(f.timeout_s, 30);
    // Not on a user's critical path: its alarms warn (the seed lists "Errors, throttles, 5xx").
    assert_eq!(f.tier, Tier::Standard);
    // 002 "Components" → Tracing: "Active tracing (5% sampling)".
    let sampling = spec.platform.xray_sampling().unwrap();
    assert_eq!(sampling.percent(), 5);
    assert!((sampling.fixed_rate() - 0.05).abs() < f64::EPSILON);
    // 002 "Components" → Logging: "7-day retention".
    assert_eq!(spec.platform.log_retention_days, 7);
    // 002 "Update Environment Variables": LOG_LEVEL=INFO.
    assert_eq!(spec.platform.log_level, Some(LogLevel::Info));
    // 002 "CloudWatch Logs": `aws logs tail /aws/apigateway/dev-backoffice`.
    assert_eq!(
        spec.http_apis[0].access_log_group.as_deref(),
        Some("/aws/apigateway/dev-backoffice")
    );
    // 002 "Components" → Monitoring: "CloudWatch Alarms | Errors, throttles, 5xx" — no latency alarms.
    assert!(!spec.http_apis[0].latency_alarms);
    assert!(
        !spec.http_apis[0].page_on_5xx,
        "seed 002 gives Backoffice's 5xx no severity: a warning"
    );
    // 002 "DynamoDB Operations": table dev-backoffice-data, key {id, timestamp}, index StatusIndex on status.
    let t = &spec.tables[0];
    assert_eq!(t.name, "dev-backoffice-data");
    assert_eq!(
        (t.partition_key.as_str(), t.sort_key.as_deref()),
        ("id", Some("timestamp"))
    );
    assert_eq!(t.gsis.len(), 1);
    assert_eq!(
        (t.gsis[0].name.as_str(), t.gsis[0].partition_key.as_str()),
        ("StatusIndex", "status")
    );
    // The budget is ours (002 estimates $4–9/month); its thresholds are the usual 80/100.
    assert_eq!(spec.budgets[0].actual_thresholds_percent, [80, 100]);
    // Its account also runs CollectIQ dev (seed 001: $50): account-wide EstimatedCharges alarms would
    // page Backoffice for CollectIQ's spend.
    assert!(!spec.budgets[0].billing_alarms);
}

#[test]
fn budgetbuddy_prod_carries_seed_003() {
    let spec = load("budgetbuddy-prod.toml");
    assert!(spec.functions.is_empty());
    let svc = &spec.ecs_services[0];
    // 003 "Deployment Procedures": `--cluster budgetbuddy-cluster --services budgetbuddy-backend`.
    assert_eq!(svc.cluster, "budgetbuddy-cluster");
    assert_eq!(svc.service, "budgetbuddy-backend");
    // 003 "Infrastructure Components": ECS Fargate.
    assert_eq!(svc.launch_type, "FARGATE");
    // 003 "Auto-Scaling Configuration": Min Capacity 2 tasks.
    assert_eq!(svc.desired_count, 2);
    // 003 "Application Dashboard" and "High Error Rate": /aws/ecs/budgetbuddy-cluster.
    assert_eq!(svc.log_group.as_deref(), Some("/aws/ecs/budgetbuddy-cluster"));
    // 003 "Infrastructure Components": Application Load Balancer.
    assert!(svc.load_balancer.is_some());
    // 003 "DynamoDB Throttling" / "Backup Procedure": BudgetBuddy-Transactions, BudgetBuddy-Users.
    let tables: Vec<&str> = spec.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tables, ["BudgetBuddy-Transactions", "BudgetBuddy-Users"]);
    assert!(
        spec.tables.iter().all(|t| t.gsis.is_empty()),
        "003 names no index"
    );
    // 003 "Key Metrics": alert on any throttling event (a warning); "Severity Levels": capacity issues
    // are Medium, so throttling never pages.
    assert!(spec.tables.iter().all(|t| !t.page_on_throttling));
    // 003 "Alert Channels": SNS budgetbuddy-alarms topic (one topic for every alarm).
    for arn in [
        &spec.notifications.sns_critical_topic_arn,
        &spec.notifications.sns_warning_topic_arn,
    ] {
        assert!(arn.ends_with(":budgetbuddy-alarms"), "{arn}");
    }
    // 003 "Alert Channels": Email ops@budgetbuddy.com.
    assert_eq!(spec.notifications.email, ["ops@budgetbuddy.com"]);
    // 003 "Cost Monitoring": "Budget Alerts: 80% and 100% thresholds".
    assert_eq!(spec.budgets[0].actual_thresholds_percent, [80, 100]);
    // 003 "Cost Monitoring": Budgets' 80 % and 100 % alerts only; "Severity Levels": Critical is an
    // outage, a breach or a security incident — no EstimatedCharges page.
    assert!(!spec.budgets[0].billing_alarms);
    // 003 "Deployment Procedures": us-east-1.
    assert_eq!(spec.platform.region, "us-east-1");
    // 003 "CloudWatch Dashboards": "Compliance Dashboard: PCI-DSS, SOC2, HIPAA metrics".
    assert_eq!(spec.platform.compliance_frameworks, ["PCI-DSS", "SOC2", "HIPAA"]);
}

//! Every spec shipped under `infra/platforms/` loads, and has what its platform is known to have.

use std::path::PathBuf;

fn platforms_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/platforms")
}

fn load(name: &str) -> platform_spec::PlatformSpec {
    platform_spec::load(&platforms_dir().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_shipped_spec_loads() {
    let mut n = 0;
    for entry in std::fs::read_dir(platforms_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            platform_spec::load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert_eq!(n, 4);
}

#[test]
fn collectiq_prod_matches_the_seed_design() {
    let spec = load("collectiq-prod.toml");
    assert_eq!(spec.functions.len(), 12);
    let mem = |id: &str| spec.function(id).unwrap().memory_mb;
    for id in ["upload_presign", "cards_list", "cards_get"] {
        assert_eq!(mem(id), 512, "{id}");
    }
    for id in ["rekognition_extract", "pricing_agent", "authenticity_agent"] {
        assert_eq!(mem(id), 1024, "{id}");
    }
    assert_eq!(spec.http_apis[0].routes.len(), 7);
    assert_eq!(spec.state_machines.len(), 1);
    let gsis: Vec<_> = spec.tables[0].gsis.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(gsis, ["GSI1", "GSI2"]);
    assert_eq!(spec.dlqs().count(), 2);
    assert!(spec.bedrock_models[0].label.contains("Claude 3.5 Sonnet"));
    assert_eq!(spec.budgets[0].limit_usd, rust_decimal::Decimal::from(500));
    assert_eq!(spec.budgets[0].actual_thresholds_percent, [80, 100]);
    assert_eq!(spec.platform.log_retention_days, 90);
    let model = spec.cost.design_model.as_ref().unwrap();
    assert_eq!(model.total_usd(), rust_decimal::Decimal::from(176));
    assert_eq!(model.valuations_per_month, 50_000);
    assert_eq!(
        model.tokens_per_valuation,
        Some(platform_spec::TokensPerValuation {
            input: 1000,
            output: 200
        })
    );
    assert!(spec.model_aliases().is_empty());
}

#[test]
fn collectiq_dev_differs_where_the_seed_says() {
    let spec = load("collectiq-dev.toml");
    assert_eq!(spec.functions.len(), 12);
    assert_eq!(spec.budgets[0].limit_usd, rust_decimal::Decimal::from(50));
    assert_eq!(spec.platform.log_retention_days, 30);
    let model = spec.cost.design_model.as_ref().unwrap();
    assert_eq!(model.valuations_per_month, 2000);
    assert_eq!(
        model.tokens_per_valuation.map(|t| (t.input, t.output)),
        Some((1000, 200))
    );
}

#[test]
fn backoffice_and_budgetbuddy() {
    let bo = load("backoffice-dev.toml");
    assert_eq!(bo.functions[0].name, "dev-backoffice-api");
    assert_eq!(bo.functions[0].runtime, "python3.12");
    assert_eq!(bo.tables[0].name, "dev-backoffice-data");
    assert_eq!(bo.platform.log_retention_days, 7);
    assert_eq!(bo.platform.xray_sampling_percent, Some(5));
    let bb = load("budgetbuddy-prod.toml");
    assert_eq!(bb.ecs_services.len(), 1);
    assert!(bb.ecs_services[0].load_balancer.is_some());
    assert_eq!(bb.budgets[0].actual_thresholds_percent, [80, 100]);
}

//! Every client the product uses really round-trips through the emulator, with the current SDKs.

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StateValue, Statistic,
};
use aws_smithy_types::DateTime;
use collectiq_tests::{CostAndUsagePage, TestEnv};
use serde_json::json;

const T0: i64 = 1_795_000_000; // 2026-11-18, a fixed instant so periods are predictable

#[tokio::test]
async fn cloudwatch_metrics_put_and_get_sum() {
    let env = TestEnv::start().await;
    let cw = &env.clients.cloudwatch;
    let dim = Dimension::builder().name("service").value("collectiq").build();
    // 1,200 datums: the SDK gzips a body this large, and the front must undo that.
    let data: Vec<MetricDatum> = (0..1200)
        .map(|i| {
            MetricDatum::builder()
                .metric_name("CardsValued")
                .dimensions(dim.clone())
                .timestamp(DateTime::from_secs(T0 + (i % 10) * 60))
                .value(1.0)
                .build()
        })
        .collect();
    for chunk in data.chunks(1000) {
        cw.put_metric_data()
            .namespace("CollectIQ")
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
    }
    let query = MetricDataQuery::builder()
        .id("cards")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("CollectIQ")
                        .metric_name("CardsValued")
                        .dimensions(dim)
                        .build(),
                )
                .period(60)
                .stat("Sum")
                .build(),
        )
        .build();
    let got = cw
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(DateTime::from_secs(T0))
        .end_time(DateTime::from_secs(T0 + 600))
        .send()
        .await
        .unwrap();
    let result = &got.metric_data_results()[0];
    assert_eq!(result.id(), Some("cards"));
    assert_eq!(result.values().len(), 10);
    assert_eq!(result.values().iter().sum::<f64>(), 1200.0);
    assert!(result.values().iter().all(|v| *v == 120.0));
    let mut stamps: Vec<i64> = result.timestamps().iter().map(DateTime::secs).collect();
    stamps.sort_unstable();
    assert_eq!(stamps, (0..10).map(|i| T0 + i * 60).collect::<Vec<_>>());
}

#[tokio::test]
async fn cloudwatch_dashboards_round_trip_verbatim() {
    let env = TestEnv::start().await;
    let cw = &env.clients.cloudwatch;
    let body = json!({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 24, "height": 2,
        "properties": {"markdown": "# CollectIQ"}}]})
    .to_string();
    cw.put_dashboard()
        .dashboard_name("collectiq-prod-overview")
        .dashboard_body(&body)
        .send()
        .await
        .unwrap();
    let got = cw
        .get_dashboard()
        .dashboard_name("collectiq-prod-overview")
        .send()
        .await
        .unwrap();
    assert_eq!(got.dashboard_body(), Some(body.as_str()));
    let missing = cw
        .get_dashboard()
        .dashboard_name("nope")
        .send()
        .await
        .unwrap_err();
    assert!(
        missing.into_service_error().is_dashboard_not_found_error(),
        "a missing dashboard is a typed error"
    );
}

#[tokio::test]
async fn cloudwatch_alarms_put_describe_and_set_state() {
    let env = TestEnv::start().await;
    let cw = &env.clients.cloudwatch;
    cw.put_metric_alarm()
        .alarm_name("collectiq-prod-fn-cards-get-errors-critical")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(
            Dimension::builder()
                .name("FunctionName")
                .value("prod-collectiq-cards-get")
                .build(),
        )
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(5)
        .datapoints_to_alarm(5)
        .threshold(10.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .alarm_description("Runbook: alarms/runbooks/lambda-errors.md")
        .alarm_actions("arn:aws:sns:us-east-1:123456789012:collectiq-prod-alarms-critical")
        .send()
        .await
        .unwrap();
    cw.set_alarm_state()
        .alarm_name("collectiq-prod-fn-cards-get-errors-critical")
        .state_value(StateValue::Alarm)
        .state_reason("test")
        .send()
        .await
        .unwrap();
    let got = cw
        .describe_alarms()
        .alarm_name_prefix("collectiq-prod-")
        .send()
        .await
        .unwrap();
    let alarm = &got.metric_alarms()[0];
    assert_eq!(
        alarm.alarm_name(),
        Some("collectiq-prod-fn-cards-get-errors-critical")
    );
    assert_eq!(alarm.state_value(), Some(&StateValue::Alarm));
    assert_eq!(alarm.threshold(), Some(10.0));
    assert_eq!(alarm.evaluation_periods(), Some(5));
    assert_eq!(alarm.dimensions()[0].value(), Some("prod-collectiq-cards-get"));
    assert!(alarm.state_updated_timestamp().is_some());
}

#[tokio::test]
async fn logs_put_and_filter() {
    let env = TestEnv::start().await;
    let logs = &env.clients.logs;
    let group = "/aws/lambda/prod-collectiq-cards-get";
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name("s")
        .send()
        .await
        .unwrap();
    let event = |t: i64, m: &str| {
        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(t)
            .message(m)
            .build()
            .unwrap()
    };
    // CloudWatch Logs (and moto) reject events older than 14 days or the group's retention, so log
    // events are stamped relative to the wall clock, not the fixed T0 the metric tests use.
    let t = chrono::Utc::now().timestamp_millis() - 60_000;
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("s")
        .log_events(event(t, r#"{"level":"INFO","message":"ok"}"#))
        .log_events(event(t + 1, r#"{"level":"ERROR","message":"boom"}"#))
        .send()
        .await
        .unwrap();
    let found = logs
        .filter_log_events()
        .log_group_name(group)
        .filter_pattern("ERROR")
        .send()
        .await
        .unwrap();
    assert_eq!(found.events().len(), 1);
    assert!(found.events()[0].message().unwrap().contains("boom"));
}

#[tokio::test]
async fn cost_explorer_returns_the_injected_page() {
    let env = TestEnv::start().await;
    let page: CostAndUsagePage = serde_json::from_value(json!({
        "ResultsByTime": [{
            "TimePeriod": {"Start": "2026-11-20", "End": "2026-11-21"}, "Total": {}, "Estimated": true,
            "Groups": [{"Keys": ["Claude 3.5 Sonnet (Amazon Bedrock Edition)", "Environment$prod"],
                        "Metrics": {"UnblendedCost": {"Amount": "11.2634000000000012", "Unit": "USD"}}}]}],
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}],
    }))
    .unwrap();
    env.emulator.inject_cost_and_usage(&[page]).await.unwrap();
    let period = aws_sdk_costexplorer::types::DateInterval::builder()
        .start("2026-11-20")
        .end("2026-11-21")
        .build()
        .unwrap();
    let got = env
        .clients
        .cost_explorer
        .get_cost_and_usage()
        .time_period(period)
        .granularity(aws_sdk_costexplorer::types::Granularity::Daily)
        .metrics("UnblendedCost")
        .group_by(
            aws_sdk_costexplorer::types::GroupDefinition::builder()
                .r#type(aws_sdk_costexplorer::types::GroupDefinitionType::Dimension)
                .key("SERVICE")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let day = &got.results_by_time()[0];
    assert!(day.estimated());
    let group = &day.groups()[0];
    assert_eq!(group.keys()[0], "Claude 3.5 Sonnet (Amazon Bedrock Edition)");
    let amount = group.metrics().unwrap()["UnblendedCost"].amount().unwrap();
    // Long decimal strings arrive intact: parse them as Decimal, never f64.
    assert_eq!(
        amount
            .parse::<rust_decimal::Decimal>()
            .unwrap()
            .round_dp(4)
            .to_string(),
        "11.2634"
    );
}

#[tokio::test]
async fn budgets_echo_the_injected_spend() {
    use aws_sdk_budgets::types::{Budget, BudgetType, CalculatedSpend, Spend, TimeUnit};
    let env = TestEnv::start().await;
    let spend = |a: &str| Spend::builder().amount(a).unit("USD").build().unwrap();
    let budget = Budget::builder()
        .budget_name("collectiq-prod-monthly")
        .budget_type(BudgetType::Cost)
        .time_unit(TimeUnit::Monthly)
        .budget_limit(spend("500"))
        .calculated_spend(
            CalculatedSpend::builder()
                .actual_spend(spend("312.40"))
                .forecasted_spend(spend("521.10"))
                .build(),
        )
        .build()
        .unwrap();
    let b = &env.clients.budgets;
    b.create_budget()
        .account_id("123456789012")
        .budget(budget)
        .send()
        .await
        .unwrap();
    let got = b
        .describe_budgets()
        .account_id("123456789012")
        .send()
        .await
        .unwrap();
    let spend = got.budgets()[0].calculated_spend().unwrap();
    assert_eq!(spend.actual_spend().unwrap().amount(), "312.40");
    assert_eq!(spend.forecasted_spend().unwrap().amount(), "521.10");
}

#[tokio::test]
async fn xray_segments_round_trip() {
    let env = TestEnv::start().await;
    let trace_id = "1-6920f1a0-000000000000c011ec710001";
    let doc = json!({"name": "prod-collectiq-authenticity-agent", "id": "00000000005eed01", "trace_id": trace_id,
        "start_time": 1_795_000_000.0, "end_time": 1_795_000_002.5, "fault": true});
    env.clients
        .xray
        .put_trace_segments()
        .trace_segment_documents(doc.to_string())
        .send()
        .await
        .unwrap();
    let got = env
        .clients
        .xray
        .batch_get_traces()
        .trace_ids(trace_id)
        .send()
        .await
        .unwrap();
    let segment = &got.traces()[0].segments()[0];
    let parsed: serde_json::Value = serde_json::from_str(segment.document().unwrap()).unwrap();
    assert_eq!(parsed["name"], "prod-collectiq-authenticity-agent");
    assert_eq!(parsed["fault"], true);
}

#[tokio::test]
async fn sns_publish_is_read_back() {
    let env = TestEnv::start().await;
    let arn = env
        .clients
        .sns
        .create_topic()
        .name("collectiq-prod-alarms-critical")
        .send()
        .await
        .unwrap();
    let arn = arn.topic_arn().unwrap();
    env.clients
        .sns
        .publish()
        .topic_arn(arn)
        .subject("CollectIQ prod: budget 150 %")
        .message("Spend is 152 % of budget.")
        .message_attributes(
            "severity",
            aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("critical")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let sent = env.emulator.sns_messages().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].topic_arn, arn);
    assert_eq!(sent[0].subject.as_deref(), Some("CollectIQ prod: budget 150 %"));
    assert_eq!(sent[0].message, "Spend is 152 % of budget.");
    assert_eq!(
        sent[0].attributes,
        [("severity".to_owned(), "critical".to_owned())]
    );
}

#[tokio::test]
async fn dynamodb_conditional_put_and_query() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let env = TestEnv::start().await;
    let db = &env.clients.dynamodb;
    governance::ledger::Ledger::create_table(db, "ledger")
        .await
        .unwrap();
    let claim = || {
        db.put_item()
            .table_name("ledger")
            .item("pk", AttributeValue::S("collectiq#prod#2026-11".into()))
            .item("sk", AttributeValue::S("tier#100".into()))
            .condition_expression("attribute_not_exists(pk)")
    };
    claim().send().await.unwrap();
    let second = claim().send().await.unwrap_err();
    assert!(
        second
            .into_service_error()
            .is_conditional_check_failed_exception(),
        "fire-once claim must fail typed"
    );
    let got = db
        .query()
        .table_name("ledger")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", AttributeValue::S("collectiq#prod#2026-11".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(got.count(), 1);
}

#[tokio::test]
async fn secrets_manager_value_round_trips() {
    let env = TestEnv::start().await;
    let s = &env.clients.secrets;
    s.create_secret()
        .name("collectiq/prod/slack-webhook")
        .secret_string("https://hooks.slack.com/services/T/B/X")
        .send()
        .await
        .unwrap();
    let got = s
        .get_secret_value()
        .secret_id("collectiq/prod/slack-webhook")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.secret_string(),
        Some("https://hooks.slack.com/services/T/B/X")
    );
}

#[tokio::test]
async fn reset_wipes_state() {
    let env = TestEnv::start().await;
    env.clients.sns.create_topic().name("t").send().await.unwrap();
    env.emulator.reset().await.unwrap();
    assert!(
        env.clients
            .sns
            .list_topics()
            .send()
            .await
            .unwrap()
            .topics()
            .is_empty()
    );
}

#[tokio::test]
async fn dropping_the_emulator_stops_its_process() {
    let env = TestEnv::start().await;
    let endpoint = env.emulator.endpoint().to_owned();
    let http = env.emulator.http().clone();
    assert!(
        http.get(format!("{endpoint}/__front/health"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    drop(env);
    let after = http.get(format!("{endpoint}/__front/health")).send().await;
    assert!(
        after.is_err(),
        "the port must be closed once the emulator is dropped"
    );
}

#[tokio::test]
async fn harness_helpers_put_budgets_and_bedrock_tokens() {
    let env = TestEnv::start().await;
    env.create_budget("collectiq-dev-monthly", "50", "41.20", None)
        .await;
    let got = env
        .clients
        .budgets
        .describe_budgets()
        .account_id(collectiq_tests::inject::ACCOUNT)
        .send()
        .await
        .unwrap();
    let budget = &got.budgets()[0];
    assert_eq!(budget.budget_limit().unwrap().amount(), "50");
    assert!(budget.calculated_spend().unwrap().forecasted_spend().is_none());
    let model = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    env.put_bedrock_tokens(model, T0, 1_000_000, 200_000, 1_000).await;
    env.put_bedrock_tokens(model, T0 + 60, 500_000, 100_000, 500)
        .await;
    let query = MetricDataQuery::builder()
        .id("input")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/Bedrock")
                        .metric_name("InputTokenCount")
                        .dimensions(Dimension::builder().name("ModelId").value(model).build())
                        .build(),
                )
                .period(3600)
                .stat("Sum")
                .build(),
        )
        .build();
    let got = env
        .clients
        .cloudwatch
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(DateTime::from_secs(T0 - 3600))
        .end_time(DateTime::from_secs(T0 + 3600))
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.metric_data_results()[0].values().iter().sum::<f64>(),
        1_500_000.0
    );
}

//! One-call helpers that put state into the emulator the way AWS would have it: a budget with spend,
//! metric sums (including `AWS/Bedrock` token metrics). Cost Explorer results and SNS read-back are on
//! [`Emulator`](crate::Emulator) itself.

use aws_sdk_budgets::types::{Budget, BudgetType, CalculatedSpend, Spend, TimeUnit};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_smithy_types::DateTime;

use crate::TestEnv;

/// The account moto answers for.
pub const ACCOUNT: &str = "123456789012";

impl TestEnv {
    /// Creates a monthly COST budget with the given limit and the spend AWS Budgets would report
    /// (moto never computes spend; it echoes what is given here).
    ///
    /// # Panics
    /// When the emulator rejects the budget.
    #[allow(clippy::expect_used)] // test harness: failing loudly is the point
    pub async fn create_budget(
        &self,
        name: &str,
        limit_usd: &str,
        actual_usd: &str,
        forecast_usd: Option<&str>,
    ) {
        let spend = |a: &str| Spend::builder().amount(a).unit("USD").build().expect("spend");
        let calculated = CalculatedSpend::builder()
            .actual_spend(spend(actual_usd))
            .set_forecasted_spend(forecast_usd.map(spend))
            .build();
        let budget = Budget::builder()
            .budget_name(name)
            .budget_type(BudgetType::Cost)
            .time_unit(TimeUnit::Monthly)
            .budget_limit(spend(limit_usd))
            .calculated_spend(calculated)
            .build()
            .expect("budget");
        self.clients
            .budgets
            .create_budget()
            .account_id(ACCOUNT)
            .budget(budget)
            .send()
            .await
            .expect("CreateBudget");
    }

    /// Puts one `Count` datum per `(epoch seconds, value)` for `namespace`/`metric` with `dimensions`,
    /// in batches of 1,000.
    ///
    /// # Panics
    /// When the emulator rejects the data.
    #[allow(clippy::expect_used)] // test harness: failing loudly is the point
    pub async fn put_metric_sums(
        &self,
        namespace: &str,
        metric: &str,
        dimensions: &[(&str, &str)],
        points: &[(i64, f64)],
    ) {
        let dims: Vec<Dimension> = dimensions
            .iter()
            .map(|(k, v)| Dimension::builder().name(*k).value(*v).build())
            .collect();
        let data: Vec<MetricDatum> = points
            .iter()
            .map(|(t, v)| {
                MetricDatum::builder()
                    .metric_name(metric)
                    .set_dimensions(Some(dims.clone()))
                    .timestamp(DateTime::from_secs(*t))
                    .unit(StandardUnit::Count)
                    .value(*v)
                    .build()
            })
            .collect();
        for chunk in data.chunks(1000) {
            self.clients
                .cloudwatch
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .expect("PutMetricData");
        }
    }

    /// Puts what Bedrock itself reports for `model_id` at `at`: `InputTokenCount`, `OutputTokenCount` and
    /// `Invocations` in `AWS/Bedrock` by `ModelId`.
    pub async fn put_bedrock_tokens(
        &self,
        model_id: &str,
        at: i64,
        input: u64,
        output: u64,
        invocations: u64,
    ) {
        let dims = [("ModelId", model_id)];
        for (metric, value) in [
            ("InputTokenCount", input),
            ("OutputTokenCount", output),
            ("Invocations", invocations),
        ] {
            self.put_metric_sums("AWS/Bedrock", metric, &dims, &[(at, value as f64)])
                .await;
        }
    }
}

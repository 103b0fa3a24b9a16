//! Counting every AWS request a run makes, with an SDK interceptor on the clients (each HTTP attempt
//! counts, retries included): Cost Explorer bills $0.01 per request, so the count is what the footer
//! reports and what the daily cap is reconciled against.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

use crate::aws::AwsClients;

/// Requests per `(service, operation)`, e.g. `("costexplorer", "GetCostAndUsage") → 2`.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<(String, String), u32>>>,
}

impl RequestCounter {
    /// An empty counter.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one request of `operation` on `service` (the interceptor does it for SDK calls; fakes call
    /// it so their runs report calls too).
    pub fn record(&self, service: &str, operation: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts
                .entry((service.to_owned(), operation.to_owned()))
                .or_default() += 1;
        }
    }

    /// Every count so far.
    #[must_use]
    pub fn snapshot(&self) -> ApiCalls {
        let counts = self.counts.lock().map(|c| c.clone()).unwrap_or_default();
        ApiCalls {
            calls: counts
                .into_iter()
                .map(|((service, operation), count)| ApiCall {
                    service,
                    operation,
                    count,
                })
                .collect(),
        }
    }

    /// The same clients with this counter attached to the ones the cost pass uses (Cost Explorer,
    /// CloudWatch, Budgets, SNS, Secrets Manager, DynamoDB).
    #[must_use]
    pub fn attach(&self, clients: &AwsClients) -> AwsClients {
        let mut out = clients.clone();
        out.cost_explorer = aws_sdk_costexplorer::Client::from_conf(
            clients
                .cost_explorer
                .config()
                .to_builder()
                .interceptor(self.clone())
                .build(),
        );
        out.cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
            clients
                .cloudwatch
                .config()
                .to_builder()
                .interceptor(self.clone())
                .build(),
        );
        out.budgets = aws_sdk_budgets::Client::from_conf(
            clients
                .budgets
                .config()
                .to_builder()
                .interceptor(self.clone())
                .build(),
        );
        out.sns = aws_sdk_sns::Client::from_conf(
            clients
                .sns
                .config()
                .to_builder()
                .interceptor(self.clone())
                .build(),
        );
        out.secrets = aws_sdk_secretsmanager::Client::from_conf(
            clients
                .secrets
                .config()
                .to_builder()
                .interceptor(self.clone())
                .build(),
        );
        out.dynamodb = aws_sdk_dynamodb::Client::from_conf(
            clients
                .dynamodb
                .config()
                .to_builder()
                .interceptor(self.clone())
                .build(),
        );
        out
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "CostPassRequestCounter"
    }

    // Runs once per attempt, right before the request goes on the wire.
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("unknown", "unknown"), |m| (m.service(), m.name()));
        // The SDK names services for humans (`Cost Explorer`); keep a stable key (`costexplorer`).
        let service: String = service
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        self.record(&service, operation);
        Ok(())
    }
}

/// One `(service, operation)` count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiCall {
    /// SDK service name, lowercase without spaces (`costexplorer`, `cloudwatch`, `budgets`, ...).
    pub service: String,
    /// Operation (`GetCostAndUsage`).
    pub operation: String,
    /// HTTP attempts.
    pub count: u32,
}

/// The requests one run made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiCalls {
    /// Per operation, sorted by service then operation.
    pub calls: Vec<ApiCall>,
}

impl ApiCalls {
    /// Attempts of one operation.
    #[must_use]
    pub fn of(&self, operation: &str) -> u32 {
        self.calls
            .iter()
            .filter(|c| c.operation == operation)
            .map(|c| c.count)
            .sum()
    }

    /// Attempts against one service (`costexplorer`, `cloudwatch`, ...).
    #[must_use]
    pub fn service(&self, service: &str) -> u32 {
        self.calls
            .iter()
            .filter(|c| c.service == service)
            .map(|c| c.count)
            .sum()
    }

    /// Cost Explorer requests (each $0.01).
    #[must_use]
    pub fn cost_explorer(&self) -> u32 {
        self.service("costexplorer")
    }

    /// Every request.
    #[must_use]
    pub fn total(&self) -> u32 {
        self.calls.iter().map(|c| c.count).sum()
    }

    /// `GetCostAndUsage 2, GetCostForecast 1, ...`.
    #[must_use]
    pub fn summary(&self) -> String {
        self.calls
            .iter()
            .map(|c| format!("{} {}", c.operation, c.count))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_operation_and_service() {
        let c = RequestCounter::new();
        c.record("costexplorer", "GetCostAndUsage");
        c.record("costexplorer", "GetCostAndUsage");
        c.record("costexplorer", "GetCostForecast");
        c.record("cloudwatch", "GetMetricData");
        let s = c.snapshot();
        assert_eq!(s.of("GetCostAndUsage"), 2);
        assert_eq!(s.cost_explorer(), 3);
        assert_eq!(s.service("cloudwatch"), 1);
        assert_eq!(s.total(), 4);
        assert_eq!(
            s.summary(),
            "GetMetricData 1, GetCostAndUsage 2, GetCostForecast 1"
        );
    }
}

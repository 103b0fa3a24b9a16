//! Counting every AWS request a run makes, with an SDK interceptor on the clients (each HTTP attempt
//! counts, retries included): Cost Explorer bills $0.01 per request, so the count is what the footer
//! reports and what the daily cap is reconciled against.
//!
//! **The Cost Explorer cap counts attempts, not calls.** The SDK retries a throttled or failed request
//! up to its `max_attempts`, and each attempt is a billed request. [`RequestCounter::ce_request`] is the
//! one way to send a Cost Explorer request under the cap (the cost pass and `doctor` use it):
//!
//! 1. it takes one unit from the ledger's daily counter for the first attempt (cap reached, or cap `0`:
//!    nothing is sent);
//! 2. it lets the interceptor allow as many further attempts as the cap has room for, and the
//!    interceptor refuses any attempt beyond that *before it goes on the wire* (the SDK then gives up);
//! 3. after the request it adds the retries that were sent to the ledger counter, so the counter, the
//!    cap and the report's footer agree with what AWS bills.
//!
//! Requests are serialised through one counter (one Cost Explorer request at a time per run), so the
//! attempts seen between 1 and 3 are that request's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

use super::read::{CeQuota, ReadError};
use crate::aws::AwsClients;
use crate::ledger::LedgerStore;

/// The service key of Cost Explorer in the counts.
pub const COST_EXPLORER: &str = "costexplorer";

/// Requests per `(service, operation)`, e.g. `("costexplorer", "GetCostAndUsage") → 2`, and the gate
/// that holds Cost Explorer attempts to the daily cap ([`RequestCounter::ce_request`]).
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<(String, String), u32>>>,
    ce_gate: Arc<Mutex<CeGate>>,
    ce_turn: Arc<tokio::sync::Mutex<()>>,
}

/// Attempts of the Cost Explorer request in flight: how many the cap allows, how many went out, how
/// many were refused. `allowed: None` outside [`RequestCounter::ce_request`] (not gated).
#[derive(Debug, Default)]
struct CeGate {
    allowed: Option<u32>,
    sent: u32,
    refused: u32,
}

/// Why the interceptor stopped an attempt.
#[derive(Debug, thiserror::Error)]
#[error(
    "Cost Explorer daily request cap: attempt {attempt} not sent (the cap allows {allowed} for this request)"
)]
struct CeAttemptRefused {
    attempt: u32,
    allowed: u32,
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

    /// Sends one Cost Explorer request under the daily cap of `quota`: takes a unit for the first
    /// attempt, lets the SDK retry only while the cap has room, and adds the retries sent to the
    /// ledger's counter afterwards (see the module docs). `send` must make exactly one Cost Explorer
    /// request, on a client this counter is [attached](Self::attach) to (for a fake without the
    /// interceptor, the unit taken counts the one request).
    ///
    /// ```no_run
    /// # async fn doctor(spec: &platform_spec::PlatformSpec, clients: &governance::aws::AwsClients) -> anyhow::Result<()> {
    /// use governance::cost_pass::counting::RequestCounter;
    /// use governance::cost_pass::read::CeQuota;
    /// let counter = RequestCounter::new();
    /// let clients = counter.attach(clients);
    /// let ledger = governance::ledger::Ledger::new(clients.dynamodb.clone(), &spec.ledger.table);
    /// let quota = CeQuota::for_spec(&ledger, spec, chrono::Utc::now());
    /// let answer = counter
    ///     .ce_request(&quota, || clients.cost_explorer.get_cost_and_usage().send())
    ///     .await?; // Err: cap reached or the ledger failed — nothing was sent
    /// let _output = answer?; // the SDK's own answer
    /// println!("{} Cost Explorer requests", counter.snapshot().cost_explorer());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ReadError::CapReached`] when the cap has no room for the first attempt (nothing is sent) or
    /// refused a retry (the retries sent are counted); [`ReadError::Ledger`] when counting fails.
    pub async fn ce_request<L, T, F, Fut>(&self, quota: &CeQuota<'_, L>, send: F) -> Result<T, ReadError>
    where
        L: LedgerStore,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let _turn = self.ce_turn.lock().await;
        let used = quota.take().await?;
        let room = u64::from(quota.cap).saturating_sub(used);
        self.set_gate(Some(1 + u32::try_from(room).unwrap_or(u32::MAX - 1)));
        let out = send().await;
        let (sent, refused) = self.set_gate(None);
        if sent > 1 {
            quota.add(u64::from(sent - 1)).await?;
        }
        if refused > 0 {
            return Err(ReadError::CapReached {
                used: used + u64::from(sent.saturating_sub(1)),
                cap: quota.cap,
            });
        }
        Ok(out)
    }

    /// Opens (`Some(allowed)`) or closes (`None`) the Cost Explorer gate; returns the attempts sent and
    /// refused since it was last set.
    fn set_gate(&self, allowed: Option<u32>) -> (u32, u32) {
        let mut gate = self
            .ce_gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = (gate.sent, gate.refused);
        *gate = CeGate {
            allowed,
            sent: 0,
            refused: 0,
        };
        before
    }

    /// Whether one more Cost Explorer attempt may go out now (counted as sent if so).
    fn admit_ce_attempt(&self) -> Result<(), CeAttemptRefused> {
        let mut gate = self
            .ce_gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match gate.allowed {
            Some(allowed) if gate.sent >= allowed => {
                gate.refused += 1;
                Err(CeAttemptRefused {
                    attempt: gate.sent + gate.refused,
                    allowed,
                })
            }
            _ => {
                gate.sent += 1;
                Ok(())
            }
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

    /// `ce` with this counter attached (for a Cost Explorer client used on its own, as the
    /// organisation's payer read does).
    #[must_use]
    pub fn attach_cost_explorer(&self, ce: &aws_sdk_costexplorer::Client) -> aws_sdk_costexplorer::Client {
        aws_sdk_costexplorer::Client::from_conf(ce.config().to_builder().interceptor(self.clone()).build())
    }

    /// The same clients with this counter attached to the ones the cost pass uses (Cost Explorer,
    /// CloudWatch, Budgets, SNS, Secrets Manager, DynamoDB).
    #[must_use]
    pub fn attach(&self, clients: &AwsClients) -> AwsClients {
        let mut out = clients.clone();
        out.cost_explorer = self.attach_cost_explorer(&clients.cost_explorer);
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
        if service == COST_EXPLORER {
            // Refused before the wire: not sent, not billed, not counted.
            self.admit_ce_attempt()?;
        }
        self.record(&service, operation);
        Ok(())
    }
}

/// One `(service, operation)` count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ApiCall {
    /// SDK service name, lowercase without spaces (`costexplorer`, `cloudwatch`, `budgets`, ...).
    pub service: String,
    /// Operation (`GetCostAndUsage`).
    pub operation: String,
    /// HTTP attempts.
    pub count: u32,
}

/// The requests one run made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
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
        self.service(COST_EXPLORER)
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

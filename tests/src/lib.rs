//! The workspace's test kit, and its integration tests' home: the moto emulator harness ([`emulator`]: the
//! process, its control API, Cost Explorer injection, SNS read-back, the loopback webhook sink), fault
//! injection ([`faults`]: a seeded proxy answering calls with throttles, 5xx, hangs, resets), state
//! injection ([`inject`]) and the Lambda Runtime-API harness. Production crates never compile it: the
//! Lambda binaries do not depend on it; the `collectiq-ops` front does, for its `demo`.
//!
//! An emulator test in ten lines:
//!
//! ```no_run
//! # async fn demo() {
//! let env = collectiq_tests::TestEnv::start().await;          // moto on a free loopback port
//! env.clients.sns.create_topic().name("t").send().await.unwrap();
//! let topics = env.clients.sns.list_topics().send().await.unwrap();
//! assert_eq!(topics.topics().len(), 1);
//! // dropped at the end of the test (or on panic): the emulator process is stopped
//! # }
//! ```
//!
//! Every test gets its own emulator process, so tests run in parallel without sharing state. Starting
//! one takes about a second. See `docs/harness.md` for what moto does not do and how those calls are
//! tested instead (SDK test clients).

pub mod emulator;
pub mod faults;
pub mod inject;
pub mod runtime_api;

use std::path::PathBuf;

pub use emulator::moto_api::{CostAndUsagePage, SentNotification};
pub use emulator::webhook_sink::{ReceivedPost, SinkResponse, WebhookSink};
pub use emulator::{Emulator, EmulatorError};
pub use governance::aws::AwsClients;

/// A running emulator plus every SDK client pointed at it.
#[derive(Debug)]
pub struct TestEnv {
    /// The emulator (reset it, inject results, read SNS back).
    pub emulator: Emulator,
    /// Real SDK clients pointed at it (one attempt per call, static test credentials, us-east-1).
    pub clients: AwsClients,
    /// The same configuration, for clients this struct does not hold.
    pub sdk_config: aws_types::SdkConfig,
}

impl TestEnv {
    /// Starts a fresh emulator.
    ///
    /// # Panics
    /// When the emulator cannot start: the message says why (usually: run `scripts/setup-emulator`).
    #[allow(clippy::expect_used)] // test harness: failing loudly is the point
    pub async fn start() -> Self {
        let emulator = Emulator::start().await.unwrap_or_else(|e| panic!("{e}"));
        let sdk_config = emulator.sdk_config().await;
        let clients = AwsClients::new(&sdk_config);
        Self {
            emulator,
            clients,
            sdk_config,
        }
    }
}

/// The workspace root (for fixtures and platform specs).
#[must_use]
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Loads a shipped platform spec by file name (`collectiq-prod.toml`).
///
/// # Panics
/// When the spec does not load; the message names file, line and key.
#[must_use]
pub fn platform(name: &str) -> platform_spec::PlatformSpec {
    platform_spec::load(&workspace_root().join("infra/platforms").join(name))
        .unwrap_or_else(|e| panic!("{e}"))
}

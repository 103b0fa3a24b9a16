//! Fault injection as a test tool: a loopback proxy in front of the emulator (or a webhook sink) that
//! answers a seeded share of calls — or only named operations, or only one member account's calls
//! ([`FaultProxy::set_account_plan`]) — with each protocol's real throttling or access-denied error,
//! HTTP 500/503, added latency, a hung connection, a connection reset, or "applied, answer lost"
//! (forwarded to the emulator, then reset), and counts what it did per operation.
//!
//! ```no_run
//! # async fn demo() {
//! use collectiq_tests::faults::{FaultKind, FaultPlan, FaultProxy};
//! let emulator = collectiq_tests::Emulator::start().await.unwrap();
//! let plan = FaultPlan::new(7, 0.2, &[(FaultKind::Throttle, 2), (FaultKind::Reset, 1)]);
//! let proxy = FaultProxy::start(emulator.endpoint(), plan).await.unwrap();
//! // point the SDK at proxy.endpoint() instead of emulator.endpoint(); afterwards:
//! println!("{}", proxy.counts().summary());
//! # }
//! ```
//!
//! Why a proxy in Rust rather than inside the Python front: the front only sees requests after its WSGI
//! server parsed them, so it cannot hang or reset a connection, nor drop an answer after moto applied the
//! call; a proxy owns the socket and can do all of these for every protocol and for the Slack webhook
//! alike, and the tests read its counts directly. Which operation a request calls comes from
//! `X-Amz-Target` (awsJson), the `/service/<svc>/operation/<Op>` path (RPC v2 CBOR), the `Action=` form
//! field (awsQuery) or the REST route (X-Ray); see [`protocol`].
//!
//! The decisions are deterministic: they depend on the seed, the operation and the number of earlier
//! calls of that operation ([`FaultPlan::decide`]). See `docs/reliability.md` for the chaos tests built on
//! it and their figures.

pub mod accounts;
pub mod chaos;
pub mod plan;
pub mod protocol;
pub mod proxy;

pub use plan::{FaultKind, FaultPlan};
pub use protocol::{Call, Protocol, identify};
pub use proxy::{FaultCounts, FaultProxy, FaultProxyError, OperationCounts};

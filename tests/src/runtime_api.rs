//! The Lambda Runtime-API harness, which lives in `telemetry` (feature `test-util`,
//! [`telemetry::testing::runtime_api`]) so telemetry's own e2e test and these tests share one copy,
//! plus [`backend_binary`], which needs this workspace's backend crate.
//!
//! ```no_run
//! use collectiq_tests::runtime_api::{FunctionProcess, Outcome, backend_binary};
//! let f = FunctionProcess::start(&backend_binary("healthz"), "healthz", &[]).unwrap();
//! let inv = f.invoke(r#"{"rawPath": "/healthz"}"#);
//! assert!(matches!(inv.outcome, Outcome::Response(_)));
//! let lines = f.lines_for(&inv.request_id);   // its log lines and EMF documents (raw JSON text)
//! # let _ = lines;
//! ```

use std::path::PathBuf;

pub use telemetry::testing::runtime_api::{
    FunctionProcess, INVOKE_TIMEOUT, Invocation, Outcome, TRACE_HEADER, cargo_binary,
};

/// Builds the backend function binary `name` once per test process (`cargo build -p backend --bin
/// NAME`, same profile and target dir as the running test; a no-op when fresh) and returns its path.
///
/// # Panics
/// When the build fails.
#[must_use]
pub fn backend_binary(name: &str) -> PathBuf {
    cargo_binary(&crate::workspace_root(), &["-p", "backend", "--bin", name], name)
}

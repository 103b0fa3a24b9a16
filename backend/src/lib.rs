//! `backend`: CollectIQ's own Lambda functions. Handler logic lives here as plain async functions
//! tested by calling them; `src/bin/<fn>.rs` are thin mains that link `telemetry`.

pub mod healthz;

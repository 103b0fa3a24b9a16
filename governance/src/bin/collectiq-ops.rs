//! The `collectiq-ops` CLI.
fn main() {}

//! `governance`: the imperative shell around the pure `dashboards`, `alarms` and `cost` crates.

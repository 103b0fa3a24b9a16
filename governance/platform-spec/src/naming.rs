//! How a platform's functions name the `service` dimension of their custom metrics.
//!
//! Dashboards and alarms both need it (the per-function `ColdStart` rows and alarms name the service), so
//! it lives with the spec rather than in either of them.

use crate::model::FunctionSpec;

/// The `service` dimension value (`POWERTOOLS_SERVICE_NAME`) each function emits its custom metrics
/// under. Dashboards read catalogue metrics with `SEARCH` and do not depend on it; the only rows that
/// name it are the per-function `ColdStart` rows (and the cold-start alarms in `alarms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceNaming {
    /// The function's logical id (`cards_get`), for platforms that name a service per function.
    FunctionId,
    /// One name for every function.
    Fixed(String),
}

impl ServiceNaming {
    /// The service name of `function`.
    ///
    /// ```
    /// use platform_spec::ServiceNaming;
    /// let spec = platform_spec::load(std::path::Path::new(concat!(
    ///     env!("CARGO_MANIFEST_DIR"), "/../../infra/platforms/collectiq-prod.toml"
    /// ))).unwrap();
    /// let f = spec.function("cards_get").unwrap();
    /// assert_eq!(ServiceNaming::FunctionId.service_for(f), "cards_get");
    /// assert_eq!(ServiceNaming::Fixed("collectiq".into()).service_for(f), "collectiq");
    /// ```
    #[must_use]
    pub fn service_for(&self, function: &FunctionSpec) -> String {
        match self {
            Self::FunctionId => function.id.clone(),
            Self::Fixed(s) => s.clone(),
        }
    }
}

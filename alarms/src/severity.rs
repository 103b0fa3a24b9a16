//! Who an alarm notifies: the one type the catalogue and its thresholds share (its own module, so
//! `thresholds` needs nothing from `catalogue`).

use serde::{Deserialize, Serialize};

/// Who an alarm notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Pages on-call (critical SNS topic).
    Critical,
    /// Goes to Slack (warning SNS topic).
    Warning,
}

impl Severity {
    /// `critical` or `warning`, the last part of the alarm name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Warning => "warning",
        }
    }

    /// The severity an alarm name ends with, if it follows the naming scheme.
    #[must_use]
    pub fn from_alarm_name(name: &str) -> Option<Self> {
        if name.ends_with("-critical") {
            Some(Self::Critical)
        } else if name.ends_with("-warning") {
            Some(Self::Warning)
        } else {
            None
        }
    }
}

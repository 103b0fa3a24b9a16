//! The 27 units EMF accepts, and how `metrics` and catalogue units map onto them.

use serde::Serialize;

/// An EMF/CloudWatch unit (the schema's `Unit` pattern).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[allow(missing_docs)]
pub enum EmfUnit {
    Seconds,
    Microseconds,
    Milliseconds,
    Bytes,
    Kilobytes,
    Megabytes,
    Gigabytes,
    Terabytes,
    Bits,
    Kilobits,
    Megabits,
    Gigabits,
    Terabits,
    Percent,
    Count,
    #[serde(rename = "Bytes/Second")]
    BytesPerSecond,
    #[serde(rename = "Kilobytes/Second")]
    KilobytesPerSecond,
    #[serde(rename = "Megabytes/Second")]
    MegabytesPerSecond,
    #[serde(rename = "Gigabytes/Second")]
    GigabytesPerSecond,
    #[serde(rename = "Terabytes/Second")]
    TerabytesPerSecond,
    #[serde(rename = "Bits/Second")]
    BitsPerSecond,
    #[serde(rename = "Kilobits/Second")]
    KilobitsPerSecond,
    #[serde(rename = "Megabits/Second")]
    MegabitsPerSecond,
    #[serde(rename = "Gigabits/Second")]
    GigabitsPerSecond,
    #[serde(rename = "Terabits/Second")]
    TerabitsPerSecond,
    #[serde(rename = "Count/Second")]
    CountPerSecond,
    #[default]
    None,
}

impl EmfUnit {
    /// Every unit.
    pub const ALL: [Self; 27] = [
        Self::Seconds,
        Self::Microseconds,
        Self::Milliseconds,
        Self::Bytes,
        Self::Kilobytes,
        Self::Megabytes,
        Self::Gigabytes,
        Self::Terabytes,
        Self::Bits,
        Self::Kilobits,
        Self::Megabits,
        Self::Gigabits,
        Self::Terabits,
        Self::Percent,
        Self::Count,
        Self::BytesPerSecond,
        Self::KilobytesPerSecond,
        Self::MegabytesPerSecond,
        Self::GigabytesPerSecond,
        Self::TerabytesPerSecond,
        Self::BitsPerSecond,
        Self::KilobitsPerSecond,
        Self::MegabitsPerSecond,
        Self::GigabitsPerSecond,
        Self::TerabitsPerSecond,
        Self::CountPerSecond,
        Self::None,
    ];

    /// The name as EMF spells it.
    ///
    /// ```
    /// assert_eq!(telemetry::emf::EmfUnit::BytesPerSecond.as_str(), "Bytes/Second");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Seconds => "Seconds",
            Self::Microseconds => "Microseconds",
            Self::Milliseconds => "Milliseconds",
            Self::Bytes => "Bytes",
            Self::Kilobytes => "Kilobytes",
            Self::Megabytes => "Megabytes",
            Self::Gigabytes => "Gigabytes",
            Self::Terabytes => "Terabytes",
            Self::Bits => "Bits",
            Self::Kilobits => "Kilobits",
            Self::Megabits => "Megabits",
            Self::Gigabits => "Gigabits",
            Self::Terabits => "Terabits",
            Self::Percent => "Percent",
            Self::Count => "Count",
            Self::BytesPerSecond => "Bytes/Second",
            Self::KilobytesPerSecond => "Kilobytes/Second",
            Self::MegabytesPerSecond => "Megabytes/Second",
            Self::GigabytesPerSecond => "Gigabytes/Second",
            Self::TerabytesPerSecond => "Terabytes/Second",
            Self::BitsPerSecond => "Bits/Second",
            Self::KilobitsPerSecond => "Kilobits/Second",
            Self::MegabitsPerSecond => "Megabits/Second",
            Self::GigabitsPerSecond => "Gigabits/Second",
            Self::TerabitsPerSecond => "Terabits/Second",
            Self::CountPerSecond => "Count/Second",
            Self::None => "None",
        }
    }

    /// Parses an EMF unit name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == s)
    }

    /// Maps a `metrics` unit (from `describe_*!`). `Nanoseconds` has no EMF unit and maps to `None`;
    /// binary byte units map to CloudWatch's byte units, which CloudWatch itself treats as 1024-based.
    #[must_use]
    pub const fn from_metrics(u: metrics::Unit) -> Self {
        match u {
            metrics::Unit::Count => Self::Count,
            metrics::Unit::Percent => Self::Percent,
            metrics::Unit::Seconds => Self::Seconds,
            metrics::Unit::Milliseconds => Self::Milliseconds,
            metrics::Unit::Microseconds => Self::Microseconds,
            metrics::Unit::Nanoseconds => Self::None,
            metrics::Unit::Tebibytes => Self::Terabytes,
            metrics::Unit::Gibibytes => Self::Gigabytes,
            metrics::Unit::Mebibytes => Self::Megabytes,
            metrics::Unit::Kibibytes => Self::Kilobytes,
            metrics::Unit::Bytes => Self::Bytes,
            metrics::Unit::TerabitsPerSecond => Self::TerabitsPerSecond,
            metrics::Unit::GigabitsPerSecond => Self::GigabitsPerSecond,
            metrics::Unit::MegabitsPerSecond => Self::MegabitsPerSecond,
            metrics::Unit::KilobitsPerSecond => Self::KilobitsPerSecond,
            metrics::Unit::BitsPerSecond => Self::BitsPerSecond,
            metrics::Unit::CountPerSecond => Self::CountPerSecond,
        }
    }

    /// Maps a catalogue unit.
    #[must_use]
    pub const fn from_catalogue(u: crate::catalogue::Unit) -> Self {
        match u {
            crate::catalogue::Unit::Count => Self::Count,
            crate::catalogue::Unit::Milliseconds => Self::Milliseconds,
            crate::catalogue::Unit::Percent => Self::Percent,
            crate::catalogue::Unit::None => Self::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_as_str_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for u in EmfUnit::ALL {
            assert_eq!(serde_json::to_value(u).unwrap(), u.as_str());
            assert_eq!(EmfUnit::parse(u.as_str()), Some(u));
            assert!(seen.insert(u.as_str()));
        }
        assert_eq!(seen.len(), 27);
    }
}

//! The runbooks critical alarms carry: markdown files under `alarms/runbooks/`, embedded at compile
//! time so an alarm's description always quotes the summary of the runbook it links.

/// A runbook in `alarms/runbooks/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runbook {
    /// `api-5xx.md`.
    Api5xx,
    /// `lambda-errors.md`.
    LambdaErrors,
    /// `step-functions-failures.md`.
    StepFunctionsFailures,
    /// `dlq-depth.md`.
    DlqDepth,
    /// `quota-increases.md`.
    QuotaIncreases,
    /// `cost-over-budget.md`.
    CostOverBudget,
    /// `service-down.md`.
    ServiceDown,
}

impl Runbook {
    /// Every runbook.
    pub const ALL: [Self; 7] = [
        Self::Api5xx,
        Self::LambdaErrors,
        Self::StepFunctionsFailures,
        Self::DlqDepth,
        Self::QuotaIncreases,
        Self::CostOverBudget,
        Self::ServiceDown,
    ];

    /// File name under `alarms/runbooks/`.
    #[must_use]
    pub const fn file_name(self) -> &'static str {
        match self {
            Self::Api5xx => "api-5xx.md",
            Self::LambdaErrors => "lambda-errors.md",
            Self::StepFunctionsFailures => "step-functions-failures.md",
            Self::DlqDepth => "dlq-depth.md",
            Self::QuotaIncreases => "quota-increases.md",
            Self::CostOverBudget => "cost-over-budget.md",
            Self::ServiceDown => "service-down.md",
        }
    }

    /// The whole markdown.
    #[must_use]
    pub const fn markdown(self) -> &'static str {
        match self {
            Self::Api5xx => include_str!("../runbooks/api-5xx.md"),
            Self::LambdaErrors => include_str!("../runbooks/lambda-errors.md"),
            Self::StepFunctionsFailures => include_str!("../runbooks/step-functions-failures.md"),
            Self::DlqDepth => include_str!("../runbooks/dlq-depth.md"),
            Self::QuotaIncreases => include_str!("../runbooks/quota-increases.md"),
            Self::CostOverBudget => include_str!("../runbooks/cost-over-budget.md"),
            Self::ServiceDown => include_str!("../runbooks/service-down.md"),
        }
    }

    /// The one-paragraph summary (the `**Summary:**` line of the file).
    ///
    /// ```
    /// use alarms::runbook::Runbook;
    /// assert!(Runbook::DlqDepth.summary().starts_with("More than 10 messages"));
    /// ```
    #[must_use]
    pub fn summary(self) -> &'static str {
        self.markdown()
            .lines()
            .find_map(|l| l.strip_prefix("**Summary:** "))
            .unwrap_or("")
            .trim()
    }
}

/// Where runbook links point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunbookLinks {
    /// A path relative to the repository root (`alarms/runbooks/api-5xx.md`).
    RepoRelative,
    /// `{base}/{file}`, e.g. a rendered docs site or a blob URL of the repository.
    BaseUrl(String),
}

impl RunbookLinks {
    /// The link to `runbook`.
    ///
    /// ```
    /// use alarms::runbook::{Runbook, RunbookLinks};
    /// assert_eq!(RunbookLinks::RepoRelative.link(Runbook::Api5xx), "alarms/runbooks/api-5xx.md");
    /// assert_eq!(RunbookLinks::BaseUrl("https://git.example/ops/blob/main/alarms/runbooks/".into()).link(Runbook::Api5xx),
    ///            "https://git.example/ops/blob/main/alarms/runbooks/api-5xx.md");
    /// ```
    #[must_use]
    pub fn link(&self, runbook: Runbook) -> String {
        match self {
            Self::RepoRelative => format!("alarms/runbooks/{}", runbook.file_name()),
            Self::BaseUrl(base) => format!("{}/{}", base.trim_end_matches('/'), runbook.file_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runbook_has_a_title_and_a_short_summary() {
        for r in Runbook::ALL {
            assert!(r.markdown().starts_with("# Runbook: "), "{r:?}");
            let s = r.summary();
            assert!(s.len() > 40 && s.len() < 400, "{r:?}: {s}");
            assert!(s.ends_with('.'), "{r:?}");
        }
    }

    #[test]
    fn files_exist_where_repo_relative_links_point() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for r in Runbook::ALL {
            assert!(root.join(RunbookLinks::RepoRelative.link(r)).is_file(), "{r:?}");
        }
    }

    #[test]
    fn relative_links_between_runbooks_resolve() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
        for r in Runbook::ALL {
            for (_, rest) in r
                .markdown()
                .match_indices("](")
                .map(|(i, _)| ((), &r.markdown()[i + 2..]))
            {
                let target = rest.split(')').next().unwrap();
                if target.ends_with(".md") {
                    assert!(dir.join(target).is_file(), "{r:?} links {target}");
                }
            }
        }
    }
}

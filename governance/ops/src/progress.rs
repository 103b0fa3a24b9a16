//! The indicatif progress bars the front draws on stderr while an apply runs: the implementation of the
//! core's [`ApplyProgress`] callback (the core itself never links indicatif).

use std::time::Duration as StdDuration;

use governance::publish::ApplyProgress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// An apply's progress as a bar on stderr (drawn only when stderr is a terminal).
#[derive(Debug, Clone)]
pub struct TerminalProgress(ProgressBar);

impl ApplyProgress for TerminalProgress {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn step(&self, label: &str) {
        self.0.set_message(label.to_owned());
    }
    fn advance(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A progress bar on stderr (drawn only when stderr is a terminal).
#[must_use]
pub fn progress_bar(what: &str) -> TerminalProgress {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta} {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(what.to_owned());
    bar.enable_steady_tick(StdDuration::from_millis(250));
    TerminalProgress(bar)
}

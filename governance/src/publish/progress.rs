//! How an apply reports progress without knowing who watches: the ops front draws a bar on stderr, a
//! Lambda and the tests pass [`NoProgress`]. The core never links a terminal library.

/// Progress of one apply (dashboards or alarms): a known number of steps, each with an optional label.
pub trait ApplyProgress {
    /// The apply will take `total` steps.
    fn start(&self, total: u64);
    /// The step now running (an alarm or dashboard name, "deleting 3 orphans").
    fn step(&self, label: &str);
    /// One step is done.
    fn advance(&self);
    /// The apply is over (the bar may disappear).
    fn finish(&self);
}

/// Reports nothing (Lambda handlers, tests, benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoProgress;

impl ApplyProgress for NoProgress {
    fn start(&self, _total: u64) {}
    fn step(&self, _label: &str) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

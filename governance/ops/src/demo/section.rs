//! What a demo step receives ([`DemoContext`]: the seeded emulator and what was seeded) and returns
//! ([`DemoSection`]: its terminal text and JSON).

use std::path::Path;

use collectiq_tests::{Emulator, WebhookSink};
use governance::aws::AwsClients;
use platform_spec::PlatformSpec;
use serde::Serialize;

use crate::seed;

/// Everything a demo step may use: the seeded emulator and what was seeded.
#[derive(Debug)]
pub struct DemoContext<'a> {
    /// The platform spec.
    pub spec: &'a PlatformSpec,
    /// The running emulator (queue Cost Explorer pages, read SNS back).
    pub emulator: &'a Emulator,
    /// SDK clients pointed at it.
    pub clients: &'a AwsClients,
    /// The seeded month.
    pub month: &'a seed::DemoMonth,
    /// The loopback Slack webhook the seeded secret points at.
    pub slack: &'a WebhookSink,
    /// Where files go (`out/`).
    pub out: &'a Path,
}

/// One section of the demo's output.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSection {
    /// Heading (`Cost report`).
    pub title: String,
    /// What a user reads in the terminal.
    #[serde(skip)]
    pub text: String,
    /// The same for machines.
    pub json: serde_json::Value,
    /// Whether the step succeeded (the demo exits 2 otherwise).
    pub ok: bool,
}

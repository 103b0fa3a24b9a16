//! Test helpers (feature `test-util`): an in-memory writer for logs and EMF, parsed back into JSON
//! values, and [`runtime_api`], the Lambda Runtime-API harness that runs a real function binary.

#[cfg(feature = "test-util")]
pub mod runtime_api;

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A cloneable in-memory sink implementing [`tracing_subscriber::fmt::MakeWriter`] and [`io::Write`].
///
/// ```
/// use std::io::Write;
/// let cap = telemetry::testing::CapturedWriter::default();
/// cap.clone().write_all(b"{\"a\":1}\n").unwrap();
/// assert_eq!(cap.json_lines()[0]["a"], 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl CapturedWriter {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything written so far.
    #[must_use]
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// Every non-empty line parsed as JSON; a line that is not JSON becomes `Value::Null`.
    #[must_use]
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.contents()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or(serde_json::Value::Null))
            .collect()
    }

    /// Forgets what was written.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

impl io::Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedWriter {
    type Writer = Self;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

//! Per-invocation log buffering: verbose lines are held back and only written when the invocation
//! goes wrong (an error is logged, the handler fails or panics). Never active during init.

use std::collections::VecDeque;
use tracing::Level;

/// Buffering options (Powertools defaults: DEBUG and below, 20 KiB, flush on error log).
///
/// ```
/// use telemetry::logs::BufferConfig;
/// let b = BufferConfig::default().with_max_bytes(4096);
/// assert_eq!(b.max_bytes(), 4096);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferConfig {
    pub(crate) level: Level,
    pub(crate) max_bytes: usize,
    pub(crate) flush_on_error_log: bool,
}

impl Default for BufferConfig {
    fn default() -> Self {
        Self {
            level: Level::DEBUG,
            max_bytes: 20 * 1024,
            flush_on_error_log: true,
        }
    }
}

impl BufferConfig {
    /// Buffers records at this level and more verbose ones (TRACE, DEBUG, INFO or WARN).
    #[must_use]
    pub fn at_level(mut self, level: Level) -> Self {
        self.level = if level == Level::ERROR { Level::WARN } else { level };
        self
    }

    /// The byte bound of one invocation's buffer; the oldest lines are dropped beyond it.
    #[must_use]
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Whether logging an ERROR flushes the buffer first (default true).
    #[must_use]
    pub fn flush_on_error_log(mut self, flush: bool) -> Self {
        self.flush_on_error_log = flush;
        self
    }

    /// The byte bound.
    #[must_use]
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Whether a record at `level` is buffered.
    pub(crate) fn buffers(&self, level: Level) -> bool {
        // tracing orders more verbose levels as greater.
        level >= self.level
    }
}

/// One invocation's held-back lines (already rendered, timestamps kept).
#[derive(Debug, Default)]
pub(crate) struct LogBuffer {
    lines: VecDeque<Vec<u8>>,
    bytes: usize,
    pub(crate) dropped: usize,
}

impl LogBuffer {
    /// Holds `line`, evicting the oldest lines past `max`. Returns the line back if it alone is too big.
    pub(crate) fn push(&mut self, line: Vec<u8>, max: usize) -> Option<Vec<u8>> {
        if line.len() > max {
            return Some(line);
        }
        self.bytes += line.len();
        self.lines.push_back(line);
        while self.bytes > max {
            match self.lines.pop_front() {
                Some(old) => {
                    self.bytes -= old.len();
                    self.dropped += 1;
                }
                None => break,
            }
        }
        None
    }

    /// Takes every held line, oldest first, and the number dropped.
    pub(crate) fn drain(&mut self) -> (VecDeque<Vec<u8>>, usize) {
        self.bytes = 0;
        (std::mem::take(&mut self.lines), std::mem::take(&mut self.dropped))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.dropped == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_and_counts() {
        let mut b = LogBuffer::default();
        assert!(b.push(vec![b'a'; 6], 10).is_none());
        assert!(b.push(vec![b'b'; 6], 10).is_none());
        assert_eq!(b.dropped, 1);
        assert_eq!(b.push(vec![b'c'; 11], 10), Some(vec![b'c'; 11]));
        let (lines, dropped) = b.drain();
        assert_eq!(lines, vec![vec![b'b'; 6]]);
        assert_eq!(dropped, 1);
        assert!(b.is_empty());
    }

    #[test]
    fn level_rule() {
        let c = BufferConfig::default();
        assert!(c.buffers(Level::DEBUG) && c.buffers(Level::TRACE) && !c.buffers(Level::INFO));
        assert_eq!(BufferConfig::default().at_level(Level::ERROR).level, Level::WARN);
    }
}

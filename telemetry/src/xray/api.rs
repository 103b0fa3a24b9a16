//! The second exporter: `PutTraceSegments` through aws-sdk-xray, for where no daemon runs (the
//! `collectiq-ops` CLI, containers, tests).
//!
//! [`BatchingSink`] is a [`SegmentSink`]: finished documents wait in a bounded queue (the oldest are
//! never pushed out; new ones beyond the bound are dropped and counted, so memory stays bounded when
//! nobody flushes), and [`BatchingSink::flush`] sends them in batches. Call `flush` before the process
//! exits, and periodically in long-running processes.

use super::exporter::SegmentSink;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Documents per `PutTraceSegments` call.
pub const MAX_BATCH: usize = 50;
/// Documents held before new ones are dropped.
pub const DEFAULT_MAX_QUEUE: usize = 2048;

/// Why a batch could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("PutTraceSegments failed: {0}")]
pub struct PutError(pub String);

/// The one X-Ray operation the exporter needs (implemented for `aws_sdk_xray::Client`; tests use fakes).
pub trait TraceSegmentsApi: Send + Sync + fmt::Debug + 'static {
    /// Sends one batch; returns how many documents X-Ray reported unprocessed.
    fn put_trace_segments(
        &self,
        documents: Vec<String>,
    ) -> Pin<Box<dyn Future<Output = Result<usize, PutError>> + Send + '_>>;
}

impl TraceSegmentsApi for aws_sdk_xray::Client {
    fn put_trace_segments(
        &self,
        documents: Vec<String>,
    ) -> Pin<Box<dyn Future<Output = Result<usize, PutError>> + Send + '_>> {
        Box::pin(async move {
            let out = self
                .put_trace_segments()
                .set_trace_segment_documents(Some(documents))
                .send()
                .await
                .map_err(|e| PutError(aws_sdk_xray::error::DisplayErrorContext(&e).to_string()))?;
            Ok(out.unprocessed_trace_segments().len())
        })
    }
}

/// What one [`BatchingSink::flush`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiFlushReport {
    /// Documents X-Ray accepted.
    pub sent: usize,
    /// Documents rejected (unprocessed or in a failed call).
    pub failed: usize,
    /// Documents dropped because the queue was full since the last flush.
    pub dropped: usize,
    /// `PutTraceSegments` calls made.
    pub calls: usize,
}

struct Shared<C> {
    client: C,
    queue: Mutex<VecDeque<String>>,
    max_queue: usize,
    dropped: AtomicUsize,
}

/// Queues documents and sends them with `PutTraceSegments` on [`flush`](Self::flush).
///
/// ```
/// use telemetry::xray::api::BatchingSink;
/// use telemetry::xray::XrayLayer;
/// # #[derive(Debug)] struct Fake;
/// # impl telemetry::xray::api::TraceSegmentsApi for Fake {
/// #     fn put_trace_segments(&self, d: Vec<String>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize, telemetry::xray::api::PutError>> + Send + '_>> { Box::pin(async { Ok(0) }) }
/// # }
/// let sink = BatchingSink::new(Fake); // in production: BatchingSink::new(aws_sdk_xray::Client::new(&config))
/// let layer = XrayLayer::new(sink.clone());
/// // ... at exit: sink.flush().await
/// # let _ = layer;
/// ```
pub struct BatchingSink<C> {
    shared: Arc<Shared<C>>,
}

impl<C> Clone for BatchingSink<C> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C> fmt::Debug for BatchingSink<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchingSink")
            .field("max_queue", &self.shared.max_queue)
            .finish_non_exhaustive()
    }
}

impl<C: TraceSegmentsApi> BatchingSink<C> {
    /// A sink with the default queue bound.
    #[must_use]
    pub fn new(client: C) -> Self {
        Self::with_max_queue(client, DEFAULT_MAX_QUEUE)
    }

    /// A sink holding at most `max_queue` documents between flushes.
    #[must_use]
    pub fn with_max_queue(client: C, max_queue: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                client,
                queue: Mutex::new(VecDeque::new()),
                max_queue: max_queue.max(1),
                dropped: AtomicUsize::new(0),
            }),
        }
    }

    /// Documents waiting.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Sends everything queued, [`MAX_BATCH`] documents per call. Never fails: failures are counted.
    pub async fn flush(&self) -> ApiFlushReport {
        let mut report = ApiFlushReport {
            dropped: self.shared.dropped.swap(0, Ordering::AcqRel),
            ..Default::default()
        };
        loop {
            let batch: Vec<String> = {
                let mut q = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
                let n = q.len().min(MAX_BATCH);
                q.drain(..n).collect()
            };
            if batch.is_empty() {
                return report;
            }
            let n = batch.len();
            report.calls += 1;
            match self.shared.client.put_trace_segments(batch).await {
                Ok(unprocessed) => {
                    let unprocessed = unprocessed.min(n);
                    report.sent += n - unprocessed;
                    report.failed += unprocessed;
                }
                Err(e) => {
                    report.failed += n;
                    tracing::warn!(error = %e, documents = n, "X-Ray PutTraceSegments failed; documents lost");
                }
            }
        }
    }
}

impl<C: TraceSegmentsApi> SegmentSink for BatchingSink<C> {
    fn send(&self, document: &str) {
        let mut q = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.len() < self.shared.max_queue {
            q.push_back(document.to_owned());
        } else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default)]
    struct Fake {
        calls: Mutex<Vec<Vec<String>>>,
        fail_call: Option<usize>,
        unprocessed: usize,
    }

    impl TraceSegmentsApi for Fake {
        fn put_trace_segments(
            &self,
            documents: Vec<String>,
        ) -> Pin<Box<dyn Future<Output = Result<usize, PutError>> + Send + '_>> {
            let mut calls = self.calls.lock().unwrap();
            calls.push(documents);
            let n = calls.len();
            Box::pin(async move {
                if self.fail_call == Some(n) {
                    Err(PutError("throttled".into()))
                } else {
                    Ok(self.unprocessed)
                }
            })
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn batches_bounds_and_counts() {
        let sink = BatchingSink::with_max_queue(
            Fake {
                fail_call: Some(2),
                unprocessed: 1,
                ..Default::default()
            },
            120,
        );
        for i in 0..130 {
            sink.send(&format!("{{\"n\":{i}}}"));
        }
        assert_eq!(sink.pending(), 120);
        let report = block_on(sink.flush());
        assert_eq!(
            report,
            ApiFlushReport {
                sent: 49 + 19,
                failed: 1 + 50 + 1,
                dropped: 10,
                calls: 3
            }
        );
        let calls = sink.shared.client.calls.lock().unwrap();
        assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 20]);
        assert_eq!(calls[0][0], "{\"n\":0}", "oldest first");
        drop(calls);
        assert_eq!(sink.pending(), 0);
        assert_eq!(block_on(sink.flush()), ApiFlushReport::default());
    }
}

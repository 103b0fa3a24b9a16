//! Where subsegment documents go: the X-Ray daemon over UDP, or memory in tests.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The daemon protocol header that precedes every document in a datagram.
pub const DAEMON_HEADER: &str = "{\"format\":\"json\",\"version\":1}\n";

/// The daemon address when `AWS_XRAY_DAEMON_ADDRESS` is unset.
pub const DEFAULT_DAEMON_ADDRESS: &str = "127.0.0.1:2000";

/// Receives finished subsegment documents. Must not block and must not panic.
pub trait SegmentSink: Send + Sync + std::fmt::Debug + 'static {
    /// Sends one serialized document (≤ 64 kB).
    fn send(&self, document: &str);

    /// Sends the document `write` appends to the buffer it is given, if `write` returns `true`
    /// (`false`: nothing is sent, e.g. the document came out over 64 kB). Lets a sink serialise
    /// straight into its datagram; the default collects the text and calls [`send`](Self::send).
    fn send_with(&self, write: &mut dyn FnMut(&mut Vec<u8>) -> bool) {
        let mut doc = Vec::new();
        if write(&mut doc)
            && let Ok(text) = std::str::from_utf8(&doc)
        {
            self.send(text);
        }
    }
}

/// Sends each document as one UDP datagram to the X-Ray daemon.
///
/// The socket is connected to the daemon (as the X-Ray SDKs and opentelemetry-aws do), so a send
/// skips the per-datagram route lookup, and documents are written into one reused buffer that already
/// holds the protocol header.
#[derive(Debug)]
pub struct UdpDaemonSink {
    socket: UdpSocket,
    target: SocketAddr,
    /// Whether `socket` is connected to `target` (`send`), or must name it (`send_to`).
    connected: bool,
    /// [`DAEMON_HEADER`] followed by the last document sent.
    datagram: Mutex<Vec<u8>>,
    /// Datagrams the socket refused (full buffer, too large, no route).
    failed: AtomicU64,
}

impl UdpDaemonSink {
    /// A sink for `address` (`host:port`, or the SDK form `tcp:h:p udp:h:p`).
    ///
    /// ```
    /// let sink = telemetry::xray::UdpDaemonSink::new("127.0.0.1:2000")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The address does not resolve, or no local UDP socket can be bound.
    pub fn new(address: &str) -> std::io::Result<Self> {
        let udp = address
            .split_whitespace()
            .find_map(|p| p.strip_prefix("udp:"))
            .unwrap_or(address.trim());
        let target = udp.to_socket_addrs()?.next().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "daemon address did not resolve")
        })?;
        let bind: SocketAddr = if target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(bind)?;
        socket.set_nonblocking(true)?;
        // Connecting a UDP socket sends nothing; if it fails, every datagram names the target instead.
        let connected = socket.connect(target).is_ok();
        let mut datagram = Vec::with_capacity(4096);
        datagram.extend_from_slice(DAEMON_HEADER.as_bytes());
        Ok(Self {
            socket,
            target,
            connected,
            datagram: Mutex::new(datagram),
            failed: AtomicU64::new(0),
        })
    }

    /// Datagrams not sent since this sink was made: the socket refused them (a full send buffer, a
    /// datagram over 65,507 bytes, no route). Their documents are lost; the invocation is not.
    ///
    /// ```
    /// let sink = telemetry::xray::UdpDaemonSink::new("127.0.0.1:2000")?;
    /// assert_eq!(sink.failed_sends(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn failed_sends(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Sends `datagram`; fire and forget: a missing daemon loses the trace, never the request.
    fn send_datagram(&self, datagram: &[u8]) {
        let sent = if self.connected {
            match self.socket.send(datagram) {
                // A connected socket reports an earlier ICMP "port unreachable" on a later send: the
                // daemon was down; this datagram was not sent, so try it once more.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => self.socket.send(datagram),
                other => other,
            }
        } else {
            self.socket.send_to(datagram, self.target)
        };
        if sent.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A sink for `AWS_XRAY_DAEMON_ADDRESS` (default `127.0.0.1:2000`).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn from_env() -> std::io::Result<Self> {
        Self::new(
            &std::env::var("AWS_XRAY_DAEMON_ADDRESS").unwrap_or_else(|_| DEFAULT_DAEMON_ADDRESS.to_owned()),
        )
    }
}

impl SegmentSink for UdpDaemonSink {
    fn send(&self, document: &str) {
        self.send_with(&mut |buf| {
            buf.extend_from_slice(document.as_bytes());
            true
        });
    }

    fn send_with(&self, write: &mut dyn FnMut(&mut Vec<u8>) -> bool) {
        // One invocation at a time holds the buffer; a concurrent one (Managed Instances) builds its
        // own rather than wait.
        let mut own;
        let mut shared = self.datagram.try_lock().ok();
        let buf: &mut Vec<u8> = match shared.as_deref_mut() {
            Some(b) => b,
            None => {
                own = Vec::with_capacity(4096);
                own.extend_from_slice(DAEMON_HEADER.as_bytes());
                &mut own
            }
        };
        buf.truncate(DAEMON_HEADER.len());
        if write(buf) {
            self.send_datagram(buf);
        }
        // Keep the buffer of a usual invocation, not of a rare huge one.
        if buf.capacity() > 128 * 1024 {
            buf.truncate(DAEMON_HEADER.len());
            buf.shrink_to(4096);
        }
    }
}

/// Keeps documents in memory (tests and benchmarks).
#[derive(Debug, Clone, Default)]
pub struct MemorySink(Arc<Mutex<Vec<String>>>);

impl MemorySink {
    /// Every document received, parsed.
    #[must_use]
    pub fn documents(&self) -> Vec<serde_json::Value> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|d| serde_json::from_str(d).unwrap_or(serde_json::Value::Null))
            .collect()
    }

    /// Every document received, as sent.
    #[must_use]
    pub fn texts(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Forgets what was received.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

impl SegmentSink for MemorySink {
    fn send(&self, document: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(document.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_with_reuses_one_datagram_buffer_and_skips_on_false() {
        let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
        daemon
            .set_read_timeout(Some(std::time::Duration::from_millis(500)))
            .unwrap();
        let sink = UdpDaemonSink::new(&daemon.local_addr().unwrap().to_string()).unwrap();
        sink.send_with(&mut |buf| {
            buf.extend_from_slice(b"{\"too\":\"big\"}");
            false
        });
        sink.send("{\"a\":\"a long first document\"}");
        sink.send("{\"b\":2}");
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        while let Ok(n) = daemon.recv(&mut buf) {
            got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        assert_eq!(
            got,
            [
                format!("{DAEMON_HEADER}{{\"a\":\"a long first document\"}}"),
                format!("{DAEMON_HEADER}{{\"b\":2}}"),
            ],
            "nothing for `false`, and no leftovers of a longer document"
        );
    }

    /// The largest document that fits a datagram arrives; one byte more is refused by the socket and
    /// counted, not lost silently.
    #[test]
    fn the_largest_document_fits_one_datagram_and_refusals_are_counted() {
        let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
        daemon
            .set_read_timeout(Some(std::time::Duration::from_millis(500)))
            .unwrap();
        let sink = UdpDaemonSink::new(&daemon.local_addr().unwrap().to_string()).unwrap();
        let doc = |len: usize| format!("\"{}\"", "x".repeat(len - 2));
        sink.send(&doc(crate::xray::MAX_DOCUMENT_BYTES));
        let mut buf = vec![0u8; 70_000];
        let n = daemon.recv(&mut buf).unwrap();
        assert_eq!(n, 65_507, "header + the largest document: one full datagram");
        assert_eq!(sink.failed_sends(), 0);
        sink.send(&doc(crate::xray::MAX_DOCUMENT_BYTES + 1));
        assert_eq!(sink.failed_sends(), 1);
    }

    #[test]
    fn udp_datagram_has_daemon_header() {
        let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = daemon.local_addr().unwrap();
        let sink = UdpDaemonSink::new(&format!("tcp:{addr} udp:{addr}")).unwrap();
        sink.send("{\"a\":1}");
        daemon
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = daemon.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(header).unwrap(),
            serde_json::json!({"format": "json", "version": 1})
        );
        assert_eq!(body, "{\"a\":1}");
    }
}

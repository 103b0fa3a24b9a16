//! Where subsegment documents go: the X-Ray daemon over UDP, or memory in tests.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::{Arc, Mutex, PoisonError};

/// The daemon protocol header that precedes every document in a datagram.
pub const DAEMON_HEADER: &str = "{\"format\":\"json\",\"version\":1}\n";

/// The daemon address when `AWS_XRAY_DAEMON_ADDRESS` is unset.
pub const DEFAULT_DAEMON_ADDRESS: &str = "127.0.0.1:2000";

/// Receives finished subsegment documents. Must not block and must not panic.
pub trait SegmentSink: Send + Sync + std::fmt::Debug + 'static {
    /// Sends one serialized document (≤ 64 kB).
    fn send(&self, document: &str);
}

/// Sends each document as one UDP datagram to the X-Ray daemon.
#[derive(Debug)]
pub struct UdpDaemonSink {
    socket: UdpSocket,
    target: SocketAddr,
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
        Ok(Self { socket, target })
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
        let mut datagram = String::with_capacity(DAEMON_HEADER.len() + document.len());
        datagram.push_str(DAEMON_HEADER);
        datagram.push_str(document);
        // Fire and forget: a missing daemon loses the trace, never the request.
        let _ = self.socket.send_to(datagram.as_bytes(), self.target);
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

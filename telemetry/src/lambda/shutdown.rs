//! The span flush at shutdown.
//!
//! Lambda sends the runtime `SIGTERM` before it shuts an execution environment down only when an
//! extension is registered, and then gives the runtime 500 ms when the extension is internal
//! (AWS's "Lambda Extensions API" guide, Shutdown phase; `aws-samples/graceful-shutdown-with-aws-lambda`).
//! Without one the process is killed outright, and spans a background exporter still holds — a
//! post cut short by an invocation's deadline that resumed at the thaw, a post waiting for its retry
//! — are lost. So when the installed span sink holds batches (OTLP/HTTP, [`SpanSink::holds_batches`]),
//! [`run`](super::run), [`run_with`](super::run_with) and [`run_sequential`](super::run_sequential)
//! register an internal extension named [`EXTENSION_NAME`] that subscribes to no event (so it costs
//! no invocation anything), and on `SIGTERM` wait up to [`SHUTDOWN_FLUSH`] for those batches to be
//! posted or given up on ([`SpanSink::drain`]: also towards a failing endpoint), log what happened as
//! one JSON line, and exit 0. `TELEMETRY_SHUTDOWN_FLUSH=false` turns it off; it is
//! also off where the Extensions API does not answer (a local emulator): then a warning says so and
//! `SIGTERM` keeps its default action.

use crate::xray::SpanSink;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// The internal extension's name (`Lambda-Extension-Name`); unique within a function.
pub const EXTENSION_NAME: &str = "telemetry-shutdown-flush";

/// How long the flush at `SIGTERM` may take: the runtime has 500 ms with an internal extension
/// registered; the rest is for the log line and the exit.
pub const SHUTDOWN_FLUSH: Duration = Duration::from_millis(400);

/// How long registering may take (it happens once, during the Init phase).
const REGISTER_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether `TELEMETRY_SHUTDOWN_FLUSH` leaves the flush at shutdown on (unset: on).
fn enabled(value: Option<&str>) -> bool {
    !value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "false" | "0" | "off" | "no"
        )
    })
}

/// Registers the extension and arms the flush at `SIGTERM` when `sink` holds batches, the process
/// runs under a Runtime API and `TELEMETRY_SHUTDOWN_FLUSH` does not turn it off. Call before the
/// runtime asks for its first event: Lambda accepts registrations only during the Init phase.
pub(super) async fn arm(sink: Option<Arc<dyn SpanSink>>) {
    let Some(sink) = sink.filter(|s| s.holds_batches()) else {
        return;
    };
    if !enabled(std::env::var("TELEMETRY_SHUTDOWN_FLUSH").ok().as_deref()) {
        return;
    }
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    // One thread registers, then holds the extension's `next` call open for the life of the process
    // (Lambda answers it with nothing: the extension subscribes to no event).
    let spawned = std::thread::Builder::new()
        .name("telemetry-extension".into())
        .spawn(move || match register(&api, REGISTER_TIMEOUT) {
            // Even when registered too late for `arm` (no SIGTERM handler then): Lambda ends Init only
            // once every registered extension has called `next`.
            Ok(id) => {
                let _ = tx.send(Ok(()));
                wait_for_events(&api, &id);
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "span flush at shutdown not armed: no thread for the extension");
        return;
    }
    let registered = match tokio::time::timeout(REGISTER_TIMEOUT, rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err("the registering thread ended".to_owned()),
        Err(_) => Err(format!(
            "the Extensions API did not answer within {REGISTER_TIMEOUT:?}"
        )),
    };
    if let Err(e) = registered {
        tracing::warn!(
            error = %e,
            extension = EXTENSION_NAME,
            "span flush at shutdown not armed: the extension could not register; spans still held \
             when the environment shuts down are lost"
        );
        return;
    }
    // Only now: a SIGTERM handler, once installed, replaces the default action for good.
    let mut sigterm = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "span flush at shutdown not armed: SIGTERM cannot be handled");
            return;
        }
    };
    tokio::spawn(async move {
        if sigterm.recv().await.is_none() {
            return;
        }
        // Every batch, even towards an endpoint that is failing: its last tries are all there is.
        let drained = tokio::task::spawn_blocking(move || sink.drain(SHUTDOWN_FLUSH))
            .await
            .unwrap_or(false);
        let budget_ms = u64::try_from(SHUTDOWN_FLUSH.as_millis()).unwrap_or(u64::MAX);
        if drained {
            tracing::info!(budget_ms, "shutting down: no span batch still waiting");
        } else {
            tracing::warn!(budget_ms, "shutting down: span batches still waiting are lost");
        }
        // Metrics recorded outside an invocation since the last one ended (background tasks, tasks
        // whose invocation closed) have no next invocation to write them.
        if let Some(emf) = crate::emf::global() {
            let _ = emf.flush();
        }
        std::process::exit(0);
    });
}

/// `POST /2020-01-01/extension/register` with no events; the `Lambda-Extension-Identifier`.
fn register(api: &str, timeout: Duration) -> Result<String, String> {
    let body = r#"{"events":[]}"#;
    let head = format!(
        "POST /2020-01-01/extension/register HTTP/1.1\r\nHost: {api}\r\nLambda-Extension-Name: {EXTENSION_NAME}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, headers) = exchange(api, &head, Some(timeout)).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("register answered HTTP {status}"));
    }
    headers
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("lambda-extension-identifier"))
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| "register answered without a Lambda-Extension-Identifier".to_owned())
}

/// `GET /2020-01-01/extension/event/next`, again while Lambda answers: the extension is ready, and
/// stays so, while the call is open. Ends when the API stops answering (the process is going away).
fn wait_for_events(api: &str, id: &str) {
    let head = format!(
        "GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: {api}\r\nLambda-Extension-Identifier: {id}\r\n\
         Connection: close\r\n\r\n"
    );
    while let Ok((200, _)) = exchange(api, &head, None) {
        // An event the extension did not subscribe to: nothing to do but ask again (not in a
        // tight loop, whatever answers).
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `head` (a whole HTTP/1.1 request) to `api` and reads the answer's status and headers. Not
/// reqwest (the OTLP/HTTP exporter's client): building one during Init costs milliseconds of cold
/// start (TLS roots, its own runtime thread) for two plain-HTTP calls to the local Runtime API.
fn exchange(
    api: &str,
    head: &str,
    timeout: Option<Duration>,
) -> std::io::Result<(u16, Vec<(String, String)>)> {
    let addr = api.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "AWS_LAMBDA_RUNTIME_API did not resolve",
        )
    })?;
    let mut stream = match timeout {
        Some(t) => TcpStream::connect_timeout(&addr, t)?,
        None => TcpStream::connect(addr)?,
    };
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    stream.write_all(head.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Ok((status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn only_an_explicit_no_turns_it_off() {
        for v in [None, Some(""), Some("true"), Some("1"), Some("yes")] {
            assert!(enabled(v), "{v:?}");
        }
        for v in ["false", "FALSE", " 0 ", "off", "no"] {
            assert!(!enabled(Some(v)), "{v}");
        }
    }

    /// A server answering one connection with `answer`; the request it read.
    fn answering(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let api = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                request.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = [0u8; 13];
            std::io::Read::read_exact(&mut reader, &mut body).unwrap();
            request.push_str(std::str::from_utf8(&body).unwrap());
            stream.write_all(answer.as_bytes()).unwrap();
            request
        });
        (api, handle)
    }

    #[test]
    fn registers_for_no_event_under_its_name() {
        let (api, server) = answering(
            "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: 6a1b-ext\r\nContent-Length: 2\r\n\r\n{}",
        );
        assert_eq!(register(&api, REGISTER_TIMEOUT).unwrap(), "6a1b-ext");
        let request = server.join().unwrap();
        assert!(
            request.starts_with("POST /2020-01-01/extension/register HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains(&format!("\r\nLambda-Extension-Name: {EXTENSION_NAME}\r\n")),
            "{request}"
        );
        assert!(request.ends_with("\r\n\r\n{\"events\":[]}"), "{request}");
    }

    #[test]
    fn a_refused_or_odd_registration_is_an_error_naming_why() {
        for (answer, why) in [
            ("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "HTTP 403"),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                "without a Lambda-Extension-Identifier",
            ),
            (
                "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: \r\n\r\n",
                "without a Lambda-Extension-Identifier",
            ),
            ("garbage\r\n\r\n", "not an HTTP answer"),
        ] {
            let (api, server) = answering(answer);
            let e = register(&api, REGISTER_TIMEOUT).unwrap_err();
            assert!(e.contains(why), "{answer:?}: {e}");
            server.join().unwrap();
        }
        // Nothing listening.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        assert!(register(&closed, REGISTER_TIMEOUT).is_err());
    }
}

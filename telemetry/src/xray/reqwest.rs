//! reqwest calls as X-Ray subsegments: [`SendTraced::send_traced`] instead of `send`.
//!
//! One subsegment per call (`namespace: "remote"`, named after the host), a child of the span the call
//! is made in, with `http.request.method`, `http.request.url` (without query string, fragment or
//! credentials: those carry secrets such as presigned-URL signatures) and `http.response.status` /
//! `content_length`. 4xx → `error`, 429 → `throttle` too, 5xx or no response → `fault`. The request
//! carries `X-Amzn-Trace-Id` with this subsegment as `Parent` (the invocation's own header, `Sampled=0`,
//! in an unsampled invocation), and the same context as W3C `traceparent` (+ `tracestate`).

use super::layer::outgoing_context_for;
use crate::propagation::Propagators;
use ::reqwest::header::{HeaderName, HeaderValue};
use std::future::Future;
use tracing::Instrument;
use tracing::field::Empty;

/// Sends a request as an X-Ray `remote` subsegment. Implemented for `reqwest::RequestBuilder`.
///
/// ```no_run
/// use telemetry::xray::reqwest::SendTraced;
/// # async fn f() -> Result<(), reqwest::Error> {
/// let client = reqwest::Client::new();
/// let response = client.get("https://api.example.com/prices?card=c-1").send_traced().await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
pub trait SendTraced {
    /// Like `send()`, traced.
    fn send_traced(self) -> impl Future<Output = ::reqwest::Result<::reqwest::Response>> + Send;
}

/// The URL as recorded: scheme, host, port and path only.
fn recorded_url(url: &::reqwest::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

impl SendTraced for ::reqwest::RequestBuilder {
    fn send_traced(self) -> impl Future<Output = ::reqwest::Result<::reqwest::Response>> + Send {
        let (client, request) = self.build_split();
        // The span the call is made in, not the one current where the future is first polled (a
        // spawned task has none): the subsegment and the headers follow the caller. A future made
        // outside any span takes the one it runs in (`.instrument(span)`).
        let made_in = tracing::Span::current();
        async move {
            let parent = if made_in.is_none() {
                tracing::Span::current()
            } else {
                made_in
            };
            let mut request = request?;
            let url = request.url();
            let host = url.host_str().unwrap_or("remote").to_owned();
            let span = tracing::info_span!(
                target: "telemetry::xray::reqwest",
                parent: &parent,
                "remote",
                otel.name = host.as_str(),
                xray.namespace = "remote",
                http.request.method = request.method().as_str(),
                http.request.url = recorded_url(url).as_str(),
                http.response.status = Empty,
                http.response.content_length = Empty,
                telemetry.error = Empty,
                telemetry.fault = Empty,
                telemetry.throttle = Empty,
            );
            if let Some(out) = outgoing_context_for(&span) {
                let headers = request.headers_mut();
                // The headers `OTEL_PROPAGATORS` names (default: X-Ray and W3C).
                for (name, value) in Propagators::from_env().headers(out) {
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        headers.insert(HeaderName::from_static(name), v);
                    }
                }
            }
            let result = client.execute(request).instrument(span.clone()).await;
            match &result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    span.record("http.response.status", status);
                    if let Some(len) = response.content_length() {
                        span.record("http.response.content_length", len);
                    }
                    if (400..500).contains(&status) {
                        span.record("telemetry.error", true);
                    }
                    if status == 429 {
                        span.record("telemetry.throttle", true);
                    }
                    if status >= 500 {
                        span.record("telemetry.fault", true);
                    }
                }
                Err(_) => {
                    span.record("telemetry.fault", true);
                }
            }
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::{TraceHeader, XrayLayer, fake_daemon};
    use serde_json::json;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tracing_subscriber::layer::SubscriberExt;

    const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    /// A loopback HTTP/1.1 server answering by path; keeps each request's head.
    async fn server() -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&heads);
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = stream.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let status = match head.split_whitespace().nth(1).unwrap_or("/") {
                    p if p.starts_with("/throttle") => "429 Too Many Requests",
                    p if p.starts_with("/boom") => "500 Internal Server Error",
                    _ => "200 OK",
                };
                seen.lock().unwrap().push(head);
                let reply =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello");
                stream.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        (base, heads)
    }

    fn header_of(head: &str) -> Option<String> {
        head.lines()
            .find_map(|l| l.strip_prefix("x-amzn-trace-id: ").map(str::to_owned))
    }

    #[tokio::test]
    async fn calls_are_remote_subsegments_carrying_the_header() {
        let (daemon, sink) = fake_daemon::start();
        let _default =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(XrayLayer::new(sink)));
        let (base, heads) = server().await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let invocation = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER);
        async {
            let ok = client
                .get(format!("{base}/prices?card=c-1&X-Amz-Signature=secret#frag"))
                .send_traced()
                .await
                .unwrap();
            assert_eq!(ok.text().await.unwrap(), "hello");
            let throttled = client
                .post(format!("{base}/throttle"))
                .send_traced()
                .await
                .unwrap();
            assert_eq!(throttled.status(), 429);
            let boom = client.get(format!("{base}/boom")).send_traced().await.unwrap();
            assert_eq!(boom.status(), 500);
            // Made here, run on a spawned task (where no span is current): still this invocation's.
            let spawned = tokio::spawn(client.get(format!("{base}/spawned")).send_traced());
            assert_eq!(spawned.await.unwrap().unwrap().status(), 200);
        }
        .instrument(invocation.clone())
        .await;
        drop(invocation);

        let docs = fake_daemon::received(&daemon);
        assert_eq!(docs.len(), 1, "{docs:?}");
        let calls = docs[0]["subsegments"].as_array().unwrap();
        assert_eq!(calls.len(), 4);
        assert!(
            calls
                .iter()
                .all(|c| c["namespace"] == "remote" && c["name"] == "127.0.0.1")
        );
        assert_eq!(
            calls[0]["http"],
            json!({"request": {"method": "GET", "url": format!("{base}/prices")},
                   "response": {"status": 200, "content_length": 5}})
        );
        assert!(calls[0].get("error").is_none() && calls[0].get("fault").is_none());
        assert_eq!(calls[1]["http"]["request"]["method"], "POST");
        assert_eq!(
            (calls[1]["error"].clone(), calls[1]["throttle"].clone()),
            (json!(true), json!(true))
        );
        assert_eq!(calls[2]["fault"], true);
        assert!(calls[2].get("error").is_none());

        let heads = heads.lock().unwrap().clone();
        assert_eq!(heads.len(), 4);
        for (head, call) in heads.iter().zip(calls) {
            let tp = head
                .lines()
                .find_map(|l| l.strip_prefix("traceparent: "))
                .and_then(|v| crate::propagation::TraceParent::parse(v).ok())
                .unwrap();
            assert_eq!(format!("{:016x}", tp.parent_id), call["id"].as_str().unwrap());
            assert_eq!(
                format!("{:032x}", tp.trace_id),
                "5759e988bd862e3fe1be46a994272793"
            );
            let h = TraceHeader::parse(&header_of(head).unwrap()).unwrap();
            assert_eq!(h.xray_trace_id(), "1-5759e988-bd862e3fe1be46a994272793");
            assert_eq!(
                format!("{:016x}", h.parent.unwrap()),
                call["id"].as_str().unwrap()
            );
            assert!(h.is_sampled());
        }
    }

    #[tokio::test]
    async fn no_response_is_a_fault_and_outside_an_invocation_nothing_is_added() {
        let (daemon, sink) = fake_daemon::start();
        let _default =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(XrayLayer::new(sink)));
        let (base, heads) = server().await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        client.get(format!("{base}/plain")).send_traced().await.unwrap();
        assert_eq!(header_of(&heads.lock().unwrap()[0]), None);
        // A port nobody listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let invocation = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER);
        let failed = client
            .get(dead)
            .send_traced()
            .instrument(invocation.clone())
            .await;
        assert!(failed.is_err());
        drop(invocation);
        let docs = fake_daemon::received(&daemon);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["subsegments"][0]["fault"], true);
        assert!(docs[0]["subsegments"][0]["http"].get("response").is_none());
    }
}

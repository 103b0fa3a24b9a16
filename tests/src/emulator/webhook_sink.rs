//! A loopback HTTP sink standing in for a Slack incoming webhook (or any webhook): it records every POST
//! and answers with scripted responses (`200 ok`, `429` + `Retry-After`, `400 invalid_payload`, ...), so
//! posting code is tested over a real socket with real HTTP.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkResponse {
    /// HTTP status.
    pub status: u16,
    /// Body (Slack answers `ok` or an error code in plain text).
    pub body: String,
    /// `Retry-After` seconds, for 429s.
    pub retry_after: Option<u32>,
    /// `Location`, for redirects.
    pub location: Option<String>,
}

impl SinkResponse {
    /// `200 ok`, what Slack answers to a good post.
    #[must_use]
    pub fn ok() -> Self {
        Self {
            status: 200,
            body: "ok".into(),
            retry_after: None,
            location: None,
        }
    }
    /// `429` with `Retry-After: seconds`.
    #[must_use]
    pub fn rate_limited(seconds: u32) -> Self {
        Self {
            status: 429,
            body: "rate_limited".into(),
            retry_after: Some(seconds),
            location: None,
        }
    }
    /// A 4xx with Slack's plain-text error code (`invalid_payload`, `channel_is_archived`).
    #[must_use]
    pub fn error(status: u16, code: &str) -> Self {
        Self {
            status,
            body: code.into(),
            retry_after: None,
            location: None,
        }
    }
    /// A redirect (`302`, `307`, ...) to `location`: what a hijacked or misconfigured webhook host
    /// could answer to pull the post (and its secret path) elsewhere.
    #[must_use]
    pub fn redirect(status: u16, location: &str) -> Self {
        Self {
            status,
            body: String::new(),
            retry_after: None,
            location: Some(location.to_owned()),
        }
    }
}

/// One request the sink received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPost {
    /// Request path.
    pub path: String,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// Body as text.
    pub body: String,
}

#[derive(Debug, Default)]
struct Shared {
    script: Vec<SinkResponse>,
    received: Vec<ReceivedPost>,
}

/// A running sink; stops when dropped.
#[derive(Debug)]
pub struct WebhookSink {
    url: String,
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

impl WebhookSink {
    /// Starts a sink on a free loopback port. Responses are used in order; once the script is used up
    /// every request gets `200 ok`.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start(script: Vec<SinkResponse>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/services/T000/B000/demo", listener.local_addr()?);
        let shared = Arc::new(Mutex::new(Shared {
            script,
            received: Vec::new(),
        }));
        let state = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let _ = serve(stream, state).await;
                });
            }
        });
        Ok(Self { url, shared, task })
    }

    /// The webhook URL to post to.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Everything received so far.
    #[must_use]
    pub fn received(&self) -> Vec<ReceivedPost> {
        self.shared.lock().map(|s| s.received.clone()).unwrap_or_default()
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: tokio::net::TcpStream, state: Arc<Mutex<Shared>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut content_length = 0usize;
        let mut content_type = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => content_length = value.trim().parse().unwrap_or(0),
                    "content-type" => content_type = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).await?;
        let response = {
            let Ok(mut s) = state.lock() else { return Ok(()) };
            s.received.push(ReceivedPost {
                path,
                content_type,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            if s.script.is_empty() {
                SinkResponse::ok()
            } else {
                s.script.remove(0)
            }
        };
        let retry = response
            .retry_after
            .map(|r| format!("Retry-After: {r}\r\n"))
            .unwrap_or_default();
        let location = response
            .location
            .map(|l| format!("Location: {l}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "HTTP/1.1 {} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{retry}{location}\r\n",
            response.status,
            response.body.len()
        );
        write.write_all(head.as_bytes()).await?;
        write.write_all(response.body.as_bytes()).await?;
        write.flush().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_posts_and_follows_the_script() {
        let sink = WebhookSink::start(vec![
            SinkResponse::rate_limited(1),
            SinkResponse::error(400, "invalid_payload"),
        ])
        .await
        .unwrap();
        let http = reqwest::Client::new();
        let post = |body: &'static str| {
            http.post(sink.url())
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let r = post("{\"text\":\"a\"}").await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "1");
        let r = post("{\"text\":\"b\"}").await.unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.text().await.unwrap(), "invalid_payload");
        let r = post("{\"text\":\"c\"}").await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "ok");
        let got = sink.received();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].body, "{\"text\":\"c\"}");
        assert_eq!(got[0].content_type.as_deref(), Some("application/json"));
        assert_eq!(got[0].path, "/services/T000/B000/demo");
    }
}

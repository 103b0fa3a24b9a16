//! The Slack incoming-webhook client.
//!
//! - The URL is a secret (anyone holding it can post to the channel): it lives in Secrets Manager, is held
//!   in [`WebhookUrl`] whose `Debug` is redacted, and never appears in an error, a log line or the output
//!   (`reqwest` errors are stripped of their URL).
//! - `429` → sleep for `Retry-After` seconds and retry, at most [`SlackRetry::max_attempts`] attempts and
//!   never longer than [`SlackRetry::max_wait`] per wait (posting on through 429s risks the app being
//!   disabled). A connection that could not be made is retried the same way with a 1 s, 2 s backoff: the
//!   request never reached Slack.
//! - `5xx`, a timeout or a connection lost after the request was sent are **not** retried here: Slack may
//!   have posted the message anyway, and a webhook has no idempotency key. The post fails with
//!   [`SlackError::outcome_unknown`] set; the caller's delivery record stays pending and the next run
//!   posts it again — carrying the same `delivery ref` marker, so a second copy is recognisable.
//! - Other `4xx` are never retried: `invalid_payload` and `channel_is_archived` get a clear error saying
//!   what to do.
//! - Redirects are never followed and no `Referer` is sent: the URL's path is the secret, and a redirect
//!   (from a hijacked host or a proxy) would carry the post to another address. A `3xx` is a failed post
//!   ([`SlackError::Redirected`]); an `https` webhook is only ever posted over `https`.
//!
//! Success is `200` with body `ok` (api.slack.com/messaging/webhooks, "Handling errors"); a Workflow
//! Builder webhook's `{"ok":true}` and a `200` whose body could not be read count too. Any other `2xx`
//! ([`SlackError::NotOk`]) is not taken as delivered: something answered that may or may not have passed
//! the post on ([`SlackError::outcome_unknown`]), so the record stays pending with its `delivery ref`.

use std::time::Duration;

use cost::slack::SlackMessage;
use reqwest::StatusCode;

/// A Slack incoming-webhook URL. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(reqwest::Url);

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookUrl(<redacted>)")
    }
}

impl WebhookUrl {
    /// Reads the secret's value: the URL itself, or a JSON object with `url` or `webhook_url`. Only
    /// Slack's own webhook hosts are accepted over `https` ([`SLACK_WEBHOOK_HOSTS`], default port, no
    /// user or password), and `http` to a loopback host (the local sink of the demo and the tests): a
    /// secret pointing anywhere else (another host, the instance metadata address) would send the
    /// reports — and, in errors, what that host answers — where nobody reads them for Slack.
    ///
    /// # Errors
    /// [`SlackError::BadSecret`] (without echoing the value).
    ///
    /// ```
    /// use governance::cost_pass::slack::WebhookUrl;
    /// let url = WebhookUrl::from_secret(r#"{"url":"https://hooks.slack.com/services/T/B/x"}"#).unwrap();
    /// assert_eq!(format!("{url:?}"), "WebhookUrl(<redacted>)");
    /// assert!(WebhookUrl::from_secret("http://hooks.slack.com/services/T/B/x").is_err());
    /// ```
    pub fn from_secret(value: &str) -> Result<Self, SlackError> {
        let value = value.trim();
        let text = if value.starts_with('{') {
            let doc: serde_json::Map<String, serde_json::Value> = serde_json::from_str(value)
                .map_err(|_| SlackError::BadSecret("a JSON object that does not parse".into()))?;
            doc.get("url")
                .or_else(|| doc.get("webhook_url"))
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| SlackError::BadSecret("a JSON object without \"url\"".into()))?
                .to_owned()
        } else {
            value.to_owned()
        };
        let url = reqwest::Url::parse(&text).map_err(|_| SlackError::BadSecret("not a URL".into()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SlackError::BadSecret("a URL with a user or password".into()));
        }
        let host = url.host_str().unwrap_or_default();
        let loopback = is_sink_host(host);
        match url.scheme() {
            "https" if SLACK_WEBHOOK_HOSTS.contains(&host) && url.port().is_none() => Ok(Self(url)),
            "https" if loopback => Ok(Self(url)),
            "https" => Err(SlackError::BadSecret(format!(
                "a URL on another host than {}",
                SLACK_WEBHOOK_HOSTS.join(" or ")
            ))),
            "http" if loopback => Ok(Self(url)),
            other => Err(SlackError::BadSecret(format!(
                "scheme {other}: only https is accepted"
            ))),
        }
    }
}

impl WebhookUrl {
    /// Whether it is the local sink (a loopback host), not Slack.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        self.0.host_str().is_some_and(is_sink_host)
    }
}

/// The loopback hosts a webhook URL may name: the local sink of the demo and the tests.
fn is_sink_host(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// The hosts of Slack's incoming webhooks: commercial Slack and Slack GovSlack.
pub const SLACK_WEBHOOK_HOSTS: [&str; 2] = ["hooks.slack.com", "hooks.slack-gov.com"];

/// How long one post to the webhook may take.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Retry bounds for posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlackRetry {
    /// Attempts in all (the first post included).
    pub max_attempts: u32,
    /// Longest single wait; a `Retry-After` above it fails the post instead of stalling the run.
    pub max_wait: Duration,
}

impl SlackRetry {
    /// The longest a post can take: every attempt timing out, and the longest wait between two.
    #[must_use]
    pub fn worst_case(&self) -> Duration {
        POST_TIMEOUT * self.max_attempts + self.max_wait * self.max_attempts.saturating_sub(1)
    }
}

impl Default for SlackRetry {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            max_wait: Duration::from_secs(30),
        }
    }
}

/// Why a post failed. Never contains the webhook URL.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// The secret does not hold a usable webhook URL.
    #[error("the Slack webhook secret holds {0}")]
    BadSecret(String),
    /// Slack rejected the JSON.
    #[error(
        "Slack rejected the message as invalid_payload (HTTP {status}): the Block Kit JSON is malformed or over a limit; \
         the payload is saved under out/ for inspection"
    )]
    InvalidPayload {
        /// HTTP status.
        status: u16,
    },
    /// The webhook's channel is archived.
    #[error(
        "the Slack webhook's channel is archived (channel_is_archived): create a webhook in an active channel and \
         store its URL in the secret"
    )]
    ChannelArchived,
    /// Another 4xx (`no_service`, `invalid_token`, `action_prohibited`, ...): not retried.
    #[error("Slack refused the post: HTTP {status} {code}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Slack's plain-text error code.
        code: String,
    },
    /// A 2xx other than Slack's `200 ok`: something answered that is not Slack's webhook (a proxy, a
    /// login page, a misconfigured URL), so the post is not taken as delivered.
    #[error(
        "the Slack webhook answered HTTP {status} {body:?}, not Slack's 200 \"ok\": the post is not taken as \
         delivered (is the secret's URL a Slack incoming webhook?)"
    )]
    NotOk {
        /// HTTP status.
        status: u16,
        /// The answer's first 100 characters.
        body: String,
    },
    /// The webhook answered a redirect: not followed, nothing was posted.
    #[error("the Slack webhook answered a redirect (HTTP {status}); not followed, nothing was posted")]
    Redirected {
        /// HTTP status.
        status: u16,
    },
    /// Still rate limited after the allowed attempts, or asked to wait longer than allowed.
    #[error("Slack kept answering 429 (Retry-After {retry_after_s:?} s) after {attempts} attempt(s)")]
    RateLimited {
        /// Attempts made.
        attempts: u32,
        /// The last `Retry-After`.
        retry_after_s: Option<u64>,
    },
    /// A server error, a timeout or a transport failure.
    #[error("Slack post failed after {attempts} attempt(s): {detail}{}", if *.outcome_unknown {
        " (Slack may have posted it: a retry carries the same delivery ref)"
    } else {
        ""
    })]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        detail: String,
        /// Whether the request reached Slack, so that it may have been posted (5xx, timeout, connection
        /// lost after sending).
        outcome_unknown: bool,
    },
}

impl SlackError {
    /// Whether Slack may have posted the message although the post failed.
    #[must_use]
    pub const fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            Self::Unavailable {
                outcome_unknown: true,
                ..
            } | Self::NotOk { .. }
        )
    }
}

/// A successful post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PostReceipt {
    /// Attempts it took.
    pub attempts: u32,
    /// Time spent waiting on `Retry-After` / backoff.
    pub waited_ms: u64,
}

/// A webhook to post to.
#[derive(Debug, Clone)]
pub struct SlackWebhook {
    url: WebhookUrl,
    http: reqwest::Client,
    retry: SlackRetry,
}

impl SlackWebhook {
    /// A webhook client with a 10 s request timeout that follows no redirect, sends no `Referer` and,
    /// for an `https` webhook, speaks only `https` (an `http` URL is only ever a loopback sink, see
    /// [`WebhookUrl::from_secret`]).
    ///
    /// # Errors
    /// [`SlackError::Unavailable`] when the HTTP client cannot be built.
    pub fn new(url: WebhookUrl, retry: SlackRetry) -> Result<Self, SlackError> {
        let http = reqwest::Client::builder()
            .timeout(POST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .https_only(url.0.scheme() == "https")
            .build()
            .map_err(|e| SlackError::Unavailable {
                attempts: 0,
                detail: e.without_url().to_string(),
                outcome_unknown: false,
            })?;
        Ok(Self { url, http, retry })
    }

    /// Posts `message` (JSON body), honouring `Retry-After`.
    ///
    /// # Errors
    /// [`SlackError`] as described in the module docs.
    pub async fn post(&self, message: &SlackMessage) -> Result<PostReceipt, SlackError> {
        let body = serde_json::to_vec(message).map_err(|e| SlackError::Unavailable {
            attempts: 0,
            detail: format!("cannot serialize the message: {e}"),
            outcome_unknown: false,
        })?;
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.max_attempts.max(1);
            let sent = self
                .http
                .post(self.url.0.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let wait = match sent {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let text = response.text().await;
                    let body_read = text.is_ok();
                    let code = text
                        .unwrap_or_default()
                        .trim()
                        .chars()
                        .take(100)
                        .collect::<String>();
                    // Slack answers a good post `200 ok` (cost-anchors §6); a Workflow Builder
                    // webhook `{"ok":true}`; a 200 whose body was lost is Slack's all the same.
                    let slack_ok = status == StatusCode::OK
                        && (code == "ok"
                            || !body_read
                            || serde_json::from_str::<serde_json::Value>(&code)
                                .is_ok_and(|v| v.get("ok") == Some(&serde_json::Value::Bool(true))));
                    if status.is_success() && !slack_ok {
                        return Err(SlackError::NotOk {
                            status: status.as_u16(),
                            body: code,
                        });
                    }
                    if status.is_success() {
                        return Ok(PostReceipt {
                            attempts: attempt,
                            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                        });
                    }
                    if status.is_redirection() {
                        // Not followed (Policy::none): the post went nowhere.
                        return Err(SlackError::Redirected {
                            status: status.as_u16(),
                        });
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        let wait = Duration::from_secs(retry_after.unwrap_or(1));
                        if last || wait > self.retry.max_wait {
                            return Err(SlackError::RateLimited {
                                attempts: attempt,
                                retry_after_s: retry_after,
                            });
                        }
                        wait
                    } else if status.is_client_error() {
                        return Err(match code.as_str() {
                            "invalid_payload" => SlackError::InvalidPayload {
                                status: status.as_u16(),
                            },
                            "channel_is_archived" => SlackError::ChannelArchived,
                            _ => SlackError::Rejected {
                                status: status.as_u16(),
                                code,
                            },
                        });
                    } else {
                        // 5xx: Slack may have posted it; never post again blindly.
                        return Err(SlackError::Unavailable {
                            attempts: attempt,
                            detail: format!("HTTP {} {code}", status.as_u16()),
                            outcome_unknown: true,
                        });
                    }
                }
                Err(e) => {
                    // Only a connection never made is safe to retry: the request did not reach Slack.
                    let reached = !e.is_connect();
                    if last || reached {
                        return Err(SlackError::Unavailable {
                            attempts: attempt,
                            detail: e.without_url().to_string(),
                            outcome_unknown: reached,
                        });
                    }
                    Duration::from_secs(u64::from(attempt))
                }
            };
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use collectiq_tests::{SinkResponse, WebhookSink};
    use cost::slack::{Block, TextObject};

    fn message() -> SlackMessage {
        SlackMessage {
            text: "CollectIQ prod: test".into(),
            blocks: vec![Block::Section {
                text: Some(TextObject::mrkdwn("*hello*")),
                fields: vec![],
            }],
        }
    }

    async fn hook(sink: &WebhookSink, retry: SlackRetry) -> SlackWebhook {
        SlackWebhook::new(WebhookUrl::from_secret(sink.url()).unwrap(), retry).unwrap()
    }

    #[tokio::test]
    async fn a_429_is_retried_after_retry_after() {
        let sink = WebhookSink::start(vec![SinkResponse::rate_limited(1)])
            .await
            .unwrap();
        let receipt = hook(&sink, SlackRetry::default())
            .await
            .post(&message())
            .await
            .unwrap();
        assert_eq!(receipt.attempts, 2);
        assert!(receipt.waited_ms >= 1000);
        let got = sink.received();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].body, got[1].body);
        let parsed: SlackMessage = serde_json::from_str(&got[1].body).unwrap();
        assert_eq!(parsed, message());
        assert_eq!(got[1].content_type.as_deref(), Some("application/json"));
    }

    /// Slack answers a good post `200 ok`; any other 2xx is something else answering (a proxy, a login
    /// page): not delivered, not retried within the run.
    #[tokio::test]
    async fn only_200_ok_is_a_delivered_post() {
        let sink = WebhookSink::start(vec![
            SinkResponse::error(204, ""),
            SinkResponse::error(200, "<html>sign in</html>"),
            SinkResponse::ok(),
        ])
        .await
        .unwrap();
        let h = hook(&sink, SlackRetry::default()).await;
        let e = h.post(&message()).await.unwrap_err();
        assert!(
            matches!(&e, SlackError::NotOk { status: 204, body } if body.is_empty()),
            "{e}"
        );
        let e = h.post(&message()).await.unwrap_err();
        assert!(
            matches!(&e, SlackError::NotOk { status: 200, body } if body.contains("sign in")),
            "{e}"
        );
        assert!(e.to_string().contains("not Slack's 200"), "{e}");
        assert!(
            e.outcome_unknown(),
            "something answered: it may have passed the post on"
        );
        h.post(&message()).await.unwrap();
        assert_eq!(sink.received().len(), 3, "one attempt each");
    }

    /// A Workflow Builder webhook answers `{"ok":true}`: delivered.
    #[tokio::test]
    async fn a_workflow_webhooks_json_ok_is_delivered() {
        let sink = WebhookSink::start(vec![SinkResponse::error(200, r#"{"ok":true}"#)])
            .await
            .unwrap();
        let h = hook(&sink, SlackRetry::default()).await;
        h.post(&message()).await.unwrap();
    }

    #[tokio::test]
    async fn invalid_payload_and_archived_channel_are_not_retried() {
        let sink = WebhookSink::start(vec![
            SinkResponse::error(400, "invalid_payload"),
            SinkResponse::error(410, "channel_is_archived"),
            SinkResponse::error(403, "action_prohibited"),
        ])
        .await
        .unwrap();
        let h = hook(&sink, SlackRetry::default()).await;
        let e = h.post(&message()).await.unwrap_err();
        assert!(matches!(e, SlackError::InvalidPayload { status: 400 }), "{e}");
        let e = h.post(&message()).await.unwrap_err();
        assert!(matches!(e, SlackError::ChannelArchived), "{e}");
        let e = h.post(&message()).await.unwrap_err();
        assert!(matches!(&e, SlackError::Rejected { status: 403, code } if code == "action_prohibited"));
        assert_eq!(sink.received().len(), 3, "one attempt each");
        assert!(!e.to_string().contains("127.0.0.1"));
    }

    #[tokio::test]
    async fn rate_limit_gives_up_when_told_to_wait_too_long_or_too_often() {
        let sink = WebhookSink::start(vec![SinkResponse::rate_limited(120)])
            .await
            .unwrap();
        let e = hook(&sink, SlackRetry::default())
            .await
            .post(&message())
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                SlackError::RateLimited {
                    attempts: 1,
                    retry_after_s: Some(120)
                }
            ),
            "{e}"
        );
        let sink = WebhookSink::start(vec![SinkResponse::rate_limited(0), SinkResponse::rate_limited(0)])
            .await
            .unwrap();
        let retry = SlackRetry {
            max_attempts: 2,
            max_wait: Duration::from_secs(5),
        };
        let e = hook(&sink, retry).await.post(&message()).await.unwrap_err();
        assert!(matches!(e, SlackError::RateLimited { attempts: 2, .. }), "{e}");
        assert_eq!(sink.received().len(), 2);
    }

    /// Issue 13 item 2: "Slack 5xx/timeouts are retried and can post twice" — a 500 may come after Slack
    /// posted; the webhook gets exactly one request and the error says the outcome is unknown.
    #[tokio::test]
    async fn a_server_error_is_not_retried_blindly() {
        let sink = WebhookSink::start(vec![SinkResponse::error(500, "rollup_error")])
            .await
            .unwrap();
        let e = hook(&sink, SlackRetry::default())
            .await
            .post(&message())
            .await
            .unwrap_err();
        assert!(e.outcome_unknown(), "{e}");
        assert!(e.to_string().contains("same delivery ref"), "{e}");
        assert_eq!(sink.received().len(), 1, "one request: no blind second post");
    }

    /// Issue 13: a webhook host answering a redirect must not pull the post — and its secret path — to
    /// another address; a redirect is a failed post, not a delivery.
    #[tokio::test]
    async fn a_redirect_is_a_failed_post_and_is_not_followed() {
        for status in [302, 307] {
            let elsewhere = WebhookSink::start(vec![]).await.unwrap();
            let sink = WebhookSink::start(vec![SinkResponse::redirect(status, elsewhere.url())])
                .await
                .unwrap();
            let e = hook(&sink, SlackRetry::default())
                .await
                .post(&message())
                .await
                .unwrap_err();
            assert!(
                matches!(e, SlackError::Redirected { status: s } if s == status),
                "{status}: {e}"
            );
            assert!(!e.outcome_unknown(), "{e}");
            assert!(!e.to_string().contains("127.0.0.1"), "{e}");
            assert_eq!(sink.received().len(), 1, "{status}: one attempt, not retried");
            assert!(
                elsewhere.received().is_empty(),
                "{status}: the redirect was followed"
            );
        }
    }

    /// The delivery record of a redirected post stays pending: the next run posts it again.
    #[tokio::test]
    async fn a_redirected_post_is_not_marked_sent() {
        use crate::cost_pass::notify::{NoSns, NotifyError, Sender, SlackSource, record_item, records};
        use crate::ledger::delivery::{DeliveryRecord, DeliveryState};
        use crate::ledger::{LedgerStore, MemoryLedger, NewItem};

        struct Redirecting(String);
        impl SlackSource for Redirecting {
            type Slack = SlackWebhook;
            async fn slack(&self, _secret: &str, retry: SlackRetry) -> Result<SlackWebhook, NotifyError> {
                Ok(SlackWebhook::new(WebhookUrl::from_secret(&self.0)?, retry)?)
            }
        }

        let elsewhere = WebhookSink::start(vec![]).await.unwrap();
        let sink = WebhookSink::start(vec![SinkResponse::redirect(307, elsewhere.url())])
            .await
            .unwrap();
        let ledger = MemoryLedger::new();
        let now = chrono::Utc::now();
        let (pk, sk) = ("collectiq-prod#cost-report", "2026-12-03");
        let record = DeliveryRecord::slack("collectiq-prod#cost-report/2026-12-03", message(), now);
        let detail = record_item(ledger.table(), pk, sk, &record).unwrap();
        let item = NewItem {
            pk,
            sk,
            detail: &detail,
            keep: None,
        };
        assert!(ledger.record_all(&[item]).await.unwrap());

        let channels = Redirecting(sink.url().to_owned());
        let mut sender = Sender::new(&ledger, &channels, &NoSns, "secret", SlackRetry::default(), None);
        let pending = records(&ledger, pk).await.unwrap().remove(0);
        let e = sender.send(pending, now).await.unwrap_err();
        assert!(e.to_string().contains("redirect"), "{e}");
        let stored = records(&ledger, pk).await.unwrap();
        assert_eq!(stored[0].record.state, DeliveryState::Pending, "{stored:?}");
        assert!(elsewhere.received().is_empty());
    }

    #[tokio::test]
    async fn transport_errors_never_show_the_url() {
        // A closed port: connection refused on every attempt.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url =
            WebhookUrl::from_secret(&format!("http://127.0.0.1:{port}/services/T/B/secret-part")).unwrap();
        let retry = SlackRetry {
            max_attempts: 1,
            max_wait: Duration::from_secs(1),
        };
        let e = SlackWebhook::new(url, retry)
            .unwrap()
            .post(&message())
            .await
            .unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(matches!(e, SlackError::Unavailable { attempts: 1, .. }), "{text}");
        assert!(
            !e.outcome_unknown(),
            "a refused connection never reached Slack: {text}"
        );
        assert!(!text.contains("secret-part"), "{text}");
    }

    #[test]
    fn secrets_are_parsed_without_echoing_them() {
        assert!(WebhookUrl::from_secret("  https://hooks.slack.com/services/T/B/x \n").is_ok());
        assert!(WebhookUrl::from_secret(r#"{"webhook_url":"https://hooks.slack.com/x"}"#).is_ok());
        assert!(WebhookUrl::from_secret("https://hooks.slack-gov.com/services/T/B/x").is_ok());
        assert!(
            WebhookUrl::from_secret("http://127.0.0.1:8080/services/T/B/x").is_ok(),
            "the local sink"
        );
        for bad in [
            "hooks.slack.com/x-secret",
            r#"{"uri":"x-secret"}"#,
            "ftp://x-secret/",
            // Another host, the instance metadata address, a look-alike, a user part, another port.
            "https://attacker.example/services/x-secret",
            "https://169.254.169.254/latest/x-secret",
            "https://hooks.slack.com.attacker.example/services/x-secret",
            "https://hooks.slack.com@attacker.example/services/x-secret",
            "https://x-secret:pw@hooks.slack.com/services/T/B/x",
            "https://hooks.slack.com:8443/services/x-secret",
            "http://hooks.slack.com/services/x-secret",
            "http://localhost@attacker.example/x-secret",
        ] {
            let e = WebhookUrl::from_secret(bad).unwrap_err();
            assert!(!e.to_string().contains("x-secret"), "{e}");
        }
    }
}

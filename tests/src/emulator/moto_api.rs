//! moto's control API (`/moto-api/...`): reset state, inspect it, inject Cost Explorer results, and read
//! back what SNS "delivered".

use serde_json::Value;

use super::{Emulator, EmulatorError};

/// One SNS message as moto recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentNotification {
    /// Topic ARN it was published to.
    pub topic_arn: String,
    /// Message id.
    pub message_id: String,
    /// Body.
    pub message: String,
    /// Subject, when given.
    pub subject: Option<String>,
    /// String message attributes (`name` → value).
    pub attributes: Vec<(String, String)>,
}

/// One page of `GetCostAndUsage` as Cost Explorer returns it: the cost crate's mirror of the document,
/// serialized with AWS's names, is exactly what moto hands back and the SDK deserializes.
pub use cost::input::CostAndUsagePage;

impl Emulator {
    /// Wipes every service's state (`POST /moto-api/reset`).
    ///
    /// # Errors
    /// [`EmulatorError::Control`] when moto does not accept the call.
    pub async fn reset(&self) -> Result<(), EmulatorError> {
        self.control_post("reset", "/moto-api/reset", &serde_json::json!({}))
            .await
    }

    /// moto's whole state (`GET /moto-api/data.json`).
    ///
    /// # Errors
    /// [`EmulatorError::Control`] when the call fails or the answer is not JSON.
    pub async fn state(&self) -> Result<Value, EmulatorError> {
        let what = "data.json";
        let response = self
            .http
            .get(format!("{}/moto-api/data.json", self.endpoint))
            .send()
            .await
            .map_err(|e| EmulatorError::Control {
                what,
                detail: e.to_string(),
            })?;
        response.json().await.map_err(|e| EmulatorError::Control {
            what,
            detail: e.to_string(),
        })
    }

    /// Queues Cost Explorer GetCostAndUsage answers. moto hands them out in order: the first request whose
    /// body is new takes the next page and keeps getting it, so queue pages in the order the code asks.
    ///
    /// # Errors
    /// [`EmulatorError::Control`] when moto rejects the injection.
    pub async fn inject_cost_and_usage(&self, pages: &[CostAndUsagePage]) -> Result<(), EmulatorError> {
        self.control_post(
            "inject cost-and-usage",
            "/moto-api/static/ce/cost-and-usage-results",
            &serde_json::json!({ "results": pages }),
        )
        .await
    }

    /// Every message published to SNS so far, in publish order per topic.
    ///
    /// # Errors
    /// [`EmulatorError::Control`] when the state cannot be read or has an unexpected shape.
    pub async fn sns_messages(&self) -> Result<Vec<SentNotification>, EmulatorError> {
        let state = self.state().await?;
        let bad = |detail: &str| EmulatorError::Control {
            what: "read SNS state",
            detail: detail.to_owned(),
        };
        let topics = state
            .pointer("/sns/Topic")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no sns.Topic"))?;
        let mut out = Vec::new();
        for topic in topics {
            let arn = topic.get("arn").and_then(Value::as_str).unwrap_or_default();
            let sent = topic
                .get("sent_notifications")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for entry in sent {
                // moto records [message_id, message, subject, attributes, group_id].
                let fields = entry
                    .as_array()
                    .ok_or_else(|| bad("sent_notifications entry is not a list"))?;
                let text = |i: usize| fields.get(i).and_then(Value::as_str).map(str::to_owned);
                let attributes = fields
                    .get(3)
                    .and_then(Value::as_object)
                    .map(|attrs| {
                        attrs
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.get("Value")
                                        .and_then(Value::as_str)
                                        .unwrap_or_default()
                                        .to_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(SentNotification {
                    topic_arn: arn.to_owned(),
                    message_id: text(0).unwrap_or_default(),
                    message: text(1).unwrap_or_default(),
                    subject: text(2),
                    attributes,
                });
            }
        }
        Ok(out)
    }

    async fn control_post(&self, what: &'static str, path: &str, body: &Value) -> Result<(), EmulatorError> {
        let response = self
            .http
            .post(format!("{}{path}", self.endpoint))
            .json(body)
            .send()
            .await
            .map_err(|e| EmulatorError::Control {
                what,
                detail: e.to_string(),
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let text = response.text().await.unwrap_or_default();
            Err(EmulatorError::Control {
                what,
                detail: format!("HTTP {status}: {}", text.chars().take(300).collect::<String>()),
            })
        }
    }
}

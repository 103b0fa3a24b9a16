//! `POST /upload/presign`: a presigned S3 `PUT` for one card image, scoped to the caller's
//! `uploads/{userId pseudonym}/` (never the `sub`: keys reach S3 logs and events, see [`crate::uploads`]).
//!
//! The content type must be one of `ALLOWED_UPLOAD_MIME` (comma-separated) and the declared length at
//! most `MAX_UPLOAD_MB`; both are signed into the URL (`Content-Type`, `Content-Length`), so S3 rejects
//! an upload that differs, and so is the tag `collectiq-upload=pending` (`x-amz-tagging`): an upload no
//! card confirms expires. The key is chosen here (`uploads/{pseudonym}/{uuid}.{ext}`), never by the
//! client. Each caller may presign `PRESIGN_DAILY_LIMIT` uploads per UTC day ([`crate::quota`]; one
//! conditional `UpdateItem`), then gets 429 with `Retry-After`. Presigning itself is local.

use crate::HandlerError;
use crate::config::{self, ConfigError};
use crate::http::{self, Request, Response};
use crate::identity::UserHasher;
use crate::obs::RequestLog;
use crate::quota::{self, DailyQuota, QuotaAction};
use crate::uploads::{PENDING_TAGGING, UserUploads};
use aws_sdk_s3::presigning::PresigningConfig;
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Default `ALLOWED_UPLOAD_MIME`.
pub const DEFAULT_ALLOWED_MIME: &str = "image/jpeg,image/png,image/heic";
/// Default `MAX_UPLOAD_MB`.
pub const DEFAULT_MAX_UPLOAD_MB: u64 = 12;

/// Upload rules from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPolicy {
    /// Allowed MIME types (lower case).
    pub allowed_mime: Vec<String>,
    /// Largest upload in bytes.
    pub max_bytes: u64,
    /// How long the URL is valid.
    pub ttl: Duration,
}

const MIB: u64 = 1024 * 1024;

/// The longest a SigV4 presigned URL is valid: 7 days.
const MAX_PRESIGN_TTL_SECS: u64 = 604_800;

impl UploadPolicy {
    /// A policy from a comma-separated MIME list and a size in MiB.
    ///
    /// ```
    /// let p = backend::upload_presign::UploadPolicy::new("image/jpeg, image/PNG", 12);
    /// assert_eq!(p.allowed_mime, ["image/jpeg", "image/png"]);
    /// assert_eq!(p.max_bytes, 12 * 1024 * 1024);
    /// ```
    #[must_use]
    pub fn new(allowed_mime: &str, max_mb: u64) -> Self {
        Self {
            allowed_mime: allowed_mime
                .split(',')
                .map(|m| m.trim().to_ascii_lowercase())
                .filter(|m| !m.is_empty())
                .collect(),
            max_bytes: max_mb.saturating_mul(1024 * 1024),
            ttl: Duration::from_secs(300),
        }
    }

    /// Whether the policy can presign anything, checked when the function starts, so that a bad
    /// setting stops it there instead of failing (or refusing) every request after the caller's quota
    /// was charged: at least one MIME type, at least 1 MiB and at most S3's 5 GiB for one `PUT`, and a
    /// URL lifetime of 1 s to 7 days (SigV4 presigned URLs last at most 604,800 s).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the variable.
    ///
    /// ```
    /// use backend::upload_presign::UploadPolicy;
    /// assert!(UploadPolicy::new("image/jpeg", 12).usable().is_ok());
    /// assert!(UploadPolicy::new(" , ", 12).usable().is_err());
    /// let mut p = UploadPolicy::new("image/jpeg", 12);
    /// p.ttl = std::time::Duration::from_secs(700_000);
    /// assert!(p.usable().unwrap_err().to_string().contains("PRESIGN_TTL_SECONDS"));
    /// ```
    pub fn usable(&self) -> Result<(), ConfigError> {
        let invalid = |name: &'static str, reason: String| Err(ConfigError::Invalid { name, reason });
        if self.allowed_mime.is_empty() {
            return invalid("ALLOWED_UPLOAD_MIME", "names no MIME type".into());
        }
        if !(MIB..=5 * 1024 * MIB).contains(&self.max_bytes) {
            return invalid(
                "MAX_UPLOAD_MB",
                format!(
                    "{} MiB: must be 1 to 5120 (S3's largest single PUT)",
                    self.max_bytes / MIB
                ),
            );
        }
        if !(1..=MAX_PRESIGN_TTL_SECS).contains(&self.ttl.as_secs()) {
            return invalid(
                "PRESIGN_TTL_SECONDS",
                format!(
                    "{} s: must be 1 to {MAX_PRESIGN_TTL_SECS} (7 days, the longest a presigned URL lasts)",
                    self.ttl.as_secs()
                ),
            );
        }
        Ok(())
    }

    /// Validates a request.
    ///
    /// # Errors
    /// [`HandlerError::Validation`] on `contentType` or `contentLength`.
    pub fn check(&self, req: &PresignRequest) -> Result<String, HandlerError> {
        let mime = req.content_type.trim().to_ascii_lowercase();
        if !self.allowed_mime.contains(&mime) {
            return Err(HandlerError::validation(
                "contentType",
                format!("must be one of {}", self.allowed_mime.join(", ")),
            ));
        }
        if req.content_length == 0 || req.content_length > self.max_bytes {
            return Err(HandlerError::validation(
                "contentLength",
                format!("must be 1..={} bytes", self.max_bytes),
            ));
        }
        Ok(mime)
    }
}

/// The request body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresignRequest {
    /// MIME type of the image.
    pub content_type: String,
    /// Exact size in bytes.
    pub content_length: u64,
    /// The client's file name (logged length only; never part of the key).
    #[serde(default)]
    pub file_name: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedUpload {
    /// Where to `PUT`.
    pub upload_url: String,
    /// Always `PUT`.
    pub method: &'static str,
    /// Headers the `PUT` must send (signed).
    pub headers: BTreeMap<String, String>,
    /// The object key (pass it to `POST /cards` as `frontS3Key`/`backS3Key`).
    pub key: String,
    /// When the URL stops working.
    pub expires_at: String,
}

/// The function's dependencies.
#[derive(Debug, Clone)]
pub struct Deps {
    /// S3 client (presigning only).
    pub s3: aws_sdk_s3::Client,
    /// `BUCKET_UPLOADS`.
    pub bucket: String,
    /// `ALLOWED_UPLOAD_MIME`, `MAX_UPLOAD_MB`.
    pub policy: UploadPolicy,
    /// Pseudonyms for log lines and upload keys.
    pub users: UserHasher,
    /// `PRESIGN_DAILY_LIMIT` per user and UTC day, counted in `TABLE_NAME`.
    pub quota: DailyQuota,
}

impl Deps {
    /// From `BUCKET_UPLOADS`, `ALLOWED_UPLOAD_MIME`, `MAX_UPLOAD_MB`, `PRESIGN_TTL_SECONDS` (300),
    /// `S3_FORCE_PATH_STYLE` (false; true for local emulators), `TABLE_NAME` and `PRESIGN_DAILY_LIMIT`
    /// (200; the quota) and `USER_ID_HASH_KEY_SECRET_ID` (or `USER_ID_HASH_KEY`).
    ///
    /// # Errors
    /// A missing or invalid variable.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let mut policy = UploadPolicy::new(
            &config::parsed("ALLOWED_UPLOAD_MIME", DEFAULT_ALLOWED_MIME.to_owned())?,
            config::parsed("MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB)?,
        );
        policy.ttl = Duration::from_secs(config::parsed("PRESIGN_TTL_SECONDS", 300)?);
        policy.usable()?;
        // No X-Ray interceptor here: this client only presigns, and a trace header set before signing
        // would become a signed header the uploading browser cannot send.
        let s3 = aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(config::parsed("S3_FORCE_PATH_STYLE", false)?)
            .build();
        Ok(Self {
            s3: aws_sdk_s3::Client::from_conf(s3),
            bucket: config::required("BUCKET_UPLOADS")?,
            policy,
            quota: DailyQuota::new(
                telemetry::traced_client!(aws_sdk_dynamodb, aws),
                config::required("TABLE_NAME")?,
                QuotaAction::Presign,
                config::parsed("PRESIGN_DAILY_LIMIT", quota::DEFAULT_PRESIGN_DAILY_LIMIT)?,
            ),
            users: config::user_hasher(aws).await?,
        })
    }
}

fn extension(mime: &str) -> &'static str {
    match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/heic" => "heic",
        _ => "bin",
    }
}

/// The handler.
///
/// # Errors
/// Server-side failures only (`Internal` when presigning fails); client errors are 4xx answers.
pub async fn handler(event: LambdaEvent<Request>, deps: &Deps) -> Result<Response, HandlerError> {
    let mut log = RequestLog::start("upload_presign", &event.context.request_id);
    let result = run(&event.payload, deps, &mut log).await;
    http::finish(log, result)
}

async fn run(req: &Request, deps: &Deps, log: &mut RequestLog) -> Result<Response, HandlerError> {
    let caller = http::caller(req)?;
    log.user(&deps.users, &caller.sub);
    let body: PresignRequest = http::json_body(req)?;
    let mime = deps.policy.check(&body)?;
    deps.quota.charge(&deps.users.hash(&caller.sub)).await?;
    let key = UserUploads::of(&deps.users, &caller).new_key(extension(&mime));
    let presigning = PresigningConfig::expires_in(deps.policy.ttl)
        .map_err(|e| HandlerError::Internal(format!("presign config: {e}")))?;
    let presigned = deps
        .s3
        .put_object()
        .bucket(&deps.bucket)
        .key(&key)
        .content_type(&mime)
        .content_length(i64::try_from(body.content_length).unwrap_or(i64::MAX))
        .tagging(PENDING_TAGGING)
        // One upload per URL (S3 conditional write: 412 when the key exists): a URL the quota charged
        // once cannot store image after image, nor replace a card's photo once it was judged.
        .if_none_match("*")
        .presigned(presigning)
        .await
        .map_err(|e| HandlerError::Internal(format!("presign: {e}")))?;
    let headers = presigned
        .headers()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let expires = Utc::now() + chrono::Duration::from_std(deps.policy.ttl).unwrap_or_default();
    tracing::info!(
        key_prefix = "uploads/{userId}/",
        content_type = mime.as_str(),
        content_length = body.content_length,
        file_name_len = body.file_name.as_ref().map(String::len),
        "upload presigned"
    );
    Ok(http::json(
        200,
        &PresignedUpload {
            upload_url: presigned.uri().to_owned(),
            method: "PUT",
            headers,
            key,
            expires_at: crate::model::iso(expires),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ct: &str, len: u64) -> PresignRequest {
        PresignRequest {
            content_type: ct.into(),
            content_length: len,
            file_name: None,
        }
    }

    #[test]
    fn mime_and_size_are_checked_against_the_policy() {
        let p = UploadPolicy::new(DEFAULT_ALLOWED_MIME, 1);
        assert_eq!(p.check(&req("IMAGE/JPEG", 10)).unwrap(), "image/jpeg");
        let field = |r: Result<String, HandlerError>| match r {
            Err(HandlerError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(p.check(&req("image/gif", 10))), "contentType");
        assert_eq!(field(p.check(&req("image/png", 0))), "contentLength");
        assert_eq!(
            field(p.check(&req("image/png", 1024 * 1024 + 1))),
            "contentLength"
        );
        assert!(p.check(&req("image/png", 1024 * 1024)).is_ok());
    }
}

//! The upload bucket's keys and the life of an uploaded image: where a user's images live, marking an
//! upload as used by a card, and removing a card's images with it.
//!
//! **Keys.** `upload_presign` puts every image under `uploads/{userId pseudonym}/{uuid}.{ext}` — the
//! keyed pseudonym of [`crate::identity::UserHasher`], never the Cognito `sub`, because object keys
//! reach S3 server access logs, S3 EventBridge events and error messages. Keys written before this
//! change are `uploads/{sub}/…`; they are not moved (see [`UserUploads::owns`]).
//!
//! **Unconfirmed uploads expire.** The presigned `PUT` signs the tag `collectiq-upload=pending`
//! ([`PENDING_TAGGING`]); `cards_create` re-tags the images it registers `collectiq-upload=confirmed`
//! (`PutObjectTagging`). The bucket's lifecycle rule `expire-unconfirmed-uploads`
//! (`infra/modules/backend/uploads.tf`) expires objects under `uploads/` still tagged `pending` after
//! a day, so an upload no card uses does not stay forever. **Deleting a card deletes its images**
//! (`DeleteObject`; in the versioned bucket that is a delete marker, and the bucket's
//! noncurrent-version expiry removes the bytes). Spec: S3 object tagging and lifecycle filters
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-filters.html>).

use crate::HandlerError;
use crate::config::{self, ConfigError};
use crate::error::sdk_error;
use crate::identity::{Caller, UserHasher};
use crate::store::CardStore;
use aws_sdk_s3::types::{Tag, Tagging};

/// Every user image lies under this prefix (the IAM policies and the lifecycle rules use it).
pub const UPLOADS_PREFIX: &str = "uploads/";
/// The tag key marking whether a card uses an upload.
pub const UPLOAD_TAG: &str = "collectiq-upload";
/// The tag of a fresh upload (`x-amz-tagging`, URL-encoded query form), signed into the presigned `PUT`.
pub const PENDING_TAGGING: &str = "collectiq-upload=pending";
/// The tag value once a card uses the upload.
pub const CONFIRMED: &str = "confirmed";
/// The tag value of an upload no card uses (the one [`PENDING_TAGGING`] signs).
pub const PENDING: &str = "pending";

/// What the function that removes a card together with its images needs (`cards_delete`, re-exporting
/// it as its `Deps`; `cards_create` has its own, with its daily quota).
#[derive(Debug, Clone)]
pub struct CardImageDeps {
    /// The cards table (cards and the image claims).
    pub store: CardStore,
    /// Pseudonyms for log lines and upload keys.
    pub users: UserHasher,
    /// The upload bucket (the card's images).
    pub uploads: UploadStore,
}

impl CardImageDeps {
    /// From `TABLE_NAME`, `BUCKET_UPLOADS`, `S3_FORCE_PATH_STYLE` (false; emulators) and
    /// `USER_ID_HASH_KEY_SECRET_ID` (or `USER_ID_HASH_KEY`).
    ///
    /// # Errors
    /// A missing or invalid variable.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let s3 = config::traced_s3(aws)?;
        Ok(Self {
            store: CardStore::new(
                telemetry::traced_client!(aws_sdk_dynamodb, aws),
                config::required("TABLE_NAME")?,
            ),
            uploads: UploadStore::new(s3, config::required("BUCKET_UPLOADS")?),
            users: config::user_hasher(aws).await?,
        })
    }
}

/// The longest image key a card takes: its claim's sort key (`IMAGE#{key}`, [`crate::store`]) must
/// fit DynamoDB's 1024 bytes (S3 allows 1024 for the key alone; presigned keys are under 100).
pub const MAX_KEY_BYTES: usize = 1024 - "IMAGE#".len();

/// Where one caller's images are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUploads {
    /// `uploads/{pseudonym}/`: where new uploads go.
    pub prefix: String,
    /// `uploads/{sub}/`: where uploads made before pseudonymous keys are (still readable and deleted
    /// with their card; never written to).
    pub legacy_prefix: String,
}

impl UserUploads {
    /// The caller's prefixes.
    ///
    /// ```
    /// use backend::{identity::{Caller, UserHasher}, uploads::UserUploads};
    /// let users = UserHasher::new(b"0123456789abcdef0123456789abcdef".to_vec())?;
    /// let me = Caller::from_sub(Some("7d3a1f2e-0000-4000-8000-000000000001")).unwrap();
    /// let mine = UserUploads::of(&users, &me);
    /// assert_eq!(mine.prefix, format!("uploads/{}/", users.hash(&me.sub)));
    /// assert!(!mine.prefix.contains(&me.sub));
    /// # Ok::<(), backend::identity::HashKeyError>(())
    /// ```
    #[must_use]
    pub fn of(users: &UserHasher, caller: &Caller) -> Self {
        let prefix = format!("{UPLOADS_PREFIX}{}/", users.hash(&caller.sub));
        // Legacy keys were `uploads/{sub}/` with Cognito's UUID subs. A sub shaped like a pseudonym
        // (`u_…`) would name someone else's pseudonym folder: it gets no legacy prefix.
        let legacy_prefix = if caller.sub.starts_with("u_") {
            prefix.clone()
        } else {
            format!("{UPLOADS_PREFIX}{}/", caller.sub)
        };
        Self {
            prefix,
            legacy_prefix,
        }
    }

    /// The key for a new upload.
    #[must_use]
    pub fn new_key(&self, extension: &str) -> String {
        format!("{}{}.{extension}", self.prefix, uuid::Uuid::new_v4())
    }

    /// Whether `key` is one of this caller's images — under the pseudonym prefix, or under the legacy
    /// `uploads/{sub}/` prefix of images uploaded before — and a plain object key (no empty, `.` or `..`
    /// segment, at most [`MAX_KEY_BYTES`]).
    #[must_use]
    pub fn owns(&self, key: &str) -> bool {
        let rest = key
            .strip_prefix(&self.prefix)
            .or_else(|| key.strip_prefix(&self.legacy_prefix))
            .unwrap_or_default();
        !rest.is_empty()
            && key.len() <= MAX_KEY_BYTES
            && rest
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
    }
}

impl UserUploads {
    /// Whether `key`, read from the caller's own card, may be deleted with it: one of the caller's
    /// uploads ([`Self::owns`]), or an upload under any pseudonym folder (`uploads/u_<32 hex>/…`).
    /// `cards_create` stored it only after [`Self::owns`] held, so a key under another pseudonym is the
    /// caller's from before the pseudonym key was rotated (docs/deploy.md): deleting the card must
    /// still delete its photos.
    #[must_use]
    pub fn may_delete_with_card(&self, key: &str) -> bool {
        if self.owns(key) {
            return true;
        }
        let Some((folder, rest)) = key.strip_prefix(UPLOADS_PREFIX).and_then(|k| k.split_once('/')) else {
            return false;
        };
        crate::identity::is_pseudonym(folder)
            && !rest.is_empty()
            && key.len() <= MAX_KEY_BYTES
            && rest
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
    }
}

/// The upload bucket, for the functions that change its objects (`cards_create`, `cards_delete`).
#[derive(Debug, Clone)]
pub struct UploadStore {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl UploadStore {
    /// The bucket `bucket` through `s3`.
    #[must_use]
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            s3,
            bucket: bucket.into(),
        }
    }

    /// The bucket name.
    #[must_use]
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Marks the upload at `key` as used by a card (tag `collectiq-upload=confirmed`), so the
    /// expiry of unconfirmed uploads leaves it alone.
    ///
    /// # Errors
    /// [`HandlerError::Validation`] naming `field` when there is no such object (nothing was uploaded
    /// there, or it expired); other SDK errors classified.
    pub async fn confirm(&self, field: &str, key: &str) -> Result<(), HandlerError> {
        self.tag(field, key, CONFIRMED).await
    }

    /// Gives an upload no card took back to the expiry (tag `collectiq-upload=pending`): a create that
    /// confirmed its front image and then failed must not keep that image forever.
    ///
    /// # Errors
    /// As [`Self::confirm`].
    pub async fn unconfirm(&self, field: &str, key: &str) -> Result<(), HandlerError> {
        self.tag(field, key, PENDING).await
    }

    async fn tag(&self, field: &str, key: &str, value: &str) -> Result<(), HandlerError> {
        let tagging = Tagging::builder()
            .tag_set(
                Tag::builder()
                    .key(UPLOAD_TAG)
                    .value(value)
                    .build()
                    .map_err(|e| HandlerError::Internal(e.to_string()))?,
            )
            .build()
            .map_err(|e| HandlerError::Internal(e.to_string()))?;
        let r = self
            .s3
            .put_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .tagging(tagging)
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            // 404: nothing was ever there. 405 `MethodNotAllowed`: the bucket is versioned, and the
            // key's current version is a delete marker — the upload expired, or the card that used it
            // was deleted.
            Err(e)
                if e.as_service_error()
                    .and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code)
                    .is_some_and(|c| matches!(c, "NoSuchKey" | "NotFound" | "MethodNotAllowed"))
                    || e.raw_response()
                        .is_some_and(|r| matches!(r.status().as_u16(), 404 | 405)) =>
            {
                Err(HandlerError::validation(
                    field,
                    "no such upload (upload the image with the presigned URL first; unused uploads expire after a day)",
                ))
            }
            Err(e) => Err(sdk_error("PutObjectTagging", e)),
        }
    }

    /// Deletes the object at `key` (idempotent: a missing object is not an error).
    ///
    /// # Errors
    /// SDK errors classified.
    pub async fn delete(&self, key: &str) -> Result<(), HandlerError> {
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("DeleteObject", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One S3 answer to one PutObjectTagging.
    fn store_answering(status: u16, body: &str) -> UploadStore {
        use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
        use aws_smithy_types::body::SdkBody;
        let http = StaticReplayClient::new(vec![ReplayEvent::new(
            http::Request::builder()
                .uri("https://b.s3.us-east-1.amazonaws.com/k?tagging")
                .body(SdkBody::empty())
                .unwrap(),
            http::Response::builder()
                .status(status)
                .header("content-type", "application/xml")
                .body(SdkBody::from(body.to_owned()))
                .unwrap(),
        )]);
        let client = crate::store::fake_aws::test_client!(
            aws_sdk_s3,
            http,
            aws_smithy_types::retry::RetryConfig::disabled()
        );
        UploadStore::new(client, "b")
    }

    /// The bucket is versioned: a deleted or expired upload's current version is a delete marker,
    /// on which S3 answers PutObjectTagging with 405 `MethodNotAllowed`. That is the documented 400
    /// "no such upload", as a 404 is — not a 500 that counts against the function's error alarm.
    #[tokio::test]
    async fn a_deleted_upload_is_no_such_upload() {
        let marker = "<Error><Code>MethodNotAllowed</Code><Message>The specified method is not allowed against this resource.</Message><ResourceType>DeleteMarker</ResourceType></Error>";
        let missing =
            "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>";
        for (status, body) in [(405, marker), (404, missing)] {
            let err = store_answering(status, body)
                .confirm("frontS3Key", "k")
                .await
                .unwrap_err();
            assert!(
                matches!(&err, HandlerError::Validation { .. }),
                "{status}: {err:?}"
            );
        }
        let denied = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        let err = store_answering(403, denied)
            .confirm("frontS3Key", "k")
            .await
            .unwrap_err();
        assert!(!matches!(&err, HandlerError::Validation { .. }), "{err:?}");
    }

    #[test]
    fn the_signed_tag_is_the_pending_tag() {
        assert_eq!(PENDING_TAGGING, format!("{UPLOAD_TAG}={PENDING}"));
    }

    #[test]
    fn keys_are_pseudonymous_and_legacy_keys_stay_owned() {
        let users = UserHasher::new(vec![3; 32]).unwrap();
        let sub = "7d3a1f2e-5b6c-4d8e-9f00-1a2b3c4d5e6f";
        let me = Caller::from_sub(Some(sub)).unwrap();
        let mine = UserUploads::of(&users, &me);
        let key = mine.new_key("jpg");
        assert!(key.starts_with(&format!("uploads/{}/", users.hash(sub))), "{key}");
        assert!(!key.contains(sub), "{key}");
        assert!(key.ends_with(".jpg"));
        assert!(mine.owns(&key));
        assert!(
            mine.owns(&format!("uploads/{sub}/old.jpg")),
            "legacy keys remain the owner's"
        );

        let other = UserUploads::of(&users, &Caller::from_sub(Some("someone-else")).unwrap());
        assert!(!other.owns(&key));
        for bad in [
            mine.prefix.clone(),
            format!("{}../x.jpg", mine.prefix),
            format!("{}a//b.jpg", mine.prefix),
            format!("{}{}", mine.prefix, "x".repeat(1024)),
            "uploads/x.jpg".to_owned(),
        ] {
            assert!(!mine.owns(&bad), "{bad}");
        }
        // The longest key whose claim still fits DynamoDB's sort key, and one byte more.
        let fits = format!("{}{}", mine.prefix, "x".repeat(MAX_KEY_BYTES - mine.prefix.len()));
        assert!(mine.owns(&fits) && crate::store::image_sk(&fits).len() == 1024);
        assert!(!mine.owns(&format!("{fits}x")));

        // A card's image from before the pseudonym key was rotated is deleted with it; nothing outside
        // a pseudonym folder, and nothing malformed, is.
        let rotated = UserHasher::new(vec![4; 32]).unwrap();
        let after = UserUploads::of(&rotated, &me);
        assert!(!after.owns(&key) && after.may_delete_with_card(&key), "{key}");
        for bad in [
            "uploads/x.jpg".to_owned(),
            "uploads/u_zz/x.jpg".to_owned(),
            format!("{}../x.jpg", mine.prefix),
            mine.prefix.clone(),
            "other/u_0123456789abcdef0123456789abcdef/x.jpg".to_owned(),
            format!("{}{}", mine.prefix, "x".repeat(1024)),
        ] {
            assert!(!after.may_delete_with_card(&bad), "{bad}");
        }

        // A sub shaped like a pseudonym cannot reach that pseudonym's folder as its legacy prefix.
        let victim = users.hash(sub);
        let mallory = UserUploads::of(&users, &Caller::from_sub(Some(&victim)).unwrap());
        assert!(!mallory.owns(&key), "{key}");
    }
}

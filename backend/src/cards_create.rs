//! `POST /cards`: registers a card the caller uploaded images for. The image keys must be the
//! caller's own uploads (`uploads/{userId pseudonym}/…`, or the legacy `uploads/{sub}/…` of images
//! uploaded before keys were pseudonymous; no cross-user access), and must exist: each is re-tagged
//! `collectiq-upload=confirmed` (`PutObjectTagging`) before the card is written, so the expiry of
//! unconfirmed uploads never removes a card's image ([`crate::uploads`]). 201 with the card; counts
//! `CardsCreated`.
//!
//! An image belongs to one card ([`crate::store`] claims it with the card): a second card on the same
//! upload is a 409 naming the field and the card that holds it — unless it is the same request again
//! (a client retrying after a lost answer), which gets the existing card with 200, not a duplicate, and
//! tags nothing again (the claims record that the images were confirmed).
//!
//! Every request with a valid body is counted against `CREATE_DAILY_LIMIT` per user and UTC day
//! ([`crate::quota`]) before anything is read or tagged: past it the answer is 429 with `Retry-After`
//! and no S3 call is made. Repeated creates count too (each costs reads, and a loop of them used to
//! re-tag the images on every request).

use crate::HandlerError;
use crate::config::{self, ConfigError};
use crate::http::{self, Request, Response};
use crate::identity::UserHasher;
use crate::model::{Card, CardStatus};
use crate::obs::{self, RequestLog};
use crate::quota::{self, DailyQuota, QuotaAction};
use crate::store::{CardStore, Created};
use crate::uploads::{UploadStore, UserUploads};
use chrono::{DateTime, Datelike, Utc};
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use telemetry::catalogue::MetricName;

/// The function's dependencies: the cards table, the pseudonym key, the upload bucket and the daily
/// quota.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The cards table (cards and the image claims).
    pub store: CardStore,
    /// Pseudonyms for log lines, upload keys and quota counters.
    pub users: UserHasher,
    /// The upload bucket (the card's images).
    pub uploads: UploadStore,
    /// `CREATE_DAILY_LIMIT` per user and UTC day, counted in the cards table.
    pub quota: DailyQuota,
}

impl Deps {
    /// From `TABLE_NAME`, `BUCKET_UPLOADS`, `CREATE_DAILY_LIMIT` (100), `S3_FORCE_PATH_STYLE` (false;
    /// emulators) and `USER_ID_HASH_KEY_SECRET_ID` (or `USER_ID_HASH_KEY`).
    ///
    /// # Errors
    /// A missing or invalid variable.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let dynamodb = telemetry::traced_client!(aws_sdk_dynamodb, aws);
        let table = config::required("TABLE_NAME")?;
        Ok(Self {
            quota: DailyQuota::new(
                dynamodb.clone(),
                &table,
                QuotaAction::Create,
                config::parsed("CREATE_DAILY_LIMIT", quota::DEFAULT_CREATE_DAILY_LIMIT)?,
            ),
            store: CardStore::new(dynamodb, table),
            uploads: UploadStore::new(config::traced_s3(aws)?, config::required("BUCKET_UPLOADS")?),
            users: config::user_hasher(aws).await?,
        })
    }
}

/// The request body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCard {
    /// Display name (1–200 characters).
    pub name: String,
    /// Set name (≤ 200).
    #[serde(default)]
    pub set_name: Option<String>,
    /// Number within the set (≤ 20).
    #[serde(default)]
    pub number: Option<String>,
    /// Print year (1850 – next year).
    #[serde(default)]
    pub year: Option<u16>,
    /// Grade (≤ 20).
    #[serde(default)]
    pub grade: Option<String>,
    /// Rarity (≤ 40, no `#`: it is the separator of GSI2's `set#rarity` key).
    #[serde(default)]
    pub rarity: Option<String>,
    /// Front image key, one of the caller's uploads.
    pub front_s3_key: String,
    /// Back image key, one of the caller's uploads.
    #[serde(default)]
    pub back_s3_key: Option<String>,
}

fn text(field: &str, v: &str, max: usize) -> Result<String, HandlerError> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(HandlerError::validation(
            field,
            format!("must be 1–{max} printable characters"),
        ));
    }
    if let Some((at, c)) = t.chars().enumerate().find(|(_, c)| invisible(*c)) {
        return Err(HandlerError::validation(
            field,
            format!(
                "must not hold invisible or direction-changing characters (U+{:04X} at character {})",
                u32::from(c),
                at + 1
            ),
        ));
    }
    Ok(t.to_owned())
}

/// A character that shows nothing or changes how the text around it shows: Unicode's format
/// characters (zero-width spaces and joiners, bidirectional marks, overrides and isolates, the soft
/// hyphen, the byte-order mark, tag characters) and the line and paragraph separators. In a set name
/// one makes `Base Set\u{200B}` a second set that looks like the first (the set analytics key,
/// GSI2); U+202E shows the text after it reversed.
fn invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Checks an image key is one of the caller's uploads ([`UserUploads::owns`]).
///
/// # Errors
/// [`HandlerError::Validation`] naming `field`.
pub fn own_upload_key(field: &str, key: &str, mine: &UserUploads) -> Result<String, HandlerError> {
    if !mine.owns(key) {
        return Err(HandlerError::validation(
            field,
            "must be one of your uploads (the key upload/presign gave you)",
        ));
    }
    Ok(key.to_owned())
}

impl NewCard {
    /// Validates the body into a card with id `card_id`, created `now`.
    ///
    /// # Errors
    /// [`HandlerError::Validation`] naming the first bad field.
    pub fn into_card(
        self,
        mine: &UserUploads,
        card_id: String,
        now: DateTime<Utc>,
    ) -> Result<Card, HandlerError> {
        let opt = |field: &str, v: Option<String>, max: usize| v.map(|v| text(field, &v, max)).transpose();
        if let Some(y) = self.year
            && !(1850..=now.year() + 1).contains(&i32::from(y))
        {
            return Err(HandlerError::validation(
                "year",
                "must be between 1850 and next year",
            ));
        }
        if self.back_s3_key.as_deref() == Some(self.front_s3_key.as_str()) {
            return Err(HandlerError::validation(
                "backS3Key",
                "must be a different upload than frontS3Key",
            ));
        }
        Ok(Card {
            card_id,
            name: text("name", &self.name, 200)?,
            set_name: opt("setName", self.set_name, 200)?,
            number: opt("number", self.number, 20)?,
            year: self.year,
            grade: opt("grade", self.grade, 20)?,
            rarity: match opt("rarity", self.rarity, 40)? {
                Some(r) if r.contains('#') => {
                    return Err(HandlerError::validation(
                        "rarity",
                        "must not contain '#' (it separates set and rarity in the analytics index)",
                    ));
                }
                r => r,
            },
            front_s3_key: own_upload_key("frontS3Key", &self.front_s3_key, mine)?,
            back_s3_key: self
                .back_s3_key
                .map(|k| own_upload_key("backS3Key", &k, mine))
                .transpose()?,
            status: CardStatus::Created,
            created_at: now,
            updated_at: now,
            value: None,
            pricing_confidence: None,
            authenticity_score: None,
            valued_at: None,
            last_valuation_id: None,
        })
    }
}

/// The handler.
///
/// # Errors
/// Server-side failures only (`Retryable`, `Internal`); client errors are 4xx answers.
pub async fn handler(event: LambdaEvent<Request>, deps: &Deps) -> Result<Response, HandlerError> {
    let mut log = RequestLog::start("cards_create", &event.context.request_id);
    let result = run(&event.payload, deps, &mut log).await;
    http::finish(log, result)
}

async fn run(req: &Request, deps: &Deps, log: &mut RequestLog) -> Result<Response, HandlerError> {
    let caller = http::caller(req)?;
    log.user(&deps.users, &caller.sub);
    let body: NewCard = http::json_body(req)?;
    let mine = UserUploads::of(&deps.users, &caller);
    let card = body.into_card(&mine, uuid::Uuid::new_v4().to_string(), crate::model::now())?;
    // Counted before anything is read or tagged: past the day's limit a create — new or repeated —
    // costs one UpdateItem and no S3 call.
    deps.quota.charge(&deps.users.hash(&caller.sub)).await?;
    let images: Vec<(&'static str, &str)> = std::iter::once(("frontS3Key", card.front_s3_key.as_str()))
        .chain(card.back_s3_key.as_deref().map(|k| ("backS3Key", k)))
        .collect();
    // An image another card claims is answered before anything is tagged: such a request changes
    // nothing.
    for (field, key) in &images {
        if let Some(owner) = deps.store.image_owner(&caller, key).await? {
            return taken(deps, &caller, &card, field, Some(owner)).await;
        }
    }
    // Tagged before anything reads the user's cards, so a key with no upload behind it (a 400) costs
    // one S3 call, never the scan below; and before the card is written, so a card's image can never
    // expire. When a later step fails, what this request tagged goes back to the expiry (an unused
    // upload never stays; an image a card shows stays confirmed).
    let mut confirmed: Vec<(&str, &str)> = Vec::new();
    for (field, key) in &images {
        if let Err(e) = deps.uploads.confirm(field, key).await {
            release(deps, &caller, &confirmed).await;
            return Err(e);
        }
        confirmed.push((field, key));
    }
    // Whatever keeps the card from being written, what this request tagged goes back.
    match write(deps, &caller, &card, &images).await {
        Ok(Created::Written) => {}
        Ok(Created::ImageTaken { field, card_id }) => {
            release(deps, &caller, &confirmed).await;
            return taken(deps, &caller, &card, field, card_id).await;
        }
        // A retryable failure (a transaction conflict with a concurrent create of the same image, a
        // time-out after which the write may have committed) says nothing about whose image it is:
        // the winner's claim may not be visible yet, and putting its card's photo back under the
        // expiry loses it in a day. Left confirmed: an upload kept by mistake costs cents.
        Err(e @ HandlerError::Retryable(_)) => return Err(e),
        Err(e) => {
            release(deps, &caller, &confirmed).await;
            return Err(e);
        }
    }
    tracing::info!(card_id = card.card_id.as_str(), "card created");
    obs::count(MetricName::CardsCreated, 1);
    Ok(http::json(201, &card))
}

/// Writes `card` once its images are confirmed: [`Created::ImageTaken`] when an image is another
/// card's after all — a card stored before claims that shows it, or a request that claimed it since
/// the first look.
async fn write(
    deps: &Deps,
    caller: &crate::identity::Caller,
    card: &Card,
    images: &[(&'static str, &str)],
) -> Result<Created, HandlerError> {
    // Nobody claims them, but a card stored before claims came in may still show one: that card is
    // given the claim it would have made (so the next look is one read), and the image is its own.
    // When the user's cards cannot all be read, the create goes ahead (the delete keeps an image
    // another card shows, so a second card on it loses nothing).
    let keys: Vec<&str> = images.iter().map(|(_, key)| *key).collect();
    let shown = deps.store.cards_on_images(caller, &keys, None).await?;
    if !shown.complete {
        tracing::warn!("too many cards to tell whether an older card shows these images; created anyway");
    }
    for (field, key) in images {
        if let Some(owner) = shown.cards.get(*key) {
            let adopted = match deps.store.adopt_claim(caller, key, owner).await {
                Ok(written) => written,
                Err(e) => {
                    tracing::warn!(field, error = %e, "could not write an older card's image claim");
                    false
                }
            };
            let owner = if adopted {
                tracing::info!(
                    other_card_id = owner.as_str(),
                    field,
                    "image shown by a card stored before claims; the claim is now that card's"
                );
                owner.clone()
            } else {
                // A claim was there already (a concurrent create or delete wrote one): it names the owner.
                deps.store
                    .image_owner(caller, key)
                    .await?
                    .unwrap_or_else(|| owner.clone())
            };
            return Ok(Created::ImageTaken {
                field,
                card_id: Some(owner),
            });
        }
    }
    // `ImageTaken` here: another request claimed an image between the check above and the write.
    deps.store.create(caller, card).await
}

/// The answer when `field`'s image is already a card's: a retry of a create whose answer was lost
/// finds its own card and gets it again (200) instead of a second card on the same image; anything
/// else is a 409 naming the field and the card.
async fn taken(
    deps: &Deps,
    caller: &crate::identity::Caller,
    card: &Card,
    field: &str,
    owner: Option<String>,
) -> Result<Response, HandlerError> {
    if let Some(id) = &owner
        && let Some(existing) = deps.store.get(caller, id).await?
        && existing.same_details_as(card)
    {
        // Its images were tagged `confirmed` before it was written, and its claims say so: nothing
        // to tag again. An image whose claim does not (a card stored before claims was given it, or
        // a delete passed it on) is confirmed now.
        let images = std::iter::once(("frontS3Key", existing.front_s3_key.as_str()))
            .chain(existing.back_s3_key.as_deref().map(|k| ("backS3Key", k)));
        for (side, key) in images {
            if !deps.store.claim_confirmed(caller, key, id).await? {
                deps.uploads.confirm(side, key).await?;
            }
        }
        tracing::info!(card_id = id.as_str(), "card create replayed");
        return Ok(http::json(200, &existing));
    }
    Err(HandlerError::Conflict(match owner {
        Some(id) => {
            format!("{field}: this image is already card {id}'s; delete that card or upload the image again")
        }
        None => format!("{field}: this image was just claimed by another card; upload it again"),
    }))
}

/// Puts the images this request confirmed back under the expiry, unless a card claims them (a
/// concurrent request may have won one: its card keeps it confirmed) or shows them (a card stored
/// before images were claimed holds no claim on its own image). Best effort: a failure is logged, and
/// the caller's error is what the client gets.
async fn release(deps: &Deps, caller: &crate::identity::Caller, confirmed: &[(&str, &str)]) {
    let mut unclaimed: Vec<(&str, &str)> = Vec::new();
    for (field, key) in confirmed {
        match deps.store.image_owner(caller, key).await {
            Ok(None) => unclaimed.push((field, key)),
            Ok(Some(_)) => {}
            Err(e) => {
                tracing::warn!(field, error = %e, "could not read an image claim; upload left confirmed");
            }
        }
    }
    let keys: Vec<&str> = unclaimed.iter().map(|(_, key)| *key).collect();
    let shown = match deps.store.cards_on_images(caller, &keys, None).await {
        Ok(users) if users.complete => users.cards,
        Ok(_) => {
            tracing::warn!("too many cards to tell whether one shows these images; uploads left confirmed");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the user's cards; uploads left confirmed");
            return;
        }
    };
    for (field, key) in unclaimed {
        if shown.contains_key(key) {
            continue;
        }
        if let Err(e) = deps.uploads.unconfirm(field, key).await {
            tracing::warn!(field, error = %e, "could not return an unused upload to the expiry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::identity::Caller;

    fn me() -> UserUploads {
        let users = crate::identity::UserHasher::new(vec![5; 32]).unwrap();
        UserUploads::of(&users, &Caller::from_sub(Some("u-1")).unwrap())
    }

    fn body(json: serde_json::Value) -> NewCard {
        serde_json::from_value(json).unwrap()
    }

    fn field(r: Result<Card, HandlerError>) -> String {
        match r {
            Err(HandlerError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_body_becomes_a_created_card() {
        let now = crate::model::now();
        let c =
            body(serde_json::json!({"name": " Charizard ", "year": 1999, "setName": "Base Set", "rarity": "Holo Rare",
                "frontS3Key": format!("{}a.jpg", me().prefix)}))
                .into_card(&me(), "id-1".into(), now)
                .unwrap();
        assert_eq!(
            (c.name.as_str(), c.year, c.status),
            ("Charizard", Some(1999), CardStatus::Created)
        );
        assert_eq!(
            (c.set_name.as_deref(), c.rarity.as_deref()),
            (Some("Base Set"), Some("Holo Rare"))
        );
        assert_eq!(c.created_at, now);
    }

    /// A set name with a zero-width space would be a second set that looks like the first; U+202E shows
    /// the text after it reversed. Refused, naming the character; accented letters, other scripts,
    /// dashes and symbols stay.
    #[test]
    fn invisible_and_direction_changing_characters_are_refused() {
        let now = crate::model::now();
        let key = format!("{}a.jpg", me().prefix);
        for (field, value) in [
            ("setName", "Base Set\u{200B}"),
            ("name", "Chari\u{202E}zard"),
            ("rarity", "Holo\u{2066}Rare"),
            ("number", "4\u{FEFF}/102"),
            ("grade", "PSA\u{00AD}10"),
            ("setName", "Base\u{E0041}Set"),
            ("name", "line\u{2028}break"),
        ] {
            let mut json = serde_json::json!({"name": "x", "frontS3Key": key});
            json[field] = serde_json::Value::String(value.to_owned());
            match body(json).into_card(&me(), "id-1".into(), now) {
                Err(HandlerError::Validation { field: f, message }) => {
                    assert_eq!(f, field);
                    assert!(message.contains("U+"), "{message}");
                }
                other => panic!("{value:?}: {other:?}"),
            }
        }
        let c = body(serde_json::json!({"name": "Pokémon Glurak — 1st Edition ★", "setName": "ポケモンカード 拡張パック",
            "frontS3Key": key}))
        .into_card(&me(), "id-1".into(), now)
        .unwrap();
        assert_eq!(c.name, "Pokémon Glurak — 1st Edition ★");
    }

    #[test]
    fn every_rule_names_its_field() {
        let now = crate::model::now();
        let ok_key = format!("{}a.jpg", me().prefix);
        let ok_key = ok_key.as_str();
        let cases = [
            (serde_json::json!({"name": "", "frontS3Key": ok_key}), "name"),
            (
                serde_json::json!({"name": "x".repeat(201), "frontS3Key": ok_key}),
                "name",
            ),
            (
                serde_json::json!({"name": "x", "year": 1700, "frontS3Key": ok_key}),
                "year",
            ),
            (
                serde_json::json!({"name": "x", "grade": "", "frontS3Key": ok_key}),
                "grade",
            ),
            (
                serde_json::json!({"name": "x", "rarity": "Holo#Rare", "frontS3Key": ok_key}),
                "rarity",
            ),
            (
                serde_json::json!({"name": "x", "rarity": "x".repeat(41), "frontS3Key": ok_key}),
                "rarity",
            ),
            (
                serde_json::json!({"name": "x", "frontS3Key": "uploads/u-2/a.jpg"}),
                "frontS3Key",
            ),
            (
                serde_json::json!({"name": "x", "frontS3Key": format!("{}../u-2/a.jpg", me().prefix)}),
                "frontS3Key",
            ),
            (
                serde_json::json!({"name": "x", "frontS3Key": "uploads/u-1/"}),
                "frontS3Key",
            ),
            (
                serde_json::json!({"name": "x", "frontS3Key": ok_key, "backS3Key": "b.jpg"}),
                "backS3Key",
            ),
        ];
        for (json, want) in cases {
            assert_eq!(
                field(body(json.clone()).into_card(&me(), "id".into(), now)),
                want,
                "{json}"
            );
        }
    }
}

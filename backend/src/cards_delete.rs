//! `DELETE /cards/{id}`: removes the card, its price history and its images; 204, or 404 when the
//! caller has no such card. Counts `CardsDeleted`.
//!
//! The images go first (`DeleteObject`, idempotent), then the card and its price history in one
//! transaction (conditional on the card still existing). A failure in between leaves a card whose
//! images are gone, and the client's retry of the same `DELETE` finishes the job; the other order
//! would leave images no card points to once a retry answers 404. Only keys that are the caller's own
//! uploads are deleted ([`crate::uploads::UserUploads::may_delete_with_card`]: under the caller's
//! pseudonym folder, or — keys stored on the caller's card from before a pseudonym key rotation —
//! under another pseudonym folder).

use crate::HandlerError;
use crate::http::{self, Request, Response};
use crate::obs::{self, RequestLog};
use crate::uploads::UserUploads;
use lambda_runtime::LambdaEvent;
use telemetry::catalogue::MetricName;

/// The function's dependencies: the cards table, the pseudonym key and the upload bucket.
pub type Deps = crate::uploads::CardImageDeps;

/// The handler.
///
/// # Errors
/// Server-side failures only (`Retryable`, `Internal`); client errors are 4xx answers.
pub async fn handler(event: LambdaEvent<Request>, deps: &Deps) -> Result<Response, HandlerError> {
    let mut log = RequestLog::start("cards_delete", &event.context.request_id);
    let result = run(&event.payload, deps, &mut log).await;
    http::finish(log, result)
}

async fn run(req: &Request, deps: &Deps, log: &mut RequestLog) -> Result<Response, HandlerError> {
    let caller = http::caller(req)?;
    log.user(&deps.users, &caller.sub);
    let id = http::card_id(req)?;
    let card = deps
        .store
        .get(&caller, &id)
        .await?
        .ok_or_else(|| HandlerError::NotFound("card".into()))?;
    let mine = UserUploads::of(&deps.users, &caller);
    // A card made before front == back was refused names one image twice: it is deleted and released
    // once (two deletes of one claim in a transaction are a ValidationException).
    let back = card.back_s3_key.as_deref().filter(|b| *b != card.front_s3_key);
    let mut ours: Vec<&str> = Vec::new();
    for key in std::iter::once(card.front_s3_key.as_str()).chain(back) {
        if !mine.may_delete_with_card(key) {
            tracing::warn!(
                card_id = id.as_str(),
                "image key outside the owner's uploads left in place"
            );
            continue;
        }
        // A card made before images were claimed may share its image with a newer card that claimed
        // it: that card keeps it.
        if let Some(owner) = deps.store.image_owner(&caller, key).await?
            && owner != id
        {
            tracing::warn!(
                card_id = id.as_str(),
                other_card_id = owner.as_str(),
                "image belongs to another card; left in place"
            );
            continue;
        }
        ours.push(key);
    }
    // This card holds the image (or nobody does): a card stored before claims may still show it.
    // That card inherits the claim and the image stays; if the user's cards could not all be read,
    // the image stays too (a stray image costs cents, a card without its photo is lost data).
    let others = deps.store.cards_on_images(&caller, &ours, Some(&id)).await?;
    let mut images = 0;
    let mut claims: Vec<&str> = Vec::new();
    let mut handovers: Vec<(&str, &str)> = Vec::new();
    for key in ours {
        if let Some(heir) = others.cards.get(key) {
            tracing::info!(
                card_id = id.as_str(),
                other_card_id = heir.as_str(),
                "image shown by an older card too; its claim passes to that card"
            );
            handovers.push((key, heir.as_str()));
            continue;
        }
        if !others.complete {
            tracing::warn!(
                card_id = id.as_str(),
                "too many cards to tell whether another shows this image; image left in place"
            );
            claims.push(key);
            continue;
        }
        deps.uploads.delete(key).await?;
        images += 1;
        claims.push(key);
    }
    let prices = deps.store.delete(&caller, &id, &claims, &handovers).await?;
    tracing::info!(
        card_id = id.as_str(),
        prices_deleted = prices,
        images_deleted = images,
        "card deleted"
    );
    obs::count(MetricName::CardsDeleted, 1);
    Ok(http::empty(204))
}

//! Opaque pagination cursors for `GET /cards`.
//!
//! A cursor is the GSI1 position of a page's last card — its `PK`, `SK`, `userId`, `createdAt` (all
//! strings), what DynamoDB's `LastEvaluatedKey` for it would hold — as JSON, base64url without padding. On the way back in it is decoded and checked: exactly those four
//! keys, `userId` and `PK` belonging to the caller, `SK` a card key, `createdAt` a timestamp — so a
//! cursor can neither page through another user's cards nor smuggle arbitrary key attributes into
//! DynamoDB. It is not signed: it only ever narrows the caller's own query.

use crate::HandlerError;
use crate::identity::Caller;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Longest cursor accepted (a real one is ~200 characters).
pub const MAX_CURSOR_LEN: usize = 1024;

/// A decoded cursor: the GSI1 position after the last card of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    /// `USER#{sub}`.
    #[serde(rename = "PK")]
    pub pk: String,
    /// `CARD#{id}`.
    #[serde(rename = "SK")]
    pub sk: String,
    /// The owner's `sub`.
    #[serde(rename = "userId")]
    pub user_id: String,
    /// The card's `createdAt`.
    #[serde(rename = "createdAt")]
    pub created_at: String,
}

impl Cursor {
    /// The opaque text handed to the client.
    ///
    /// ```
    /// use backend::{cursor::Cursor, identity::Caller};
    /// let me = Caller::from_sub(Some("u-1"))?;
    /// let c = Cursor { pk: "USER#u-1".into(), sk: "CARD#c-1".into(), user_id: "u-1".into(),
    ///                  created_at: "2026-11-22T00:40:00.000Z".into() };
    /// assert_eq!(Cursor::decode(&c.encode(), &me)?, c);
    /// # Ok::<(), backend::HandlerError>(())
    /// ```
    #[must_use]
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes and validates a cursor for `caller`.
    ///
    /// # Errors
    /// [`HandlerError::Validation`] on field `cursor` for anything but a cursor this API issued to
    /// this caller.
    pub fn decode(text: &str, caller: &Caller) -> Result<Self, HandlerError> {
        let bad = |why: &str| HandlerError::validation("cursor", why);
        if text.is_empty() || text.len() > MAX_CURSOR_LEN {
            return Err(bad("empty or too long"));
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad("not a cursor"))?;
        let c: Self = serde_json::from_slice(&bytes).map_err(|_| bad("not a cursor"))?;
        if c.user_id != caller.sub || c.pk != caller.pk() {
            return Err(bad("not a cursor for this user"));
        }
        if !c.sk.starts_with("CARD#") || c.sk.len() <= 5 {
            return Err(bad("not a card position"));
        }
        if chrono::DateTime::parse_from_rfc3339(&c.created_at).is_err() {
            return Err(bad("not a card position"));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn me() -> Caller {
        Caller::from_sub(Some("u-1")).unwrap()
    }

    fn cursor() -> Cursor {
        Cursor {
            pk: "USER#u-1".into(),
            sk: "CARD#c-1".into(),
            user_id: "u-1".into(),
            created_at: "2026-11-22T00:40:00.000Z".into(),
        }
    }

    fn field_of(e: HandlerError) -> String {
        match e {
            HandlerError::Validation { field, .. } => field,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn round_trips_and_is_opaque() {
        let text = cursor().encode();
        assert!(!text.contains("USER"));
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(Cursor::decode(&text, &me()).unwrap(), cursor());
    }

    #[test]
    fn another_users_cursor_is_rejected() {
        let other = Caller::from_sub(Some("u-2")).unwrap();
        assert_eq!(
            field_of(Cursor::decode(&cursor().encode(), &other).unwrap_err()),
            "cursor"
        );
        let mut forged = cursor();
        forged.pk = "USER#u-2".into();
        assert!(Cursor::decode(&forged.encode(), &me()).is_err());
    }

    #[test]
    fn extra_keys_and_non_card_positions_are_rejected() {
        let extra = URL_SAFE_NO_PAD.encode(
            r#"{"PK":"USER#u-1","SK":"CARD#c","userId":"u-1","createdAt":"2026-11-22T00:40:00.000Z","x":"1"}"#,
        );
        assert!(Cursor::decode(&extra, &me()).is_err());
        let mut price = cursor();
        price.sk = "PRICE#2026".into();
        assert!(Cursor::decode(&price.encode(), &me()).is_err());
        let mut when = cursor();
        when.created_at = "yesterday".into();
        assert!(Cursor::decode(&when.encode(), &me()).is_err());
        assert!(Cursor::decode("", &me()).is_err());
        assert!(Cursor::decode(&"A".repeat(MAX_CURSOR_LEN + 1), &me()).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_is_a_validation_error_never_a_panic(s in ".{0,300}") {
            if let Err(e) = Cursor::decode(&s, &me()) {
                prop_assert_eq!(field_of(e), "cursor");
            }
        }

        #[test]
        fn any_issued_cursor_round_trips(id in "[a-f0-9-]{1,36}", ms in 0i64..4_000_000_000_000) {
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            let c = Cursor { pk: "USER#u-1".into(), sk: format!("CARD#{id}"), user_id: "u-1".into(),
                             created_at: crate::model::iso(t) };
            prop_assert_eq!(Cursor::decode(&c.encode(), &me()).unwrap(), c);
        }
    }
}

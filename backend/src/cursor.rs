//! Opaque pagination cursors for `GET /cards`.
//!
//! A cursor is the GSI1 position of a page's last card — its `PK`, `SK`, `userId`, `createdAt`, what
//! DynamoDB's `LastEvaluatedKey` for it holds. What goes to the client (JSON, base64url without
//! padding) is `SK`, `createdAt` and `owner`, the caller's keyed pseudonym (`u_…`, the `userId` of log
//! lines and events): `PK` and `userId` hold the raw Cognito `sub`, which stays in the table — a cursor
//! travels in URLs and `Link` headers, and so into browser histories and proxy logs. On the way back in
//! it is decoded and checked: those three keys and nothing else, `owner` the caller's pseudonym, `SK` a
//! card key, `createdAt` a timestamp; `PK` and `userId` are rebuilt from the token. So a cursor can
//! neither page through another user's cards (someone else's is refused, not followed) nor smuggle
//! arbitrary key attributes into DynamoDB. It is not signed: it only ever narrows the caller's own
//! query. A cursor issued before this (`PK`, `SK`, `userId`, `createdAt`) is still taken from the user
//! it was issued to.

use crate::HandlerError;
use crate::identity::Caller;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Longest cursor accepted (a real one is ~200 characters).
pub const MAX_CURSOR_LEN: usize = 1024;

/// A decoded cursor: the GSI1 position after the last card of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// `USER#{sub}`.
    pub pk: String,
    /// `CARD#{id}`.
    pub sk: String,
    /// The owner's `sub`.
    pub user_id: String,
    /// The card's `createdAt`.
    pub created_at: String,
}

/// What the client holds: the card's position and its owner's pseudonym, never the `sub`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(rename = "SK", borrow)]
    sk: Cow<'a, str>,
    #[serde(rename = "createdAt", borrow)]
    created_at: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    owner: Option<Cow<'a, str>>,
    /// Cursors issued with the owner's keys: read (and held to the caller), never written.
    #[serde(rename = "PK", default, skip_serializing)]
    pk: Option<String>,
    #[serde(rename = "userId", default, skip_serializing)]
    user_id: Option<String>,
}

impl Cursor {
    /// The opaque text handed to the client whose pseudonym is `owner` ([`UserHasher::hash`](crate::identity::UserHasher::hash)
    /// of its `sub`).
    ///
    /// ```
    /// use backend::{cursor::Cursor, identity::Caller};
    /// let me = Caller::from_sub(Some("u-1"))?;
    /// let c = Cursor { pk: "USER#u-1".into(), sk: "CARD#c-1".into(), user_id: "u-1".into(),
    ///                  created_at: "2026-11-22T00:40:00.000Z".into() };
    /// assert_eq!(Cursor::decode(&c.encode("u_me"), &me, "u_me")?, c);
    /// # Ok::<(), backend::HandlerError>(())
    /// ```
    #[must_use]
    pub fn encode(&self, owner: &str) -> String {
        let wire = Wire {
            sk: Cow::Borrowed(&self.sk),
            created_at: Cow::Borrowed(&self.created_at),
            owner: Some(Cow::Borrowed(owner)),
            pk: None,
            user_id: None,
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
    }

    /// Decodes and validates a cursor for `caller`, whose pseudonym is `owner`.
    ///
    /// # Errors
    /// [`HandlerError::Validation`] on field `cursor` for anything but a cursor this API issued to
    /// this caller.
    pub fn decode(text: &str, caller: &Caller, owner: &str) -> Result<Self, HandlerError> {
        let bad = |why: &str| HandlerError::validation("cursor", why);
        if text.is_empty() || text.len() > MAX_CURSOR_LEN {
            return Err(bad("empty or too long"));
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad("not a cursor"))?;
        let w: Wire<'_> = serde_json::from_slice(&bytes).map_err(|_| bad("not a cursor"))?;
        // Either form, never a mix: the pseudonym, or (issued before it) both raw keys.
        let mine = match (&w.owner, &w.pk, &w.user_id) {
            (Some(o), None, None) => o == owner,
            (None, Some(pk), Some(user)) => *pk == caller.pk() && *user == caller.sub,
            _ => false,
        };
        if !mine {
            return Err(bad("not a cursor for this user"));
        }
        let c = Self {
            pk: caller.pk(),
            sk: w.sk.into_owned(),
            user_id: caller.sub.clone(),
            created_at: w.created_at.into_owned(),
        };
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

    /// `me`'s pseudonym.
    const ME: &str = "u_me";

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
        let text = cursor().encode(ME);
        assert!(!text.contains("USER"));
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(Cursor::decode(&text, &me(), ME).unwrap(), cursor());
    }

    /// The raw `sub` stays in the table: the text handed out holds the position and the pseudonym.
    #[test]
    fn the_sub_is_not_in_the_cursor() {
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor().encode(ME)).unwrap()).unwrap();
        assert_eq!(
            json,
            format!(r#"{{"SK":"CARD#c-1","createdAt":"2026-11-22T00:40:00.000Z","owner":"{ME}"}}"#)
        );
    }

    /// Someone else's cursor is refused, not followed — in the pseudonym form and in the form with the
    /// raw keys that earlier versions issued (still taken from its owner); a mix of the two is no cursor.
    #[test]
    fn another_users_cursor_is_rejected() {
        let other = Caller::from_sub(Some("u-2")).unwrap();
        assert_eq!(
            field_of(Cursor::decode(&cursor().encode(ME), &other, "u_other").unwrap_err()),
            "cursor"
        );
        let old = URL_SAFE_NO_PAD.encode(
            r#"{"PK":"USER#u-1","SK":"CARD#c-1","userId":"u-1","createdAt":"2026-11-22T00:40:00.000Z"}"#,
        );
        assert_eq!(Cursor::decode(&old, &me(), ME).unwrap(), cursor());
        assert_eq!(
            field_of(Cursor::decode(&old, &other, "u_other").unwrap_err()),
            "cursor"
        );
        for forged in [
            r#"{"PK":"USER#u-2","SK":"CARD#c-1","userId":"u-1","createdAt":"2026-11-22T00:40:00.000Z"}"#,
            r#"{"PK":"USER#u-1","SK":"CARD#c-1","createdAt":"2026-11-22T00:40:00.000Z"}"#,
            r#"{"SK":"CARD#c-1","userId":"u-1","createdAt":"2026-11-22T00:40:00.000Z"}"#,
            r#"{"SK":"CARD#c-1","createdAt":"2026-11-22T00:40:00.000Z"}"#,
            r#"{"PK":"USER#u-1","SK":"CARD#c-1","userId":"u-1","createdAt":"2026-11-22T00:40:00.000Z","owner":"u_me"}"#,
        ] {
            let text = URL_SAFE_NO_PAD.encode(forged);
            assert!(Cursor::decode(&text, &me(), ME).is_err(), "{forged}");
        }
    }

    #[test]
    fn extra_keys_and_non_card_positions_are_rejected() {
        let extra = URL_SAFE_NO_PAD
            .encode(r#"{"SK":"CARD#c","createdAt":"2026-11-22T00:40:00.000Z","owner":"u_me","x":"1"}"#);
        assert!(Cursor::decode(&extra, &me(), ME).is_err());
        let mut price = cursor();
        price.sk = "PRICE#2026".into();
        assert!(Cursor::decode(&price.encode(ME), &me(), ME).is_err());
        let mut when = cursor();
        when.created_at = "yesterday".into();
        assert!(Cursor::decode(&when.encode(ME), &me(), ME).is_err());
        assert!(Cursor::decode("", &me(), ME).is_err());
        assert!(Cursor::decode(&"A".repeat(MAX_CURSOR_LEN + 1), &me(), ME).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_is_a_validation_error_never_a_panic(s in ".{0,300}") {
            if let Err(e) = Cursor::decode(&s, &me(), ME) {
                prop_assert_eq!(field_of(e), "cursor");
            }
        }

        #[test]
        fn any_issued_cursor_round_trips(id in "[a-f0-9-]{1,36}", ms in 0i64..4_000_000_000_000) {
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            let c = Cursor { pk: "USER#u-1".into(), sk: format!("CARD#{id}"), user_id: "u-1".into(),
                             created_at: crate::model::iso(t) };
            prop_assert_eq!(Cursor::decode(&c.encode(ME), &me(), ME).unwrap(), c);
        }
    }
}

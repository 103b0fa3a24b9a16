//! Who is calling, and how they appear in logs.
//!
//! The caller is the HTTP API JWT authorizer's `sub` claim (`requestContext.authorizer.jwt.claims.sub`);
//! API Gateway has already verified the token. Logs never carry the `sub` itself: [`UserHasher`] turns it
//! into a keyed HMAC-SHA256 digest. A plain SHA of a Cognito `sub` (a UUID) is not anonymous — anyone
//! holding a list of subs can hash them and join — so the key (a Secrets Manager secret generated at
//! deploy time, see [`crate::config::HashKeySource`]) is what makes the value non-reversible, while
//! staying stable across functions so one user's requests can still be followed.

use crate::HandlerError;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// Minimum key length in bytes (HMAC-SHA256 gains nothing beyond 64, loses strength below 32).
pub const MIN_KEY_BYTES: usize = 32;

/// Whether `s` is shaped like a [`UserHasher::hash`] pseudonym: `u_` and 32 hex digits.
///
/// ```
/// assert!(backend::identity::is_pseudonym("u_0123456789abcdef0123456789abcdef"));
/// assert!(!backend::identity::is_pseudonym("7d3a1f2e-5b6c-4d8e-9f00-1a2b3c4d5e6f"));
/// ```
#[must_use]
pub fn is_pseudonym(s: &str) -> bool {
    s.strip_prefix("u_")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Keyed, non-reversible pseudonyms for user ids.
#[derive(Clone)]
pub struct UserHasher {
    key: Vec<u8>,
}

impl fmt::Debug for UserHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserHasher").finish_non_exhaustive()
    }
}

/// Why a [`UserHasher`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashKeyError {
    /// The key is shorter than [`MIN_KEY_BYTES`].
    #[error("the userId hash key must be at least {MIN_KEY_BYTES} bytes, got {0}")]
    TooShort(usize),
}

impl UserHasher {
    /// A hasher with `key` (at least [`MIN_KEY_BYTES`] bytes).
    ///
    /// ```
    /// let h = backend::identity::UserHasher::new(b"0123456789abcdef0123456789abcdef".to_vec())?;
    /// let id = h.hash("7d3a1f2e-0000-4000-8000-000000000001");
    /// assert!(id.starts_with("u_") && id.len() == 34);
    /// assert_eq!(id, h.hash("7d3a1f2e-0000-4000-8000-000000000001"));
    /// # Ok::<(), backend::identity::HashKeyError>(())
    /// ```
    ///
    /// # Errors
    /// [`HashKeyError::TooShort`].
    pub fn new(key: Vec<u8>) -> Result<Self, HashKeyError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(HashKeyError::TooShort(key.len()));
        }
        Ok(Self { key })
    }

    /// The pseudonym of `user_id`: `u_` + the first 128 bits of HMAC-SHA256(key, user_id) in hex.
    #[must_use]
    pub fn hash(&self, user_id: &str) -> String {
        // HMAC accepts keys of any length; `new` already enforced the minimum.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return "u_unavailable".to_owned();
        };
        mac.update(user_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(34);
        out.push_str("u_");
        for b in &digest[..16] {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The Cognito `sub` (never logged).
    pub sub: String,
}

impl Caller {
    /// Validates a `sub` claim: non-empty, ≤ 128 chars, no `#` (it is a key-prefix separator).
    ///
    /// # Errors
    /// [`HandlerError::Unauthorized`].
    pub fn from_sub(sub: Option<&str>) -> Result<Self, HandlerError> {
        match sub {
            Some(s)
                if !s.is_empty()
                    && s.len() <= 128
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                Ok(Self { sub: s.to_owned() })
            }
            Some(_) => Err(HandlerError::Unauthorized("malformed sub claim".into())),
            None => Err(HandlerError::Unauthorized("no sub claim".into())),
        }
    }

    /// The partition key of this user's items (`USER#{sub}`).
    #[must_use]
    pub fn pk(&self) -> String {
        format!("USER#{}", self.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hasher(key: &[u8]) -> UserHasher {
        UserHasher::new(key.to_vec()).unwrap()
    }

    #[test]
    fn keyed_hash_differs_from_plain_sha_and_by_key() {
        let sub = "7d3a1f2e-0000-4000-8000-000000000001";
        let a = hasher(&[1; 32]).hash(sub);
        let b = hasher(&[2; 32]).hash(sub);
        assert_ne!(a, b, "the key changes the pseudonym");
        use sha2::Digest;
        let plain: String = Sha256::digest(sub.as_bytes())[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_ne!(a[2..], plain, "not a plain sha of the sub");
        assert!(!a.contains(sub));
    }

    #[test]
    fn short_keys_are_rejected() {
        assert_eq!(
            UserHasher::new(vec![0; 31]).unwrap_err(),
            HashKeyError::TooShort(31)
        );
        assert!(!format!("{:?}", hasher(&[7; 32])).contains('7'));
    }

    #[test]
    fn caller_claims_are_validated() {
        assert_eq!(Caller::from_sub(Some("abc-1")).unwrap().pk(), "USER#abc-1");
        assert!(matches!(
            Caller::from_sub(None),
            Err(HandlerError::Unauthorized(_))
        ));
        assert!(matches!(
            Caller::from_sub(Some("")),
            Err(HandlerError::Unauthorized(_))
        ));
        assert!(matches!(
            Caller::from_sub(Some("a#b")),
            Err(HandlerError::Unauthorized(_))
        ));
    }

    proptest! {
        #[test]
        fn pseudonyms_are_fixed_width_hex(sub in ".{0,80}") {
            let id = hasher(&[9; 40]).hash(&sub);
            prop_assert_eq!(id.len(), 34);
            prop_assert!(id[2..].chars().all(|c| c.is_ascii_hexdigit()));
        }
    }
}

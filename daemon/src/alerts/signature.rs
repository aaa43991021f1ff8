//! Signing the way Standard Webhooks does: the secret is `whsec_` and the base64 of random bytes; the
//! signature is `v1,` and the base64 of HMAC-SHA256, keyed with the decoded bytes, over
//! `{webhook-id}.{webhook-timestamp}.{body}`. A receiver verifies it with any Standard Webhooks library
//! (or these few lines) and refuses old timestamps, so that a captured request cannot be replayed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a secret: 32, where the specification asks for 24 to 64.
const SECRET_BYTES: usize = 32;

/// A new signing secret, `whsec_…`.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The HMAC key of a `whsec_…` secret; `None` when it is not one.
pub fn signing_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok().filter(|key| !key.is_empty())
}

/// The `webhook-signature` header of one delivery.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries (standard-webhooks/standard-webhooks,
    /// `libraries/rust/src/lib.rs`, `test_sign`; the same in the other languages' tests).
    #[test]
    fn signs_the_specifications_test_vector() {
        let key = signing_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("a valid secret");
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            sign(&key, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        // Any change to the id, the time or the body changes the signature.
        assert_ne!(
            sign(&key, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpl", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        assert_ne!(
            sign(&key, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367554, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn secrets_are_random_prefixed_and_decode_to_32_bytes() {
        let (one, two) = (generate_secret(), generate_secret());
        assert!(one.starts_with("whsec_"));
        assert_ne!(one, two);
        assert_eq!(signing_key(&one).map(|k| k.len()), Some(32));
        assert_eq!(signing_key("C2FVsBQIhrscChlQIMV+b5sSYspob7oD"), None, "the prefix is part of it");
        assert_eq!(signing_key("whsec_not base64!"), None);
    }
}

//! API tokens: `kpl_` and 43 random URL-safe characters, shown once and stored as a SHA-256 hash
//! (the secret has 256 bits of entropy, so a fast hash is enough and lookups stay indexable).

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "kpl_";

/// A new secret.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The part of a secret that may be shown again, to recognise it by.
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_unique_and_hashed() {
        let (a, b) = (super::generate(), super::generate());
        assert_ne!(a, b);
        assert!(a.starts_with("kpl_") && a.len() == 47, "{a}");
        assert_eq!(super::hash(&a).len(), 64);
        assert_ne!(super::hash(&a), super::hash(&b));
    }
}

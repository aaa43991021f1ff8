//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use std::sync::LazyLock;

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail on a password")
        .to_string()
}

/// Checks a password against a PHC string; `None` (no such user) costs as much as a real check, so
/// that response times do not tell which usernames exist.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    static DUMMY: LazyLock<String> = LazyLock::new(|| hash("koppel-dummy-password"));
    let (phc, real) = match phc {
        Some(phc) => (phc, true),
        None => (DUMMY.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && real
}

/// A random password of 24 URL-safe characters, for `koppel account create`.
pub fn generate() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn verifies_only_the_right_password() {
        let phc = super::hash("correct horse");
        assert!(super::verify("correct horse", Some(&phc)));
        assert!(!super::verify("wrong horse", Some(&phc)));
        assert!(!super::verify("koppel-dummy-password", None));
    }
}

//! Encryption of integration credentials at rest: AES-256-GCM (the `aes-gcm` crate) under the master
//! key, a random 96-bit nonce per value, and the integration, mode and field as additional data, so
//! that a ciphertext copied to another row does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

pub struct MasterKey(Aes256Gcm);

#[derive(Debug, thiserror::Error)]
#[error("the value cannot be decrypted with this master key")]
pub struct DecryptError;

impl MasterKey {
    pub fn from_base64(encoded: &str) -> Result<Self, DecryptError> {
        let bytes = STANDARD.decode(encoded.trim()).map_err(|_| DecryptError)?;
        if bytes.len() != 32 {
            return Err(DecryptError);
        }
        Ok(Self(Aes256Gcm::new_from_slice(&bytes).map_err(|_| DecryptError)?))
    }

    /// A new random key, base64-encoded.
    pub fn generate() -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        STANDARD.encode(bytes)
    }

    /// Base64 of nonce and ciphertext.
    pub fn encrypt(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .0
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() })
            .expect("AES-GCM encryption of a short value cannot fail");
        let mut out = nonce.to_vec();
        out.extend(ciphertext);
        STANDARD.encode(out)
    }

    pub fn decrypt(&self, encoded: &str, context: &str) -> Result<String, DecryptError> {
        let bytes = STANDARD.decode(encoded).map_err(|_| DecryptError)?;
        if bytes.len() < 12 {
            return Err(DecryptError);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| DecryptError)?;
        let plaintext = self
            .0
            .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| DecryptError)?;
        String::from_utf8(plaintext).map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_another_context_or_key() {
        let key = MasterKey::from_base64(&MasterKey::generate()).unwrap();
        let sealed = key.encrypt("kpl_secret", "integration/1/test/apiToken");
        assert!(!sealed.contains("kpl_secret"));
        assert_ne!(sealed, key.encrypt("kpl_secret", "integration/1/test/apiToken"), "a fresh nonce each time");
        assert_eq!(key.decrypt(&sealed, "integration/1/test/apiToken").unwrap(), "kpl_secret");
        assert!(key.decrypt(&sealed, "integration/2/test/apiToken").is_err());
        let other = MasterKey::from_base64(&MasterKey::generate()).unwrap();
        assert!(other.decrypt(&sealed, "integration/1/test/apiToken").is_err());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }
}

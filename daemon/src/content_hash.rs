//! Content hashes: how a pass tells a changed remote record from an unchanged one.

use sha2::{Digest, Sha256};

/// A content hash as the plan compares it: the 32 bytes of a SHA-256 rather than its 64 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// From a hash as links store it: the hex of a SHA-256. Anything else (an older or foreign form) is
    /// digested, so that equal strings still compare equal and a string never equals a real hash.
    pub fn from_stored(stored: &str) -> Self {
        let bytes = stored.as_bytes();
        let mut hash = [0u8; 32];
        let hex = |c: u8| (c as char).to_digit(16);
        if bytes.len() == 64 {
            let decoded =
                hash.iter_mut().zip(bytes.chunks_exact(2)).all(|(out, pair)| match (hex(pair[0]), hex(pair[1])) {
                    (Some(high), Some(low)) => {
                        *out = (high * 16 + low) as u8;
                        true
                    }
                    _ => false,
                });
            if decoded {
                return Self(hash);
            }
        }
        Self(Sha256::digest(bytes).into())
    }

    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The hex form links store.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

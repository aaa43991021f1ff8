//! Signed download links: `/files/{id}?account=…&expires=…&signature=…`, where the signature is an
//! HMAC-SHA256 over the file, the account and the expiry, keyed from the server's JWT secret (a key
//! derived for this use alone, so a link signature can never pass for a token's or the reverse).
//! A link is bound to one file of one account and expires (`KOPPEL_FILE_LINK_TTL_SECONDS`): it can be
//! handed to a browser or another system without a token, and is worthless after a few minutes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this download link has expired; ask for a new one")]
    Expired,
    #[error("this download link is not valid")]
    BadSignature,
}

/// Signs and checks download links.
pub struct LinkSigner {
    key: [u8; 32],
}

impl LinkSigner {
    /// The signer keyed from `secret` (the JWT secret) through HMAC-SHA256 with a fixed label.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut derive = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        derive.update(b"koppel file download links v1");
        Self { key: derive.finalize().into_bytes().into() }
    }

    fn mac(&self, account_id: Uuid, file_id: Uuid, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{file_id}:{account_id}:{expires}").as_bytes());
        mac
    }

    /// The relative link to a file of an account, valid until `expires`.
    pub fn link(&self, account_id: Uuid, file_id: Uuid, expires: DateTime<Utc>) -> String {
        let expires = expires.timestamp();
        let signature = URL_SAFE_NO_PAD.encode(self.mac(account_id, file_id, expires).finalize().into_bytes());
        format!("/files/{file_id}?account={account_id}&expires={expires}&signature={signature}")
    }

    /// Checks a link's signature (in constant time), then its expiry at `now`.
    pub fn verify(
        &self,
        account_id: Uuid,
        file_id: Uuid,
        expires: i64,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LinkError> {
        let given = URL_SAFE_NO_PAD.decode(signature.trim()).map_err(|_| LinkError::BadSignature)?;
        self.mac(account_id, file_id, expires).verify_slice(&given).map_err(|_| LinkError::BadSignature)?;
        if expires < now.timestamp() {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(link: &str) -> (i64, String) {
        let query = link.split_once('?').unwrap().1;
        let value = |name: &str| query.split('&').find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap().to_owned();
        (value("expires").parse().unwrap(), value("signature"))
    }

    #[test]
    fn a_link_is_bound_to_its_file_account_and_expiry() {
        let signer = LinkSigner::from_secret(b"a secret of at least thirty-two bytes!!");
        let (account, file, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let now = Utc::now();
        let link = signer.link(account, file, now + chrono::Duration::minutes(5));
        assert!(link.starts_with(&format!("/files/{file}?account={account}&expires=")), "{link}");
        let (expires, signature) = parts(&link);
        assert_eq!(signer.verify(account, file, expires, &signature, now), Ok(()));
        assert_eq!(signer.verify(other, file, expires, &signature, now), Err(LinkError::BadSignature));
        assert_eq!(signer.verify(account, other, expires, &signature, now), Err(LinkError::BadSignature));
        assert_eq!(signer.verify(account, file, expires + 3600, &signature, now), Err(LinkError::BadSignature));
        assert_eq!(signer.verify(account, file, expires, "AAAA", now), Err(LinkError::BadSignature));
        assert_eq!(signer.verify(account, file, expires, "not base64!", now), Err(LinkError::BadSignature));
        let later = now + chrono::Duration::minutes(6);
        assert_eq!(signer.verify(account, file, expires, &signature, later), Err(LinkError::Expired));
        let elsewhere = LinkSigner::from_secret(b"another secret of at least thirty-two bytes");
        assert_eq!(elsewhere.verify(account, file, expires, &signature, now), Err(LinkError::BadSignature));
    }
}

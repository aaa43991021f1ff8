//! Files: product attachments and supplier logos (issue 11).
//!
//! - **Storage** ([`Storage`]): objects content-addressed by their SHA-256, behind one trait; the
//!   embedded backend is a directory under the data directory ([`directory::DirectoryStorage`]). A
//!   [`FileStore`] is what the engine's [`crate::Context`] carries: it checks every object's hash when
//!   it reads it, so a damaged or swapped object is refused rather than served.
//! - **What a file is** ([`content`]): the content type is sniffed from the bytes, never taken from the
//!   client; markup (HTML, XML, SVG) is refused, and so is a name whose extension promises another type
//!   than the bytes are (a disguised file).
//! - **Rows** ([`service`]): one `files` row per account and content. The object is written before the
//!   row, and deleted after the last row naming its hash is gone, so a crash leaves at most an object
//!   without a row, or a row without a reference; the nightly [`sweep`] removes both.

pub mod content;
pub mod directory;
pub mod links;
pub mod s3;
pub mod service;
pub mod sweep;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub use crate::error::StorageError;

/// An object in the store, for the sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub sha256: String,
    /// When it was last written (a write of content already there counts: see [`Storage::put`]).
    pub modified: DateTime<Utc>,
}

/// Where the bytes of files live, keyed by their SHA-256 (lower-case hex). Backends store and return
/// bytes; [`FileStore`] computes and checks the hashes.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Stores `bytes` under `sha256`, atomically: a reader sees the whole object or none. When the object
    /// is there already it is kept, and its modification time is moved to now, so the sweep does not
    /// take it for an orphan while its new row is being written.
    async fn put(&self, sha256: &str, bytes: Bytes) -> Result<(), StorageError>;
    /// The object's bytes, or `None` when there is none.
    async fn get(&self, sha256: &str) -> Result<Option<Bytes>, StorageError>;
    async fn exists(&self, sha256: &str) -> Result<bool, StorageError>;
    /// Deletes the object; deleting one that is not there is not an error.
    async fn delete(&self, sha256: &str) -> Result<(), StorageError>;
    /// Every object.
    async fn list(&self) -> Result<Vec<StoredObject>, StorageError>;
    /// Removes what interrupted writes left behind before `before` (temporary files); returns how many.
    async fn remove_incomplete(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        let _ = before;
        Ok(0)
    }
    /// For logs: which backend, where.
    fn describe(&self) -> String;
}

/// The file store the engine uses: a backend, with hashes computed on write and checked on read.
#[derive(Clone)]
pub struct FileStore {
    backend: Arc<dyn Storage>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FileStore").field(&self.backend.describe()).finish()
    }
}

impl FileStore {
    pub fn new(backend: Arc<dyn Storage>) -> Self {
        Self { backend }
    }

    /// The embedded default: a directory (`KOPPEL_DATA_DIR/files`).
    pub fn directory(root: impl Into<std::path::PathBuf>) -> Self {
        Self::new(Arc::new(directory::DirectoryStorage::new(root)))
    }

    pub fn backend(&self) -> &dyn Storage {
        self.backend.as_ref()
    }

    /// Stores `bytes` and returns their SHA-256.
    pub async fn write(&self, bytes: Bytes) -> Result<String, StorageError> {
        let sha256 = sha256_hex(&bytes);
        self.backend.put(&sha256, bytes).await?;
        Ok(sha256)
    }

    /// The bytes stored under `sha256`, checked against it; `None` when there is no such object.
    pub async fn read(&self, sha256: &str) -> Result<Option<Bytes>, StorageError> {
        let Some(bytes) = self.backend.get(sha256).await? else { return Ok(None) };
        if sha256_hex(&bytes) != sha256 {
            return Err(StorageError::Corrupt(sha256.to_owned()));
        }
        Ok(Some(bytes))
    }

    pub async fn exists(&self, sha256: &str) -> Result<bool, StorageError> {
        self.backend.exists(sha256).await
    }

    pub async fn delete(&self, sha256: &str) -> Result<(), StorageError> {
        self.backend.delete(sha256).await
    }
}

/// The SHA-256 of `bytes` in lower-case hex: the object key, and what `sha256` fields show.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `key` is a SHA-256 in lower-case hex (no path can be made of anything else).
pub fn is_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The storage tests every backend passes (the directory's unit tests, S3's in `daemon/tests/`).
#[doc(hidden)]
pub mod conformance;

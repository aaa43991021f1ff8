//! The embedded backend: a directory (`KOPPEL_DATA_DIR/files`), objects at `ab/cd/<sha256>`.
//!
//! A write goes to a temporary file in the object's directory, is flushed to disk (`fsync`), then
//! renamed over the object's name and the directory flushed too: a crash leaves the old state or the
//! whole new object, never half of one. The temporary files of interrupted writes are removed by the
//! sweep ([`Storage::remove_incomplete`]).

use super::{Storage, StorageError, StoredObject, is_key};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::{Path, PathBuf};

const TEMPORARY: &str = ".incoming-";

pub struct DirectoryStorage {
    root: PathBuf,
}

impl DirectoryStorage {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, sha256: &str) -> Result<PathBuf, StorageError> {
        if !is_key(sha256) {
            return Err(StorageError::BadKey(sha256.to_owned()));
        }
        Ok(self.root.join(&sha256[..2]).join(&sha256[2..4]).join(sha256))
    }
}

fn backend(error: std::io::Error) -> StorageError {
    StorageError::Backend(error.to_string())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| StorageError::Backend(e.to_string()))?.map_err(backend)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if path.exists() {
        // Same name, same content: keep it, but make it young again (see `Storage::put`).
        return std::fs::File::options().write(true).open(path)?.set_modified(std::time::SystemTime::now());
    }
    let dir = path.parent().expect("an object path has a directory");
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!("{TEMPORARY}{}", uuid::Uuid::now_v7()));
    let written = (|| {
        let mut file = std::fs::File::create_new(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        // The rename is durable once the directory is.
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

fn modified(metadata: &std::fs::Metadata) -> DateTime<Utc> {
    metadata.modified().map(DateTime::<Utc>::from).unwrap_or_else(|_| Utc::now())
}

/// Every file two levels down (`ab/cd/…`), with its name and metadata.
fn walk(root: &Path) -> std::io::Result<Vec<(String, PathBuf, std::fs::Metadata)>> {
    let mut found = Vec::new();
    let level = |dir: &Path| -> std::io::Result<Vec<PathBuf>> {
        match std::fs::read_dir(dir) {
            Ok(entries) => entries.map(|e| e.map(|e| e.path())).collect(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    };
    for first in level(root)?.into_iter().filter(|p| p.is_dir()) {
        for second in level(&first)?.into_iter().filter(|p| p.is_dir()) {
            for file in level(&second)? {
                let metadata = std::fs::metadata(&file)?;
                if metadata.is_file() {
                    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                    found.push((name, file, metadata));
                }
            }
        }
    }
    Ok(found)
}

#[async_trait]
impl Storage for DirectoryStorage {
    async fn put(&self, sha256: &str, bytes: Bytes) -> Result<(), StorageError> {
        let path = self.path(sha256)?;
        blocking(move || write_atomically(&path, &bytes)).await
    }

    async fn get(&self, sha256: &str) -> Result<Option<Bytes>, StorageError> {
        let path = self.path(sha256)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes.into())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(backend(error)),
        }
    }

    async fn exists(&self, sha256: &str) -> Result<bool, StorageError> {
        let path = self.path(sha256)?;
        tokio::fs::try_exists(&path).await.map_err(backend)
    }

    async fn delete(&self, sha256: &str) -> Result<(), StorageError> {
        let path = self.path(sha256)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(backend(error)),
        }
    }

    async fn list(&self) -> Result<Vec<StoredObject>, StorageError> {
        let root = self.root.clone();
        let files = blocking(move || walk(&root)).await?;
        Ok(files
            .into_iter()
            .filter(|(name, _, _)| is_key(name))
            .map(|(sha256, _, metadata)| StoredObject { sha256, modified: modified(&metadata) })
            .collect())
    }

    async fn remove_incomplete(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        let root = self.root.clone();
        blocking(move || {
            let mut removed = 0;
            for (name, path, metadata) in walk(&root)? {
                if name.starts_with(TEMPORARY) && modified(&metadata) < before {
                    std::fs::remove_file(path)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }

    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_directory_passes_the_storage_tests() {
        let dir = tempfile::TempDir::new().unwrap();
        super::super::conformance::run(std::sync::Arc::new(DirectoryStorage::new(dir.path()))).await;
    }

    #[tokio::test]
    async fn keys_that_are_not_hashes_name_no_path() {
        let dir = tempfile::TempDir::new().unwrap();
        let storage = DirectoryStorage::new(dir.path());
        for bad in ["../../etc/passwd", "ABCDEF", &"a".repeat(63), &format!("{}/", "a".repeat(63))] {
            assert!(matches!(storage.get(bad).await, Err(StorageError::BadKey(_))), "{bad}");
            assert!(matches!(storage.put(bad, Bytes::new()).await, Err(StorageError::BadKey(_))), "{bad}");
        }
    }

    #[tokio::test]
    async fn an_interrupted_write_is_cleaned_up_by_age() {
        let dir = tempfile::TempDir::new().unwrap();
        let storage = DirectoryStorage::new(dir.path());
        let shard = dir.path().join("ab").join("cd");
        std::fs::create_dir_all(&shard).unwrap();
        let left = shard.join(format!("{TEMPORARY}crashed"));
        std::fs::write(&left, b"half of a file").unwrap();
        assert_eq!(storage.list().await.unwrap(), vec![], "not an object");
        assert_eq!(storage.remove_incomplete(Utc::now() - chrono::Duration::hours(1)).await.unwrap(), 0, "too young");
        assert_eq!(storage.remove_incomplete(Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 1);
        assert!(!left.exists());
    }
}

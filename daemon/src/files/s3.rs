//! The S3 backend (`KOPPEL_S3_BUCKET` and friends), for replicas that share no disk: objects at
//! `<prefix>/<sha256>` in a bucket of any S3-compatible storage, through the `object_store` crate.
//!
//! An S3 `PUT` is atomic (a reader sees the whole object or none), so a write needs no temporary name.
//! Writing content that is there already is a `PUT` again, which moves its `Last-Modified` — the
//! sweep's notion of age — to now, as [`Storage::put`] asks.

use super::{Storage, StorageError, StoredObject, is_key};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;

/// Where the bucket is and how to sign in.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// `https://s3.eu-central-1.amazonaws.com`, or any S3-compatible server (MinIO, Ceph, moto, …);
    /// `None`: AWS for the region.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Objects go under this prefix (`koppel/files` by default), so a bucket can be shared.
    pub prefix: String,
}

pub struct S3Storage {
    store: AmazonS3,
    prefix: Path,
    bucket: String,
}

fn backend(error: object_store::Error) -> StorageError {
    StorageError::Backend(error.to_string())
}

impl S3Storage {
    pub fn new(settings: &S3Settings) -> Result<Self, StorageError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        Ok(Self {
            store: builder.build().map_err(backend)?,
            prefix: Path::from(settings.prefix.trim_matches('/')),
            bucket: settings.bucket.clone(),
        })
    }

    fn path(&self, sha256: &str) -> Result<Path, StorageError> {
        if !is_key(sha256) {
            return Err(StorageError::BadKey(sha256.to_owned()));
        }
        Ok(self.prefix.child(sha256))
    }
}

#[async_trait]
impl Storage for S3Storage {
    async fn put(&self, sha256: &str, bytes: Bytes) -> Result<(), StorageError> {
        let path = self.path(sha256)?;
        self.store.put(&path, bytes.into()).await.map_err(backend)?;
        Ok(())
    }

    async fn get(&self, sha256: &str) -> Result<Option<Bytes>, StorageError> {
        let path = self.path(sha256)?;
        match self.store.get(&path).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(backend)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(backend(error)),
        }
    }

    async fn exists(&self, sha256: &str) -> Result<bool, StorageError> {
        let path = self.path(sha256)?;
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(backend(error)),
        }
    }

    async fn delete(&self, sha256: &str) -> Result<(), StorageError> {
        let path = self.path(sha256)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(backend(error)),
        }
    }

    async fn list(&self) -> Result<Vec<StoredObject>, StorageError> {
        let mut listed = self.store.list(Some(&self.prefix));
        let mut found = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = meta.map_err(backend)?;
            if let Some(name) = meta.location.filename().filter(|name| is_key(name)) {
                found.push(StoredObject { sha256: name.to_owned(), modified: meta.last_modified });
            }
        }
        Ok(found)
    }

    fn describe(&self) -> String {
        format!("S3 bucket {} under {}", self.bucket, self.prefix)
    }
}

//! What every [`Storage`] backend must do, as one test run: the directory's unit tests and the S3
//! backend's tests (against a local S3-compatible server) call [`run`] on a fresh, empty store.

use super::{FileStore, Storage, StorageError, sha256_hex};
use bytes::Bytes;
use std::sync::Arc;

/// Panics at the first thing the backend gets wrong.
pub async fn run(backend: Arc<dyn Storage>) {
    let store = FileStore::new(backend.clone());
    assert!(backend.list().await.expect("list an empty store").is_empty(), "the store starts empty");

    // Written under its hash, read back whole.
    let conditions = Bytes::from_static(b"%PDF-1.7\nthe conditions of the product\n%%EOF\n");
    let key = store.write(conditions.clone()).await.expect("write");
    assert_eq!(key, sha256_hex(&conditions));
    assert_eq!(store.read(&key).await.expect("read"), Some(conditions.clone()));
    assert!(store.exists(&key).await.expect("exists"));

    // The same content again is the same object, younger.
    let first = backend.list().await.expect("list");
    assert_eq!(first.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(store.write(conditions.clone()).await.expect("write again"), key);
    let again = backend.list().await.expect("list");
    assert_eq!(again.len(), 1, "stored once");
    assert!(again[0].modified > first[0].modified, "a second write makes the object young again");

    // A larger object, and an empty one.
    let large = Bytes::from((0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let large_key = store.write(large.clone()).await.expect("write a large object");
    assert_eq!(store.read(&large_key).await.expect("read it").as_deref(), Some(&large[..]));
    let empty_key = store.write(Bytes::new()).await.expect("write an empty object");
    assert_eq!(store.read(&empty_key).await.expect("read it"), Some(Bytes::new()));
    let mut listed: Vec<String> = backend.list().await.expect("list").into_iter().map(|o| o.sha256).collect();
    listed.sort();
    let mut expected = vec![key.clone(), large_key.clone(), empty_key.clone()];
    expected.sort();
    assert_eq!(listed, expected);

    // Bytes under the wrong key are refused on reading.
    let swapped = sha256_hex(b"something else");
    backend.put(&swapped, conditions.clone()).await.expect("put under a wrong key");
    assert!(matches!(store.read(&swapped).await, Err(StorageError::Corrupt(_))));

    // Deleting, also twice.
    for gone in [&key, &swapped, &large_key, &empty_key] {
        store.delete(gone).await.expect("delete");
        store.delete(gone).await.expect("delete what is gone");
        assert_eq!(store.read(gone).await.expect("read what is gone"), None);
        assert!(!store.exists(gone).await.expect("exists"));
    }
    assert!(backend.list().await.expect("list").is_empty(), "empty again");
}

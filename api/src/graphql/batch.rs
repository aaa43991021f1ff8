//! Batched loads without a time window.
//!
//! async-graphql resolves the rows of a list, and the fields of each row, as futures that one request's
//! task polls together. A nested field asks its batcher for a key and waits; the batch stays open while
//! the poll passes of the request keep adding keys to it, and it is read in ONE statement as soon as a
//! pass added none: the request has nothing else to do before it needs the rows. That costs a few task
//! yields (microseconds) where a fixed window cost its length at every nesting level, and it cannot split
//! a page into two statements on a busy machine, since no clock is involved.
//!
//! A batcher lives for one request (or one subscription connection) and keeps no results beyond the
//! batch that read them, so a mutation's payload reads what the mutation wrote.

use async_graphql::dataloader::Loader;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex, Weak};

/// The rows one batch read, or why it could not.
type Outcome<K, L> = Result<Arc<HashMap<K, <L as Loader<K>>::Value>>, <L as Loader<K>>::Error>;

/// The most passes a batch waits for keys; reached only by a request that adds keys on every pass.
const MAX_PASSES: usize = 64;

/// Collects the keys one request asks for and reads them through `L` in one call per batch.
pub struct Batcher<K, L: Loader<K>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    inner: Arc<Inner<K, L>>,
}

struct Inner<K, L: Loader<K>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    loader: L,
    open: Mutex<Option<Open<K, L>>>,
}

/// The batch that still takes keys.
struct Open<K, L: Loader<K>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    keys: Vec<K>,
    outcome: Shared<BoxFuture<'static, Outcome<K, L>>>,
}

impl<K, L> Batcher<K, L>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
    L::Error: Sync,
{
    pub fn new(loader: L) -> Self {
        Self { inner: Arc::new(Inner { loader, open: Mutex::new(None) }) }
    }

    /// The value of one key, read together with every other key asked for in the same pass.
    pub async fn load_one(&self, key: K) -> Result<Option<L::Value>, L::Error> {
        let outcome = self.join(key.clone());
        Ok(outcome.await?.get(&key).cloned())
    }

    /// Adds `key` to the open batch, opening one when there is none, and returns that batch's outcome.
    fn join(&self, key: K) -> Shared<BoxFuture<'static, Outcome<K, L>>> {
        let mut open = self.inner.open.lock().expect("batcher lock");
        if let Some(batch) = open.as_mut() {
            batch.keys.push(key);
            return batch.outcome.clone();
        }
        let outcome = run(Arc::downgrade(&self.inner)).boxed().shared();
        *open = Some(Open { keys: vec![key], outcome: outcome.clone() });
        outcome
    }
}

/// Waits while the request keeps adding keys, then closes the batch and reads it. It holds its batcher
/// weakly: a request dropped with a batch open frees both.
async fn run<K, L>(inner: Weak<Inner<K, L>>) -> Outcome<K, L>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
    L::Error: Sync,
{
    let mut seen = 0;
    for _ in 0..MAX_PASSES {
        let Some(batcher) = inner.upgrade() else { return std::future::pending().await };
        let asked = batcher.open.lock().expect("batcher lock").as_ref().map_or(0, |batch| batch.keys.len());
        drop(batcher);
        if asked == seen {
            break;
        }
        seen = asked;
        tokio::task::yield_now().await;
    }
    // Nobody can wait for a batch whose batcher is gone (waiting borrows the batcher).
    let Some(batcher) = inner.upgrade() else { return std::future::pending().await };
    let open = batcher.open.lock().expect("batcher lock").take();
    // The open batch is this run's: a new one opens only after this takes it.
    let mut keys = open.expect("only a batch's own run closes it").keys;
    let mut unique = HashSet::with_capacity(keys.len());
    keys.retain(|key| unique.insert(key.clone()));
    batcher.loader.load(&keys).await.map(Arc::new)
}

/// A request's batchers, made when a field first needs one: a request that reads no nested rows
/// allocates none.
#[derive(Default)]
pub struct Batchers {
    made: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Batchers {
    /// The request's batcher of loader type `L`, made by `make` on first use.
    pub fn get<K, L>(&self, make: impl FnOnce() -> L) -> Arc<Batcher<K, L>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
        L::Error: Sync,
    {
        let mut made = self.made.lock().expect("batchers lock");
        let any = made
            .entry(TypeId::of::<Batcher<K, L>>())
            .or_insert_with(|| Arc::new(Batcher::new(make())) as Arc<dyn Any + Send + Sync>)
            .clone();
        drop(made);
        any.downcast::<Batcher<K, L>>().expect("one batcher per type")
    }
}

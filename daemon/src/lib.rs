//! Koppel's sync engine as a library: connectors to remote systems, credentials, the mapping of remote
//! records to Koppel's, the product import and reconciliation, the job queue, alerts and their webhook.
//!
//! The API depends on this crate, never the reverse. Engine functions take plain data (ids as `Uuid`,
//! commands as structs) and a [`Context`] or `&impl ConnectionTrait`, so the same function runs in a
//! resolver, in a job and inside a caller's transaction; they return [`error::EngineError`]. Nothing
//! outside `connectors/<kind>/` knows a remote's shapes: connectors speak in the neutral types of
//! [`connectors::types`].

pub mod alerts;
pub mod attachments;
pub mod calendar;
pub mod connect;
pub mod connectors;
pub mod content_hash;
mod context;
pub mod credentials;
pub mod crypto;
pub mod db;
pub mod error;
pub mod feed;
pub mod files;
pub mod import;
pub mod jobs;
pub mod links;
pub mod mapping;
pub mod matching;
pub mod net;
pub mod oauth;
pub mod outbox;
pub mod problems;
pub mod process;
pub mod reconcile;
pub mod retention;
pub mod sale_feed;
pub mod schedule;
pub mod slots;
pub mod telemetry;

pub use context::{Context, Limits};

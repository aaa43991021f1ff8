//! Koppel's sync engine as a library: connectors to remote systems, the mapping of their records to
//! Koppel's, and (in later releases) reconciliation, the sale outbox and the job queue.
//!
//! The API depends on this crate for connector code, never the reverse. Nothing outside
//! `connectors/<kind>/` knows a remote's shapes: connectors speak in the neutral types of
//! [`connectors::types`].

pub mod connectors;
pub mod mapping;
pub mod net;
pub mod reconcile;

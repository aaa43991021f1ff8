//! Koppel's sync engine as a library: connectors, reconciliation, the sale outbox and the job queue.
//!
//! The API depends on this crate for connector code, never the reverse. It is filled by the
//! integration issues; see `DESIGN.md` for the target shape.

//! What every domain's GraphQL code shares: ids, Relay pagination, payloads, context access, generic
//! loaders, search, the introspection switch, live subscriptions. Nothing here imports a domain; the schema is assembled
//! at the top, in the `schema` module.

pub mod batch;
pub mod context;
pub mod ids;
pub mod introspection;
pub mod live;
pub mod loaders;
pub mod pagination;
pub mod payload;
pub mod search;

pub use context::ContextExt;

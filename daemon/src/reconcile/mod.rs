//! Reconciliation: level-triggered passes that compare local and remote state and compute a plan.
//!
//! [`plan`] is pure: it takes the linked local records, the remote records and the integration's
//! missing-record policy, and says what to create, update, leave alone, and do with records gone at the
//! remote. Running it again on the result of applying it yields a plan with no changes.

pub mod job;
mod plan;
pub mod products;
pub mod runs;

pub use plan::{
    ContentHash, HeldBack, LocalRecord, MissingAction, Observed, Plan, PlanLimits, Planner, RemoteRecord, plan,
};

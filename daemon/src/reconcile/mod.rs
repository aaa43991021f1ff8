//! Reconciliation: level-triggered passes that compare local and remote state and compute a plan.
//!
//! [`plan`] is pure: it takes the linked local records, the remote records and the integration's
//! missing-record policy, and says what to create, update, leave alone, and do with records gone at the
//! remote. Running it again on the result of applying it yields a plan with no changes.
//!
//! The engine is generic over entities: a pass is an [`EntitySync`], found by the run's entity in
//! [`PASSES`]. The job queue, runs and events ([`job`], [`runs`]) only know the trait and its
//! [`PassReport`], so customers, invoices and payments plug in by implementing it and adding it to
//! [`PASSES`]. Products, customers, invoices, the sale-status pull and the product push (Koppel's
//! products to an ERP's items) have a pass today; a run of any other entity fails at once with a
//! permanent [`EngineError::NoPass`].

mod cursor;
pub mod customers;
pub mod invoices;
pub mod job;
mod listing;
mod plan;
pub mod product_push;
pub mod products;
pub mod progress;
mod report;
pub mod runs;
pub mod sale_statuses;

pub use cursor::read_all_again;
pub use plan::{
    ContentHash, HeldBack, LocalRecord, MissingAction, Observed, Plan, PlanLimits, Planner, RemoteRecord, plan,
};
pub use progress::{Progress, Step};
pub use report::{Change, ChangeAction, PassReport};

use crate::Context;
use crate::error::{EngineError, EngineResult};
use async_trait::async_trait;
use koppel_entity::enums::LinkedEntity;
use koppel_entity::integration;
use sea_orm::{DatabaseTransaction, DbErr};

/// Where a pass records the records it wrote, in the transaction that wrote them: a pass applies its
/// plan in batches, and what a committed batch did is told with it, so that a pass cut off after
/// some batches and run again still tells every change once (the run's events).
#[async_trait]
pub trait Recorder: Send + Sync {
    async fn written(&self, txn: &DatabaseTransaction, changes: &[&Change]) -> Result<(), DbErr>;
}

/// Records nothing (a dry run writes nothing; a caller that keeps only the report).
pub struct NoRecorder;

#[async_trait]
impl Recorder for NoRecorder {
    async fn written(&self, _txn: &DatabaseTransaction, _changes: &[&Change]) -> Result<(), DbErr> {
        Ok(())
    }
}

/// One entity's pass over one integration: idempotent, level-triggered, and with `apply = false` a dry
/// run that only says what it would do.
#[async_trait]
pub trait EntitySync: Send + Sync {
    /// The entity this pass reconciles; its runs and events are about it.
    fn entity(&self) -> LinkedEntity;

    /// Runs the pass, telling `progress` how far it is and `recorder` what each committed batch wrote.
    async fn pass(
        &self,
        ctx: &Context,
        integration: &integration::Model,
        apply: bool,
        progress: &Progress,
        recorder: &dyn Recorder,
    ) -> EngineResult<PassReport>;
}

/// Every pass the engine has, one per entity.
pub static PASSES: &[&dyn EntitySync] = &[
    &products::ProductSync,
    &sale_statuses::SaleStatusSync,
    &customers::CustomerSync,
    &invoices::InvoiceSync,
    &product_push::ProductPush,
];

/// The pass of `entity`, if the engine has one.
pub fn pass_for(entity: LinkedEntity) -> Option<&'static dyn EntitySync> {
    PASSES.iter().copied().find(|pass| pass.entity() == entity)
}

/// Runs the pass of `entity` over one integration. An entity without a pass, or one the integration's
/// kind does not keep (customers of a peer), is a permanent error, before any setting is looked at.
pub async fn reconcile(
    ctx: &Context,
    integration: &integration::Model,
    entity: LinkedEntity,
    apply: bool,
    progress: &Progress,
    recorder: &dyn Recorder,
) -> EngineResult<PassReport> {
    let pass = pass_for(entity).ok_or(EngineError::NoPass(entity))?;
    if !crate::connectors::kind(&integration.kind).is_some_and(|k| k.pass_entities().contains(&entity)) {
        return Err(crate::connectors::ConnectorError::Unsupported(unsupported(entity)).into());
    }
    pass.pass(ctx, integration, apply, progress, recorder).await
}

/// What a kind without the pass of `entity` cannot do, in [`crate::connectors::ConnectorError::Unsupported`]'s words.
fn unsupported(entity: LinkedEntity) -> &'static str {
    match entity {
        LinkedEntity::Product => "list products",
        LinkedEntity::Supplier => "list suppliers",
        LinkedEntity::Customer => "list customers",
        LinkedEntity::Invoice => "list invoices",
        LinkedEntity::Payment => "list payments",
        LinkedEntity::Order => "list orders",
        LinkedEntity::Sale => "receive sales",
        LinkedEntity::SaleStatus => "report sale statuses",
        LinkedEntity::ProductPush => "receive items",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_entity_has_at_most_one_pass_and_only_products_customers_invoices_sale_statuses_and_the_push_have_one() {
        use sea_orm::Iterable;
        let with_pass: Vec<LinkedEntity> = LinkedEntity::iter().filter(|e| pass_for(*e).is_some()).collect();
        assert_eq!(
            with_pass,
            [
                LinkedEntity::Product,
                LinkedEntity::Customer,
                LinkedEntity::Invoice,
                LinkedEntity::SaleStatus,
                LinkedEntity::ProductPush
            ]
        );
        assert_eq!(PASSES.len(), with_pass.len(), "one pass per entity");
    }
}

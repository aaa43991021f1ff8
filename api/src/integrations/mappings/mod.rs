//! Mappings between an integration's remote and the local account, one module per kind, each set with
//! replace-set semantics and validated against what exists locally and (live) remotely.

mod field;
mod flow;
mod question;
mod status;

pub use field::{FieldMapping, field_mappings};
pub use flow::{FlowMapping, flow_mappings};
pub use question::{QuestionMapping, question_mappings};
pub use status::{StatusMapping, status_mappings};

use super::service;
use crate::error::ApiResult;
use crate::graphql::{ContextExt, ids};
use async_graphql::{Context, ID, InputObject, MergedObject, SimpleObject};
use koppel_daemon::connect;
use koppel_daemon::connectors::Connector;
use koppel_entity::integration;
use sea_orm::{ActiveModelTrait, DatabaseConnection, DeleteMany, EntityTrait};
use serde::{Deserialize, Serialize};

#[derive(SimpleObject, InputObject, Clone, Debug, Serialize, Deserialize, PartialEq)]
#[graphql(input_name = "ValueMappingInput")]
pub struct ValueMapping {
    /// The value at the remote, e.g. `green`.
    pub remote: String,
    /// The local value, e.g. `Groene stroom`.
    pub local: String,
}

/// Replace-set: deletes what `old` selects and inserts `rows`, in one transaction.
///
/// `sends`: the integration whose sales these mappings map (flow, question and sale data mappings): its
/// transmissions that failed are queued again in the same transaction, since they may pass now.
async fn replace_all<E>(
    db: &DatabaseConnection,
    old: DeleteMany<E>,
    rows: Vec<E::ActiveModel>,
    then: Then<'_>,
) -> ApiResult<()>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let txn = crate::db::begin_write(db).await?;
    old.exec(&txn).await?;
    if !rows.is_empty() {
        E::insert_many(rows).exec(&txn).await?;
    }
    match then {
        Then::Nothing => {}
        Then::SalesMappingChanged(integration) => {
            koppel_daemon::outbox::mappings_changed(&txn, integration).await?;
        }
        Then::ReadAllAgain(integration, entity) => {
            koppel_daemon::reconcile::read_all_again(&txn, integration, entity).await?
        }
    }
    txn.commit().await?;
    Ok(())
}

/// What else changes with a set of mappings, in the same transaction.
enum Then<'a> {
    Nothing,
    /// The sales waiting to be sent are prepared again with the new mappings.
    SalesMappingChanged(&'a integration::Model),
    /// The next pass of the entity reads every record again (from the start date), not only what changed
    /// at the remote, so that the new mappings reach every record.
    ReadAllAgain(&'a integration::Model, koppel_entity::enums::LinkedEntity),
}

async fn integration_of(ctx: &Context<'_>, id: &ID) -> ApiResult<integration::Model> {
    let principal = ctx.principal()?.require_admin()?;
    service::find(ctx.db(), principal.account_id, ids::parse(id, "integration")?).await
}

/// The integration's connector, to check mappings against the remote live.
async fn connect(ctx: &Context<'_>, integration: &integration::Model) -> ApiResult<Box<dyn Connector>> {
    Ok(connect::connector_for(&ctx.state().engine, integration, integration.mode).await?)
}

#[derive(MergedObject, Default)]
pub struct MappingMutation(
    field::FieldMappingMutation,
    status::StatusMappingMutation,
    flow::FlowMappingMutation,
    question::QuestionMappingMutation,
);

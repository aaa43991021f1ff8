//! A sale's transmissions (the outbox of sale forwarding, run by the daemon): where each is, why it
//! failed, and the manual side — `sendSale` and `retryTransmission`.

use super::service;
use crate::error::{ApiError, ApiResult};
use crate::graphql::loaders::{self, LoadError};
use crate::graphql::{ContextExt, ids};
use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_daemon::outbox::{self, SendError};
use koppel_entity::{Scoped, integration, sale_transmission};
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Where a sale's forwarding to one integration is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::TransmissionState")]
pub enum TransmissionState {
    /// Due now; the daemon sends it within a moment.
    Queued,
    /// Due at `notBefore`: the delay in working days, or the next attempt after a temporary failure.
    Scheduled,
    /// On its way (claimed by a daemon).
    Sending,
    /// Accepted by the remote (`remoteId`).
    Sent,
    /// Refused — the mapping (`problems`) or the remote (`lastError`) — and not retried until the sale
    /// or the integration's mappings change, or `retryTransmission`.
    Failed,
    /// Its last attempt failed too; an alert was raised. `retryTransmission` sends it again.
    Dead,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::TransmissionTrigger")]
pub enum TransmissionTrigger {
    /// The integration's automatic processing (a status, its conditions).
    Automatic,
    /// `sendSale`.
    Manual,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::TransmissionFailure")]
pub enum TransmissionFailure {
    /// The sale could not be mapped for the remote (see `problems`).
    Mapping,
    /// The remote checked the sale and refused it (`lastError` has its message).
    Remote,
}

/// One thing that keeps a sale from being mapped, by field (`answers.<key>`, `remote.<key>`,
/// `saleMapping.<remote field>`, `flowId`, `productId`).
#[derive(SimpleObject, Clone)]
pub struct TransmissionProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// A sale on its way to an integration.
#[derive(SimpleObject, Clone)]
pub struct SaleTransmission {
    pub id: ID,
    pub sale_id: ID,
    pub integration_id: ID,
    pub state: TransmissionState,
    pub trigger: TransmissionTrigger,
    /// Not sent before this moment.
    pub not_before: DateTime<Utc>,
    pub attempts: i32,
    /// The sale's id at the remote, once sent.
    pub remote_id: Option<String>,
    pub failure: Option<TransmissionFailure>,
    pub last_error: Option<String>,
    pub problems: Vec<TransmissionProblem>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<sale_transmission::Model> for SaleTransmission {
    fn from(m: sale_transmission::Model) -> Self {
        let problems = m
            .problems
            .as_ref()
            .and_then(|p| p.as_array())
            .map(|list| {
                list.iter()
                    .map(|p| TransmissionProblem {
                        field: p["field"].as_str().unwrap_or_default().to_owned(),
                        code: p["code"].as_str().unwrap_or_default().to_owned(),
                        message: p["message"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            id: ids::to_id(m.id),
            sale_id: ids::to_id(m.sale_id),
            integration_id: ids::to_id(m.integration_id),
            state: m.state.into(),
            trigger: m.trigger.into(),
            not_before: m.not_before,
            attempts: m.attempts,
            remote_id: m.remote_id,
            failure: m.failure.map(Into::into),
            last_error: m.last_error,
            problems,
            sent_at: m.sent_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Loads the transmissions of many sales at once (`Sale.transmissions` on a page of sales).
pub struct TransmissionsOfSale {
    db: DatabaseConnection,
    account_id: Uuid,
}

impl Loader<Uuid> for TransmissionsOfSale {
    type Value = Vec<sale_transmission::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, LoadError> {
        let rows = sale_transmission::Entity::find_in(self.account_id)
            .filter(sale_transmission::Column::SaleId.is_in(keys.iter().copied()))
            .order_by_asc(sale_transmission::Column::Id)
            .all(&self.db)
            .await
            .map_err(|e| LoadError(Arc::new(e)))?;
        let mut by_sale: HashMap<Uuid, Self::Value> = HashMap::new();
        for row in rows {
            by_sale.entry(row.sale_id).or_default().push(row);
        }
        Ok(by_sale)
    }
}

pub async fn of_sale(ctx: &Context<'_>, sale_id: Uuid) -> ApiResult<Vec<SaleTransmission>> {
    let loader = loaders::of(ctx)?
        .batcher(|request| TransmissionsOfSale { db: request.db.clone(), account_id: request.account_id });
    Ok(loader.load_one(sale_id).await?.unwrap_or_default().into_iter().map(Into::into).collect())
}

#[derive(InputObject)]
pub struct SendSaleInput {
    pub sale_id: ID,
    pub integration_id: ID,
}

#[derive(InputObject)]
pub struct RetryTransmissionInput {
    pub id: ID,
}

crate::payload!(SendSalePayload { transmission: SaleTransmission });
crate::payload!(RetryTransmissionPayload { transmission: SaleTransmission });

fn send_error(error: SendError) -> ApiError {
    match error {
        SendError::Rejected(rejected) => rejected.into(),
        SendError::Database(db) => db.into(),
    }
}

#[derive(Default)]
pub struct TransmissionMutation;

#[Object]
impl TransmissionMutation {
    /// Sends a sale to an integration by hand, now (whatever its automatic processing says). The sale is
    /// mapped first: every problem — a question not mapped, an answer without a value mapping, a
    /// required remote question left empty — comes back at once as a `userError` and nothing is queued.
    /// A sale already sent is refused; the daemon sends the queued transmission within a moment.
    async fn send_sale(&self, ctx: &Context<'_>, input: SendSaleInput) -> ApiResult<SendSalePayload> {
        let principal = ctx.principal()?.require_agent()?;
        let db = ctx.db();
        let sale = service::find_visible(db, principal, ids::parse(&input.sale_id, "sale")?).await?;
        let integration_id = ids::parse(&input.integration_id, "integration")?;
        let integration = integration::Entity::find_by_id_in(principal.account_id, integration_id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("integration"))?;
        // The remote's questions, for the required-question check; the daemon checks again when it sends.
        let remote =
            match koppel_daemon::connect::connector_for(&ctx.state().engine, &integration, integration.mode).await {
                Ok(connector) => connector.questions().await.ok(),
                Err(_) => None,
            };
        let txn = crate::db::begin_write(db).await?;
        let result = outbox::send_now(&txn, &sale, &integration, remote.as_deref()).await;
        let result = match result {
            Ok(transmission) => {
                txn.commit().await?;
                Ok(transmission.into())
            }
            Err(error) => {
                txn.rollback().await?;
                Err(send_error(error))
            }
        };
        SendSalePayload::from_result(result)
    }

    /// Sends a failed or dead transmission again, at once, with a fresh set of attempts (admins only).
    async fn retry_transmission(
        &self,
        ctx: &Context<'_>,
        input: RetryTransmissionInput,
    ) -> ApiResult<RetryTransmissionPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let db = ctx.db();
        let id = ids::parse(&input.id, "transmission")?;
        let transmission = sale_transmission::Entity::find_by_id_in(principal.account_id, id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("transmission"))?;
        let txn = crate::db::begin_write(db).await?;
        let result = match outbox::retry(&txn, transmission).await {
            Ok(transmission) => {
                txn.commit().await?;
                Ok(transmission.into())
            }
            Err(error) => {
                txn.rollback().await?;
                Err(send_error(error))
            }
        };
        RetryTransmissionPayload::from_result(result)
    }
}

//! Linking customers by hand (seed 004's *Klant handmatig linken*): the remote customers of an
//! integration that matched no Koppel customer, with suggestions, and links made and removed by a
//! person — also to merge duplicates. Manual links always win over automatic matching
//! ([`koppel_daemon::matching`]).

use super::{Customer, service};
use crate::error::{ApiError, ApiResult, UserError, UserErrorCode};
use crate::graphql::pagination::{Page, connection};
use crate::graphql::{ContextExt, ids};
use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_daemon::connectors::RemoteCustomer;
use koppel_daemon::matching;
use koppel_entity::enums::LinkedEntity;
use koppel_entity::{IntegrationOwned, Scoped, customer_match, integration, remote_link};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// A remote customer waiting for a person to link it.
#[derive(SimpleObject)]
pub struct CustomerMatch {
    pub remote_id: String,
    /// How people know it at the remote, e.g. `1002 De Molen`.
    pub label: String,
    pub name: String,
    pub email: Option<String>,
    pub kvk_number: Option<String>,
    /// Its number at the remote (SnelStart's relatie code).
    pub code: Option<String>,
    /// Unlinked by a person: only a person links it again.
    pub unlinked_by_hand: bool,
    /// When a sync last saw it.
    pub seen_at: DateTime<Utc>,
    /// Koppel customers that could be the same, best first (at most five).
    pub suggestions: Vec<CustomerSuggestion>,
}

#[derive(SimpleObject)]
pub struct CustomerSuggestion {
    pub customer: Customer,
    /// `same e-mail address`, `same KvK number`, `same relatie code`, `same name` or `similar name`.
    pub reason: String,
}

#[derive(InputObject)]
pub struct LinkCustomerInput {
    pub integration_id: ID,
    pub customer_id: ID,
    /// The customer's id at the remote (a SnelStart relatie's `id`), as `customerMatches` shows it.
    pub remote_id: String,
}

#[derive(InputObject)]
pub struct UnlinkCustomerInput {
    pub integration_id: ID,
    pub customer_id: ID,
}

crate::payload!(LinkCustomerPayload { customer: Customer });
crate::payload!(UnlinkCustomerPayload { customer: Customer });

#[derive(Default)]
pub struct CustomerMatchQuery;

#[Object]
impl CustomerMatchQuery {
    /// The remote customers of an integration that matched no Koppel customer (or were unlinked by
    /// hand), with suggestions (admins only).
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn customer_matches(
        &self,
        ctx: &Context<'_>,
        integration_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, CustomerMatch>> {
        let principal = ctx.principal()?.require_admin()?;
        let integration = find_integration(ctx.db(), principal.account_id, &integration_id).await?;
        let page = Page::new(first, after)?;
        let mut select = customer_match::Entity::find_owned(integration.account_id, integration.id)
            .order_by_asc(customer_match::Column::Id)
            .limit(page.first as u64 + 1);
        if let Some(after) = page.after {
            select = select.filter(customer_match::Column::Id.gt(after));
        }
        let rows = select.all(ctx.db()).await?;
        let remotes: Vec<RemoteCustomer> = rows
            .iter()
            .map(|row| serde_json::from_value(row.remote.clone()).unwrap_or_else(|_| placeholder(row)))
            .collect();
        let mut suggestions = matching::suggestions(ctx.db(), integration.account_id, &remotes).await?.into_iter();
        let matches: Vec<(Uuid, CustomerMatch)> = rows
            .into_iter()
            .zip(remotes)
            .map(|(row, remote)| {
                let suggested = suggestions.next().unwrap_or_default();
                (
                    row.id,
                    CustomerMatch {
                        remote_id: row.remote_id,
                        label: row.label,
                        name: remote.name,
                        email: remote.email,
                        kvk_number: remote.kvk_number,
                        code: remote.code,
                        unlinked_by_hand: row.unlinked_by_hand,
                        seen_at: row.seen_at,
                        suggestions: suggested
                            .into_iter()
                            .map(|(customer, reason)| CustomerSuggestion {
                                customer: customer.into(),
                                reason: reason.into(),
                            })
                            .collect(),
                    },
                )
            })
            .collect();
        Ok(connection(matches, page, |(id, _)| *id, |(_, m)| m))
    }
}

/// What a stored match shows when its remote part cannot be read.
fn placeholder(row: &customer_match::Model) -> RemoteCustomer {
    RemoteCustomer {
        id: row.remote_id.clone(),
        code: None,
        name: row.label.clone(),
        email: None,
        phone: None,
        kvk_number: None,
        vat_number: None,
        address: None,
        inactive: false,
        modified_at: None,
        fields: Default::default(),
    }
}

#[derive(Default)]
pub struct CustomerMatchMutation;

#[Object]
impl CustomerMatchMutation {
    /// Links a Koppel customer to a remote customer by hand (admins only). A remote customer linked to
    /// another Koppel customer moves to this one (merging duplicates); this customer's earlier remote
    /// twin waits in `customerMatches`. No sync replaces a link made by hand.
    async fn link_customer(&self, ctx: &Context<'_>, input: LinkCustomerInput) -> ApiResult<LinkCustomerPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = async {
            let integration = find_integration(ctx.db(), principal.account_id, &input.integration_id).await?;
            let customer =
                service::find(ctx.db(), principal.account_id, ids::parse(&input.customer_id, "customer")?).await?;
            let remote_id = input.remote_id.trim();
            if !known_remote(ctx.db(), &integration, remote_id).await? {
                return Err(ApiError::Invalid(vec![UserError::new(
                    "remoteId",
                    UserErrorCode::NotFound,
                    format!("{remote_id} is not a remote customer a sync has seen: sync customers first"),
                )]));
            }
            let txn = crate::db::begin_write(ctx.db()).await?;
            matching::link_by_hand(&txn, &integration, &customer, remote_id).await?;
            txn.commit().await?;
            tracing::info!(integration = %integration.id, customer = %customer.id, "customer linked by hand");
            Ok(customer.into())
        }
        .await;
        LinkCustomerPayload::from_result(result)
    }

    /// Removes a customer's link by hand (admins only): its remote twin waits in `customerMatches` and is
    /// never linked again automatically.
    async fn unlink_customer(&self, ctx: &Context<'_>, input: UnlinkCustomerInput) -> ApiResult<UnlinkCustomerPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = async {
            let integration = find_integration(ctx.db(), principal.account_id, &input.integration_id).await?;
            let customer =
                service::find(ctx.db(), principal.account_id, ids::parse(&input.customer_id, "customer")?).await?;
            let txn = crate::db::begin_write(ctx.db()).await?;
            let unlinked = matching::unlink_by_hand(&txn, &integration, &customer).await?;
            txn.commit().await?;
            if unlinked.is_none() {
                return Err(ApiError::Invalid(vec![UserError::new(
                    "customerId",
                    UserErrorCode::NotFound,
                    "this customer is not linked in this integration",
                )]));
            }
            Ok(customer.into())
        }
        .await;
        UnlinkCustomerPayload::from_result(result)
    }
}

async fn find_integration(db: &impl ConnectionTrait, account_id: Uuid, id: &ID) -> ApiResult<integration::Model> {
    let id = ids::parse(id, "integration")?;
    integration::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("integration"))
}

/// A remote id a sync has seen: linked, or waiting for review.
async fn known_remote(db: &impl ConnectionTrait, integration: &integration::Model, remote_id: &str) -> ApiResult<bool> {
    let linked = koppel_daemon::links::of(integration, LinkedEntity::Customer)
        .filter(remote_link::Column::RemoteId.eq(remote_id))
        .one(db)
        .await?
        .is_some();
    let waiting = customer_match::Entity::find_owned(integration.account_id, integration.id)
        .filter(customer_match::Column::RemoteId.eq(remote_id))
        .one(db)
        .await?
        .is_some();
    Ok(linked || waiting)
}

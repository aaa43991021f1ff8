//! Sale statuses: the seeded system statuses (new, sent, processed, rejected, cancelled) and an
//! account's own. System statuses cannot be renamed or deleted; a status in use cannot be deleted.

use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids};
use crate::validate;
use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use koppel_entity::{Scoped, sale, status};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, ModelTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

#[derive(SimpleObject, Clone)]
pub struct Status {
    pub id: ID,
    /// The machine key (e.g. `new`), the same in every account for system statuses.
    pub key: String,
    pub name: String,
    /// Seeded by Koppel; mapped automatically by integrations.
    pub system: bool,
    pub position: i32,
}

impl From<status::Model> for Status {
    fn from(m: status::Model) -> Self {
        Self { id: ids::to_id(m.id), key: m.key, name: m.name, system: m.system, position: m.position }
    }
}

#[derive(InputObject)]
pub struct CreateStatusInput {
    pub key: String,
    pub name: String,
}

#[derive(InputObject)]
pub struct UpdateStatusInput {
    pub id: ID,
    pub name: String,
}

#[derive(InputObject)]
pub struct DeleteStatusInput {
    pub id: ID,
}

crate::payload!(CreateStatusPayload { status: Status });
crate::payload!(UpdateStatusPayload { status: Status });
crate::payload!(DeleteStatusPayload { deleted_id: ID });

pub async fn find(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<status::Model> {
    status::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("status"))
}

/// A status by key, e.g. the system status `new` that every sale starts with.
pub async fn find_by_key(db: &impl ConnectionTrait, account_id: Uuid, key: &str) -> ApiResult<status::Model> {
    status::Entity::find_in(account_id)
        .filter(status::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("status"))
}

#[derive(Default)]
pub struct StatusQuery;

#[Object]
impl StatusQuery {
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn statuses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Status>> {
        let principal = ctx.principal()?.require_agent()?;
        paginate(ctx.db(), status::Entity::find_in(principal.account_id), Page::new(first, after)?, Status::from).await
    }
}

#[derive(Default)]
pub struct StatusMutation;

#[Object]
impl StatusMutation {
    /// Adds a custom status (admins only).
    async fn create_status(&self, ctx: &Context<'_>, input: CreateStatusInput) -> ApiResult<CreateStatusPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let db = ctx.db();
        let result = async {
            let mut problems = Problems::new();
            let key = validate::key(&mut problems, "key", &input.key);
            let name = validate::required(&mut problems, "name", &input.name, 100);
            if find_by_key(db, principal.account_id, &key).await.is_ok() {
                problems.add("key", UserErrorCode::Taken, format!("a status with key {key} already exists"));
            }
            problems.into_result()?;
            let last = status::Entity::find_in(principal.account_id)
                .order_by_desc(status::Column::Position)
                .one(db)
                .await?
                .map_or(0, |s| s.position + 1);
            let model = status::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(principal.account_id),
                key: Set(key),
                name: Set(name),
                system: Set(false),
                position: Set(last),
                created_at: Set(Utc::now()),
            }
            .insert(db)
            .await?;
            Ok(model.into())
        }
        .await;
        CreateStatusPayload::from_result(result)
    }

    /// Renames a custom status (admins only).
    async fn update_status(&self, ctx: &Context<'_>, input: UpdateStatusInput) -> ApiResult<UpdateStatusPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let existing = find(ctx.db(), principal.account_id, ids::parse(&input.id, "status")?).await?;
        let result = async {
            let mut problems = Problems::new();
            let name = validate::required(&mut problems, "name", &input.name, 100);
            if existing.system {
                problems.add("id", UserErrorCode::Invalid, "system statuses cannot be renamed");
            }
            problems.into_result()?;
            let mut active: status::ActiveModel = existing.into();
            active.name = Set(name);
            Ok(active.update(ctx.db()).await?.into())
        }
        .await;
        UpdateStatusPayload::from_result(result)
    }

    /// Deletes a custom status that no sale has (admins only).
    async fn delete_status(&self, ctx: &Context<'_>, input: DeleteStatusInput) -> ApiResult<DeleteStatusPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let db = ctx.db();
        let existing = find(db, principal.account_id, ids::parse(&input.id, "status")?).await?;
        let result = async {
            let mut problems = Problems::new();
            if existing.system {
                problems.add("id", UserErrorCode::Invalid, "system statuses cannot be deleted");
            }
            let in_use = sale::Entity::find_in(principal.account_id)
                .filter(sale::Column::StatusId.eq(existing.id))
                .count(db)
                .await?;
            if in_use > 0 {
                problems.add("id", UserErrorCode::Invalid, format!("{in_use} sales have this status"));
            }
            problems.into_result()?;
            let id = ids::to_id(existing.id);
            existing.delete(db).await?;
            Ok(id)
        }
        .await;
        DeleteStatusPayload::from_result(result)
    }
}

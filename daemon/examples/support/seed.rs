//! An account with a peer integration pointing at the fake provider, and a check that a pass wrote
//! nothing.

use chrono::{DateTime, Utc};
use koppel_daemon::{Context, credentials};
use koppel_entity::enums::IntegrationMode;
use koppel_entity::{Scoped, account, integration, product, remote_link};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

pub async fn peer_integration(ctx: &Context, base_url: &str) -> integration::Model {
    let now = Utc::now();
    let account = account::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        name: Set(format!("bench{}", uuid::Uuid::now_v7().simple())),
        created_at: Set(now),
    }
    .insert(&ctx.db)
    .await
    .expect("an account");
    let integration = integration::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        account_id: Set(account.id),
        kind: Set("peer".into()),
        name: Set("Provider".into()),
        enabled: Set(true),
        mode: Set(IntegrationMode::Test),
        base_url: Set(base_url.into()),
        settings: Set(serde_json::json!({"accountName": "provider"})),
        missing_policies: Set(serde_json::json!({"product": "deactivate"})),
        last_synced_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&ctx.db)
    .await
    .expect("an integration");
    credentials::replace(
        &ctx.db,
        &ctx.master_key,
        &integration,
        IntegrationMode::Test,
        "apiToken",
        "kpl_0123456789abcdef",
    )
    .await
    .expect("a token");
    integration
}

/// What would move if a pass wrote a product, a link or the integration.
#[derive(Debug, PartialEq)]
pub struct WrittenState {
    products: usize,
    products_updated: Option<DateTime<Utc>>,
    links: usize,
    links_seen: Option<DateTime<Utc>>,
    links_synced: Option<DateTime<Utc>>,
    integration_synced: Option<DateTime<Utc>>,
}

pub async fn written_state(ctx: &Context, integration: &integration::Model) -> WrittenState {
    let db = &ctx.db;
    let account = integration.account_id;
    let (products, products_updated): (i64, Option<DateTime<Utc>>) = product::Entity::find_in(account)
        .select_only()
        .column_as(product::Column::Id.count(), "n")
        .column_as(product::Column::UpdatedAt.max(), "m")
        .into_tuple()
        .one(db)
        .await
        .expect("products")
        .expect("a row");
    let (links, links_seen, links_synced): (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        remote_link::Entity::find_in(account)
            .select_only()
            .column_as(remote_link::Column::Id.count(), "n")
            .column_as(remote_link::Column::LastSeenAt.max(), "s")
            .column_as(remote_link::Column::LastSyncedAt.max(), "y")
            .into_tuple()
            .one(db)
            .await
            .expect("links")
            .expect("a row");
    let integration_synced = integration::Entity::find()
        .filter(integration::Column::Id.eq(integration.id))
        .one(db)
        .await
        .expect("the integration")
        .and_then(|i| i.last_synced_at);
    WrittenState {
        products: products as usize,
        products_updated,
        links: links as usize,
        links_seen,
        links_synced,
        integration_synced,
    }
}

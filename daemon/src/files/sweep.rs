//! The orphan sweep, a job of its own kind (`file_sweep`) queued once a night next to log retention
//! ([`crate::retention::NIGHTLY`], key `file_sweep:<slot>`). It removes what a crash between an object
//! and its row left behind, and what references that went away without a release left:
//! - `files` rows that no attachment and no logo uses, older than [`GRACE`];
//! - objects that no row of any account names, last written before [`GRACE`] ago;
//! - temporary files of interrupted writes.
//!
//! The grace keeps uploads in flight safe: their object is written (or made young again) before their
//! row, and the row commits well within an hour.

use super::service;
use crate::Context;
use crate::error::EngineResult;
use crate::jobs::NewJob;
use chrono::{DateTime, Utc};
use koppel_entity::{file, job, product_attachment, supplier};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::HashSet;

/// The job kind.
pub const KIND: &str = "file_sweep";

/// How old an unreferenced row or an object without a row must be to be removed.
pub const GRACE: chrono::Duration = chrono::Duration::hours(1);

/// The night's sweep job, in the retention's slot.
pub fn due(now: DateTime<Utc>) -> Option<NewJob> {
    let slot = crate::retention::NIGHTLY.latest_at_or_before(now)?;
    Some(NewJob::new(KIND, serde_json::json!({ "slot": slot })).dedupe(format!("{KIND}:{}", slot.to_rfc3339())))
}

/// What a sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub rows: u64,
    pub objects: u64,
    pub incomplete: u64,
}

#[tracing::instrument(skip_all, fields(job = %job.id))]
pub async fn run(ctx: &Context, job: &job::Model) -> EngineResult<()> {
    let swept = sweep(ctx, Utc::now()).await?;
    tracing::info!(rows = swept.rows, objects = swept.objects, incomplete = swept.incomplete, "files swept");
    Ok(())
}

/// Removes orphans older than [`GRACE`] at `now`. Maintenance across accounts, like retention.
pub async fn sweep(ctx: &Context, now: DateTime<Utc>) -> EngineResult<Swept> {
    let before = now - GRACE;
    let attached =
        Query::select().column(product_attachment::Column::FileId).from(product_attachment::Entity).to_owned();
    let logos = Query::select()
        .column(supplier::Column::LogoFileId)
        .from(supplier::Entity)
        .and_where(supplier::Column::LogoFileId.is_not_null())
        .to_owned();
    let orphans = file::Entity::find()
        .filter(file::Column::CreatedAt.lt(before))
        .filter(file::Column::Id.not_in_subquery(attached))
        .filter(file::Column::Id.not_in_subquery(logos))
        .all(&ctx.db)
        .await?;
    let mut swept = Swept::default();
    for orphan in &orphans {
        // Checked again one by one: a reference may have come since the read.
        if service::is_referenced(&ctx.db, orphan.account_id, orphan.id).await? {
            continue;
        }
        let deleted = file::Entity::delete_by_id(orphan.id).exec(&ctx.db).await?;
        swept.rows += deleted.rows_affected;
    }
    let named: HashSet<String> = file::Entity::find()
        .select_only()
        .column(file::Column::Sha256)
        .into_tuple::<String>()
        .all(&ctx.db)
        .await?
        .into_iter()
        .collect();
    for object in ctx.files.backend().list().await? {
        if object.modified < before && !named.contains(&object.sha256) {
            swept.objects += u64::from(service::delete_object_if_unused(ctx, &object.sha256).await?);
        }
    }
    swept.incomplete = ctx.files.backend().remove_incomplete(before).await?;
    Ok(swept)
}

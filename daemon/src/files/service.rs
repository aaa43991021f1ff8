//! Files as rows: checking and storing an upload or a download, the account's `files` row, product
//! attachments, and letting go of a file nothing uses any more.
//!
//! Order of writes: the object first ([`store`]), then the row in the caller's transaction ([`record`]);
//! on the way out, the reference and (when it was the last) the row go first, the object after the last
//! row of any account naming its hash ([`release`]). A crash in between leaves an object without a row,
//! or a row without a reference, both of which the nightly sweep removes. One race remains: a file
//! released while the same content is being uploaded again; [`reaffirm`] after the upload's commit
//! puts back what the release took.

use super::content::{self, Purpose};
use crate::Context;
use crate::error::{EngineError, EngineResult};
use crate::problems::{ProblemCode, Problems, Rejected};
use bytes::Bytes;
use chrono::Utc;
use koppel_entity::enums::AttachmentKind;
use koppel_entity::{Scoped, file, product_attachment, supplier};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

/// The most attachments one product has.
pub const MAX_ATTACHMENTS: usize = 50;

/// A file whose object is in the store, ready to be recorded.
#[derive(Debug, Clone)]
pub struct Stored {
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub name: String,
    pub bytes: Bytes,
}

/// A file offered to an account: a user's upload or a remote's attachment.
pub struct Offered<'a> {
    /// The input field problems are reported on, e.g. `file`.
    pub field: &'a str,
    pub name: &'a str,
    pub bytes: Bytes,
    pub purpose: Purpose,
}

/// Checks a file against the limits (`TOO_LARGE`), its name (at most 255 characters) and its content
/// (see [`content::check`]), then writes its object. Every problem comes back at once, and nothing is
/// stored then.
pub async fn store(ctx: &Context, account_id: Uuid, offered: Offered<'_>) -> EngineResult<Stored> {
    let Offered { field, name, bytes, purpose } = offered;
    let mut problems = Problems::new();
    let name = crate::problems::required(&mut problems, field, name.rsplit(['/', '\\']).next().unwrap_or(name), 255);
    let size = bytes.len() as u64;
    let max = ctx.limits.max_file_bytes;
    if size > max {
        problems.add(
            field,
            ProblemCode::TooLarge,
            format!("{name} is {} and files may be at most {} (KOPPEL_MAX_FILE_BYTES)", human(size), human(max)),
        );
        return Err(Rejected(problems.into_problems()).into());
    }
    let sniffed = content::check(&mut problems, field, &name, &bytes, purpose);
    problems.into_result()?;
    let sniffed = sniffed.expect("checked without problems");
    let sha256 = super::sha256_hex(&bytes);
    let known = file::Entity::find_in(account_id).filter(file::Column::Sha256.eq(&sha256)).count(&ctx.db).await? > 0;
    if !known {
        let used = usage(&ctx.db, account_id).await?;
        let allowed = ctx.limits.max_account_file_bytes;
        if used.saturating_add(size) > allowed {
            return Err(Rejected(vec![crate::problems::Problem {
                field: field.to_owned(),
                code: ProblemCode::TooLarge,
                message: format!(
                    "{name} ({}) does not fit: the account stores {} of at most {} (KOPPEL_MAX_ACCOUNT_FILE_BYTES)",
                    human(size),
                    human(used),
                    human(allowed)
                ),
            }])
            .into());
        }
    }
    ctx.files.backend().put(&sha256, bytes.clone()).await?;
    Ok(Stored { sha256, size: size as i64, content_type: sniffed.content_type, name, bytes })
}

/// The bytes the account's files take (each content once).
pub async fn usage(db: &impl ConnectionTrait, account_id: Uuid) -> Result<u64, DbErr> {
    let total: Option<i64> = file::Entity::find_in(account_id)
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"), "total")
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.unwrap_or(0).max(0) as u64)
}

/// The account's row for a stored file: the existing one for the same content, else a new one. Two
/// uploads of the same content at once make one row (the unique `(account_id, sha256)` index; the
/// loser of the race reads the winner's row).
pub async fn record(db: &impl ConnectionTrait, account_id: Uuid, stored: &Stored) -> Result<file::Model, DbErr> {
    let existing = || file::Entity::find_in(account_id).filter(file::Column::Sha256.eq(&stored.sha256)).one(db);
    if let Some(found) = existing().await? {
        return Ok(found);
    }
    let row = file::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        sha256: Set(stored.sha256.clone()),
        size: Set(stored.size),
        content_type: Set(stored.content_type.clone()),
        name: Set(stored.name.clone()),
        created_at: Set(Utc::now()),
    };
    file::Entity::insert(row)
        .on_conflict_do_nothing_on([file::Column::AccountId, file::Column::Sha256])
        .exec_without_returning(db)
        .await?;
    existing().await?.ok_or_else(|| DbErr::RecordNotFound(format!("file {} of account {account_id}", stored.sha256)))
}

/// After the transaction that recorded `file` committed: puts back the row and the object if a
/// concurrent [`release`] of the same content removed them in between.
pub async fn reaffirm(ctx: &Context, file: &file::Model, bytes: &Bytes) -> EngineResult<()> {
    if file::Entity::find_by_id_in(file.account_id, file.id).one(&ctx.db).await?.is_none() {
        let row: file::ActiveModel = file.clone().into();
        let row = file::ActiveModel { created_at: Set(Utc::now()), ..row };
        file::Entity::insert(row).on_conflict_do_nothing().exec_without_returning(&ctx.db).await?;
    }
    if !ctx.files.exists(&file.sha256).await? {
        ctx.files.backend().put(&file.sha256, bytes.clone()).await?;
    }
    Ok(())
}

/// A product's attachments in order (at most [`MAX_ATTACHMENTS`]).
pub async fn attachments_of(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    product_id: Uuid,
) -> Result<Vec<product_attachment::Model>, DbErr> {
    product_attachment::Entity::find_in(account_id)
        .filter(product_attachment::Column::ProductId.eq(product_id))
        .order_by_asc(product_attachment::Column::Position)
        .order_by_asc(product_attachment::Column::Id)
        .all(db)
        .await
}

/// What to attach to a product.
pub struct NewAttachment {
    pub product_id: Uuid,
    pub file_id: Uuid,
    pub title: String,
    pub kind: AttachmentKind,
    pub remote_id: Option<String>,
}

/// Attaches a recorded file to a product, after its other attachments; refused (on `productId`) when the
/// product has [`MAX_ATTACHMENTS`] already.
pub async fn attach(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    new: NewAttachment,
) -> EngineResult<product_attachment::Model> {
    let existing = attachments_of(db, account_id, new.product_id).await?;
    if existing.len() >= MAX_ATTACHMENTS {
        let mut problems = Problems::new();
        problems.add(
            "productId",
            ProblemCode::Invalid,
            format!("a product has at most {MAX_ATTACHMENTS} attachments; remove one first"),
        );
        return Err(EngineError::Rejected(Rejected(problems.into_problems())));
    }
    let position = existing.iter().map(|a| a.position + 1).max().unwrap_or(0);
    let row = product_attachment::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        product_id: Set(new.product_id),
        file_id: Set(new.file_id),
        title: Set(new.title),
        kind: Set(new.kind),
        position: Set(position),
        remote_id: Set(new.remote_id),
        created_at: Set(Utc::now()),
    };
    Ok(product_attachment::Entity::insert(row).exec_with_returning(db).await?)
}

/// Whether anything of the account still uses the file: an attachment or a supplier's logo.
pub async fn is_referenced(db: &impl ConnectionTrait, account_id: Uuid, file_id: Uuid) -> Result<bool, DbErr> {
    let attachments = product_attachment::Entity::find_in(account_id)
        .filter(product_attachment::Column::FileId.eq(file_id))
        .count(db)
        .await?;
    if attachments > 0 {
        return Ok(true);
    }
    Ok(supplier::Entity::find_in(account_id).filter(supplier::Column::LogoFileId.eq(file_id)).count(db).await? > 0)
}

/// Lets go of files their last reference left (call it after that reference's removal committed): a
/// file nothing of the account uses loses its row, and an object no account's row names is deleted.
pub async fn release(ctx: &Context, account_id: Uuid, file_ids: &[Uuid]) -> EngineResult<()> {
    for &file_id in file_ids {
        let Some(row) = file::Entity::find_by_id_in(account_id, file_id).one(&ctx.db).await? else { continue };
        if is_referenced(&ctx.db, account_id, file_id).await? {
            continue;
        }
        file::Entity::delete_many_in(account_id).filter(file::Column::Id.eq(file_id)).exec(&ctx.db).await?;
        delete_object_if_unused(ctx, &row.sha256).await?;
    }
    Ok(())
}

/// Deletes the object unless a row of some account still names it. Objects are shared between
/// accounts (content addressing), so this one read looks across tenants; it returns no data.
pub async fn delete_object_if_unused(ctx: &Context, sha256: &str) -> EngineResult<bool> {
    let rows = file::Entity::find().filter(file::Column::Sha256.eq(sha256)).count(&ctx.db).await?;
    if rows > 0 {
        return Ok(false);
    }
    ctx.files.delete(sha256).await?;
    Ok(true)
}

/// `1.5 MiB`, `300 KiB`, `12 bytes`.
pub fn human(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let value = bytes as f64;
    if value >= KIB * KIB * KIB {
        format!("{:.1} GiB", value / (KIB * KIB * KIB))
    } else if value >= KIB * KIB {
        format!("{:.1} MiB", value / (KIB * KIB))
    } else if value >= KIB {
        format!("{:.0} KiB", value / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

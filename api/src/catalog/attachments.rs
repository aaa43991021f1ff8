//! Files in the catalogue: a product's attachments (conditions, brochures, tariff sheets) and a
//! supplier's logo, uploaded through the GraphQL multipart request spec (`Upload`), listed with a
//! short-lived signed download link (`url`, served by `GET /files/{id}`).
//!
//! Storing, checking and releasing files is the engine's ([`koppel_daemon::files`]): a peer pass
//! stores the attachments it downloads through the same functions.

use super::Supplier;
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::graphql::{ContextExt, ids, loaders};
use crate::validate;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject, Upload};
use chrono::Utc;
use koppel_daemon::files::content::Purpose;
use koppel_daemon::files::service::{self, NewAttachment, Offered};
use koppel_entity::{Scoped, file, product, product_attachment, supplier};
use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, QueryOrder, Set};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::AttachmentKind")]
pub enum AttachmentKind {
    /// Terms and conditions of the product.
    Conditions,
    Brochure,
    TariffSheet,
    Image,
    /// A supplier's logo.
    Logo,
    Other,
}

/// A stored file as a product attachment or a supplier's logo.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Attachment {
    /// The attachment's id (a logo: the file's).
    pub id: ID,
    pub title: String,
    pub kind: AttachmentKind,
    /// The order among the product's attachments, from 0.
    pub position: i32,
    /// Sniffed from the bytes when the file was stored, not taken from the uploader.
    pub content_type: String,
    /// In bytes.
    pub size: i64,
    /// The SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// The name the file was first stored with; downloads offer it.
    pub file_name: String,
    #[graphql(skip)]
    pub file_id: Uuid,
    #[graphql(skip)]
    pub account_id: Uuid,
}

impl Attachment {
    fn of(attachment: &product_attachment::Model, file: &file::Model) -> Self {
        Self {
            id: ids::to_id(attachment.id),
            title: attachment.title.clone(),
            kind: attachment.kind.into(),
            position: attachment.position,
            ..Self::logo(file)
        }
    }

    fn logo(file: &file::Model) -> Self {
        Self {
            id: ids::to_id(file.id),
            title: file.name.clone(),
            kind: AttachmentKind::Logo,
            position: 0,
            content_type: file.content_type.clone(),
            size: file.size,
            sha256: file.sha256.clone(),
            file_name: file.name.clone(),
            file_id: file.id,
            account_id: file.account_id,
        }
    }
}

#[ComplexObject]
impl Attachment {
    /// A relative download link, valid for `KOPPEL_FILE_LINK_TTL_SECONDS` (5 minutes by default) and for
    /// this file only: `GET` it on this server, no token needed.
    async fn url(&self, ctx: &Context<'_>) -> String {
        let state = ctx.state();
        let expires = Utc::now() + chrono::Duration::seconds(state.config.file_link_ttl_seconds.into());
        state.file_links.link(self.account_id, self.file_id, expires)
    }
}

/// The attachments of many products, in two statements (attachments, then their files).
pub struct AttachmentsOfProducts {
    db: sea_orm::DatabaseConnection,
    account_id: Uuid,
}

impl async_graphql::dataloader::Loader<Uuid> for AttachmentsOfProducts {
    type Value = Vec<Attachment>;
    type Error = loaders::LoadError;

    async fn load(&self, products: &[Uuid]) -> Result<HashMap<Uuid, Vec<Attachment>>, Self::Error> {
        let error = |e| loaders::LoadError(std::sync::Arc::new(e));
        let attachments = product_attachment::Entity::find_in(self.account_id)
            .filter(product_attachment::Column::ProductId.is_in(products.iter().copied()))
            .order_by_asc(product_attachment::Column::ProductId)
            .order_by_asc(product_attachment::Column::Position)
            .order_by_asc(product_attachment::Column::Id)
            .all(&self.db)
            .await
            .map_err(error)?;
        let files: HashMap<Uuid, file::Model> =
            file::Entity::find_by_ids_in(self.account_id, attachments.iter().map(|a| a.file_id))
                .all(&self.db)
                .await
                .map_err(error)?
                .into_iter()
                .map(|f| (f.id, f))
                .collect();
        let mut found: HashMap<Uuid, Vec<Attachment>> = HashMap::new();
        for attachment in &attachments {
            // An attachment whose file row is gone (a release racing an upload) is not shown.
            if let Some(file) = files.get(&attachment.file_id) {
                found.entry(attachment.product_id).or_default().push(Attachment::of(attachment, file));
            }
        }
        Ok(found)
    }
}

/// `Product.attachments`, batched over the products of a page.
pub async fn of_product(ctx: &Context<'_>, product_id: Uuid) -> ApiResult<Vec<Attachment>> {
    let batcher = loaders::of(ctx)?
        .batcher(|request| AttachmentsOfProducts { db: request.db.clone(), account_id: request.account_id });
    Ok(batcher.load_one(product_id).await?.unwrap_or_default())
}

/// `Supplier.logo`.
pub async fn logo(ctx: &Context<'_>, file_id: Option<Uuid>) -> ApiResult<Option<Attachment>> {
    let Some(file_id) = file_id else { return Ok(None) };
    Ok(loaders::load::<file::Entity>(ctx, file_id).await?.as_ref().map(Attachment::logo))
}

#[derive(InputObject)]
pub struct AddProductAttachmentInput {
    pub product_id: ID,
    /// The file, as a multipart upload (GraphQL multipart request spec).
    pub file: Upload,
    /// What it is; `OTHER` when left out.
    pub kind: Option<AttachmentKind>,
    /// Shown instead of the file's name; the name when left out.
    pub title: Option<String>,
}

#[derive(InputObject)]
pub struct RemoveProductAttachmentInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct SetSupplierLogoInput {
    pub supplier_id: ID,
    /// A PNG, JPEG, GIF or WebP image as a multipart upload; `null` removes the logo.
    pub file: Option<Upload>,
}

crate::payload!(AddProductAttachmentPayload { attachment: Attachment });
crate::payload!(RemoveProductAttachmentPayload { deleted_id: ID });
crate::payload!(SetSupplierLogoPayload { supplier: Supplier });

/// The bytes and name of an uploaded file.
fn uploaded(ctx: &Context<'_>, upload: &Upload) -> ApiResult<(String, bytes::Bytes)> {
    let value = upload.value(ctx).map_err(|_| ApiError::BadUserInput("the uploaded file cannot be read".into()))?;
    Ok((value.filename, value.content))
}

#[derive(Default)]
pub struct AttachmentMutation;

#[Object]
impl AttachmentMutation {
    /// Attaches a file to a product (admins only): at most `KOPPEL_MAX_FILE_BYTES` (`TOO_LARGE`
    /// otherwise), its type sniffed from the bytes; HTML, XML and SVG, and files whose name says another
    /// type than their content, are refused. The same content twice is stored once. At most 50 per product.
    async fn add_product_attachment(
        &self,
        ctx: &Context<'_>,
        input: AddProductAttachmentInput,
    ) -> ApiResult<AddProductAttachmentPayload> {
        let principal = ctx.principal()?.require_admin()?;
        AddProductAttachmentPayload::from_result(add(ctx, principal.account_id, input).await)
    }

    /// Removes an attachment (admins only); its file goes too when nothing else uses it.
    async fn remove_product_attachment(
        &self,
        ctx: &Context<'_>,
        input: RemoveProductAttachmentInput,
    ) -> ApiResult<RemoveProductAttachmentPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let id = ids::parse(&input.id, "attachment")?;
        let existing = product_attachment::Entity::find_by_id_in(principal.account_id, id)
            .one(ctx.db())
            .await?
            .ok_or(ApiError::NotFound("attachment"))?;
        product_attachment::Entity::delete_many_in(principal.account_id)
            .filter(product_attachment::Column::Id.eq(id))
            .exec(ctx.db())
            .await?;
        touch_product(ctx.db(), principal.account_id, existing.product_id).await?;
        service::release(&ctx.state().engine, principal.account_id, &[existing.file_id]).await?;
        RemoveProductAttachmentPayload::from_result(Ok(input.id))
    }

    /// Sets a supplier's logo (admins only), or removes it with `file: null`. Logos are PNG, JPEG, GIF or
    /// WebP images.
    async fn set_supplier_logo(
        &self,
        ctx: &Context<'_>,
        input: SetSupplierLogoInput,
    ) -> ApiResult<SetSupplierLogoPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let existing =
            super::suppliers::find(ctx.db(), principal.account_id, ids::parse(&input.supplier_id, "supplier")?).await?;
        SetSupplierLogoPayload::from_result(set_logo(ctx, principal.account_id, existing, input.file).await)
    }
}

async fn add(ctx: &Context<'_>, account_id: Uuid, input: AddProductAttachmentInput) -> ApiResult<Attachment> {
    let engine = &ctx.state().engine;
    let mut problems = Problems::new();
    let product_id = ids::parse_field(&input.product_id, "productId", &mut problems);
    let title = validate::optional(&mut problems, "title", input.title.as_deref(), 200);
    if let Some(id) = product_id
        && product::Entity::find_by_id_in(account_id, id).one(ctx.db()).await?.is_none()
    {
        problems.add(
            "productId",
            UserErrorCode::NotFound,
            format!("product {} does not exist", input.product_id.as_str()),
        );
    }
    problems.into_result()?;
    let product_id = product_id.expect("checked");
    let (name, bytes) = uploaded(ctx, &input.file)?;
    let stored =
        service::store(engine, account_id, Offered { field: "file", name: &name, bytes, purpose: Purpose::Attachment })
            .await?;
    let txn = crate::db::begin_write(ctx.db()).await?;
    let row = service::record(&txn, account_id, &stored).await?;
    let new = NewAttachment {
        product_id,
        file_id: row.id,
        title: title.unwrap_or_else(|| stored.name.clone()),
        kind: input.kind.unwrap_or(AttachmentKind::Other).into(),
        remote_id: None,
    };
    let attachment = service::attach(&txn, account_id, new).await?;
    touch_product(&txn, account_id, product_id).await?;
    txn.commit().await?;
    service::reaffirm(engine, &row, &stored.bytes).await?;
    Ok(Attachment::of(&attachment, &row))
}

/// An attachment change is a change of the product: partners syncing it see it as changed.
async fn touch_product(db: &impl sea_orm::ConnectionTrait, account_id: Uuid, product_id: Uuid) -> ApiResult<()> {
    product::Entity::update_many_in(account_id)
        .col_expr(product::Column::UpdatedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(product::Column::Id.eq(product_id))
        .exec(db)
        .await?;
    Ok(())
}

async fn set_logo(
    ctx: &Context<'_>,
    account_id: Uuid,
    existing: supplier::Model,
    upload: Option<Upload>,
) -> ApiResult<Supplier> {
    let engine = &ctx.state().engine;
    let previous = existing.logo_file_id;
    let mut active: supplier::ActiveModel = existing.into();
    active.updated_at = Set(Utc::now());
    let updated = match upload {
        None => {
            active.logo_file_id = Set(None);
            active.update(ctx.db()).await?
        }
        Some(upload) => {
            let (name, bytes) = uploaded(ctx, &upload)?;
            let offered = Offered { field: "file", name: &name, bytes, purpose: Purpose::Logo };
            let stored = service::store(engine, account_id, offered).await?;
            let txn = crate::db::begin_write(ctx.db()).await?;
            let row = service::record(&txn, account_id, &stored).await?;
            active.logo_file_id = Set(Some(row.id));
            let updated = active.update(&txn).await?;
            txn.commit().await?;
            service::reaffirm(engine, &row, &stored.bytes).await?;
            updated
        }
    };
    if let Some(previous) = previous.filter(|p| Some(*p) != updated.logo_file_id) {
        service::release(engine, account_id, &[previous]).await?;
    }
    Ok(updated.into())
}

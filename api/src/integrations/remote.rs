//! The live views of a remote (catalogue, product fields, questions, flows, statuses) and the import
//! of chosen remote products as local products linked to their twins.

use super::mappings::{daemon_mappings, load_field_mappings};
use super::service::{self, connector_for};
use crate::catalog::{Product, Tariff};
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::extra_fields::ExtraFieldValue;
use crate::graphql::{ContextExt, ids};
use crate::state::AppState;
use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_daemon::connectors::{ListRequest, RemoteProduct as Remote};
use koppel_daemon::mapping::{TargetKind, map_fields};
use koppel_entity::enums::{ExtraFieldEntity, ExtraFieldType, ProductType};
use koppel_entity::{Scoped, extra_field, integration, product, remote_link, supplier};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use serde_json::{Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(SimpleObject)]
pub struct RemoteSupplier {
    pub remote_id: String,
    pub name: String,
}

/// A product in the remote catalogue, as the remote shows it now.
#[derive(SimpleObject)]
pub struct RemoteProduct {
    pub remote_id: String,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub product_type: String,
    pub category: Option<String>,
    pub incentive: Option<String>,
    pub tariffs: Vec<Tariff>,
    /// The remote's extra-field values.
    pub fields: Vec<ExtraFieldValue>,
    pub supplier: Option<RemoteSupplier>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether it is already imported (linked to a local product).
    pub imported: bool,
    pub local_product_id: Option<ID>,
}

fn to_graphql(remote: Remote, links: &HashMap<String, Uuid>) -> RemoteProduct {
    let local = links.get(&remote.id).copied();
    RemoteProduct {
        sku: remote.sku,
        name: remote.name,
        description: remote.description,
        product_type: remote.product_type,
        category: remote.category,
        incentive: remote.incentive,
        tariffs: remote
            .tariffs
            .into_iter()
            .map(|t| Tariff { code: t.code, label: t.label, amount: t.amount, unit: t.unit })
            .collect(),
        fields: remote.fields.into_iter().map(|(key, value)| ExtraFieldValue { key, value }).collect(),
        supplier: remote.supplier.map(|s| RemoteSupplier { remote_id: s.id, name: s.name }),
        updated_at: remote.updated_at,
        imported: local.is_some(),
        local_product_id: local.map(ids::to_id),
        remote_id: remote.id,
    }
}

#[derive(SimpleObject)]
pub struct RemotePageInfo {
    pub has_next_page: bool,
    /// The remote's cursor: pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// One page of the remote catalogue, read live.
#[derive(SimpleObject)]
pub struct RemoteProductPage {
    pub nodes: Vec<RemoteProduct>,
    pub page_info: RemotePageInfo,
}

#[derive(SimpleObject)]
pub struct RemoteField {
    pub key: String,
    pub label: String,
    pub field_type: String,
    pub options: Vec<String>,
}

#[derive(SimpleObject)]
pub struct RemoteOption {
    pub value: String,
    pub label: String,
}

/// A question at the remote: its type, validations, conditions and answer options decide whether a
/// sale will be accepted there.
#[derive(SimpleObject)]
pub struct RemoteQuestion {
    pub remote_id: String,
    pub key: String,
    pub label: String,
    pub question_type: String,
    pub required: bool,
    pub validations: Json<Value>,
    pub conditions: Json<Value>,
    pub options: Vec<RemoteOption>,
    pub flow_id: Option<String>,
    pub product_id: Option<String>,
}

#[derive(SimpleObject)]
pub struct RemoteFlow {
    pub remote_id: String,
    pub name: String,
}

#[derive(SimpleObject)]
pub struct RemoteStatus {
    pub key: String,
    pub name: String,
    pub system: bool,
}

#[derive(InputObject)]
pub struct ImportProductsInput {
    pub integration_id: ID,
    /// The remote ids from `remoteProducts`, at most 100.
    pub remote_ids: Vec<String>,
}

crate::payload!(ImportProductsPayload { products: Vec<Product> });

async fn integration_of(ctx: &Context<'_>, id: &ID) -> ApiResult<integration::Model> {
    let principal = ctx.principal()?.require_admin()?;
    service::find(ctx.db(), principal.account_id, id).await
}

async fn product_links(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    remote_ids: impl IntoIterator<Item = String>,
) -> ApiResult<HashMap<String, Uuid>> {
    Ok(remote_link::Entity::find_in(integration.account_id)
        .filter(remote_link::Column::IntegrationId.eq(integration.id))
        .filter(remote_link::Column::Entity.eq("product"))
        .filter(remote_link::Column::RemoteId.is_in(remote_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.remote_id, l.local_id))
        .collect())
}

#[derive(Default)]
pub struct RemoteQuery;

#[Object]
impl RemoteQuery {
    /// Pages through the remote catalogue live, marking what is already imported (admins only).
    async fn remote_products(
        &self,
        ctx: &Context<'_>,
        integration_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RemoteProductPage> {
        let integration = integration_of(ctx, &integration_id).await?;
        let first = first.unwrap_or(50);
        if !(1..=100).contains(&first) {
            return Err(ApiError::BadUserInput(format!("first must be between 1 and 100, not {first}")));
        }
        let connector = connector_for(ctx.state(), &integration, integration.mode).await?;
        let page = connector.products(ListRequest { first: first as usize, after, changed_since: None }).await?;
        let links = product_links(ctx.db(), &integration, page.items.iter().map(|p| p.id.clone())).await?;
        Ok(RemoteProductPage {
            page_info: RemotePageInfo { has_next_page: page.next.is_some(), end_cursor: page.next },
            nodes: page.items.into_iter().map(|p| to_graphql(p, &links)).collect(),
        })
    }

    /// The fields the remote's products carry, for product data mappings.
    async fn remote_product_fields(&self, ctx: &Context<'_>, integration_id: ID) -> ApiResult<Vec<RemoteField>> {
        let integration = integration_of(ctx, &integration_id).await?;
        let connector = connector_for(ctx.state(), &integration, integration.mode).await?;
        Ok(connector
            .product_fields()
            .await?
            .into_iter()
            .map(|f| RemoteField { key: f.key, label: f.label, field_type: f.field_type, options: f.options })
            .collect())
    }

    /// The remote's questions with their type, validations, conditions and answer options.
    async fn remote_questions(&self, ctx: &Context<'_>, integration_id: ID) -> ApiResult<Vec<RemoteQuestion>> {
        let integration = integration_of(ctx, &integration_id).await?;
        let connector = connector_for(ctx.state(), &integration, integration.mode).await?;
        Ok(connector
            .questions()
            .await?
            .into_iter()
            .map(|q| RemoteQuestion {
                remote_id: q.id,
                key: q.key,
                label: q.label,
                question_type: q.question_type,
                required: q.required,
                validations: Json(q.validations),
                conditions: Json(q.conditions),
                options: q.options.into_iter().map(|o| RemoteOption { value: o.value, label: o.label }).collect(),
                flow_id: q.flow_id,
                product_id: q.product_id,
            })
            .collect())
    }

    async fn remote_flows(&self, ctx: &Context<'_>, integration_id: ID) -> ApiResult<Vec<RemoteFlow>> {
        let integration = integration_of(ctx, &integration_id).await?;
        let connector = connector_for(ctx.state(), &integration, integration.mode).await?;
        Ok(connector.flows().await?.into_iter().map(|f| RemoteFlow { remote_id: f.id, name: f.name }).collect())
    }

    async fn remote_statuses(&self, ctx: &Context<'_>, integration_id: ID) -> ApiResult<Vec<RemoteStatus>> {
        let integration = integration_of(ctx, &integration_id).await?;
        let connector = connector_for(ctx.state(), &integration, integration.mode).await?;
        Ok(connector
            .statuses()
            .await?
            .into_iter()
            .map(|s| RemoteStatus { key: s.key, name: s.name, system: s.system })
            .collect())
    }
}

#[derive(Default)]
pub struct RemoteMutation;

#[Object]
impl RemoteMutation {
    /// Imports remote products as local products linked to their twins (admins only). A remote supplier
    /// becomes a local supplier once and is reused; imported products start not authorised; extra
    /// fields are filled through the product data mapping. Importing again refreshes the product.
    async fn import_products(&self, ctx: &Context<'_>, input: ImportProductsInput) -> ApiResult<ImportProductsPayload> {
        let integration = integration_of(ctx, &input.integration_id).await?;
        let result = import(ctx.state(), &integration, &input.remote_ids).await;
        ImportProductsPayload::from_result(result.map(|products| products.into_iter().map(Product::from).collect()))
    }
}

/// Imports (or refreshes) the given remote products, all or nothing.
pub async fn import(
    state: &AppState,
    integration: &integration::Model,
    remote_ids: &[String],
) -> ApiResult<Vec<product::Model>> {
    let mut problems = Problems::new();
    if remote_ids.is_empty() {
        problems.add("remoteIds", UserErrorCode::Required, "choose at least one remote product");
    }
    if remote_ids.len() > 100 {
        problems.add("remoteIds", UserErrorCode::Invalid, "import at most 100 products at a time");
    }
    problems.into_result()?;
    let mut problems = Problems::new();
    let connector = connector_for(state, integration, integration.mode).await?;
    let found = connector.products_by_ids(remote_ids).await?;
    let mut by_id: HashMap<String, Remote> = found.into_iter().map(|p| (p.id.clone(), p)).collect();
    let mut wanted = Vec::new();
    for (i, id) in remote_ids.iter().enumerate() {
        match by_id.remove(id) {
            Some(remote) => wanted.push((i, remote)),
            None if wanted.iter().any(|(_, r): &(usize, Remote)| &r.id == id) => {}
            None => problems.add(
                format!("remoteIds.{i}"),
                UserErrorCode::NotFound,
                format!("the remote shows no product {id}"),
            ),
        }
    }
    problems.into_result()?;
    let wanted = wanted.into_iter().map(|(i, remote)| (format!("remoteIds.{i}"), remote)).collect();
    store_products(&state.db, integration, wanted).await
}

/// Creates or refreshes local products from remote ones, all or nothing: the remote supplier becomes a
/// local supplier once, extra fields go through the product data mapping, new products start not
/// authorised, and each product is linked to its twin with the remote content hash. Problems name the
/// `field` given with each remote product.
pub async fn store_products<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    integration: &integration::Model,
    wanted: Vec<(String, Remote)>,
) -> ApiResult<Vec<product::Model>> {
    let mut problems = Problems::new();
    let mapping_rows = load_field_mappings(db, integration, Some("product")).await?;
    let mappings = daemon_mappings(&mapping_rows);
    let definitions = extra_field::Entity::find_in(integration.account_id)
        .filter(extra_field::Column::Entity.eq(ExtraFieldEntity::Product))
        .all(db)
        .await?;
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    let mut suppliers: HashMap<String, Uuid> = HashMap::new();
    let mut imported = Vec::new();
    for (field, remote) in wanted {
        let before = problems.len();
        check_remote(&mut problems, &field, &remote);
        if problems.len() > before {
            continue;
        }
        let supplier_id = match &remote.supplier {
            Some(remote_supplier) => Some(match suppliers.get(&remote_supplier.id) {
                Some(id) => *id,
                None => {
                    let id = local_supplier(&txn, integration, remote_supplier, now).await?;
                    suppliers.insert(remote_supplier.id.clone(), id);
                    id
                }
            }),
            None => None,
        };
        // Mappings may read the built-in fields as well as the remote's extra fields.
        let mut fields = remote.fields.clone();
        for (key, value) in [
            ("sku", Some(remote.sku.clone())),
            ("name", Some(remote.name.clone())),
            ("description", remote.description.clone()),
            ("category", remote.category.clone()),
            ("incentive", remote.incentive.clone()),
            ("productType", Some(remote.product_type.clone())),
        ] {
            if let Some(value) = value {
                fields.entry(key.to_owned()).or_insert(value);
            }
        }
        let (mapped, mapping_problems) = map_fields(&mappings, &fields);
        for (remote_field, message) in mapping_problems {
            problems.add(&field, UserErrorCode::Invalid, format!("{}: field {remote_field}: {message}", remote.sku));
        }
        let mut extra = Map::new();
        let mut attributes: HashMap<String, String> = HashMap::new();
        for (kind, target, value) in mapped {
            match kind {
                TargetKind::ExtraField => match definitions.iter().find(|d| d.key == target) {
                    Some(definition) if definition.field_type == ExtraFieldType::Select => {
                        let options: Vec<String> =
                            serde_json::from_value(definition.options.clone()).unwrap_or_default();
                        if options.contains(&value) {
                            extra.insert(target, Value::String(value));
                        } else {
                            problems.add(
                                &field,
                                UserErrorCode::NotAnOption,
                                format!("{}: {value:?} is not an option of {target}; add a value mapping", remote.sku),
                            );
                        }
                    }
                    Some(definition) => {
                        let max = if definition.field_type == ExtraFieldType::Textarea { 5000 } else { 500 };
                        if value.chars().count() > max {
                            problems.add(
                                &field,
                                UserErrorCode::TooLong,
                                format!("{}: {target} would be longer than {max} characters", remote.sku),
                            );
                        } else {
                            extra.insert(target, Value::String(value));
                        }
                    }
                    None => problems.add(
                        &field,
                        UserErrorCode::Unknown,
                        format!("there is no product extra field {target}"),
                    ),
                },
                TargetKind::Attribute => {
                    attributes.insert(target, value);
                }
                TargetKind::Question => {}
            }
        }
        let existing_link = remote_link::Entity::find_in(integration.account_id)
            .filter(remote_link::Column::IntegrationId.eq(integration.id))
            .filter(remote_link::Column::Entity.eq("product"))
            .filter(remote_link::Column::RemoteId.eq(&remote.id))
            .one(&txn)
            .await?;
        let linked = match &existing_link {
            Some(link) => product::Entity::find_by_id_in(integration.account_id, link.local_id).one(&txn).await?,
            None => None,
        };
        if linked.is_none() {
            let taken = product::Entity::find_in(integration.account_id)
                .filter(product::Column::Sku.eq(&remote.sku))
                .one(&txn)
                .await?;
            if taken.is_some() {
                problems.add(&field, UserErrorCode::Taken, format!("a local product already uses SKU {}", remote.sku));
                continue;
            }
        }
        // The same limits as a product entered by hand, so that no database refuses what one accepts.
        let before = problems.len();
        let sku = crate::validate::required(&mut problems, &field, &remote.sku, 100);
        let name = attribute_value(&mut problems, &field, "name", attributes.get("name").or(Some(&remote.name)), 200);
        let description = attribute_value(
            &mut problems,
            &field,
            "description",
            attributes.get("description").or(remote.description.as_ref()),
            10_000,
        );
        let category = attribute_value(
            &mut problems,
            &field,
            "category",
            attributes.get("category").or(remote.category.as_ref()),
            100,
        );
        let incentive = attribute_value(
            &mut problems,
            &field,
            "incentive",
            attributes.get("incentive").or(remote.incentive.as_ref()),
            200,
        );
        if problems.len() > before {
            continue;
        }
        let product_type = serde_json::from_value::<ProductType>(Value::String(remote.product_type.clone()))
            .unwrap_or(ProductType::Simple);
        let tariffs = serde_json::to_value(&remote.tariffs).expect("serialises");
        let model = match linked {
            Some(local) => {
                if local.sku != sku {
                    let taken = product::Entity::find_in(integration.account_id)
                        .filter(product::Column::Sku.eq(&sku))
                        .filter(product::Column::Id.ne(local.id))
                        .one(&txn)
                        .await?;
                    if taken.is_some() {
                        problems.add(&field, UserErrorCode::Taken, format!("a local product already uses SKU {sku}"));
                        continue;
                    }
                }
                let mut merged = local.extra_fields.as_object().cloned().unwrap_or_default();
                merged.extend(extra);
                let mut active: product::ActiveModel = local.into();
                active.sku = Set(sku);
                active.name = Set(name.unwrap_or_default());
                active.description = Set(description);
                active.category = Set(category);
                active.incentive = Set(incentive);
                active.product_type = Set(product_type);
                active.tariffs = Set(tariffs);
                active.extra_fields = Set(Value::Object(merged));
                active.supplier_id = Set(supplier_id);
                active.updated_at = Set(now);
                active.update(&txn).await?
            }
            None => {
                product::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    account_id: Set(integration.account_id),
                    supplier_id: Set(supplier_id),
                    parent_id: Set(None),
                    sku: Set(sku),
                    name: Set(name.unwrap_or_default()),
                    description: Set(description),
                    product_type: Set(product_type),
                    category: Set(category),
                    tariffs: Set(tariffs),
                    extra_fields: Set(Value::Object(extra)),
                    incentive: Set(incentive),
                    active: Set(true),
                    authorised: Set(false),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await?
            }
        };
        let hash = link_hash(&remote, &mapping_rows);
        upsert_link(&txn, integration, "product", model.id, &remote.id, &hash, existing_link, now).await?;
        imported.push(model);
    }
    if !problems.is_empty() {
        txn.rollback().await?;
        return problems.into_result().map(|_| Vec::new());
    }
    let mut active: integration::ActiveModel = integration.clone().into();
    active.last_synced_at = Set(Some(now));
    active.update(&txn).await?;
    txn.commit().await?;
    tracing::info!(integration = %integration.id, products = imported.len(), "products imported");
    Ok(imported)
}

/// The content hash a product link keeps: the remote record and the mappings it went through, so that a
/// changed mapping refreshes the products on the next sync.
pub fn link_hash(remote: &Remote, mappings: &[koppel_entity::field_mapping::Model]) -> String {
    use sha2::{Digest, Sha256};
    let fingerprint: Vec<_> = mappings
        .iter()
        .map(|m| (&m.remote_field, &m.target_kind, &m.target, &m.transforms, &m.value_mappings))
        .collect();
    let mut hasher = Sha256::new();
    hasher.update(remote.content_hash().as_bytes());
    hasher.update(serde_json::to_vec(&fingerprint).expect("serialises"));
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What the remote sends must fit where it goes, on every database: lengths and no control characters.
fn check_remote(problems: &mut Problems, field: &str, remote: &Remote) {
    let mut check = |what: &str, value: Option<&str>, max: usize| {
        let Some(value) = value else { return };
        if value.chars().count() > max {
            problems.add(
                field,
                UserErrorCode::TooLong,
                format!("{}: the {what} is longer than {max} characters", remote.sku),
            );
        }
        if crate::validate::has_control_characters(value) {
            problems.add(
                field,
                UserErrorCode::Invalid,
                format!("{}: the {what} contains control characters", remote.sku),
            );
        }
    };
    check("remote id", Some(&remote.id), 200);
    if let Some(supplier) = &remote.supplier {
        check("supplier id", Some(&supplier.id), 200);
        check("supplier name", Some(&supplier.name), 200);
        check("supplier contact", supplier.contact_name.as_deref(), 200);
        check("supplier e-mail", supplier.email.as_deref(), 254);
        check("supplier phone", supplier.phone.as_deref(), 50);
        check("supplier website", supplier.website.as_deref(), 500);
        check("supplier logo", supplier.logo_url.as_deref(), 500);
    }
    for tariff in &remote.tariffs {
        check("tariff code", Some(&tariff.code), 64);
        check("tariff label", Some(&tariff.label), 200);
        check("tariff amount", Some(&tariff.amount), 64);
        check("tariff unit", Some(&tariff.unit), 32);
    }
    for (key, value) in &remote.fields {
        check(&format!("field {key}"), Some(value), 5000);
    }
}

/// An imported product attribute, checked like one entered by hand; problems name the remote product.
fn attribute_value(
    problems: &mut Problems,
    field: &str,
    name: &str,
    value: Option<&String>,
    max: usize,
) -> Option<String> {
    let value = value.map(|v| v.trim()).filter(|v| !v.is_empty())?;
    if value.chars().count() > max {
        problems.add(field, UserErrorCode::TooLong, format!("the {name} would be longer than {max} characters"));
    }
    if crate::validate::has_control_characters(value) {
        problems.add(field, UserErrorCode::Invalid, format!("the {name} contains control characters"));
    }
    Some(value.to_owned())
}

/// The local supplier of a remote supplier: created once, then found through its link.
async fn local_supplier(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    remote: &koppel_daemon::connectors::RemoteSupplier,
    now: DateTime<Utc>,
) -> ApiResult<Uuid> {
    let link = remote_link::Entity::find_in(integration.account_id)
        .filter(remote_link::Column::IntegrationId.eq(integration.id))
        .filter(remote_link::Column::Entity.eq("supplier"))
        .filter(remote_link::Column::RemoteId.eq(&remote.id))
        .one(db)
        .await?;
    if let Some(link) = link
        && supplier::Entity::find_by_id_in(integration.account_id, link.local_id).one(db).await?.is_some()
    {
        return Ok(link.local_id);
    }
    let created = supplier::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(integration.account_id),
        name: Set(remote.name.clone()),
        contractant: Set(false),
        contact_name: Set(remote.contact_name.clone()),
        email: Set(remote.email.clone()),
        phone: Set(remote.phone.clone()),
        website: Set(remote.website.clone()),
        logo_url: Set(remote.logo_url.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    let hash = remote.id.clone();
    upsert_link(db, integration, "supplier", created.id, &remote.id, &hash, None, now).await?;
    tracing::info!(supplier = %created.id, name = %created.name, "supplier created from the remote");
    Ok(created.id)
}

#[allow(clippy::too_many_arguments)]
async fn upsert_link(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: &str,
    local_id: Uuid,
    remote_id: &str,
    content_hash: &str,
    existing: Option<remote_link::Model>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    match existing {
        Some(link) => {
            let mut active: remote_link::ActiveModel = link.into();
            active.local_id = Set(local_id);
            active.content_hash = Set(content_hash.into());
            active.last_seen_at = Set(Some(now));
            active.last_synced_at = Set(Some(now));
            active.update(db).await?;
        }
        None => {
            // A stale link of this entity to the same local record is replaced.
            remote_link::Entity::delete_many()
                .filter(remote_link::Column::IntegrationId.eq(integration.id))
                .filter(remote_link::Column::Entity.eq(entity))
                .filter(remote_link::Column::LocalId.eq(local_id))
                .exec(db)
                .await?;
            remote_link::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(integration.account_id),
                integration_id: Set(integration.id),
                entity: Set(entity.into()),
                local_id: Set(local_id),
                remote_id: Set(remote_id.into()),
                content_hash: Set(content_hash.into()),
                manual: Set(false),
                last_seen_at: Set(Some(now)),
                last_synced_at: Set(Some(now)),
                created_at: Set(now),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

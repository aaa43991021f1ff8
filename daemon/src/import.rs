//! Importing remote products: the chosen remote products become local products linked to their twins
//! (seed 000: the supplier is created once and reused, extra fields go through the product data mapping,
//! new products start not authorised, attachments are downloaded when their content is new to the
//! account). A reconcile pass refreshes changed products through the same path.

use crate::Context;
use crate::attachments::{self, Fetched, Synced};
use crate::connect;
use crate::connectors::{RemoteProduct as Remote, RemoteSupplier};
use crate::content_hash::ContentHash;
use crate::error::EngineResult;
use crate::links::{self, LinkWrite};
use crate::mapping::{TargetKind, map_fields, stored};
use crate::problems::{self, ProblemCode, Problems};
use chrono::{DateTime, Utc};
use koppel_entity::enums::{ExtraFieldEntity, ExtraFieldType, LinkedEntity, ProductType};
use koppel_entity::{Scoped, extra_field, integration, product, remote_link, supplier};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, Set, TransactionSession, TransactionTrait};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The most remote products one import takes.
pub const MAX_IMPORT: usize = 100;

/// Imports (or refreshes) the given remote products, all or nothing.
/// Problems name the input field `remoteIds.<i>`.
pub async fn import_products(
    ctx: &Context,
    integration: &integration::Model,
    remote_ids: &[String],
) -> EngineResult<Vec<product::Model>> {
    let mut problems = Problems::new();
    if remote_ids.is_empty() {
        problems.add("remoteIds", ProblemCode::Required, "choose at least one remote product");
    }
    if remote_ids.len() > MAX_IMPORT {
        problems.add("remoteIds", ProblemCode::Invalid, format!("import at most {MAX_IMPORT} products at a time"));
    }
    problems.into_result()?;
    let mut problems = Problems::new();
    let connector = connect::connector_for(ctx, integration, integration.mode).await?;
    let found = connector.products_by_ids(remote_ids).await?;
    let mut by_id: HashMap<String, Remote> = found.into_iter().map(|p| (p.id.clone(), p)).collect();
    let mut wanted = Vec::new();
    for (i, id) in remote_ids.iter().enumerate() {
        match by_id.remove(id) {
            Some(remote) => wanted.push((i, remote)),
            None if wanted.iter().any(|(_, r): &(usize, Remote)| &r.id == id) => {}
            None => problems.add(
                format!("remoteIds.{i}"),
                ProblemCode::NotFound,
                format!("the remote shows no product {id}"),
            ),
        }
    }
    problems.into_result()?;
    let wanted: Vec<(String, Remote)> =
        wanted.into_iter().map(|(i, remote)| (format!("remoteIds.{i}"), remote)).collect();
    let fetched =
        attachments::fetch(ctx, connector.as_ref(), integration.account_id, wanted.iter().map(|(_, r)| r)).await?;
    let written = store_products(&ctx.db, integration, wanted, &fetched).await?;
    let mut products = Vec::with_capacity(written.len());
    for Written { product, attachments } in written {
        crate::files::service::release(ctx, integration.account_id, &attachments.release).await?;
        products.push(product);
    }
    Ok(products)
}

/// A product as [`store_products`] wrote it, with what changed in its attachments.
#[derive(Debug, Clone)]
pub struct Written {
    pub product: product::Model,
    /// The files it let go of are released by the caller once its transaction committed.
    pub attachments: Synced,
}

/// Creates or refreshes local products from remote ones, all or nothing: the remote supplier becomes a
/// local supplier once, extra fields go through the product data mapping, new products start not
/// authorised, each product is linked to its twin with the remote content hash, and its attachments
/// follow the remote's (their contents known to the account or in `fetched`). Problems name the `field`
/// given with each remote product.
pub async fn store_products<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    integration: &integration::Model,
    wanted: Vec<(String, Remote)>,
    fetched: &Fetched,
) -> EngineResult<Vec<Written>> {
    let mut problems = Problems::new();
    let mapping_rows = stored::load(db, integration, Some("product")).await?;
    let mappings = stored::to_engine(&mapping_rows);
    // Targets written only when a product is created: an update leaves the local value alone.
    let create_only: HashSet<(TargetKind, String)> =
        mappings.iter().filter(|m| m.create_only).map(|m| (m.target_kind, m.target.clone())).collect();
    let mapping_fingerprint = stored::fingerprint(&mapping_rows);
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
            problems.add(&field, ProblemCode::Invalid, format!("{}: field {remote_field}: {message}", remote.sku));
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
                                ProblemCode::NotAnOption,
                                format!("{}: {value:?} is not an option of {target}; add a value mapping", remote.sku),
                            );
                        }
                    }
                    Some(definition) => {
                        let max = if definition.field_type == ExtraFieldType::Textarea { 5000 } else { 500 };
                        if value.chars().count() > max {
                            problems.add(
                                &field,
                                ProblemCode::TooLong,
                                format!("{}: {target} would be longer than {max} characters", remote.sku),
                            );
                        } else {
                            extra.insert(target, Value::String(value));
                        }
                    }
                    None => {
                        problems.add(&field, ProblemCode::Unknown, format!("there is no product extra field {target}"))
                    }
                },
                TargetKind::Attribute => {
                    attributes.insert(target, value);
                }
                TargetKind::Question => {}
            }
        }
        let existing_link = links::of(integration, LinkedEntity::Product)
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
                problems.add(&field, ProblemCode::Taken, format!("a local product already uses SKU {}", remote.sku));
                continue;
            }
        }
        // The same limits as a product entered by hand, so that no database refuses what one accepts.
        let before = problems.len();
        let sku = problems::required(&mut problems, &field, &remote.sku, 100);
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
                        problems.add(&field, ProblemCode::Taken, format!("a local product already uses SKU {sku}"));
                        continue;
                    }
                }
                let mut merged = local.extra_fields.as_object().cloned().unwrap_or_default();
                merged.extend(
                    extra.into_iter().filter(|(key, _)| !create_only.contains(&(TargetKind::ExtraField, key.clone()))),
                );
                let kept = |attribute: &str| create_only.contains(&(TargetKind::Attribute, attribute.to_owned()));
                let name = if kept("name") { local.name.clone() } else { name.unwrap_or_default() };
                let description = if kept("description") { local.description.clone() } else { description };
                let category = if kept("category") { local.category.clone() } else { category };
                let incentive = if kept("incentive") { local.incentive.clone() } else { incentive };
                let mut active: product::ActiveModel = local.into();
                active.sku = Set(sku);
                active.name = Set(name);
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
        let hash = link_hash(&remote, &mapping_fingerprint).to_hex();
        let link =
            LinkWrite { entity: LinkedEntity::Product, local_id: model.id, remote_id: &remote.id, content_hash: &hash };
        links::upsert(&txn, integration, link, existing_link, now).await?;
        match attachments::sync(&txn, integration.account_id, model.id, &remote.attachments, fetched).await? {
            Ok(attachments) => imported.push(Written { product: model, attachments }),
            Err(reasons) => {
                for reason in reasons {
                    problems.add(&field, ProblemCode::Invalid, format!("{}: {reason}", remote.sku));
                }
            }
        }
    }
    if let Err(refused) = problems.into_result() {
        txn.rollback().await?;
        return Err(refused.into());
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
/// `mapping_fingerprint` is [`stored::fingerprint`] of the mappings, worked out once per pass.
pub fn link_hash(remote: &Remote, mapping_fingerprint: &[u8]) -> ContentHash {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(remote.content_hash().as_bytes());
    hasher.update(mapping_fingerprint);
    ContentHash::from_digest(hasher.finalize().into())
}

/// What the remote sends must fit where it goes, on every database: lengths and no control characters.
fn check_remote(problems: &mut Problems, field: &str, remote: &Remote) {
    let mut check = |what: &str, value: Option<&str>, max: usize| {
        let Some(value) = value else { return };
        if value.chars().count() > max {
            problems.add(
                field,
                ProblemCode::TooLong,
                format!("{}: the {what} is longer than {max} characters", remote.sku),
            );
        }
        if problems::has_control_characters(value) {
            problems.add(
                field,
                ProblemCode::Invalid,
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
        problems.add(field, ProblemCode::TooLong, format!("the {name} would be longer than {max} characters"));
    }
    if problems::has_control_characters(value) {
        problems.add(field, ProblemCode::Invalid, format!("the {name} contains control characters"));
    }
    Some(value.to_owned())
}

/// The local supplier of a remote supplier: created once, then found through its link.
async fn local_supplier(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    remote: &RemoteSupplier,
    now: DateTime<Utc>,
) -> EngineResult<Uuid> {
    let link = links::of(integration, LinkedEntity::Supplier)
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
        logo_file_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    let link = LinkWrite {
        entity: LinkedEntity::Supplier,
        local_id: created.id,
        remote_id: &remote.id,
        content_hash: &remote.id,
    };
    links::upsert(db, integration, link, None, now).await?;
    tracing::info!(supplier = %created.id, name = %created.name, "supplier created from the remote");
    Ok(created.id)
}

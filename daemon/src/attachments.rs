//! Attachments that travel with remote products (seed 001: "the tariff, the name **or the
//! attachments**"). Before an import or a pass writes, [`fetch`] downloads the files whose content the
//! account does not have yet — compared by SHA-256, so an unchanged file (or one the account already
//! holds for another product) is never downloaded again — through the connector (the SSRF-guarded
//! client, at most `KOPPEL_MAX_FILE_BYTES`), checks them like an upload and stores their objects. Then,
//! in the write's transaction, [`sync`] makes the product's attachments that came from the remote match
//! the remote's: added, replaced (new content), retitled or moved, removed. Attachments added locally
//! by hand (no remote id) are left alone.

use crate::Context;
use crate::connectors::{Connector, ConnectorError, RemoteAttachment, RemoteProduct};
use crate::error::{EngineError, EngineResult};
use crate::files::content::Purpose;
use crate::files::service::{self, MAX_ATTACHMENTS, Offered, Stored};
use chrono::Utc;
use koppel_entity::enums::AttachmentKind;
use koppel_entity::{Scoped, file, product_attachment};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect, Set};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What [`fetch`] brought in: the stored contents by SHA-256, and why others could not be.
#[derive(Debug, Default)]
pub struct Fetched {
    stored: HashMap<String, Stored>,
    refused: HashMap<String, String>,
    /// How many files were downloaded.
    pub downloaded: usize,
}

impl Fetched {
    /// Nothing fetched: for writes of products whose attachments are all known (or who have none).
    pub fn none() -> Self {
        Self::default()
    }
}

/// Downloads and stores the attachments of `products` whose content the account does not have. A file
/// the remote lists but that cannot be taken (too large, not what its name says, not matching its
/// SHA-256, gone) is remembered as refused, which fails only its product; a remote that cannot be
/// reached fails the whole call (the pass is retried).
pub async fn fetch<'a>(
    ctx: &Context,
    connector: &dyn Connector,
    account_id: Uuid,
    products: impl IntoIterator<Item = &'a RemoteProduct>,
) -> EngineResult<Fetched> {
    let wanted: Vec<&RemoteAttachment> =
        products.into_iter().flat_map(|p| p.attachments.iter().take(MAX_ATTACHMENTS)).collect();
    let mut fetched = Fetched::default();
    if wanted.is_empty() {
        return Ok(fetched);
    }
    let known = known_contents(&ctx.db, account_id, wanted.iter().map(|a| a.sha256.as_str())).await?;
    let max = ctx.limits.max_file_bytes;
    for attachment in wanted {
        let sha256 = &attachment.sha256;
        if known.contains(sha256) || fetched.stored.contains_key(sha256) || fetched.refused.contains_key(sha256) {
            continue;
        }
        if !crate::files::is_key(sha256) {
            fetched.refused.insert(sha256.clone(), "the remote lists no valid SHA-256 for it".into());
            continue;
        }
        if attachment.size > max as i64 {
            let why = format!(
                "it is {} and files may be at most {} (KOPPEL_MAX_FILE_BYTES)",
                service::human(attachment.size as u64),
                service::human(max)
            );
            fetched.refused.insert(sha256.clone(), why);
            continue;
        }
        let bytes = match connector.download(&attachment.url, max).await {
            Ok(bytes) => bytes,
            // The remote answered, but not with the file (gone since it was listed, too large): the
            // product waits for the next pass.
            Err(ConnectorError::Protocol(why)) => {
                fetched.refused.insert(sha256.clone(), why);
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        fetched.downloaded += 1;
        if crate::files::sha256_hex(&bytes) != *sha256 {
            fetched.refused.insert(sha256.clone(), "the downloaded content does not match its SHA-256".into());
            continue;
        }
        let offered =
            Offered { field: "attachments", name: &attachment.file_name, bytes, purpose: Purpose::Attachment };
        match service::store(ctx, account_id, offered).await {
            Ok(stored) => {
                fetched.stored.insert(sha256.clone(), stored);
            }
            Err(EngineError::Rejected(refused)) => {
                let why = refused.0.into_iter().map(|p| p.message).collect::<Vec<_>>().join("; ");
                fetched.refused.insert(sha256.clone(), why);
            }
            Err(error) => return Err(error),
        }
    }
    if fetched.downloaded > 0 {
        tracing::info!(downloaded = fetched.downloaded, "remote attachments downloaded");
    }
    Ok(fetched)
}

/// The contents among `hashes` the account has a file of.
async fn known_contents<'a>(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    hashes: impl Iterator<Item = &'a str>,
) -> Result<HashSet<String>, sea_orm::DbErr> {
    let hashes: HashSet<&str> = hashes.collect();
    let found: Vec<String> = file::Entity::find_in(account_id)
        .select_only()
        .column(file::Column::Sha256)
        .filter(file::Column::Sha256.is_in(hashes))
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().collect())
}

/// What [`sync`] changed on one product, for the run's events; and the files to release once the
/// transaction committed.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Synced {
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    /// Retitled, of another kind, or moved.
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    /// Of the added and replaced, those whose content was downloaded for them (the others' content the
    /// account had already).
    pub downloaded: Vec<String>,
    #[serde(skip)]
    pub release: Vec<Uuid>,
}

impl Synced {
    pub fn changed(&self) -> bool {
        !(self.added.is_empty() && self.replaced.is_empty() && self.updated.is_empty() && self.removed.is_empty())
    }

    /// `attachments: added A; replaced B; removed C`, or `None` when nothing changed.
    pub fn describe(&self) -> Option<String> {
        let parts: Vec<String> = [
            ("added", &self.added),
            ("replaced", &self.replaced),
            ("updated", &self.updated),
            ("removed", &self.removed),
        ]
        .into_iter()
        .filter(|(_, titles)| !titles.is_empty())
        .map(|(what, titles)| format!("{what} {}", titles.join(", ")))
        .collect();
        (!parts.is_empty()).then(|| format!("attachments: {}", parts.join("; ")))
    }
}

/// Makes the attachments of `product_id` that came from the remote match `remote` (in the caller's
/// transaction). Every attachment whose content is neither the account's already nor in `fetched` is a
/// reason (returned as `Err`), and then nothing is changed on this product.
pub async fn sync(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    product_id: Uuid,
    remote: &[RemoteAttachment],
    fetched: &Fetched,
) -> EngineResult<Result<Synced, Vec<String>>> {
    let remote = &remote[..remote.len().min(MAX_ATTACHMENTS)];
    let mut rows: HashMap<String, file::Model> = file::Entity::find_in(account_id)
        .filter(file::Column::Sha256.is_in(remote.iter().map(|a| a.sha256.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.sha256.clone(), f))
        .collect();
    let mut synced = Synced::default();
    let mut reasons = Vec::new();
    for attachment in remote {
        if !rows.contains_key(&attachment.sha256) && !fetched.stored.contains_key(&attachment.sha256) {
            let why = fetched.refused.get(&attachment.sha256).map(String::as_str).unwrap_or("it was not downloaded");
            reasons.push(format!("attachment {}: {why}", attachment.title));
        }
    }
    if !reasons.is_empty() {
        return Ok(Err(reasons));
    }
    let local = service::attachments_of(db, account_id, product_id).await?;
    let mut from_remote: HashMap<String, product_attachment::Model> =
        local.into_iter().filter_map(|a| Some((a.remote_id.clone()?, a))).collect();
    let now = Utc::now();
    for (position, attachment) in remote.iter().enumerate() {
        let file = match rows.get(&attachment.sha256) {
            Some(row) => row.clone(),
            None => {
                let stored = &fetched.stored[&attachment.sha256];
                let row = service::record(db, account_id, stored).await?;
                rows.insert(attachment.sha256.clone(), row.clone());
                synced.downloaded.push(attachment.title.clone());
                row
            }
        };
        let kind = serde_json::from_value::<AttachmentKind>(serde_json::Value::String(attachment.kind.clone()))
            .unwrap_or(AttachmentKind::Other);
        let title: String = attachment.title.chars().filter(|c| !c.is_control()).take(200).collect();
        let position = position as i32;
        match from_remote.remove(&attachment.id) {
            Some(existing) => {
                let replaced = existing.file_id != file.id;
                let moved = existing.title != title || existing.kind != kind || existing.position != position;
                if !replaced && !moved {
                    continue;
                }
                if replaced {
                    synced.replaced.push(title.clone());
                    synced.release.push(existing.file_id);
                } else {
                    synced.updated.push(title.clone());
                }
                let mut active: product_attachment::ActiveModel = existing.into();
                active.file_id = Set(file.id);
                active.title = Set(title);
                active.kind = Set(kind);
                active.position = Set(position);
                active.update(db).await?;
            }
            None => {
                synced.added.push(title.clone());
                product_attachment::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    account_id: Set(account_id),
                    product_id: Set(product_id),
                    file_id: Set(file.id),
                    title: Set(title),
                    kind: Set(kind),
                    position: Set(position),
                    remote_id: Set(Some(attachment.id.clone())),
                    created_at: Set(now),
                }
                .insert(db)
                .await?;
            }
        }
    }
    // Gone at the remote.
    for (_, gone) in from_remote {
        product_attachment::Entity::delete_many_in(account_id)
            .filter(product_attachment::Column::Id.eq(gone.id))
            .exec(db)
            .await?;
        synced.removed.push(gone.title);
        synced.release.push(gone.file_id);
    }
    Ok(Ok(synced))
}

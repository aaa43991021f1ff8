//! Customer matching between Koppel and a remote (seed 004): which field says two records are the same
//! customer, suggestions for the ones that matched nothing, and links made and removed by hand.
//!
//! Manual links always win: a pass never replaces a link a person made, and a remote customer a person
//! unlinked is never linked again automatically (it waits in `customer_matches` for a person).

use crate::connectors::RemoteCustomer;
use crate::error::EngineResult;
use crate::links;
use chrono::Utc;
use koppel_entity::enums::LinkedEntity;
use koppel_entity::{IntegrationOwned, Scoped, customer, customer_match, integration, remote_link};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set};
use std::collections::HashMap;
use uuid::Uuid;

/// Which field matches a remote customer with a Koppel customer (the `matchingKey` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchingKey {
    Email,
    KvkNumber,
    /// The remote's customer number, against a Koppel customer's extra field `relatie_code`.
    RelatieCode,
    Name,
}

/// The extra field of a Koppel customer that holds its SnelStart relatie code.
pub const RELATIE_CODE_FIELD: &str = "relatie_code";

impl MatchingKey {
    pub fn of_settings(settings: &serde_json::Value) -> Self {
        match settings["matchingKey"].as_str() {
            Some("kvk_number") => Self::KvkNumber,
            Some("relatie_code") => Self::RelatieCode,
            Some("name") => Self::Name,
            _ => Self::Email,
        }
    }

    pub fn of_remote(self, remote: &RemoteCustomer) -> Option<String> {
        match self {
            Self::Email => remote.email.as_deref().and_then(email),
            Self::KvkNumber => remote.kvk_number.as_deref().and_then(kvk),
            Self::RelatieCode => remote.code.as_deref().and_then(code),
            Self::Name => name(&remote.name),
        }
    }

    pub fn of_local(self, local: &customer::Model) -> Option<String> {
        match self {
            Self::Email => local.email.as_deref().and_then(email),
            Self::KvkNumber => local.kvk_number.as_deref().and_then(kvk),
            Self::RelatieCode => local.extra_fields[RELATIE_CODE_FIELD].as_str().and_then(code),
            Self::Name => name(&display_name(local)),
        }
    }
}

fn email(value: &str) -> Option<String> {
    Some(value.trim().to_lowercase()).filter(|v| v.contains('@'))
}

fn kvk(value: &str) -> Option<String> {
    Some(value.chars().filter(char::is_ascii_digit).collect::<String>()).filter(|v| !v.is_empty())
}

fn code(value: &str) -> Option<String> {
    Some(value.trim().trim_start_matches('0').to_owned()).filter(|v| !v.is_empty())
}

/// Lower case, single spaces, without a trailing legal form's dots: `Bakkerij  De Korenschoof B.V.`
/// and `bakkerij de korenschoof bv` match.
fn name(value: &str) -> Option<String> {
    let words: Vec<String> =
        value.split_whitespace().map(|w| w.to_lowercase().replace('.', "")).filter(|w| !w.is_empty()).collect();
    Some(words.join(" ")).filter(|v| !v.is_empty())
}

/// A Koppel customer's name as people read it: the company, or the person's names.
pub fn display_name(local: &customer::Model) -> String {
    match &local.company_name {
        Some(company) if !company.trim().is_empty() => company.clone(),
        _ => [local.first_name.as_deref(), local.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The Koppel customers of an account not linked in this integration, by matching key value.
pub struct MatchIndex {
    by_key: HashMap<String, Vec<Uuid>>,
}

impl MatchIndex {
    pub async fn load(
        db: &impl ConnectionTrait,
        integration: &integration::Model,
        key: MatchingKey,
    ) -> EngineResult<Self> {
        let linked: std::collections::HashSet<Uuid> =
            links::of(integration, LinkedEntity::Customer).all(db).await?.into_iter().map(|l| l.local_id).collect();
        let mut by_key: HashMap<String, Vec<Uuid>> = HashMap::new();
        for local in customer::Entity::find_in(integration.account_id).all(db).await? {
            if linked.contains(&local.id) {
                continue;
            }
            if let Some(value) = key.of_local(&local) {
                by_key.entry(value).or_default().push(local.id);
            }
        }
        Ok(Self { by_key })
    }

    /// The one unlinked Koppel customer with this key value; none when there is none or more than one.
    pub fn unique(&self, value: &str) -> Result<Option<Uuid>, usize> {
        match self.by_key.get(value).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([one]) => Ok(Some(*one)),
            Some(many) => Err(many.len()),
        }
    }

    /// Taken by a link made in this pass: not matched again.
    pub fn take(&mut self, value: &str, id: Uuid) {
        if let Some(ids) = self.by_key.get_mut(value) {
            ids.retain(|i| *i != id);
        }
    }
}

/// For each remote customer, the Koppel customers that could be it, best first: the same e-mail,
/// KvK number or relatie code, the same name, or a name that contains the other's. At most five each.
/// The account's customers are read once for all of them.
pub async fn suggestions(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    remotes: &[RemoteCustomer],
) -> EngineResult<Vec<Vec<(customer::Model, &'static str)>>> {
    const KEYS: [(MatchingKey, &str); 4] = [
        (MatchingKey::Email, "same e-mail address"),
        (MatchingKey::KvkNumber, "same KvK number"),
        (MatchingKey::RelatieCode, "same relatie code"),
        (MatchingKey::Name, "same name"),
    ];
    if remotes.is_empty() {
        return Ok(Vec::new());
    }
    let locals = customer::Entity::find_in(account_id).all(db).await?;
    let rank = |reason: &str| KEYS.iter().position(|(_, r)| *r == reason).unwrap_or(KEYS.len());
    Ok(remotes
        .iter()
        .map(|remote| {
            let remote_name = name(&remote.name).unwrap_or_default();
            let mut found: Vec<(customer::Model, &'static str)> = locals
                .iter()
                .filter_map(|local| {
                    let reason = KEYS
                        .iter()
                        .find(|(key, _)| key.of_remote(remote).is_some_and(|value| key.of_local(local) == Some(value)))
                        .map(|(_, reason)| *reason)
                        .or_else(|| {
                            let local_name = name(&display_name(local))?;
                            let similar = remote_name.len() >= 3
                                && local_name.len() >= 3
                                && (local_name.contains(&remote_name) || remote_name.contains(&local_name));
                            similar.then_some("similar name")
                        })?;
                    Some((local.clone(), reason))
                })
                .collect();
            found.sort_by_key(|(local, reason)| (rank(reason), local.id));
            found.truncate(5);
            found
        })
        .collect())
}

/// Keeps a remote customer that matched nothing for a person to link (or refreshes what it shows).
pub async fn wait_for_review(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    remote: &RemoteCustomer,
) -> EngineResult<()> {
    let row = customer_match::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(integration.account_id),
        integration_id: Set(integration.id),
        remote_id: Set(remote.id.clone()),
        label: Set(remote.label()),
        remote: Set(serde_json::to_value(remote).expect("serialises")),
        unlinked_by_hand: Set(false),
        seen_at: Set(Utc::now()),
    };
    customer_match::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([customer_match::Column::IntegrationId, customer_match::Column::RemoteId])
                .update_columns([
                    customer_match::Column::Label,
                    customer_match::Column::Remote,
                    customer_match::Column::SeenAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Remote ids a person unlinked: automatic matching leaves them alone.
pub async fn unlinked_by_hand(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
) -> EngineResult<std::collections::HashSet<String>> {
    Ok(customer_match::Entity::find_owned(integration.account_id, integration.id)
        .filter(customer_match::Column::UnlinkedByHand.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.remote_id)
        .collect())
}

/// No longer waiting: linked, or gone at the remote.
pub async fn reviewed(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    remote_id: &str,
) -> EngineResult<()> {
    customer_match::Entity::delete_owned(integration.account_id, integration.id)
        .filter(customer_match::Column::RemoteId.eq(remote_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Links a Koppel customer to a remote customer by hand. The remote customer's earlier link moves to
/// this customer; this customer's earlier remote twin (merging duplicates) waits for review, unlinked by
/// hand so that no pass links it back. Returns the remote id this customer was linked to before.
pub async fn link_by_hand(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    local: &customer::Model,
    remote_id: &str,
) -> EngineResult<Option<String>> {
    let existing = links::of(integration, LinkedEntity::Customer)
        .filter(
            Condition::any()
                .add(remote_link::Column::LocalId.eq(local.id))
                .add(remote_link::Column::RemoteId.eq(remote_id)),
        )
        .all(db)
        .await?;
    let before =
        existing.iter().find(|l| l.local_id == local.id && l.remote_id != remote_id).map(|l| l.remote_id.clone());
    if let Some(old) = &before {
        set_aside(db, integration, local, old).await?;
    }
    let now = Utc::now();
    let kept = existing.into_iter().find(|l| l.remote_id == remote_id);
    links::delete_of(integration, LinkedEntity::Customer)
        .filter(remote_link::Column::LocalId.eq(local.id))
        .filter(remote_link::Column::RemoteId.ne(remote_id))
        .exec(db)
        .await?;
    match kept {
        Some(link) => {
            let mut active: remote_link::ActiveModel = link.into();
            active.local_id = Set(local.id);
            active.manual = Set(true);
            // The next pass that sees the remote customer changed writes it onto this customer.
            active.content_hash = Set(String::new());
            active.update(db).await?;
        }
        None => {
            remote_link::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(integration.account_id),
                integration_id: Set(integration.id),
                entity: Set(LinkedEntity::Customer),
                local_id: Set(local.id),
                remote_id: Set(remote_id.to_owned()),
                content_hash: Set(String::new()),
                manual: Set(true),
                deactivated_by_sync: Set(false),
                last_seen_at: Set(None),
                last_synced_at: Set(None),
                created_at: Set(now),
            }
            .insert(db)
            .await?;
        }
    }
    reviewed(db, integration, remote_id).await?;
    Ok(before)
}

/// Unlinks a Koppel customer from its remote twin by hand; the remote customer waits for review and is
/// never linked again automatically. Returns the remote id it was linked to.
pub async fn unlink_by_hand(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    local: &customer::Model,
) -> EngineResult<Option<String>> {
    let Some(link) = links::of(integration, LinkedEntity::Customer)
        .filter(remote_link::Column::LocalId.eq(local.id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    set_aside(db, integration, local, &link.remote_id).await?;
    links::delete_of(integration, LinkedEntity::Customer).filter(remote_link::Column::Id.eq(link.id)).exec(db).await?;
    Ok(Some(link.remote_id))
}

/// Puts a remote customer a person took a link from up for review, unlinked by hand. What it shows is
/// the Koppel customer it was linked to (which followed it), until a pass sees it change.
async fn set_aside(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    local: &customer::Model,
    remote_id: &str,
) -> EngineResult<()> {
    let code = local.extra_fields[RELATIE_CODE_FIELD].as_str().map(str::to_owned);
    let remote = RemoteCustomer {
        id: remote_id.to_owned(),
        code,
        name: display_name(local),
        email: local.email.clone(),
        phone: local.phone.clone(),
        kvk_number: local.kvk_number.clone(),
        vat_number: None,
        address: None,
        inactive: !local.active,
        modified_at: None,
        fields: Default::default(),
    };
    wait_for_review(db, integration, &remote).await?;
    customer_match::Entity::update_owned(integration.account_id, integration.id)
        .col_expr(customer_match::Column::UnlinkedByHand, sea_orm::sea_query::Expr::value(true))
        .filter(customer_match::Column::RemoteId.eq(remote_id))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_compared_the_way_people_write_them() {
        assert_eq!(email(" Info@Korenschoof.NL "), Some("info@korenschoof.nl".into()));
        assert_eq!(email("geen"), None);
        assert_eq!(kvk("6959 9068"), Some("69599068".into()));
        assert_eq!(code("001001"), Some("1001".into()));
        assert_eq!(name("Bakkerij  De Korenschoof B.V."), name("bakkerij de korenschoof BV"));
    }
}

//! Status mappings: which local status a remote status stands for. An integration's explicit
//! mappings (`status_mappings`) say it for the remote's own statuses; the system statuses are
//! implicit — a remote status with the key of a local system status maps onto it unless an explicit
//! mapping overrides it. One function for the API (which lists the mappings) and the status pull
//! (which applies them), so both always agree.

use koppel_entity::{IntegrationOwned, Scoped, integration, status, status_mapping};
use sea_orm::{ConnectionTrait, DbErr, QueryOrder};

/// One remote status and the local status it maps onto.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusMapping {
    pub remote_status: String,
    pub local_status: status::Model,
    /// A system status mapped by key, not by an explicit mapping.
    pub automatic: bool,
}

/// The effective status mappings of one integration: explicit ones, and the implicit ones of the
/// system statuses they do not override.
#[derive(Debug, Clone, Default)]
pub struct StatusMap {
    mappings: Vec<StatusMapping>,
}

impl StatusMap {
    /// The map of `explicit` mappings over the account's `statuses` (in the order to list them). An
    /// explicit mapping onto a status that no longer exists maps nothing.
    pub fn new(explicit: Vec<status_mapping::Model>, statuses: &[status::Model]) -> Self {
        let mut mappings: Vec<StatusMapping> = statuses
            .iter()
            .filter(|s| s.system && !explicit.iter().any(|m| m.remote_status == s.key))
            .map(|s| StatusMapping { remote_status: s.key.clone(), local_status: s.clone(), automatic: true })
            .collect();
        mappings.extend(explicit.into_iter().filter_map(|m| {
            let local = statuses.iter().find(|s| s.id == m.local_status_id)?;
            Some(StatusMapping { remote_status: m.remote_status, local_status: local.clone(), automatic: false })
        }));
        Self { mappings }
    }

    /// The local status `remote_status` maps onto; `None` when it is not mapped (then it is not synced).
    pub fn local_for(&self, remote_status: &str) -> Option<&status::Model> {
        self.mappings.iter().find(|m| m.remote_status == remote_status).map(|m| &m.local_status)
    }

    /// Every mapping: the implicit ones of the system statuses first, then the explicit ones.
    pub fn mappings(&self) -> &[StatusMapping] {
        &self.mappings
    }

    pub fn into_mappings(self) -> Vec<StatusMapping> {
        self.mappings
    }
}

/// The effective status mappings of `integration`, read from the database.
pub async fn load(db: &impl ConnectionTrait, integration: &integration::Model) -> Result<StatusMap, DbErr> {
    let explicit = status_mapping::Entity::find_owned(integration.account_id, integration.id)
        .order_by_asc(status_mapping::Column::RemoteStatus)
        .all(db)
        .await?;
    let statuses =
        status::Entity::find_in(integration.account_id).order_by_asc(status::Column::Position).all(db).await?;
    Ok(StatusMap::new(explicit, &statuses))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn status(key: &str, system: bool) -> status::Model {
        status::Model {
            id: Uuid::now_v7(),
            account_id: Uuid::nil(),
            key: key.into(),
            name: key.into(),
            system,
            position: 0,
            created_at: chrono::Utc::now(),
        }
    }

    fn explicit(remote: &str, local: &status::Model) -> status_mapping::Model {
        status_mapping::Model {
            id: Uuid::now_v7(),
            account_id: Uuid::nil(),
            integration_id: Uuid::nil(),
            remote_status: remote.into(),
            local_status_id: local.id,
        }
    }

    #[test]
    fn system_statuses_map_by_key_unless_overridden_and_custom_ones_only_when_mapped() {
        let (new, cancelled, approved) = (status("new", true), status("cancelled", true), status("approved", false));
        let statuses = [new.clone(), cancelled.clone(), approved.clone()];
        let map = StatusMap::new(vec![explicit("callback", &approved), explicit("cancelled", &new)], &statuses);
        assert_eq!(map.local_for("new").map(|s| &s.key), Some(&new.key), "a system status maps by key");
        assert_eq!(map.local_for("callback").map(|s| &s.key), Some(&approved.key), "explicitly mapped");
        assert_eq!(map.local_for("cancelled").map(|s| &s.key), Some(&new.key), "the override wins");
        assert_eq!(map.local_for("approved"), None, "a custom local status is not implicit");
        assert_eq!(map.local_for("unknown"), None);
        let automatic: Vec<(&str, bool)> =
            map.mappings().iter().map(|m| (m.remote_status.as_str(), m.automatic)).collect();
        assert_eq!(automatic, [("new", true), ("callback", false), ("cancelled", false)]);
    }

    #[test]
    fn a_mapping_onto_a_status_that_is_gone_maps_nothing() {
        let gone = status("gone", false);
        let map = StatusMap::new(vec![explicit("callback", &gone)], &[status("new", true)]);
        assert_eq!(map.local_for("callback"), None);
    }
}

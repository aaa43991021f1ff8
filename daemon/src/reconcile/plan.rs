//! The pure reconciliation plan.

use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// What to do with a linked local record whose remote twin is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingAction {
    Ignore,
    Deactivate,
    Delete,
}

/// A local record linked to a remote one.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRecord<Id> {
    pub local_id: Id,
    pub remote_id: String,
    /// The content hash of the remote record as last synced.
    pub content_hash: String,
    /// Already deactivated locally (so deactivating again changes nothing).
    pub active: bool,
    /// Whether it may be deleted; records others depend on (e.g. sold products) are deactivated instead.
    pub deletable: bool,
    /// Switched off by a pass because it was gone at the remote (not by a person): switched on again
    /// when it comes back.
    pub deactivated_by_sync: bool,
}

/// A record as the remote shows it now.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteRecord {
    pub remote_id: String,
    pub content_hash: String,
}

/// When a pass must not act on missing records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanLimits {
    /// The remote read was complete; a partial or failed read never deactivates or deletes.
    pub remote_complete: bool,
    /// The largest share of linked records a pass may deactivate or delete (0.0–1.0) before it stops
    /// and raises an alert instead. A single record is never held back on this ground.
    pub max_missing_share: f64,
}

impl Default for PlanLimits {
    fn default() -> Self {
        Self { remote_complete: true, max_missing_share: 0.5 }
    }
}

/// Why a pass leaves records gone at the remote alone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum HeldBack {
    /// The remote read failed part-way or was cut off: what is not seen may still be there.
    PartialRead,
    /// More of the linked records would go than the brake allows.
    TooManyMissing { missing: usize, linked: usize, max_share: f64 },
}

impl std::fmt::Display for HeldBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PartialRead => {
                f.write_str("the remote could not be read completely, so nothing is deactivated or deleted")
            }
            Self::TooManyMissing { missing, linked, max_share } => write!(
                f,
                "{missing} of {linked} linked records are gone at the remote, more than the allowed {:.0} %: check the remote before anything is deactivated or deleted",
                max_share * 100.0
            ),
        }
    }
}

/// What a pass would do.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<Id> {
    /// Remote records with no local twin. Whether they are created is the caller's choice (an
    /// import-only entity such as products creates nothing on its own).
    pub new_remote: Vec<String>,
    /// Linked records whose remote content changed.
    pub update: Vec<(Id, String)>,
    pub unchanged: Vec<Id>,
    /// Records a pass switched off that are back at the remote: switched on again (and refreshed too
    /// when also in `update`). A record a person switched off is never here.
    pub reactivate: Vec<Id>,
    /// Linked records gone at the remote, with the action the policy asks for.
    pub missing: Vec<(Id, MissingAction)>,
    /// Why missing records are not acted on, when they are not.
    pub held_back: Option<HeldBack>,
}

impl<Id> Plan<Id> {
    /// Whether applying the plan changes anything.
    pub fn changes_nothing(&self) -> bool {
        self.update.is_empty()
            && self.reactivate.is_empty()
            && self.missing.iter().all(|(_, action)| *action == MissingAction::Ignore)
    }
}

/// Compares linked local records with the remote's records.
pub fn plan<Id: Clone>(
    local: &[LocalRecord<Id>],
    remote: &[RemoteRecord],
    policy: MissingAction,
    limits: PlanLimits,
) -> Plan<Id> {
    let remote_by_id: HashMap<&str, &RemoteRecord> = remote.iter().map(|r| (r.remote_id.as_str(), r)).collect();
    let linked: HashSet<&str> = local.iter().map(|l| l.remote_id.as_str()).collect();
    let mut result = Plan {
        new_remote: remote
            .iter()
            .filter(|r| !linked.contains(r.remote_id.as_str()))
            .map(|r| r.remote_id.clone())
            .collect(),
        update: Vec::new(),
        unchanged: Vec::new(),
        reactivate: Vec::new(),
        missing: Vec::new(),
        held_back: None,
    };
    let mut missing = Vec::new();
    for record in local {
        let back = !record.active && record.deactivated_by_sync;
        match remote_by_id.get(record.remote_id.as_str()) {
            Some(twin) if twin.content_hash == record.content_hash && !back => {
                result.unchanged.push(record.local_id.clone())
            }
            Some(twin) => {
                if back {
                    result.reactivate.push(record.local_id.clone());
                }
                if twin.content_hash != record.content_hash {
                    result.update.push((record.local_id.clone(), twin.content_hash.clone()));
                }
            }
            None => missing.push(record),
        }
    }
    let action_for = |record: &LocalRecord<Id>| match policy {
        MissingAction::Delete if !record.deletable && record.active => MissingAction::Deactivate,
        // Deactivating what is already inactive changes nothing.
        MissingAction::Delete | MissingAction::Deactivate if !record.active && !record.deletable => {
            MissingAction::Ignore
        }
        MissingAction::Deactivate if !record.active => MissingAction::Ignore,
        other => other,
    };
    let acting = missing.iter().filter(|r| action_for(r) != MissingAction::Ignore).count();
    result.held_back = if acting == 0 {
        None
    } else if !limits.remote_complete {
        Some(HeldBack::PartialRead)
    } else if acting > 1 && (acting as f64) > limits.max_missing_share * local.len() as f64 {
        Some(HeldBack::TooManyMissing { missing: acting, linked: local.len(), max_share: limits.max_missing_share })
    } else {
        None
    };
    result.missing = missing
        .into_iter()
        .map(|r| {
            let action = if result.held_back.is_some() { MissingAction::Ignore } else { action_for(r) };
            (r.local_id.clone(), action)
        })
        .collect();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(id: u32, remote: &str, hash: &str) -> LocalRecord<u32> {
        LocalRecord {
            local_id: id,
            remote_id: remote.into(),
            content_hash: hash.into(),
            active: true,
            deletable: true,
            deactivated_by_sync: false,
        }
    }

    fn remote(id: &str, hash: &str) -> RemoteRecord {
        RemoteRecord { remote_id: id.into(), content_hash: hash.into() }
    }

    #[test]
    fn sorts_records_into_new_changed_unchanged_and_missing() {
        let locals = [local(1, "a", "h1"), local(2, "b", "h2"), local(3, "c", "h3"), local(4, "d", "h4")];
        let remotes = [remote("a", "h1"), remote("b", "h2-new"), remote("c", "h3"), remote("e", "h5")];
        let result = plan(&locals, &remotes, MissingAction::Deactivate, PlanLimits::default());
        assert_eq!(result.new_remote, ["e"]);
        assert_eq!(result.update, [(2, "h2-new".to_string())]);
        assert_eq!(result.unchanged, [1, 3]);
        assert_eq!(result.missing, [(4, MissingAction::Deactivate)]);
        assert_eq!(result.held_back, None);
        assert!(!result.changes_nothing());
    }

    #[test]
    fn every_policy_for_missing_records() {
        let locals = [local(1, "a", "h"), local(2, "b", "h"), local(3, "c", "h")];
        let remotes = [remote("a", "h"), remote("b", "h")];
        for policy in [MissingAction::Ignore, MissingAction::Deactivate, MissingAction::Delete] {
            let result = plan(&locals, &remotes, policy, PlanLimits::default());
            assert_eq!(result.missing, [(3, policy)]);
        }
        let mut inactive = locals.clone();
        inactive[2].active = false;
        let result = plan(&inactive, &remotes, MissingAction::Deactivate, PlanLimits::default());
        assert_eq!(result.missing, [(3, MissingAction::Ignore)], "already inactive");
        assert!(result.changes_nothing());
    }

    #[test]
    fn records_that_cannot_be_deleted_are_deactivated_once_and_then_left_alone() {
        let mut locals = vec![local(1, "a", "h"), local(2, "b", "h"), local(3, "c", "h")];
        locals[2].deletable = false;
        let remotes = [remote("a", "h"), remote("b", "h")];
        let first = plan(&locals, &remotes, MissingAction::Delete, PlanLimits::default());
        assert_eq!(first.missing, [(3, MissingAction::Deactivate)]);
        locals[2].active = false;
        let second = plan(&locals, &remotes, MissingAction::Delete, PlanLimits::default());
        assert_eq!(second.missing, [(3, MissingAction::Ignore)]);
        assert!(second.changes_nothing());
        // Nor does it count against the share of records a pass may remove.
        locals[1].remote_id = "gone".into();
        let third = plan(&locals, &remotes[..1], MissingAction::Delete, PlanLimits::default());
        assert_eq!(third.held_back, None);
        assert_eq!(third.missing, [(2, MissingAction::Delete), (3, MissingAction::Ignore)]);
    }

    #[test]
    fn a_record_the_pass_switched_off_is_switched_on_when_it_comes_back_but_not_one_a_person_switched_off() {
        let mut locals = vec![local(1, "a", "h"), local(2, "b", "h"), local(3, "c", "h")];
        locals[0].active = false;
        locals[0].deactivated_by_sync = true;
        locals[1].active = false; // switched off by a person
        locals[2].active = false;
        locals[2].deactivated_by_sync = true;
        let remotes = [remote("a", "h"), remote("b", "h"), remote("c", "h-new")];
        let result = plan(&locals, &remotes, MissingAction::Deactivate, PlanLimits::default());
        assert_eq!(result.reactivate, [1, 3]);
        assert_eq!(result.update, [(3, "h-new".to_string())], "back and changed: refreshed too");
        assert_eq!(result.unchanged, [2], "a person's choice stays");
        assert!(!result.changes_nothing());
    }

    #[test]
    fn a_single_record_follows_the_policy() {
        let locals = [local(1, "a", "h")];
        let result = plan(&locals, &[], MissingAction::Deactivate, PlanLimits::default());
        assert_eq!(result.missing, [(1, MissingAction::Deactivate)]);
    }

    #[test]
    fn a_partial_read_never_deactivates_or_deletes() {
        let locals = [local(1, "a", "h"), local(2, "b", "h"), local(3, "c", "h")];
        let remotes = [remote("a", "h"), remote("b", "h")];
        let limits = PlanLimits { remote_complete: false, ..PlanLimits::default() };
        let result = plan(&locals, &remotes, MissingAction::Delete, limits);
        assert_eq!(result.missing, [(3, MissingAction::Ignore)]);
        assert_eq!(result.held_back, Some(HeldBack::PartialRead));
        assert!(result.held_back.unwrap().to_string().contains("completely"));
    }

    #[test]
    fn too_many_missing_records_stop_the_pass() {
        let locals = [local(1, "a", "h"), local(2, "b", "h"), local(3, "c", "h"), local(4, "d", "h")];
        let remotes = [remote("a", "h")];
        let result = plan(&locals, &remotes, MissingAction::Deactivate, PlanLimits::default());
        assert!(result.missing.iter().all(|(_, action)| *action == MissingAction::Ignore));
        assert!(matches!(result.held_back, Some(HeldBack::TooManyMissing { missing: 3, linked: 4, .. })));
        assert!(result.held_back.unwrap().to_string().contains("3 of 4"));
        // Exactly half is still allowed.
        let remotes = [remote("a", "h"), remote("b", "h")];
        let result = plan(&locals, &remotes, MissingAction::Deactivate, PlanLimits::default());
        assert_eq!(result.missing, [(3, MissingAction::Deactivate), (4, MissingAction::Deactivate)]);
        // An empty remote is the clearest case of a remote that should be checked first.
        let result = plan(&locals, &[], MissingAction::Delete, PlanLimits::default());
        assert!(result.held_back.is_some());
    }

    #[test]
    fn applying_a_plan_and_planning_again_changes_nothing() {
        let mut locals = vec![local(1, "a", "h1"), local(2, "b", "h2"), local(3, "c", "h3")];
        let remotes = [remote("a", "h1-new"), remote("b", "h2"), remote("c", "h3")];
        let first = plan(&locals, &remotes, MissingAction::Deactivate, PlanLimits::default());
        for (id, hash) in &first.update {
            locals.iter_mut().find(|l| l.local_id == *id).unwrap().content_hash = hash.clone();
        }
        let second = plan(&locals, &remotes, MissingAction::Deactivate, PlanLimits::default());
        assert!(second.changes_nothing());
        assert_eq!(second.unchanged, [1, 2, 3]);
    }
}

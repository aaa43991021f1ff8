//! The pure reconciliation plan.
//!
//! [`Planner`] is the streaming form a pass uses: it holds the linked local records (sorted by remote id,
//! with 32-byte hashes: about 130 bytes a record, so a million fit in well under 256 MiB) and takes the
//! remote records one page at a time, so the remote catalogue is never held whole. [`plan`] is the same
//! computation over two slices.

pub use crate::content_hash::ContentHash;
use serde::Serialize;

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
    pub content_hash: ContentHash,
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
    pub content_hash: ContentHash,
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
    /// Linked records whose remote content changed, with the remote's hash now.
    pub update: Vec<(Id, ContentHash)>,
    pub unchanged: Vec<Id>,
    /// Records a pass switched off that are back at the remote: switched on again (and refreshed too
    /// when also in `update`). A record a person switched off is never here.
    pub reactivate: Vec<Id>,
    /// Linked records gone at the remote, with the action the policy asks for, in the order the local
    /// records were given.
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

/// What a remote record is to the plan, so that a pass keeps only what it will need of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// No local twin.
    New,
    Unchanged,
    /// Changed, or back after a pass switched its twin off: the pass needs the full record.
    Changed,
    /// The remote listed this id before in the same pass; the first listing counts.
    Repeated,
}

/// A linked local record and what the remote showed of it so far.
struct Entry<Id> {
    record: LocalRecord<Id>,
    /// Its place in the caller's list, to give missing records back in that order.
    position: u32,
    seen: bool,
}

/// The plan, computed one remote record at a time.
pub struct Planner<Id> {
    /// Sorted by remote id: a binary search finds a twin without a hash table's empty buckets.
    local: Vec<Entry<Id>>,
    new_remote: Vec<String>,
    /// Remote ids without a local twin already seen, to tell a repeat from a new record.
    new_seen: std::collections::HashSet<String>,
    update: Vec<(Id, ContentHash)>,
    unchanged: Vec<Id>,
    reactivate: Vec<Id>,
}

impl<Id: Clone> Planner<Id> {
    pub fn new(local: Vec<LocalRecord<Id>>) -> Self {
        let mut local: Vec<Entry<Id>> = local
            .into_iter()
            .enumerate()
            .map(|(position, record)| Entry { record, position: position as u32, seen: false })
            .collect();
        local.sort_unstable_by(|a, b| a.record.remote_id.cmp(&b.record.remote_id).then(a.position.cmp(&b.position)));
        Self {
            local,
            new_remote: Vec::new(),
            new_seen: Default::default(),
            update: Vec::new(),
            unchanged: Vec::new(),
            reactivate: Vec::new(),
        }
    }

    /// How many linked local records the plan compares.
    pub fn linked(&self) -> usize {
        self.local.len()
    }

    /// Takes one remote record. Every local record linked to it gets its verdict.
    pub fn observe(&mut self, remote_id: &str, content_hash: ContentHash) -> Observed {
        let start = self.local.partition_point(|e| e.record.remote_id.as_str() < remote_id);
        let twins = self.local[start..].iter_mut().take_while(|e| e.record.remote_id == remote_id);
        let mut observed = None;
        for entry in twins {
            if entry.seen {
                return Observed::Repeated;
            }
            entry.seen = true;
            let record = &entry.record;
            let back = !record.active && record.deactivated_by_sync;
            if back {
                self.reactivate.push(record.local_id.clone());
            }
            if content_hash != record.content_hash {
                self.update.push((record.local_id.clone(), content_hash));
            }
            let verdict = if back || content_hash != record.content_hash {
                Observed::Changed
            } else {
                self.unchanged.push(record.local_id.clone());
                Observed::Unchanged
            };
            observed = Some(match observed {
                Some(Observed::Changed) => Observed::Changed,
                _ => verdict,
            });
        }
        match observed {
            Some(verdict) => verdict,
            None if self.new_seen.contains(remote_id) => Observed::Repeated,
            None => {
                self.new_seen.insert(remote_id.to_owned());
                self.new_remote.push(remote_id.to_owned());
                Observed::New
            }
        }
    }

    /// For a read of the changes only: every linked record the remote did not list stays as it is —
    /// neither unchanged nor changed, nor switched on again — except those `gone` names, which are
    /// missing.
    pub fn leave_unlisted(&mut self, gone: impl Fn(&str) -> bool) {
        for entry in self.local.iter_mut().filter(|e| !e.seen) {
            entry.seen = !gone(&entry.record.remote_id);
        }
    }

    /// The plan: what was not seen is missing, and follows `policy` within `limits`.
    pub fn finish(self, policy: MissingAction, limits: PlanLimits) -> Plan<Id> {
        let linked = self.local.len();
        let action_for = |record: &LocalRecord<Id>| match policy {
            MissingAction::Delete if !record.deletable && record.active => MissingAction::Deactivate,
            // Deactivating what is already inactive changes nothing.
            MissingAction::Delete | MissingAction::Deactivate if !record.active && !record.deletable => {
                MissingAction::Ignore
            }
            MissingAction::Deactivate if !record.active => MissingAction::Ignore,
            other => other,
        };
        let mut missing: Vec<(u32, Id, MissingAction)> = self
            .local
            .into_iter()
            .filter(|e| !e.seen)
            .map(|e| {
                let action = action_for(&e.record);
                (e.position, e.record.local_id, action)
            })
            .collect();
        missing.sort_unstable_by_key(|(position, _, _)| *position);
        let acting = missing.iter().filter(|(_, _, action)| *action != MissingAction::Ignore).count();
        let held_back = if acting == 0 {
            None
        } else if !limits.remote_complete {
            Some(HeldBack::PartialRead)
        } else if acting > 1 && (acting as f64) > limits.max_missing_share * linked as f64 {
            Some(HeldBack::TooManyMissing { missing: acting, linked, max_share: limits.max_missing_share })
        } else {
            None
        };
        Plan {
            new_remote: self.new_remote,
            update: self.update,
            unchanged: self.unchanged,
            reactivate: self.reactivate,
            missing: missing
                .into_iter()
                .map(|(_, id, action)| (id, if held_back.is_some() { MissingAction::Ignore } else { action }))
                .collect(),
            held_back,
        }
    }
}

/// Compares linked local records with the remote's records.
pub fn plan<Id: Clone>(
    local: &[LocalRecord<Id>],
    remote: &[RemoteRecord],
    policy: MissingAction,
    limits: PlanLimits,
) -> Plan<Id> {
    let mut planner = Planner::new(local.to_vec());
    for record in remote {
        planner.observe(&record.remote_id, record.content_hash);
    }
    planner.finish(policy, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(id: u32, remote: &str, hash: &str) -> LocalRecord<u32> {
        LocalRecord {
            local_id: id,
            remote_id: remote.into(),
            content_hash: ContentHash::from_stored(hash),
            active: true,
            deletable: true,
            deactivated_by_sync: false,
        }
    }

    fn remote(id: &str, hash: &str) -> RemoteRecord {
        RemoteRecord { remote_id: id.into(), content_hash: ContentHash::from_stored(hash) }
    }

    #[test]
    fn a_read_of_the_changes_leaves_the_unlisted_alone_and_only_the_gone_are_missing() {
        let mut off = local(3, "r3", "h3");
        (off.active, off.deactivated_by_sync) = (false, true);
        let mut planner = Planner::new(vec![local(1, "r1", "h1"), local(2, "r2", "h2"), off, local(4, "r4", "h4")]);
        assert_eq!(planner.observe("r1", ContentHash::from_stored("h1b")), Observed::Changed);
        planner.leave_unlisted(|id| id == "r4");
        let plan = planner.finish(MissingAction::Delete, PlanLimits { max_missing_share: 1.0, ..Default::default() });
        assert_eq!(plan.update.len(), 1);
        assert!(plan.unchanged.is_empty(), "the unlisted are not reported unchanged");
        assert!(plan.reactivate.is_empty(), "one switched off by a pass stays off until the remote lists it");
        assert_eq!(plan.missing, [(4, MissingAction::Delete)]);
    }

    #[test]
    fn sorts_records_into_new_changed_unchanged_and_missing() {
        let locals = [local(1, "a", "h1"), local(2, "b", "h2"), local(3, "c", "h3"), local(4, "d", "h4")];
        let remotes = [remote("a", "h1"), remote("b", "h2-new"), remote("c", "h3"), remote("e", "h5")];
        let result = plan(&locals, &remotes, MissingAction::Deactivate, PlanLimits::default());
        assert_eq!(result.new_remote, ["e"]);
        assert_eq!(result.update, [(2, ContentHash::from_stored("h2-new"))]);
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
        assert_eq!(result.update, [(3, ContentHash::from_stored("h-new"))], "back and changed: refreshed too");
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
            locals.iter_mut().find(|l| l.local_id == *id).unwrap().content_hash = *hash;
        }
        let second = plan(&locals, &remotes, MissingAction::Deactivate, PlanLimits::default());
        assert!(second.changes_nothing());
        assert_eq!(second.unchanged, [1, 2, 3]);
    }

    #[test]
    fn a_remote_that_lists_a_record_twice_counts_it_once() {
        let locals = [local(1, "a", "h"), local(2, "b", "h")];
        let mut planner = Planner::new(locals.to_vec());
        let h = ContentHash::from_stored("h");
        assert_eq!(planner.observe("a", h), Observed::Unchanged);
        assert_eq!(planner.observe("a", ContentHash::from_stored("other")), Observed::Repeated);
        assert_eq!(planner.observe("n", h), Observed::New);
        assert_eq!(planner.observe("n", h), Observed::Repeated);
        assert_eq!(planner.observe("b", ContentHash::from_stored("h-new")), Observed::Changed);
        let result = planner.finish(MissingAction::Deactivate, PlanLimits::default());
        assert_eq!((result.unchanged, result.new_remote), (vec![1], vec!["n".to_owned()]));
        assert_eq!(result.update, [(2, ContentHash::from_stored("h-new"))]);
    }

    #[test]
    fn stored_hex_hashes_are_read_back_as_their_bytes_and_other_strings_still_compare() {
        let hex = "00ff".repeat(16);
        let hash = ContentHash::from_stored(&hex);
        assert_eq!(hash.to_hex(), hex);
        assert_eq!(ContentHash::from_stored(&hex.to_uppercase()), hash);
        assert_eq!(ContentHash::from_stored("legacy"), ContentHash::from_stored("legacy"));
        assert_ne!(ContentHash::from_stored("legacy"), ContentHash::from_stored("legacy2"));
        assert_ne!(ContentHash::from_stored(&hex[..62]), hash, "not 64 characters: digested, not read");
    }
}

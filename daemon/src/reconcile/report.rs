//! What a pass of any entity found and did, in the terms a run counts: one [`Change`] per record.

use super::HeldBack;
use chrono::{DateTime, Utc};
use koppel_entity::enums::MissingRecordPolicy;
use uuid::Uuid;

/// What a pass did (or, for a dry run, would do) with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeAction {
    /// The remote changed it: refreshed locally.
    Update,
    Unchanged,
    /// Gone at the remote: switched off locally.
    Deactivate,
    /// Gone at the remote: removed locally.
    Delete,
    /// Gone at the remote, left as it is (policy, already inactive, or held back).
    Ignore,
    /// At the remote but not imported (import it to sync it).
    NotImported,
    /// Changed at the remote, but the local rules refuse the new version (see the note).
    Failed,
    /// Switched off by an earlier pass, back at the remote: switched on again.
    Reactivate,
    /// At the remote in a state with no local counterpart (a remote sale status that is not mapped):
    /// left as it is, with a warning naming it (map it to sync it).
    Unmapped,
    /// New at the remote, with no local twin: created locally and linked (customers, when the
    /// integration creates the unmatched).
    Create,
    /// New at the remote and matched to an unlinked local record by the matching key: linked and
    /// refreshed.
    Link,
    /// New at the remote and matched to nothing (or unlinked by hand): left for a person to link.
    Unmatched,
}

impl ChangeAction {
    /// Every action: a run's counts add up when each record has exactly one of them.
    pub const ALL: [ChangeAction; 12] = [
        Self::Update,
        Self::Unchanged,
        Self::Deactivate,
        Self::Delete,
        Self::Ignore,
        Self::NotImported,
        Self::Failed,
        Self::Reactivate,
        Self::Unmapped,
        Self::Create,
        Self::Link,
        Self::Unmatched,
    ];
}

/// One record a pass went through.
#[derive(Debug, Clone)]
pub struct Change {
    pub remote_id: String,
    /// How people know the record, e.g. a product's SKU or a customer's name.
    pub label: Option<String>,
    /// The local record, when there is one.
    pub local_id: Option<Uuid>,
    pub action: ChangeAction,
    /// Why the action differs from the plan, e.g. a product with sales is deactivated, not deleted.
    pub note: Option<String>,
    /// For a record written: what came from the remote and what was written (stored with its event,
    /// secrets redacted). Only records that changed carry one.
    pub payload: Option<serde_json::Value>,
}

impl Change {
    /// Adds to the note (e.g. the fields a mapping could not map).
    pub fn add_note(&mut self, more: Option<String>) {
        if let Some(more) = more {
            self.note = Some(match self.note.take() {
                Some(note) => format!("{note}; {more}"),
                None => more,
            });
        }
    }
}

/// What a pass found and did.
#[derive(Debug, Clone)]
pub struct PassReport {
    /// False for a dry run.
    pub applied: bool,
    pub held_back: Option<HeldBack>,
    pub policy: MissingRecordPolicy,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub changes: Vec<Change>,
}

impl PassReport {
    pub fn count(&self, action: ChangeAction) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

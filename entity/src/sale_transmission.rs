//! A sale on its way to one integration: the outbox row sale forwarding writes with the sale change
//! that qualifies it, and the daemon sends once it is due.

use crate::enums::{TransmissionFailure, TransmissionState, TransmissionTrigger};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sale_transmissions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub sale_id: Uuid,
    pub integration_id: Uuid,
    pub state: TransmissionState,
    pub trigger: TransmissionTrigger,
    /// Not sent before this moment: the delay in working days, or the next attempt's backoff.
    pub not_before: DateTimeUtc,
    /// Attempts to send so far (a claim counts as one).
    pub attempts: i32,
    /// Sent with every attempt, so that a retry never creates a second sale at the remote.
    pub idempotency_key: String,
    /// The sale's id at the remote, once it accepted it.
    pub remote_id: Option<String>,
    /// The sale's status at the remote when it was last applied here (from the answer to the send, then
    /// from each status pull): the pull applies a remote status only when it changed since, so a local
    /// status change the remote never saw is not undone.
    pub remote_status: Option<String>,
    pub failure: Option<TransmissionFailure>,
    pub last_error: Option<String>,
    /// Every mapping problem found, as a JSON array of `{field, message}`.
    pub problems: Option<Json>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

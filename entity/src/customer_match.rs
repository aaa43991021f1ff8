//! A remote customer that matched no local customer by the integration's matching key and waits for a
//! person to link it (`customerMatches`, `linkCustomer`), or one a person unlinked: automatic matching
//! leaves those alone.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_matches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub integration_id: Uuid,
    pub remote_id: String,
    /// How people know it at the remote, e.g. `1001 Bakkerij De Korenschoof`.
    pub label: String,
    /// The remote customer in the connectors' neutral shape (`RemoteCustomer`).
    pub remote: Json,
    /// Unlinked by a person: never linked again automatically, only by hand.
    pub unlinked_by_hand: bool,
    /// When a pass last saw it at the remote.
    pub seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! Connectors: one trait, one module per remote kind, and a registry by kind.
//!
//! Each kind declares its capabilities, its settings and its credential fields ([`FieldSpec`]); the
//! API validates an integration's settings against them and shows them in `integrationKinds`. The
//! schedule settings are common to every kind ([`SCHEDULE_SETTINGS`]): a kind gets the ones of the
//! entities it runs on a schedule ([`KindSpec::schedules`]), so that no kind repeats them.

pub mod exact_online;
pub mod items;
pub mod oauth_tokens;
pub mod peer;
pub mod sale_settings;
mod settings;
pub mod shared;
pub mod snelstart;
pub mod types;

pub use items::{ItemField, ItemValues, OutboundItem, RemoteItem};
pub use settings::{FieldSpec, FieldType, SettingProblem, validate_settings};
pub use types::*;

use async_trait::async_trait;
use koppel_entity::enums::LinkedEntity;
use std::collections::HashMap;

/// What a remote kind can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Products,
    Customers,
    Invoices,
    Payments,
    SalePush,
    /// Sales go out as ERP sales orders (the outbox's order push): the kind also declares `SalePush`.
    OrderPush,
    /// Koppel's products go to the remote as its items, created or updated by SKU (the engine's
    /// product push: [`Connector::find_items`], [`Connector::category_id`],
    /// [`Connector::create_item`], [`Connector::update_item`]).
    ProductPush,
    SaleStatusPull,
    InquirySend,
    DeletedRecordsFeed,
    IncrementalSince,
}

/// Why a call to a remote failed, in terms an operator can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    #[error("the remote is unreachable: {0}")]
    Unreachable(String),
    #[error("the remote did not answer in time")]
    Timeout,
    #[error("the remote refused the credentials: {0}")]
    WrongCredentials(String),
    #[error("the token has been revoked at the remote")]
    Revoked,
    #[error("the token belongs to account {actual}, not {expected}")]
    WrongAccount { expected: String, actual: String },
    #[error("the remote refused: {0}")]
    Forbidden(String),
    #[error("the remote is busy; retry after {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("the remote failed: {0}")]
    Remote(String),
    #[error("the remote answered something unexpected: {0}")]
    Protocol(String),
    #[error("this kind of integration cannot {0}")]
    Unsupported(&'static str),
    #[error("the integration is not configured: {0}")]
    Configuration(String),
    /// The remote checked the record and refused it (its validation, a 4xx): sending the same again
    /// cannot help; a changed record or mapping may.
    #[error("the remote refused it: {0}")]
    Refused(String),
}

impl ConnectorError {
    /// Whether trying again later cannot help until a person changes something (credentials, settings,
    /// the grant at the remote). Timeouts, unreachable or busy remotes and remote failures are temporary.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::WrongCredentials(_)
                | Self::Revoked
                | Self::WrongAccount { .. }
                | Self::Forbidden(_)
                | Self::Unsupported(_)
                | Self::Configuration(_)
                | Self::Refused(_)
        )
    }

    /// How long the remote asked us to wait, when it said so.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::RateLimited { retry_after_seconds } => Some(std::time::Duration::from_secs(*retry_after_seconds)),
            _ => None,
        }
    }

    /// A stable code for clients and a label for metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "UNREACHABLE",
            Self::Timeout => "TIMEOUT",
            Self::WrongCredentials(_) => "WRONG_CREDENTIALS",
            Self::Revoked => "REVOKED",
            Self::WrongAccount { .. } => "WRONG_ACCOUNT",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Remote(_) => "REMOTE_ERROR",
            Self::Protocol(_) => "PROTOCOL_ERROR",
            Self::Unsupported(_) => "UNSUPPORTED",
            Self::Configuration(_) => "CONFIGURATION",
            Self::Refused(_) => "REMOTE_REFUSED",
        }
    }
}

/// Which remote records to list.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub first: usize,
    pub after: Option<String>,
    pub changed_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// A connection to one remote, built from an integration's settings and decrypted credentials.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Calls the remote and checks who we are there.
    async fn test_connection(&self) -> Result<ConnectionCheck, ConnectorError>;

    /// One page of the remote catalogue.
    async fn products(&self, _request: ListRequest) -> Result<Page<RemoteProduct>, ConnectorError> {
        Err(ConnectorError::Unsupported("list products"))
    }

    /// One page of the remote products changed after the opaque cursor `since` (the remote's own, as a
    /// page's [`Changes::cursor`] gave it before; none: from the beginning), from `request.after` on,
    /// each as it is now or gone for Koppel. Remotes without a cursor of their own list every product
    /// ([`Connector::products`]).
    async fn product_changes(
        &self,
        _since: Option<&str>,
        request: ListRequest,
    ) -> Result<Changes<ChangedRecord<RemoteProduct>>, ConnectorError> {
        let Page { items, next } = self.products(request).await?;
        Ok(Changes {
            page: Page { items: items.into_iter().map(ChangedRecord::Present).collect(), next },
            cursor: None,
        })
    }

    /// The remote products with these ids; ids the remote does not show are left out.
    async fn products_by_ids(&self, _ids: &[String]) -> Result<Vec<RemoteProduct>, ConnectorError> {
        Err(ConnectorError::Unsupported("list products"))
    }

    /// The fields the remote's products carry besides the built-in ones.
    async fn product_fields(&self) -> Result<Vec<RemoteField>, ConnectorError> {
        Ok(Vec::new())
    }

    /// The remote's own fields of its customers or invoices that field mappings may read (those the
    /// connector fills into `RemoteCustomer::fields` / `RemoteInvoice::fields`).
    fn record_fields(&self, _entity: LinkedEntity) -> Vec<RemoteField> {
        Vec::new()
    }

    async fn questions(&self) -> Result<Vec<RemoteQuestion>, ConnectorError> {
        Err(ConnectorError::Unsupported("list questions"))
    }

    async fn flows(&self) -> Result<Vec<RemoteFlow>, ConnectorError> {
        Err(ConnectorError::Unsupported("list flows"))
    }

    async fn statuses(&self) -> Result<Vec<RemoteStatus>, ConnectorError> {
        Err(ConnectorError::Unsupported("list statuses"))
    }

    /// Submits a sale. Idempotent by [`OutboundSale::idempotency_key`]: the same key again returns the
    /// sale made the first time. A refusal of the remote's validation is [`ConnectorError::Refused`].
    async fn submit_sale(&self, _sale: &OutboundSale) -> Result<AcceptedSale, ConnectorError> {
        Err(ConnectorError::Unsupported("receive sales"))
    }

    /// The ERP's order made under `reference` (its `YourRef`), when there is one.
    async fn find_order(&self, _reference: &str) -> Result<Option<AcceptedSale>, ConnectorError> {
        Err(ConnectorError::Unsupported("receive orders"))
    }

    /// The ERP's item ids of these item codes (SKUs); codes it does not know are left out.
    async fn items_by_code(&self, _codes: &[String]) -> Result<HashMap<String, String>, ConnectorError> {
        Err(ConnectorError::Unsupported("receive orders"))
    }

    /// Creates or updates the customer of an order at the ERP; returns its id there.
    async fn upsert_customer(&self, _customer: &OutboundCustomer) -> Result<String, ConnectorError> {
        Err(ConnectorError::Unsupported("receive orders"))
    }

    /// Creates a sales order.
    async fn create_order(&self, _order: &OutboundOrder) -> Result<AcceptedSale, ConnectorError> {
        Err(ConnectorError::Unsupported("receive orders"))
    }

    /// The ERP's items with these codes (SKUs), by code as given; codes it does not know are left out.
    async fn find_items(&self, _codes: &[String]) -> Result<HashMap<String, RemoteItem>, ConnectorError> {
        Err(ConnectorError::Unsupported("receive items"))
    }

    /// The ERP's id of the category (Exact's item group) with this code; when it has none yet, one is
    /// made if `create` (else none: a dry run).
    async fn category_id(&self, _code: &str, _create: bool) -> Result<Option<String>, ConnectorError> {
        Err(ConnectorError::Unsupported("receive items"))
    }

    /// Creates an item with every field; returns its id at the ERP. A refusal of the ERP's validation is
    /// [`ConnectorError::Refused`].
    async fn create_item(&self, _item: &OutboundItem) -> Result<String, ConnectorError> {
        Err(ConnectorError::Unsupported("receive items"))
    }

    /// Writes `fields` of `item` onto the ERP's item `id`, and nothing else.
    async fn update_item(&self, _id: &str, _item: &OutboundItem, _fields: &[ItemField]) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported("receive items"))
    }

    /// The statuses of sales submitted before, by their remote ids; ids the remote does not know are
    /// left out.
    async fn sale_statuses(&self, _ids: &[String]) -> Result<Vec<RemoteSaleStatus>, ConnectorError> {
        Err(ConnectorError::Unsupported("report sale statuses"))
    }

    /// One page of the remote's customers that changed after `request.changed_since` (every one when
    /// it is none), from `request.after` on. Remotes without a total (SnelStart) end with an empty
    /// page: `next` is none only then.
    async fn customers(&self, _request: ListRequest) -> Result<Page<RemoteCustomer>, ConnectorError> {
        Err(ConnectorError::Unsupported("list customers"))
    }

    /// One page of the remote's customers changed after the opaque cursor `since` (the remote's own, as
    /// a page's [`Changes::cursor`] gave it before; none: from the beginning), from `request.after` on.
    /// Remotes with a date cursor answer [`Connector::customers`] with no cursor of their own.
    async fn customer_changes(
        &self,
        _since: Option<&str>,
        request: ListRequest,
    ) -> Result<Changes<RemoteCustomer>, ConnectorError> {
        Ok(Changes { page: self.customers(request).await?, cursor: None })
    }

    /// One page of the remote's deletion feed ([`Capability::DeletedRecordsFeed`]): the remote ids of
    /// the records of `entity` deleted after the opaque cursor `since`, from `after` on.
    async fn deleted(
        &self,
        _entity: LinkedEntity,
        _since: Option<&str>,
        _after: Option<String>,
    ) -> Result<Changes<String>, ConnectorError> {
        Err(ConnectorError::Unsupported("read a deletion feed"))
    }

    /// One page of the remote's sales invoices that changed after `request.changed_since`, paged like
    /// [`Connector::customers`].
    async fn invoices(&self, _request: ListRequest) -> Result<Page<RemoteInvoice>, ConnectorError> {
        Err(ConnectorError::Unsupported("list invoices"))
    }

    /// Downloads a product attachment from its `url` ([`RemoteAttachment::url`]), refusing more than
    /// `max_bytes`.
    async fn download(&self, _url: &str, _max_bytes: u64) -> Result<bytes::Bytes, ConnectorError> {
        Err(ConnectorError::Unsupported("download attachments"))
    }
}

/// Everything needed to build a connector.
pub struct ConnectorConfig {
    pub base_url: url::Url,
    pub settings: serde_json::Value,
    /// Decrypted credentials of the integration's mode, by field name.
    pub credentials: HashMap<String, String>,
    pub http: reqwest::Client,
    /// The integration's OAuth2 tokens for the mode (kinds that connect over OAuth2: Exact Online).
    pub tokens: oauth_tokens::TokenStore,
    /// What the connectors of the integration share in this process: rate limits, the refresh lock.
    pub shared: std::sync::Arc<shared::IntegrationShared>,
}

/// A kind of remote: what it can do, what it needs, and how to connect.
pub struct KindSpec {
    pub kind: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub capabilities: &'static [Capability],
    pub settings: &'static [FieldSpec],
    pub credentials: &'static [FieldSpec],
    /// The entities whose missing records follow a policy (ignore, deactivate, delete).
    pub synced_entities: &'static [LinkedEntity],
    pub connect: fn(ConnectorConfig) -> Result<Box<dyn Connector>, ConnectorError>,
}

impl KindSpec {
    /// Every setting of the kind: its own, then the schedule settings of what it runs on a schedule.
    pub fn all_settings(&self) -> Vec<FieldSpec> {
        let mut all = self.settings.to_vec();
        if self.capabilities.contains(&Capability::SalePush) {
            all.extend_from_slice(sale_settings::SALE_SETTINGS);
        }
        if self.capabilities.contains(&Capability::ProductPush) {
            all.push(items::UPDATE_FIELDS);
        }
        all.extend(self.schedules().into_iter().map(|s| *s.setting));
        if !self.synced_entities.is_empty() {
            all.push(MAX_REMOVAL_PERCENT);
        }
        all
    }

    /// The entities a pass may be asked of (`syncNow`, `reconcilePlan`): the synced ones, the
    /// sale-status pull when the kind can pull them, and the product push when it takes products.
    pub fn pass_entities(&self) -> Vec<LinkedEntity> {
        let mut entities = self.synced_entities.to_vec();
        if self.capabilities.contains(&Capability::SaleStatusPull) {
            entities.push(LinkedEntity::SaleStatus);
        }
        if self.capabilities.contains(&Capability::ProductPush) {
            entities.push(LinkedEntity::ProductPush);
        }
        entities
    }

    /// What the kind runs on a schedule, with the setting that says when: the passes of its synced
    /// entities that have a schedule setting (products, customers, invoices), the sale-status pull
    /// when it can pull them, and the product push when it takes products.
    pub fn schedules(&self) -> Vec<&'static ScheduleSetting> {
        SCHEDULE_SETTINGS
            .iter()
            .filter(|s| match s.entity {
                LinkedEntity::SaleStatus => self.capabilities.contains(&Capability::SaleStatusPull),
                LinkedEntity::ProductPush => self.capabilities.contains(&Capability::ProductPush),
                entity => self.synced_entities.contains(&entity),
            })
            .collect()
    }
}

/// The brake on passes, common to every kind that reconciles: the largest share of the linked records
/// one pass may deactivate or delete before it stops and raises an alert instead.
pub const MAX_REMOVAL_PERCENT: FieldSpec = FieldSpec {
    name: "maxRemovalPercent",
    label: "Most records one pass may remove (%)",
    field_type: FieldType::Integer { min: 1, max: 100 },
    required: false,
    default: Some("50"),
    help: "A pass that would deactivate or delete more than this share of the linked records (records gone \
           at the remote) does neither and raises an alert instead: a remote that suddenly lists nothing \
           does not empty your catalogue. 100 turns the brake off.",
};

/// The largest share (0.01–1.0) of linked records one pass of `integration` may remove.
pub fn max_removal_share(settings: &serde_json::Value) -> f64 {
    let percent = settings[MAX_REMOVAL_PERCENT.name].as_u64().unwrap_or(50).clamp(1, 100);
    percent as f64 / 100.0
}

/// An entity whose passes run on a schedule, and the setting (common to every kind) that says when.
#[derive(Debug)]
pub struct ScheduleSetting {
    pub entity: LinkedEntity,
    pub setting: &'static FieldSpec,
    /// Runs only on the schedule the integration sets; none when it sets none (the product push writes
    /// to the remote, so it never starts by default).
    pub only_when_set: bool,
}

/// The schedule settings, common to every kind. Wall-clock schedules are read on Amsterdam's clock
/// ([`crate::slots::ZONE`]).
pub const SCHEDULE_SETTINGS: &[ScheduleSetting] = &[
    ScheduleSetting {
        entity: LinkedEntity::Product,
        only_when_set: false,
        setting: &FieldSpec {
            name: "productSyncSchedule",
            label: "Product sync schedule",
            field_type: FieldType::CronSchedule,
            required: false,
            // None: the operator's default interval (KOPPEL_PRODUCT_SYNC_MINUTES, 15 minutes).
            default: None,
            help: "When products are reconciled: a cron expression of five fields (minute hour day month \
                   weekday) on Europe/Amsterdam's clock, e.g. */15 * * * * for every 15 minutes or \
                   0 6-18 * * 1-5 for every hour from 06:00 to 18:00 on working days. Empty: the server's \
                   default, every 15 minutes unless the operator changed it.",
        },
    },
    ScheduleSetting {
        entity: LinkedEntity::Customer,
        only_when_set: false,
        setting: &FieldSpec {
            name: "customerSyncSchedule",
            label: "Customer sync schedule",
            field_type: FieldType::CronSchedule,
            required: false,
            default: Some(r#""0 * * * *""#),
            help: "When customers are synchronised (changes since the last pass; relaties gone at the remote \
                   follow the missing-record policy): a cron expression of five fields on Europe/Amsterdam's \
                   clock. Default 0 * * * *: every hour on the hour.",
        },
    },
    ScheduleSetting {
        entity: LinkedEntity::Invoice,
        only_when_set: false,
        setting: &FieldSpec {
            name: "invoiceSyncSchedule",
            label: "Invoice sync schedule",
            field_type: FieldType::CronSchedule,
            required: false,
            // Ten minutes after the customers: the invoices of a new relatie find its customer linked.
            default: Some(r#""10 * * * *""#),
            help: "When invoices and what is paid of them are synchronised: a cron expression of five fields \
                   on Europe/Amsterdam's clock. Default 10 * * * *: every hour at ten past, after the \
                   customers, so that the invoices of a new relatie find its customer.",
        },
    },
    ScheduleSetting {
        entity: LinkedEntity::SaleStatus,
        only_when_set: false,
        setting: &FieldSpec {
            name: "saleStatusSyncTimes",
            label: "Sale status sync times",
            field_type: FieldType::TimesOfDay,
            required: false,
            default: Some(r#"["07:00", "19:00"]"#),
            help: "When the statuses of sent sales are fetched: times of day (HH:MM) on Europe/Amsterdam's \
                   clock, e.g. [\"07:00\", \"19:00\"].",
        },
    },
    ScheduleSetting {
        entity: LinkedEntity::ProductPush,
        only_when_set: true,
        setting: &FieldSpec {
            name: "productPushSchedule",
            label: "Product push schedule",
            field_type: FieldType::CronSchedule,
            required: false,
            default: None,
            help: "When Koppel's products changed since the last push go to the remote as items (created or \
                   updated by SKU; see itemUpdateFields): a cron expression of five fields on Europe/Amsterdam's \
                   clock, e.g. 30 * * * * for every hour at half past. Empty: only when asked (syncNow with \
                   PRODUCT_PUSH).",
        },
    },
];

/// Every kind Koppel can connect to.
pub fn kinds() -> &'static [KindSpec] {
    static KINDS: [KindSpec; 3] = [peer::SPEC, snelstart::SPEC, exact_online::SPEC];
    &KINDS
}

pub fn kind(name: &str) -> Option<&'static KindSpec> {
    kinds().iter().find(|k| k.kind == name)
}

//! The neutral shapes connectors speak: what a remote's products, questions, flows and statuses look
//! like once translated, whatever the remote's own JSON is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteTariff {
    pub code: String,
    pub label: String,
    pub amount: String,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteSupplier {
    pub id: String,
    pub name: String,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub logo_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteProduct {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    /// simple, virtual, configurable or variant.
    pub product_type: String,
    pub category: Option<String>,
    pub tariffs: Vec<RemoteTariff>,
    /// The remote's extra fields by key.
    pub fields: BTreeMap<String, String>,
    pub incentive: Option<String>,
    pub supplier: Option<RemoteSupplier>,
    pub updated_at: Option<DateTime<Utc>>,
    /// The product's files, in order. Left out of the serialised form when empty, so that the content
    /// hash of a product without attachments is what it was before attachments existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<RemoteAttachment>,
}

/// A file attached to a remote product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteAttachment {
    pub id: String,
    pub title: String,
    /// `conditions`, `brochure`, `tariff_sheet`, `image`, `other`.
    pub kind: String,
    pub size: i64,
    /// The content's SHA-256 as the remote says it (checked against the bytes when downloaded).
    pub sha256: String,
    pub file_name: String,
    /// Where to download it now: short-lived, so not part of the content hash (nor of what is recorded).
    #[serde(skip_serializing, default)]
    pub url: String,
}

impl RemoteProduct {
    /// A hash of everything that is synced, to tell a changed product from an unchanged one.
    pub fn content_hash(&self) -> String {
        let mut copy = self.clone();
        copy.updated_at = None;
        let json = serde_json::to_vec(&copy).expect("serialises");
        Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A field the remote's records carry, for mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteField {
    pub key: String,
    pub label: String,
    /// text, textarea, select, …
    pub field_type: String,
    /// The allowed values, for select fields.
    pub options: Vec<String>,
}

impl RemoteField {
    /// Text fields named `(key, label)`: the fixed fields of a remote's customers or invoices.
    pub fn texts(fields: &[(&str, &str)]) -> Vec<RemoteField> {
        fields
            .iter()
            .map(|(key, label)| RemoteField {
                key: (*key).to_owned(),
                label: (*label).to_owned(),
                field_type: "text".to_owned(),
                options: Vec::new(),
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteOption {
    pub value: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteQuestion {
    pub id: String,
    pub key: String,
    pub label: String,
    /// text, number, boolean, date, email, select, multiselect.
    pub question_type: String,
    pub required: bool,
    /// `{minLength, maxLength, min, max}`.
    pub validations: serde_json::Value,
    /// `[{questionKey, equals}]`.
    pub conditions: serde_json::Value,
    pub options: Vec<RemoteOption>,
    pub flow_id: Option<String>,
    pub product_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteFlow {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteStatus {
    pub key: String,
    pub name: String,
    /// A status every environment of the remote has; mapped automatically by key.
    pub system: bool,
}

/// One page of a remote list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts, when there is one.
    pub next: Option<String>,
}

/// One page of a remote's changes after an opaque cursor (Exact Online's Sync API `Timestamp`), with the
/// cursor to go on from once every page was read: the highest the page showed (or the one asked with).
#[derive(Debug, Clone, PartialEq)]
pub struct Changes<T> {
    pub page: Page<T>,
    pub cursor: Option<String>,
}

/// What a connection test found.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionCheck {
    /// Who the remote says we are, e.g. `koppeling_a @ provider (Partner A)`.
    pub identity: String,
}

/// A sale as it goes to a remote, mapped and validated: the remote's ids and keys only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundSale {
    /// The same for every attempt of one transmission, so that the remote makes one sale of them all.
    pub idempotency_key: String,
    /// The product's id at the remote.
    pub product_id: String,
    /// The product's SKU (ERPs order items by their code).
    #[serde(default)]
    pub product_sku: String,
    /// The flow's id at the remote (the flow mapping).
    pub flow_id: Option<String>,
    pub customer: Option<OutboundCustomer>,
    /// The remote's questions or fields by key (question mappings and the sale data mapping).
    pub answers: BTreeMap<String, serde_json::Value>,
    /// The opt-in data, when the integration sends it.
    pub opt_in: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundCustomer {
    /// `person` or `company`.
    pub kind: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub kvk_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `[{kind, street, houseNumber, postcode, city, country}]`.
    pub addresses: serde_json::Value,
    pub contact_persons: Vec<OutboundContact>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundContact {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub flags: Vec<String>,
}

/// A sales order as it goes to an ERP: the ERP's customer and item ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundOrder {
    /// How the ERP finds the order again (Exact's `YourRef`): the transmission's idempotency key.
    pub reference: String,
    /// The customer's id at the ERP.
    pub customer_id: String,
    pub description: Option<String>,
    pub lines: Vec<OrderLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// The item's id at the ERP.
    pub item_id: String,
    /// The item's code at the ERP (the product's SKU).
    pub code: String,
    pub quantity: f64,
    /// A decimal amount in euros, e.g. `"12.50"`; none: the ERP's own price.
    pub unit_price: Option<String>,
}

/// What the remote made of a sale it accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedSale {
    /// The sale's id at the remote.
    pub id: String,
    /// Its status there, when the remote says.
    pub status: Option<String>,
}

/// The status of a sale at the remote.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSaleStatus {
    /// The sale's id at the remote.
    pub id: String,
    /// The remote status's key.
    pub status: String,
}

/// A customer as a bookkeeping remote keeps it (a SnelStart relatie), translated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteCustomer {
    pub id: String,
    /// The remote's own number for it (SnelStart's relatiecode).
    pub code: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub kvk_number: Option<String>,
    pub vat_number: Option<String>,
    /// `{kind, street, houseNumber, postcode, city, country}`, Koppel's address shape, when it has one.
    pub address: Option<serde_json::Value>,
    /// Switched off at the remote (SnelStart's `nonactief`).
    pub inactive: bool,
    /// When it last changed at the remote: incremental passes go on from the highest seen.
    pub modified_at: Option<DateTime<Utc>>,
    /// The remote's own fields by the remote's names (those [`Connector::record_fields`] lists), for the
    /// integration's field mappings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl RemoteCustomer {
    /// A hash of what is synced, to tell a changed customer from an unchanged one.
    pub fn content_hash(&self) -> String {
        let mut copy = self.clone();
        copy.modified_at = None;
        let json = serde_json::to_vec(&copy).expect("serialises");
        Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// How people know it, e.g. `1001 Bakkerij De Korenschoof`.
    pub fn label(&self) -> String {
        match &self.code {
            Some(code) => format!("{code} {}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A sales invoice as a bookkeeping remote keeps it (a SnelStart verkoopfactuur), translated. Amounts
/// are cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteInvoice {
    pub id: String,
    pub number: String,
    /// The remote customer's id (SnelStart's relatie).
    pub customer_id: Option<String>,
    pub date: Option<chrono::NaiveDate>,
    pub due_date: Option<chrono::NaiveDate>,
    pub amount_cents: i64,
    /// What is still to be paid (SnelStart's `openstaandSaldo`).
    pub open_cents: i64,
    pub modified_at: Option<DateTime<Utc>>,
    /// The remote's own fields by the remote's names, for the integration's field mappings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl RemoteInvoice {
    /// A hash of what is synced, to tell a changed invoice from an unchanged one.
    pub fn content_hash(&self) -> String {
        let mut copy = self.clone();
        copy.modified_at = None;
        let json = serde_json::to_vec(&copy).expect("serialises");
        Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect()
    }
}

//! The other Koppel's GraphQL shapes (its provider surface), and their translation to neutral types.

use super::super::{
    RemoteAttachment, RemoteField, RemoteOption, RemoteProduct, RemoteQuestion, RemoteSupplier, RemoteTariff,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

// The documents this connector sends live in `documents/`, where a test of the root crate validates
// each against `schema.graphql`: a schema change that would break a peer fails CI, not a partner's sync.

/// Who we are, and whether the token may use the provider surface at all.
pub const ME: &str = include_str!("documents/me.graphql");

pub const PRODUCTS: &str = include_str!("documents/products.graphql");

pub const PRODUCT_FIELDS: &str = include_str!("documents/product_fields.graphql");

pub const QUESTIONS: &str = include_str!("documents/questions.graphql");

pub const FLOWS: &str = include_str!("documents/flows.graphql");

pub const STATUSES: &str = include_str!("documents/statuses.graphql");

pub const SUBMIT_SALE: &str = include_str!("documents/submit_sale.graphql");

pub const SALE_STATUSES: &str = include_str!("documents/sale_statuses.graphql");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitSaleData {
    pub submit_sale: SubmitSalePayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitSalePayload {
    pub sale: Option<SaleStatus>,
    pub user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
pub struct UserError {
    pub field: String,
    pub message: String,
    pub code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesData {
    pub provider_sales: Nodes<SaleStatus>,
}

#[derive(Deserialize)]
pub struct Nodes<T> {
    pub edges: Vec<Edge<T>>,
}

#[derive(Deserialize)]
pub struct SaleStatus {
    pub id: String,
    pub status: Option<StatusKey>,
}

#[derive(Deserialize)]
pub struct StatusKey {
    pub key: String,
}

#[derive(Deserialize)]
pub struct MeData {
    pub me: Me,
}

#[derive(Deserialize)]
pub struct Me {
    pub username: String,
    pub account: Named,
    pub organisation: Option<Named>,
}

#[derive(Deserialize)]
pub struct Named {
    pub name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductsData {
    pub provider_products: Connection<Product>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<T> {
    pub edges: Vec<Edge<T>>,
    pub page_info: PageInfo,
}

#[derive(Deserialize)]
pub struct Edge<T> {
    pub node: T,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub product_type: String,
    pub category: Option<String>,
    pub incentive: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub tariffs: Vec<RemoteTariff>,
    pub extra_fields: Vec<KeyValue>,
    pub supplier: Option<Supplier>,
    /// Absent from providers older than attachments.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub size: i64,
    pub sha256: String,
    pub file_name: String,
    pub url: String,
}

#[derive(Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Supplier {
    pub id: String,
    pub name: String,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub logo_url: Option<String>,
}

impl From<Product> for RemoteProduct {
    fn from(p: Product) -> Self {
        Self {
            id: p.id,
            sku: p.sku,
            name: p.name,
            description: p.description,
            product_type: p.product_type.to_ascii_lowercase(),
            category: p.category,
            tariffs: p.tariffs,
            fields: p.extra_fields.into_iter().map(|kv| (kv.key, kv.value)).collect(),
            incentive: p.incentive,
            supplier: p.supplier.map(|s| RemoteSupplier {
                id: s.id,
                name: s.name,
                contact_name: s.contact_name,
                email: s.email,
                phone: s.phone,
                website: s.website,
                logo_url: s.logo_url,
            }),
            updated_at: p.updated_at,
            attachments: p
                .attachments
                .into_iter()
                .map(|a| RemoteAttachment {
                    id: a.id,
                    title: a.title,
                    kind: a.kind.to_ascii_lowercase(),
                    size: a.size,
                    sha256: a.sha256,
                    file_name: a.file_name,
                    url: a.url,
                })
                .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtraField {
    pub key: String,
    pub label: String,
    pub field_type: String,
    pub options: Vec<String>,
}

impl From<ExtraField> for RemoteField {
    fn from(f: ExtraField) -> Self {
        Self { key: f.key, label: f.label, field_type: f.field_type.to_ascii_lowercase(), options: f.options }
    }
}

#[derive(Deserialize)]
pub struct IdOnly {
    pub id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Question {
    pub id: String,
    pub key: String,
    pub label: String,
    pub question_type: String,
    pub required: bool,
    pub validations: serde_json::Value,
    pub conditions: serde_json::Value,
    pub options: Vec<RemoteOption>,
    pub flow: Option<IdOnly>,
    pub product: Option<IdOnly>,
}

impl From<Question> for RemoteQuestion {
    fn from(q: Question) -> Self {
        Self {
            id: q.id,
            key: q.key,
            label: q.label,
            question_type: q.question_type.to_ascii_lowercase(),
            required: q.required,
            validations: q.validations,
            conditions: q.conditions,
            options: q.options,
            flow_id: q.flow.map(|f| f.id),
            product_id: q.product.map(|p| p.id),
        }
    }
}

#[derive(Deserialize)]
pub struct Flow {
    pub id: String,
    pub name: String,
}

#[derive(Deserialize)]
pub struct Status {
    pub key: String,
    pub name: String,
    pub system: bool,
}

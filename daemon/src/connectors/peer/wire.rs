//! The other Koppel's GraphQL shapes (its provider surface), and their translation to neutral types.

use super::super::{RemoteField, RemoteOption, RemoteProduct, RemoteQuestion, RemoteSupplier, RemoteTariff};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Who we are, and whether the token may use the provider surface at all.
pub const ME: &str =
    "{ me { username account { name } organisation { name } } providerStatuses(first: 1) { edges { node { key } } } }";

pub const PRODUCTS: &str = "query($first: Int, $after: String, $changedSince: DateTime, $ids: [ID!]) {
  providerProducts(first: $first, after: $after, changedSince: $changedSince, ids: $ids) {
    edges { node {
      id sku name description productType category incentive updatedAt
      tariffs { code label amount unit }
      extraFields { key value }
      supplier { id name contactName email phone website logoUrl }
    } }
    pageInfo { hasNextPage endCursor }
  }
}";

pub const PRODUCT_FIELDS: &str = "query($first: Int, $after: String) {
  providerProductFields(first: $first, after: $after) {
    edges { node { key label fieldType options } } pageInfo { hasNextPage endCursor }
  }
}";

pub const QUESTIONS: &str = "query($first: Int, $after: String) {
  providerQuestions(first: $first, after: $after) {
    edges { node {
      id key label questionType required
      validations { minLength maxLength min max }
      conditions { questionKey equals }
      options { value label }
      flow { id } product { id }
    } }
    pageInfo { hasNextPage endCursor }
  }
}";

pub const FLOWS: &str = "query($first: Int, $after: String) {
  providerFlows(first: $first, after: $after) { edges { node { id name } } pageInfo { hasNextPage endCursor } }
}";

pub const STATUSES: &str = "query($first: Int, $after: String) {
  providerStatuses(first: $first, after: $after) { edges { node { key name system } } pageInfo { hasNextPage endCursor } }
}";

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

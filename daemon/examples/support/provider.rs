//! A fake provider: an axum server that answers the peer connector's `providerProducts` query as a real
//! Koppel would (the shapes of `connectors/peer/documents/products.graphql`), from a generated catalogue
//! that the benchmark can change between passes. A fake rather than a second Koppel account: the figures
//! are then the consumer's — a real provider's own database reads would weigh on the same two cores.

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use koppel_daemon::connectors::{RemoteProduct, RemoteSupplier, RemoteTariff};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// What the provider shows: `count` products, every `changed_every`-th at version 2, every
/// `gone_every`-th left out.
#[derive(Debug, Clone, Copy)]
pub struct Catalogue {
    pub count: usize,
    pub changed_every: Option<usize>,
    pub gone_every: Option<usize>,
}

impl Catalogue {
    pub fn unchanged(count: usize) -> Self {
        Self { count, changed_every: None, gone_every: None }
    }

    fn shows(&self, i: usize) -> bool {
        i < self.count && self.gone_every.is_none_or(|every| i % every != every - 1)
    }

    fn version(&self, i: usize) -> u32 {
        if self.changed_every.is_some_and(|every| i % every == 1) { 2 } else { 1 }
    }
}

pub fn remote_id(i: usize) -> String {
    Uuid::from_u64_pair(0x0190_0000_0000_7000, i as u64).to_string()
}

fn index_of(remote_id: &str) -> Option<usize> {
    Uuid::parse_str(remote_id).ok().map(|id| id.as_u64_pair().1 as usize)
}

/// Product `i` of the catalogue at `version`, as the connector translates it.
pub fn product(i: usize, version: u32) -> RemoteProduct {
    let supplier = i % 10;
    RemoteProduct {
        id: remote_id(i),
        sku: format!("SKU-{i:07}"),
        name: format!("Groene stroom {i}"),
        description: Some(format!("Variabel contract {i}, 100 % wind uit Nederland")),
        product_type: "simple".into(),
        category: Some("energie".into()),
        tariffs: vec![
            RemoteTariff {
                code: "kwh".into(),
                label: "Per kWh".into(),
                amount: format!("0.2{:04}", (i + version as usize) % 10_000),
                unit: "kWh".into(),
            },
            RemoteTariff {
                code: "vast".into(),
                label: "Vaste kosten".into(),
                amount: "6.99".into(),
                unit: "maand".into(),
            },
        ],
        fields: BTreeMap::from([("origin".to_owned(), "wind".to_owned())]),
        incentive: None,
        supplier: Some(RemoteSupplier {
            id: format!("supplier-{supplier}"),
            name: format!("Leverancier {supplier}"),
            contact_name: None,
            email: Some(format!("info@leverancier{supplier}.example")),
            phone: None,
            website: None,
            logo_url: None,
        }),
        updated_at: None,
        attachments: Vec::new(),
    }
}

/// The provider's wire shape of a product (the inverse of the connector's translation).
fn node(p: &RemoteProduct) -> Value {
    json!({
        "id": p.id, "sku": p.sku, "name": p.name, "description": p.description,
        "productType": p.product_type.to_ascii_uppercase(), "category": p.category, "incentive": p.incentive,
        "updatedAt": p.updated_at,
        "tariffs": p.tariffs,
        "extraFields": p.fields.iter().map(|(key, value)| json!({"key": key, "value": value})).collect::<Vec<_>>(),
        "supplier": p.supplier.as_ref().map(|s| json!({
            "id": s.id, "name": s.name, "contactName": s.contact_name, "email": s.email, "phone": s.phone,
            "website": s.website, "logoUrl": s.logo_url,
        })),
    })
}

type Shared = Arc<RwLock<Catalogue>>;

async fn graphql(State(catalogue): State<Shared>, Json(request): Json<Value>) -> Json<Value> {
    let catalogue = *catalogue.read().unwrap();
    let variables = &request["variables"];
    let first = variables["first"].as_u64().unwrap_or(100).min(100) as usize;
    let (indices, next): (Vec<usize>, Option<usize>) = match variables["ids"].as_array() {
        Some(ids) => (ids.iter().filter_map(|id| id.as_str().and_then(index_of)).collect(), None),
        None => {
            let start = variables["after"].as_str().and_then(|c| c.parse().ok()).unwrap_or(0);
            let end = (start + first).min(catalogue.count);
            ((start..end).collect(), (end < catalogue.count).then_some(end))
        }
    };
    let edges: Vec<Value> = indices
        .into_iter()
        .filter(|i| catalogue.shows(*i))
        .map(|i| json!({"node": node(&product(i, catalogue.version(i)))}))
        .collect();
    Json(json!({"data": {"providerProducts": {
        "edges": edges,
        "pageInfo": {"hasNextPage": next.is_some(), "endCursor": next.map(|n| n.to_string())},
    }}}))
}

/// Starts the provider on a free loopback port; returns its base URL and the catalogue to change.
pub async fn start(catalogue: Catalogue) -> (String, Shared) {
    let shared = Arc::new(RwLock::new(catalogue));
    let app = axum::Router::new().route("/graphql", post(graphql)).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the fake provider") });
    (format!("http://{address}"), shared)
}

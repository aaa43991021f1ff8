//! The `peer` connector: another Koppel environment, reached over its GraphQL provider surface with an
//! integration-only API token of an agent in an organisation that was granted products and flows
//! (seed 001: two environments of the same CRM selling each other's products).

mod client;
mod wire;

use super::{
    AcceptedSale, Capability, ConnectionCheck, Connector, ConnectorConfig, ConnectorError, FieldSpec, FieldType,
    KindSpec, ListRequest, OutboundSale, Page, RemoteField, RemoteFlow, RemoteProduct, RemoteQuestion,
    RemoteSaleStatus, RemoteStatus,
};
use async_trait::async_trait;
use client::GraphqlClient;
use koppel_entity::enums::LinkedEntity;

pub const SPEC: KindSpec = KindSpec {
    kind: "peer",
    label: "Koppel environment",
    description: "Another Koppel environment that grants your organisation products and flows.",
    capabilities: &[Capability::Products, Capability::SalePush, Capability::SaleStatusPull],
    settings: &[FieldSpec {
        name: "accountName",
        label: "Account name",
        field_type: FieldType::Text,
        required: true,
        default: None,
        help: "The name of the other environment's account, as its users sign in with.",
    }],
    credentials: &[FieldSpec {
        name: "apiToken",
        label: "API token",
        field_type: FieldType::Secret,
        required: true,
        default: None,
        help: "The integration-only API token the other environment generated for you (kpl_…).",
    }],
    synced_entities: &[LinkedEntity::Product],
    connect,
};

fn connect(config: ConnectorConfig) -> Result<Box<dyn Connector>, ConnectorError> {
    let token = config
        .credentials
        .get("apiToken")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ConnectorError::Configuration("no API token is set for this mode".into()))?
        .clone();
    let account_name = config.settings["accountName"].as_str().unwrap_or_default().to_owned();
    // The GraphQL endpoint lives at `<base URL>/graphql`, whether or not the base URL ends in a slash.
    let mut endpoint = config.base_url.clone();
    endpoint.set_path(&format!("{}/graphql", config.base_url.path().trim_end_matches('/')));
    Ok(Box::new(PeerConnector { client: GraphqlClient::new(config.http, endpoint, token), account_name }))
}

pub struct PeerConnector {
    client: GraphqlClient,
    account_name: String,
}

const PAGE: usize = 100;

#[async_trait]
impl Connector for PeerConnector {
    async fn test_connection(&self) -> Result<ConnectionCheck, ConnectorError> {
        let me: wire::MeData = self.client.query(wire::ME, serde_json::json!({})).await?;
        let actual = me.me.account.name;
        if !actual.eq_ignore_ascii_case(self.account_name.trim()) {
            return Err(ConnectorError::WrongAccount { expected: self.account_name.clone(), actual });
        }
        let organisation = me.me.organisation.map(|o| o.name).unwrap_or_else(|| "no organisation".into());
        Ok(ConnectionCheck { identity: format!("{} @ {actual} ({organisation})", me.me.username) })
    }

    async fn products(&self, request: ListRequest) -> Result<Page<RemoteProduct>, ConnectorError> {
        let variables = serde_json::json!({
            "first": request.first.clamp(1, PAGE),
            "after": request.after,
            "changedSince": request.changed_since,
            "ids": null,
        });
        let data: wire::ProductsData = self.client.query(wire::PRODUCTS, variables).await?;
        let connection = data.provider_products;
        Ok(Page {
            next: connection.page_info.has_next_page.then_some(connection.page_info.end_cursor).flatten(),
            items: connection.edges.into_iter().map(|e| e.node.into()).collect(),
        })
    }

    async fn products_by_ids(&self, ids: &[String]) -> Result<Vec<RemoteProduct>, ConnectorError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(PAGE) {
            let variables = serde_json::json!({ "first": PAGE, "after": null, "changedSince": null, "ids": chunk });
            let data: wire::ProductsData = self.client.query(wire::PRODUCTS, variables).await?;
            found.extend(data.provider_products.edges.into_iter().map(|e| e.node.into()));
        }
        Ok(found)
    }

    async fn product_fields(&self) -> Result<Vec<RemoteField>, ConnectorError> {
        let nodes: Vec<wire::ExtraField> = self.client.all_pages(wire::PRODUCT_FIELDS, "providerProductFields").await?;
        Ok(nodes.into_iter().map(Into::into).collect())
    }

    async fn questions(&self) -> Result<Vec<RemoteQuestion>, ConnectorError> {
        let nodes: Vec<wire::Question> = self.client.all_pages(wire::QUESTIONS, "providerQuestions").await?;
        Ok(nodes.into_iter().map(Into::into).collect())
    }

    async fn flows(&self) -> Result<Vec<RemoteFlow>, ConnectorError> {
        let nodes: Vec<wire::Flow> = self.client.all_pages(wire::FLOWS, "providerFlows").await?;
        Ok(nodes.into_iter().map(|f| RemoteFlow { id: f.id, name: f.name }).collect())
    }

    async fn statuses(&self) -> Result<Vec<RemoteStatus>, ConnectorError> {
        let nodes: Vec<wire::Status> = self.client.all_pages(wire::STATUSES, "providerStatuses").await?;
        Ok(nodes.into_iter().map(|s| RemoteStatus { key: s.key, name: s.name, system: s.system }).collect())
    }

    async fn submit_sale(&self, sale: &OutboundSale) -> Result<AcceptedSale, ConnectorError> {
        let data: wire::SubmitSaleData =
            self.client.query(wire::SUBMIT_SALE, serde_json::json!({ "input": submit_input(sale) })).await?;
        let payload = data.submit_sale;
        if !payload.user_errors.is_empty() {
            let problems: Vec<String> =
                payload.user_errors.iter().map(|e| format!("{}: {} ({})", e.field, e.message, e.code)).collect();
            return Err(ConnectorError::Refused(problems.join("; ")));
        }
        let accepted = payload.sale.ok_or_else(|| ConnectorError::Protocol("submitSale answered no sale".into()))?;
        Ok(AcceptedSale { id: accepted.id, status: accepted.status.map(|s| s.key) })
    }

    async fn download(&self, url: &str, max_bytes: u64) -> Result<bytes::Bytes, ConnectorError> {
        self.client.download(url, max_bytes).await
    }

    async fn sale_statuses(&self, ids: &[String]) -> Result<Vec<RemoteSaleStatus>, ConnectorError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(PAGE) {
            let variables = serde_json::json!({ "first": PAGE, "ids": chunk });
            let data: wire::SalesData = self.client.query(wire::SALE_STATUSES, variables).await?;
            found.extend(data.provider_sales.edges.into_iter().filter_map(|e| {
                let status = e.node.status?.key;
                Some(RemoteSaleStatus { id: e.node.id, status })
            }));
        }
        Ok(found)
    }
}

/// The other Koppel's `SubmitSaleInput` for a mapped sale.
fn submit_input(sale: &OutboundSale) -> serde_json::Value {
    use serde_json::{Value, json};
    let upper = |v: &Value| v.as_str().map(str::to_uppercase).map(Value::String).unwrap_or(Value::Null);
    let customer = sale.customer.as_ref().map(|c| {
        let addresses: Vec<Value> = c
            .addresses
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|a| {
                        let mut a = a.clone();
                        a["kind"] = upper(&a["kind"]);
                        a
                    })
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "kind": c.kind.to_uppercase(),
            "firstName": c.first_name,
            "lastName": c.last_name,
            "companyName": c.company_name,
            "kvkNumber": c.kvk_number,
            "email": c.email,
            "phone": c.phone,
            "addresses": addresses,
        })
    });
    let contacts: Vec<Value> = sale
        .customer
        .iter()
        .flat_map(|c| &c.contact_persons)
        .map(|p| {
            json!({
                "name": p.name,
                "email": p.email,
                "phone": p.phone,
                "flags": p.flags.iter().map(|f| f.to_uppercase()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let answers: Vec<Value> =
        sale.answers.iter().map(|(key, value)| json!({ "questionKey": key, "value": value })).collect();
    json!({
        "idempotencyKey": sale.idempotency_key,
        "productId": sale.product_id,
        "flowId": sale.flow_id,
        "customer": customer,
        "contactPersons": contacts,
        "answers": answers,
        "optIn": sale.opt_in,
    })
}

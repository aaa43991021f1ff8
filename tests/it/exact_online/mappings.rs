//! Field and value mappings on Exact Online's accounts: an account's own fields (`Country`, `Name`, …)
//! onto a customer's extra fields and attributes, through transforms and value mappings; a changed
//! mapping reaches every customer on the next pass, read again from the Sync API's start. Real HTTP to
//! the fake, through the daemon's runs.

use super::customers::account;
use super::setup::Setup;
use serde_json::{Value, json};

const UPDATE: &str = "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) {
  integration { id } userErrors { field message code } } }";
const CREATE_EXTRA_FIELD: &str = "mutation($i: CreateExtraFieldInput!) { createExtraField(input: $i) {
  extraField { id } userErrors { field message } } }";
const FIELD_MAPPINGS: &str = "mutation($i: SetFieldMappingsInput!) { setFieldMappings(input: $i) {
  fieldMappings { remoteField } userErrors { field message code } } }";
const CUSTOMERS: &str = "{ customers(first: 100) { edges { node { email companyName extraFields { key value } } } } }";

fn mappings(country: &str) -> Value {
    json!([
        {"remoteField": "Country", "targetKind": "EXTRA_FIELD", "target": "land",
         "values": [{"remote": "NL", "local": country}]},
        {"remoteField": "Name", "targetKind": "ATTRIBUTE", "target": "companyName",
         "transforms": [{"kind": "UPPERCASE"}]},
    ])
}

impl Setup {
    async fn map_customers(&self, mappings: Value) {
        let input = json!({"integrationId": self.integration, "entity": "customer", "mappings": mappings});
        let set = self.ok(FIELD_MAPPINGS, json!({"i": input})).await;
        assert_eq!(set["setFieldMappings"]["userErrors"], json!([]), "{set:#}");
    }

    /// `(companyName, land)` of each customer.
    async fn mapped_customers(&self) -> Vec<(Value, Value)> {
        let data = self.ok(CUSTOMERS, json!({})).await;
        let nodes = data["customers"]["edges"].as_array().unwrap();
        let land = |node: &Value| {
            let fields = node["extraFields"].as_array().unwrap();
            fields.iter().find(|f| f["key"] == "land").map_or(Value::Null, |f| f["value"].clone())
        };
        nodes.iter().map(|e| (e["node"]["companyName"].clone(), land(&e["node"]))).collect()
    }
}

#[tokio::test]
async fn account_fields_are_mapped_and_a_changed_mapping_reaches_every_customer() {
    let mut setup = Setup::new().await;
    setup.server.start_daemon(false).await;
    setup.connect().await;
    let settings = json!({"matchingKey": "email", "unmatchedCustomers": "create"});
    let updated = setup.ok(UPDATE, json!({"i": {"id": setup.integration, "settings": settings}})).await;
    assert_eq!(updated["updateIntegration"]["userErrors"], json!([]), "{updated:#}");
    let input = json!({"entity": "CUSTOMER", "key": "land", "label": "Land", "fieldType": "TEXT"});
    setup.ok(CREATE_EXTRA_FIELD, json!({"i": input})).await;
    setup.map_customers(mappings("Nederland")).await;

    setup.fake.put_account(account("a-1", 1001, "Bakkerij Jansen", "jan@bakkerij.nl"));
    setup.fake.put_account(account("a-2", 1002, "Slagerij De Vries", "info@devries.nl"));
    let first = setup.sync_customers().await;
    assert_eq!(first["created"], 2, "{first:#}");
    let mut customers = setup.mapped_customers().await;
    customers.sort_by_key(|(name, _)| name.to_string());
    assert_eq!(
        customers,
        vec![(json!("BAKKERIJ JANSEN"), json!("Nederland")), (json!("SLAGERIJ DE VRIES"), json!("Nederland"))]
    );

    // Nothing changed at Exact, but the mapping did: the next pass reads every account again.
    setup.map_customers(mappings("Nederland (NL)")).await;
    let before = setup.account_syncs().len();
    let second = setup.sync_customers().await;
    assert_eq!(second["updated"], 2, "{second:#}");
    let asked = &setup.account_syncs()[before];
    assert!(asked.contains("Timestamp gt 1L"), "read from the start again: {asked}");
    assert!(setup.mapped_customers().await.iter().all(|(_, land)| land == "Nederland (NL)"));

    // And then only what changes again.
    let third = setup.sync_customers().await;
    assert_eq!((third["updated"].clone(), third["unchanged"].clone()), (json!(0), json!(0)), "{third:#}");
}

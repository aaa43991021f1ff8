//! Field and value mappings on what SnelStart syncs: a relatie's own fields onto a customer's extra
//! fields and attributes, a verkoopfactuur's onto an invoice's extra fields, with transforms and value
//! mappings; create-only mappings written once; a value a transform cannot take named in the run's event
//! while the rest is synced; mappings the remote or Koppel cannot take refused with the field named.

use super::setup::Setup;
use super::{factuur, relatie};
use serde_json::{Value, json};

const CREATE_EXTRA_FIELD: &str = "mutation($i: CreateExtraFieldInput!) { createExtraField(input: $i) {
  extraField { id } userErrors { field message } } }";
const FIELD_MAPPINGS: &str = "mutation($i: SetFieldMappingsInput!) { setFieldMappings(input: $i) {
  fieldMappings { entity remoteField targetKind target createOnly } userErrors { field message code } } }";
const MAPPINGS: &str = "query($id: ID!) { integration(id: $id) { fieldMappings { entity remoteField target } } }";
const CUSTOMERS: &str = "{ customers(first: 100) { edges { node { email companyName
  extraFields { key value } } } } }";
const INVOICES: &str = "{ invoices(first: 100) { edges { node { number extraFields { key value } } } } }";
const EVENTS: &str = "query($id: ID!) { syncEvents(integrationId: $id, first: 100) {
  edges { node { entity action remoteId message } } } }";

impl Setup {
    async fn extra_field(&self, entity: &str, key: &str) {
        let input = json!({"entity": entity, "key": key, "label": key, "fieldType": "TEXT"});
        let made = self.ok(CREATE_EXTRA_FIELD, json!({"i": input})).await;
        assert_eq!(made["createExtraField"]["userErrors"], json!([]), "{made:#}");
    }

    /// Sets the mappings of `entity`; returns the user errors.
    async fn map(&self, entity: &str, mappings: Value) -> Value {
        let input = json!({"integrationId": self.integration, "entity": entity, "mappings": mappings});
        self.ok(FIELD_MAPPINGS, json!({"i": input})).await["setFieldMappings"]["userErrors"].clone()
    }

    async fn customer(&self, email: &str) -> Value {
        let data = self.ok(CUSTOMERS, json!({})).await;
        let nodes = data["customers"]["edges"].as_array().unwrap();
        nodes.iter().map(|e| e["node"].clone()).find(|n| n["email"] == email).unwrap_or_else(|| panic!("{data:#}"))
    }
}

/// An object of `[{key, value}]`.
fn values(node: &Value) -> Value {
    let pairs = node["extraFields"].as_array().unwrap();
    pairs.iter().map(|p| (p["key"].as_str().unwrap().to_owned(), p["value"].clone())).collect()
}

#[tokio::test]
async fn relatie_and_factuur_fields_are_mapped_onto_customers_and_invoices() {
    let setup = Setup::new(json!({"unmatchedCustomers": "create"})).await;
    for (entity, key) in
        [("CUSTOMER", "iban"), ("CUSTOMER", "vestiging"), ("CUSTOMER", "belnummer"), ("INVOICE", "bedrag")]
    {
        setup.extra_field(entity, key).await;
    }
    let errors = setup
        .map(
            "customer",
            json!([
                {"remoteField": "iban", "targetKind": "EXTRA_FIELD", "target": "iban",
                 "transforms": [{"kind": "TRIM"}, {"kind": "UPPERCASE"}]},
                {"remoteField": "vestigingsAdres.plaats", "targetKind": "EXTRA_FIELD", "target": "vestiging",
                 "values": [{"remote": "Utrecht", "local": "Regio Utrecht"}], "createOnly": true},
                {"remoteField": "naam", "targetKind": "ATTRIBUTE", "target": "companyName",
                 "transforms": [{"kind": "UPPERCASE"}]},
                {"remoteField": "telefoon", "targetKind": "EXTRA_FIELD", "target": "belnummer",
                 "transforms": [{"kind": "NUMBER_SCALE", "argument": "0"}]},
            ]),
        )
        .await;
    assert_eq!(errors, json!([]));
    let errors = setup
        .map(
            "invoice",
            json!([{"remoteField": "factuurBedrag", "targetKind": "EXTRA_FIELD", "target": "bedrag",
                    "transforms": [{"kind": "NUMBER_SCALE", "argument": "0"}]}]),
        )
        .await;
    assert_eq!(errors, json!([]));

    let mut first = relatie("r1", 1001, "Bakkerij De Korenschoof", "info@korenschoof.nl", "69599068");
    first["iban"] = " nl91abna0417164300 ".into();
    setup.fake.put_relatie(first);
    setup.fake.put_factuur(factuur("f1", 2024001, "r1", 121.4, 121.4));
    setup.sync_entities(json!(["CUSTOMER", "INVOICE"])).await;

    let customer = setup.customer("info@korenschoof.nl").await;
    assert_eq!(customer["companyName"], "BAKKERIJ DE KORENSCHOOF", "an attribute mapping with its transform");
    assert_eq!(values(&customer)["iban"], "NL91ABNA0417164300");
    assert_eq!(values(&customer)["vestiging"], "Regio Utrecht", "a value mapping after the transforms");
    // "030-1234567" is no number: that field is left out and named, the customer is synced all the same.
    assert!(values(&customer).get("belnummer").is_none(), "{customer:#}");
    let events = setup.ok(EVENTS, json!({"id": setup.integration})).await;
    let created = events["syncEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["entity"] == "CUSTOMER" && n["remoteId"] == "r1")
        .cloned()
        .unwrap_or_else(|| panic!("{events:#}"));
    assert!(
        created["message"].as_str().unwrap().contains("field telefoon not mapped: \"030-1234567\" is not a number"),
        "{created:#}"
    );
    let invoices = setup.ok(INVOICES, json!({})).await;
    let invoice = &invoices["invoices"]["edges"][0]["node"];
    assert_eq!(values(invoice)["bedrag"], "121", "{invoices:#}");

    // Changed at SnelStart: mapped fields follow, a create-only one keeps what it was created with.
    setup.fake.edit_relatie("r1", |r| {
        r["iban"] = "nl20ingb0001234567".into();
        r["vestigingsAdres"]["plaats"] = "Amersfoort".into();
    });
    setup.sync_entities(json!(["CUSTOMER"])).await;
    let customer = setup.customer("info@korenschoof.nl").await;
    assert_eq!(values(&customer)["iban"], "NL20INGB0001234567");
    assert_eq!(values(&customer)["vestiging"], "Regio Utrecht", "create-only: not overwritten");

    // A changed mapping rewrites the invoices it maps on the next pass, though SnelStart changed nothing.
    let errors = setup
        .map(
            "invoice",
            json!([{"remoteField": "factuurBedrag", "targetKind": "EXTRA_FIELD", "target": "bedrag",
                    "transforms": [{"kind": "NUMBER_SCALE", "argument": "2"}]}]),
        )
        .await;
    assert_eq!(errors, json!([]));
    let runs = setup.sync_entities(json!(["INVOICE"])).await;
    assert_eq!(runs[0]["counts"]["updated"], 1, "{runs:#?}");
    let invoices = setup.ok(INVOICES, json!({})).await;
    assert_eq!(values(&invoices["invoices"]["edges"][0]["node"])["bedrag"], "121.40");
}

#[tokio::test]
async fn mappings_snelstart_or_koppel_cannot_take_are_refused_and_change_nothing() {
    let setup = Setup::new(json!({})).await;
    setup.extra_field("CUSTOMER", "iban").await;
    let good = json!([{"remoteField": "iban", "targetKind": "EXTRA_FIELD", "target": "iban"}]);
    assert_eq!(setup.map("customer", good).await, json!([]));
    let before = setup.ok(MAPPINGS, json!({"id": setup.integration})).await;

    let cases = [
        (
            "customer",
            json!({"remoteField": "website", "targetKind": "EXTRA_FIELD", "target": "iban"}),
            "mappings.0.remoteField",
            "NOT_FOUND",
        ),
        (
            "customer",
            json!({"remoteField": "iban", "targetKind": "EXTRA_FIELD", "target": "rekening"}),
            "mappings.0.target",
            "NOT_FOUND",
        ),
        (
            "customer",
            json!({"remoteField": "iban", "targetKind": "ATTRIBUTE", "target": "nickname"}),
            "mappings.0.target",
            "NOT_AN_OPTION",
        ),
        (
            "customer",
            json!({"remoteField": "iban", "targetKind": "QUESTION", "target": "iban"}),
            "mappings.0.targetKind",
            "NOT_AN_OPTION",
        ),
        (
            "invoice",
            json!({"remoteField": "factuurBedrag", "targetKind": "ATTRIBUTE", "target": "number"}),
            "mappings.0.targetKind",
            "NOT_AN_OPTION",
        ),
        // The extra field `iban` is a customer's, not an invoice's.
        (
            "invoice",
            json!({"remoteField": "factuurBedrag", "targetKind": "EXTRA_FIELD", "target": "iban"}),
            "mappings.0.target",
            "NOT_FOUND",
        ),
    ];
    for (entity, mapping, field, code) in cases {
        let errors = setup.map(entity, json!([mapping])).await;
        let named = errors.as_array().unwrap().iter().any(|e| e["field"] == field && e["code"] == code);
        assert!(named, "{entity} {mapping}: {errors:#}");
    }
    let unknown = json!([{"remoteField": "website", "targetKind": "EXTRA_FIELD", "target": "iban"}]);
    let unknown = setup.map("customer", unknown).await;
    assert!(unknown[0]["message"].as_str().unwrap().contains("its fields: relatiecode, naam"), "{unknown:#}");
    assert_eq!(setup.ok(MAPPINGS, json!({"id": setup.integration})).await, before, "refused: nothing changed");
}

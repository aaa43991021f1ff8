//! Field, status and flow mappings: checked against the remote's and this account's records, replaced
//! as a whole set.

use super::fixtures::{
    Consumer, FIELD_MAPPINGS, FLOW_MAPPINGS, STATUS_MAPPINGS, connected, create_flow, create_status, map_origin,
};
use super::{has_error, peer_server};
use serde_json::{Value, json};

async fn field_mappings_of(a: &Consumer<'_>) -> Value {
    a.admin
        .data(
            "query($id: ID!) { integration(id: $id) { fieldMappings(entity: \"product\") { remoteField targetKind target } } }",
            json!({"id": a.integration}),
        )
        .await["integration"]["fieldMappings"]
        .clone()
}

#[tokio::test]
async fn field_mappings_are_checked_against_the_remote_and_local_fields() {
    let server = peer_server().await;
    let (_b, a) = connected(&server).await;
    map_origin(&a).await;
    let before = field_mappings_of(&a).await;
    assert_eq!(before, json!([{"remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "herkomst"}]));

    let mapping = |changes: Value| {
        let mut mapping = json!({"remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "herkomst"});
        for (key, value) in changes.as_object().unwrap() {
            mapping[key] = value.clone();
        }
        json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": [mapping]}})
    };
    let origin = json!({"remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "herkomst"});
    let twice = json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": [origin, origin]}});
    let cases: Vec<(Value, &str, &str)> = vec![
        (twice, "mappings.1", "TAKEN"),
        (mapping(json!({"remoteField": "colour"})), "mappings.0.remoteField", "NOT_FOUND"),
        (mapping(json!({"target": "kleur"})), "mappings.0.target", "NOT_FOUND"),
        (mapping(json!({"targetKind": "ATTRIBUTE", "target": "sku"})), "mappings.0.target", "NOT_AN_OPTION"),
        (mapping(json!({"targetKind": "QUESTION", "target": "no_such_question"})), "mappings.0.target", "NOT_FOUND"),
        (
            mapping(json!({"values": [{"remote": "green", "local": "Blauwe stroom"}]})),
            "mappings.0.values.0.local",
            "NOT_AN_OPTION",
        ),
        (
            mapping(json!({"values": [{"remote": "blue", "local": "Groene stroom"}]})),
            "mappings.0.values.0.remote",
            "NOT_AN_OPTION",
        ),
        (mapping(json!({"transforms": [{"kind": "DATE_FORMAT"}]})), "mappings.0.transforms.0.argument", "REQUIRED"),
        (mapping(json!({"transforms": [{"kind": "NUMBER_SCALE"}]})), "mappings.0.transforms.0.argument", "REQUIRED"),
        (
            mapping(json!({"transforms": [{"kind": "DATE_FORMAT", "argument": "%Q"}]})),
            "mappings.0.transforms.0.argument",
            "INVALID",
        ),
        (
            mapping(json!({"transforms": [{"kind": "NUMBER_SCALE", "argument": "11"}]})),
            "mappings.0.transforms.0.argument",
            "INVALID",
        ),
        // A malformed argument is INVALID; only a missing one is REQUIRED.
        (
            mapping(json!({"transforms": [{"kind": "TRIM"}, {"kind": "NUMBER_SCALE", "argument": "two"}]})),
            "mappings.0.transforms.1.argument",
            "INVALID",
        ),
    ];
    for (variables, field, code) in cases {
        let (payload, errors) = a.admin.refused("setFieldMappings", FIELD_MAPPINGS, variables.clone()).await;
        assert!(has_error(&errors, field, code), "{field} {code}: {errors:?} for {variables}");
        assert!(payload["fieldMappings"].is_null());
    }
    let (_, errors) = a
        .admin
        .refused(
            "setFieldMappings",
            FIELD_MAPPINGS,
            json!({"i": {"integrationId": a.integration, "entity": "customer", "mappings": []}}),
        )
        .await;
    assert!(has_error(&errors, "entity", "NOT_AN_OPTION"), "{errors:?}");
    assert_eq!(field_mappings_of(&a).await, before, "refused mappings change nothing");

    // Replace-set: the new set takes the old one's place.
    let replaced = a
        .admin
        .mutate(
            "setFieldMappings",
            FIELD_MAPPINGS,
            json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": [
                {"remoteField": "name", "targetKind": "ATTRIBUTE", "target": "description", "transforms": [{"kind": "UPPERCASE"}]},
                {"remoteField": "origin", "targetKind": "ATTRIBUTE", "target": "category", "transforms": [{"kind": "DEFAULT", "argument": "onbekend"}]},
            ]}}),
        )
        .await;
    assert_eq!(replaced["fieldMappings"].as_array().unwrap().len(), 2);
    assert_eq!(
        field_mappings_of(&a).await,
        json!([
            {"remoteField": "name", "targetKind": "ATTRIBUTE", "target": "description"},
            {"remoteField": "origin", "targetKind": "ATTRIBUTE", "target": "category"},
        ])
    );
    a.admin
        .mutate(
            "setFieldMappings",
            FIELD_MAPPINGS,
            json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": []}}),
        )
        .await;
    assert_eq!(field_mappings_of(&a).await, json!([]));
}

async fn status_mappings_of(a: &Consumer<'_>) -> Vec<Value> {
    a.admin
        .data(
            "query($id: ID!) { integration(id: $id) { statusMappings { remoteStatus automatic localStatus { id key } } } }",
            json!({"id": a.integration}),
        )
        .await["integration"]["statusMappings"]
        .as_array()
        .cloned()
        .unwrap()
}

fn mapping_summary(mappings: &[Value]) -> Vec<(String, bool, String)> {
    let mut summary: Vec<(String, bool, String)> = mappings
        .iter()
        .map(|m| {
            (
                m["remoteStatus"].as_str().unwrap().to_owned(),
                m["automatic"].as_bool().unwrap(),
                m["localStatus"]["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    summary.sort();
    summary
}

fn owned(items: &[(&str, bool, &str)]) -> Vec<(String, bool, String)> {
    let mut items: Vec<(String, bool, String)> =
        items.iter().map(|(r, a, l)| ((*r).to_owned(), *a, (*l).to_owned())).collect();
    items.sort();
    items
}

#[tokio::test]
async fn status_mappings_map_system_statuses_automatically_and_custom_ones_explicitly() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    let terugbellen = create_status(&a.admin, "terugbellen", "Terugbellen").await;
    let afgewezen = create_status(&a.admin, "afgewezen_partner", "Afgewezen door partner").await;

    let remote = a
        .admin
        .data(
            "query($id: ID!) { remoteStatuses(integrationId: $id) { key name system } }",
            json!({"id": a.integration}),
        )
        .await["remoteStatuses"]
        .as_array()
        .cloned()
        .unwrap();
    assert!(remote.contains(&json!({"key": "callback", "name": "Terugbellen", "system": false})), "{remote:#?}");
    assert!(remote.contains(&json!({"key": "new", "name": "New", "system": true})), "{remote:#?}");
    assert_eq!(remote.len(), 6);

    let automatic = [
        ("new", true, "new"),
        ("sent", true, "sent"),
        ("processed", true, "processed"),
        ("rejected", true, "rejected"),
        ("cancelled", true, "cancelled"),
    ];
    assert_eq!(mapping_summary(&status_mappings_of(&a).await), owned(&automatic));

    let set = |mappings: Value| json!({"i": {"integrationId": a.integration, "mappings": mappings}});
    let payload = a
        .admin
        .mutate(
            "setStatusMappings",
            STATUS_MAPPINGS,
            set(json!([{"remoteStatus": "callback", "localStatusId": terugbellen}])),
        )
        .await;
    let mut expected = automatic.to_vec();
    expected.push(("callback", false, "terugbellen"));
    assert_eq!(mapping_summary(payload["statusMappings"].as_array().unwrap()), owned(&expected));
    assert_eq!(mapping_summary(&status_mappings_of(&a).await), owned(&expected));

    // Refused: a status the remote does not have, a local status of another account, twice the same.
    let cases = [
        (json!([{"remoteStatus": "vanished", "localStatusId": terugbellen}]), "mappings.0.remoteStatus", "NOT_FOUND"),
        (json!([{"remoteStatus": "callback", "localStatusId": b.callback}]), "mappings.0.localStatusId", "NOT_FOUND"),
        (json!([{"remoteStatus": "callback", "localStatusId": "not-an-id"}]), "mappings.0.localStatusId", "NOT_FOUND"),
        (
            json!([{"remoteStatus": "callback", "localStatusId": terugbellen}, {"remoteStatus": "callback", "localStatusId": afgewezen}]),
            "mappings.1.remoteStatus",
            "TAKEN",
        ),
    ];
    for (mappings, field, code) in cases {
        let (_, errors) = a.admin.refused("setStatusMappings", STATUS_MAPPINGS, set(mappings.clone())).await;
        assert!(has_error(&errors, field, code), "{field} {code}: {errors:?} for {mappings}");
    }
    assert_eq!(mapping_summary(&status_mappings_of(&a).await), owned(&expected), "unchanged");

    // An explicit mapping of a system status overrides the automatic one.
    a.admin
        .mutate(
            "setStatusMappings",
            STATUS_MAPPINGS,
            set(json!([
                {"remoteStatus": "callback", "localStatusId": terugbellen},
                {"remoteStatus": "rejected", "localStatusId": afgewezen},
            ])),
        )
        .await;
    let overridden = [
        ("new", true, "new"),
        ("sent", true, "sent"),
        ("processed", true, "processed"),
        ("cancelled", true, "cancelled"),
        ("callback", false, "terugbellen"),
        ("rejected", false, "afgewezen_partner"),
    ];
    assert_eq!(mapping_summary(&status_mappings_of(&a).await), owned(&overridden));

    // Replace-set: an empty set leaves only the automatic mappings.
    a.admin.mutate("setStatusMappings", STATUS_MAPPINGS, set(json!([]))).await;
    assert_eq!(mapping_summary(&status_mappings_of(&a).await), owned(&automatic));
}

#[tokio::test]
async fn flow_mappings_name_a_remote_flow_and_a_local_flow_of_this_account() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    let remote = a
        .admin
        .data("query($id: ID!) { remoteFlows(integrationId: $id) { remoteId name } }", json!({"id": a.integration}))
        .await;
    assert_eq!(remote["remoteFlows"], json!([{"remoteId": b.flow, "name": "Energie"}]), "only the granted flow");

    let energie = create_flow(&a.admin, "Energie bij B").await;
    let groen = create_flow(&a.admin, "Groene energie").await;
    let set = |mappings: Value| json!({"i": {"integrationId": a.integration, "mappings": mappings}});
    let payload = a
        .admin
        .mutate("setFlowMappings", FLOW_MAPPINGS, set(json!([{"localFlowId": energie, "remoteFlowId": b.flow}])))
        .await;
    assert_eq!(
        payload["flowMappings"],
        json!([{"remoteFlowId": b.flow, "localFlow": {"id": energie, "name": "Energie bij B"}}])
    );

    let cases = [
        (json!([{"localFlowId": energie, "remoteFlowId": b.other_flow}]), "mappings.0.remoteFlowId", "NOT_FOUND"),
        (json!([{"localFlowId": energie, "remoteFlowId": "nowhere"}]), "mappings.0.remoteFlowId", "NOT_FOUND"),
        (json!([{"localFlowId": b.flow, "remoteFlowId": b.flow}]), "mappings.0.localFlowId", "NOT_FOUND"),
        (
            json!([{"localFlowId": energie, "remoteFlowId": b.flow}, {"localFlowId": energie, "remoteFlowId": b.flow}]),
            "mappings.1.localFlowId",
            "TAKEN",
        ),
    ];
    for (mappings, field, code) in cases {
        let (_, errors) = a.admin.refused("setFlowMappings", FLOW_MAPPINGS, set(mappings.clone())).await;
        assert!(has_error(&errors, field, code), "{field} {code}: {errors:?} for {mappings}");
    }
    let flow_mappings = "query($id: ID!) { integration(id: $id) { flowMappings { remoteFlowId localFlow { id } } } }";
    let current = a.admin.data(flow_mappings, json!({"id": a.integration})).await;
    assert_eq!(current["integration"]["flowMappings"], json!([{"remoteFlowId": b.flow, "localFlow": {"id": energie}}]));

    // Replace-set.
    a.admin
        .mutate("setFlowMappings", FLOW_MAPPINGS, set(json!([{"localFlowId": groen, "remoteFlowId": b.flow}])))
        .await;
    let current = a.admin.data(flow_mappings, json!({"id": a.integration})).await;
    assert_eq!(current["integration"]["flowMappings"], json!([{"remoteFlowId": b.flow, "localFlow": {"id": groen}}]));
}

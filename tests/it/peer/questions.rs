//! Question mappings: accepted with warnings about what would make a sale fail at the remote, refused
//! when the options or questions do not exist on either side.

use super::fixtures::{
    FLOW_QUESTIONS, GIRO_REFERENCE, QUESTION_MAPPINGS, connected, create_flow, create_question, giro_reference_rules,
};
use super::{has_error, peer_server, sorted};
use serde_json::{Value, json};

#[tokio::test]
async fn question_mappings_warn_about_what_would_make_sales_fail_at_the_remote() {
    let server = peer_server().await;
    let (_b, a) = connected(&server).await;
    let remote = a
        .admin
        .data(
            "query($id: ID!) { remoteQuestions(integrationId: $id) { key label questionType required options { value label } validations conditions flowId } }",
            json!({"id": a.integration}),
        )
        .await["remoteQuestions"]
        .as_array()
        .cloned()
        .unwrap();
    assert_eq!(sorted(&remote, "key"), FLOW_QUESTIONS);
    let payment = remote.iter().find(|q| q["key"] == "payment_method").unwrap();
    assert_eq!(payment["questionType"], "select");
    assert_eq!(payment["required"], true);
    assert_eq!(
        payment["options"],
        json!([{"value": "direct_debit", "label": "Automatische incasso"}, {"value": "giro", "label": "Acceptgiro"}])
    );
    assert!(payment["validations"].is_object() && payment["conditions"].is_array(), "{payment:#}");
    let rehousing = remote.iter().find(|q| q["key"] == "rehousing").unwrap();
    assert_eq!(rehousing["questionType"], "boolean");
    assert_eq!(rehousing["required"], false);
    // The remote's validations and conditions come through as they are.
    let giro = remote.iter().find(|q| q["key"] == GIRO_REFERENCE).unwrap();
    let (validations, conditions) = giro_reference_rules();
    assert_eq!(giro["questionType"], "text");
    assert_eq!(giro["required"], false);
    assert_eq!(giro["validations"], validations, "{giro:#}");
    assert_eq!(giro["conditions"], conditions, "{giro:#}");

    let flow = create_flow(&a.admin, "Energie bij B").await;
    let betaalwijze = create_question(
        &a.admin,
        json!({
            "flowId": flow, "key": "betaalwijze", "label": "Betaalwijze", "questionType": "SELECT", "required": true,
            "options": [{"value": "incasso", "label": "Incasso"}, {"value": "acceptgiro", "label": "Acceptgiro"}],
        }),
    )
    .await;
    let opmerking = create_question(
        &a.admin,
        json!({"flowId": flow, "key": "opmerking", "label": "Opmerking", "questionType": "TEXT", "required": true}),
    )
    .await;
    let verhuizing = create_question(
        &a.admin,
        json!({"flowId": flow, "key": "verhuizing", "label": "Verhuizing", "questionType": "BOOLEAN"}),
    )
    .await;
    let set = |mappings: Value| json!({"i": {"integrationId": a.integration, "mappings": mappings}});
    let warnings_of = |payload: &Value| -> Vec<String> {
        payload["warnings"].as_array().unwrap().iter().map(|w| w["message"].as_str().unwrap().to_owned()).collect()
    };

    // Different options and no option mapping: accepted, with a warning per unmatched option.
    let payload = a
        .admin
        .mutate(
            "setQuestionMappings",
            QUESTION_MAPPINGS,
            set(json!([{"remoteQuestionKey": "payment_method", "localQuestionId": betaalwijze}])),
        )
        .await;
    let warnings = warnings_of(&payload);
    assert!(warnings.iter().any(|w| w.contains("incasso")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("acceptgiro")), "{warnings:?}");
    assert!(payload["warnings"].as_array().unwrap().iter().all(|w| w["field"] == "mappings.0"), "{payload:#}");
    assert_eq!(payload["questionMappings"][0]["localQuestion"]["key"], "betaalwijze");

    // With the options mapped, the option warnings are gone.
    let options = json!([{"local": "incasso", "remote": "direct_debit"}, {"local": "acceptgiro", "remote": "giro"}]);
    let payload = a
        .admin
        .mutate(
            "setQuestionMappings",
            QUESTION_MAPPINGS,
            set(json!([{"remoteQuestionKey": "payment_method", "localQuestionId": betaalwijze, "options": options}])),
        )
        .await;
    let warnings = warnings_of(&payload);
    assert!(!warnings.iter().any(|w| w.contains("incasso") || w.contains("acceptgiro")), "{warnings:?}");
    assert_eq!(payload["questionMappings"][0]["options"], options);

    // A free-text question for a remote choice: a type warning.
    let payload = a
        .admin
        .mutate(
            "setQuestionMappings",
            QUESTION_MAPPINGS,
            set(json!([{"remoteQuestionKey": "payment_method", "localQuestionId": opmerking}])),
        )
        .await;
    let warnings = warnings_of(&payload);
    assert!(warnings.iter().any(|w| w.contains("text") && w.contains("select")), "{warnings:?}");
    // The warning stays on the mapping, for whoever looks later.
    let kept = a
        .admin
        .data(
            "query($id: ID!) { integration(id: $id) { questionMappings { remoteQuestionKey warnings } } }",
            json!({"id": a.integration}),
        )
        .await;
    let stored = kept["integration"]["questionMappings"][0]["warnings"].as_array().unwrap().clone();
    assert!(stored.iter().any(|w| w.as_str().unwrap().contains("select")), "{kept:#}");

    // Refused: options that do not exist on either side, unknown remote questions, unknown local ones.
    let cases = [
        (
            json!([{"remoteQuestionKey": "payment_method", "localQuestionId": betaalwijze, "options": [{"local": "cheque", "remote": "giro"}]}]),
            "mappings.0.options.0.local",
            "NOT_AN_OPTION",
        ),
        (
            json!([{"remoteQuestionKey": "payment_method", "localQuestionId": betaalwijze, "options": [{"local": "incasso", "remote": "bitcoin"}]}]),
            "mappings.0.options.0.remote",
            "NOT_AN_OPTION",
        ),
        (
            json!([{"remoteQuestionKey": "router_type", "localQuestionId": opmerking}]),
            "mappings.0.remoteQuestionKey",
            "NOT_FOUND",
        ),
        (
            json!([{"remoteQuestionKey": "rehousing", "localQuestionId": "00000000-0000-7000-8000-000000000000"}]),
            "mappings.0.localQuestionId",
            "NOT_FOUND",
        ),
        (
            json!([{"remoteQuestionKey": "rehousing", "localQuestionId": "not-an-id"}]),
            "mappings.0.localQuestionId",
            "NOT_FOUND",
        ),
        (
            json!([{"remoteQuestionKey": "payment_method", "localQuestionId": betaalwijze}, {"remoteQuestionKey": "payment_method", "localQuestionId": opmerking}]),
            "mappings.1.remoteQuestionKey",
            "TAKEN",
        ),
    ];
    for (mappings, field, code) in cases {
        let (payload, errors) = a.admin.refused("setQuestionMappings", QUESTION_MAPPINGS, set(mappings.clone())).await;
        assert!(has_error(&errors, field, code), "{field} {code}: {errors:?} for {mappings}");
        assert!(payload["questionMappings"].is_null());
    }

    // Replace-set: the last set stands alone.
    let payload = a
        .admin
        .mutate(
            "setQuestionMappings",
            QUESTION_MAPPINGS,
            set(json!([{"remoteQuestionKey": "rehousing", "localQuestionId": verhuizing}])),
        )
        .await;
    assert_eq!(payload["warnings"], json!([]), "same type, both optional: nothing to warn about");
    let current = a
        .admin
        .data(
            "query($id: ID!) { integration(id: $id) { questionMappings { remoteQuestionKey localQuestion { id } } } }",
            json!({"id": a.integration}),
        )
        .await;
    assert_eq!(
        current["integration"]["questionMappings"],
        json!([{"remoteQuestionKey": "rehousing", "localQuestion": {"id": verhuizing}}])
    );
}

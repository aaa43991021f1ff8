//! The consumer sets up a peer integration: the kind's description, settings with defaults and
//! per-field errors, policies, and credentials that show only their last four characters.

use super::client::Client;
use super::fixtures::{
    CREATE_INTEGRATION, SET_CREDENTIALS, UPDATE_INTEGRATION, base_url, create_integration, integration,
    integration_count, provider, set_token, test_connection,
};
use super::{has_error, id_of, nodes, peer_server};
use crate::common::TestServer;
use serde_json::{Value, json};

#[tokio::test]
async fn integration_kinds_describe_the_peer_kind() {
    let server = TestServer::start().await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let kinds = admin
        .data(
            "{ integrationKinds { kind label capabilities syncedEntities
                settings { name fieldType required default options min max help }
                credentials { name fieldType required help } } }",
            json!({}),
        )
        .await;
    let peer = kinds["integrationKinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "peer")
        .expect("the peer kind")
        .clone();
    // Only what the peer kind really does: incremental sync does not exist yet.
    assert_eq!(peer["capabilities"], json!(["products", "sale_push", "sale_status_pull"]), "{peer:#}");
    for list in ["settings", "credentials"] {
        for field in peer[list].as_array().unwrap() {
            let help = field["help"].as_str().unwrap_or("");
            assert!(!help.trim().is_empty(), "{list}.{} has no help: {field:#}", field["name"]);
        }
    }
    assert_eq!(peer["syncedEntities"], json!(["product"]));
    let setting = |name: &str| {
        peer["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}"))
    };
    let account_name = setting("accountName");
    assert_eq!(account_name["required"], true);
    assert_eq!(account_name["fieldType"], "text");
    let auto = setting("autoProcessing");
    assert_eq!(auto["fieldType"], "select");
    assert_eq!(auto["options"], json!(["manual", "all", "specific"]));
    assert_eq!(auto["default"], "manual");
    assert_eq!(auto["required"], false);
    let delay = setting("delayWorkingDays");
    assert_eq!(delay["fieldType"], "integer");
    assert_eq!((delay["min"].as_i64(), delay["max"].as_i64()), (Some(0), Some(30)));
    assert_eq!(setting("processOnStatuses")["fieldType"], "text_list");
    assert_eq!(setting("checkStatusUpdates")["fieldType"], "boolean");
    // The sale-forwarding settings every kind that receives sales shares.
    let holidays = setting("holidays");
    assert_eq!(holidays["fieldType"], "multi_select");
    assert_eq!(holidays["options"].as_array().unwrap().len(), 9, "{holidays:#}");
    assert_eq!(holidays["default"], holidays["options"], "every national holiday is a day off by default");
    assert_eq!(setting("saleConditions")["fieldType"], "conditions");
    assert_eq!(setting("saleConditionsMatch")["options"], json!(["all", "any"]));
    assert_eq!((setting("sendHour")["min"].as_i64(), setting("sendHour")["max"].as_i64()), (Some(0), Some(23)));
    assert_eq!(setting("saleProcessing")["default"], true);
    let credentials: Vec<Value> = peer["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"name": c["name"], "fieldType": c["fieldType"], "required": c["required"]}))
        .collect();
    assert_eq!(credentials, [json!({"name": "apiToken", "fieldType": "secret", "required": true})]);
}

#[tokio::test]
async fn create_integration_fills_defaults_and_names_every_bad_field() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let url = base_url(&server);

    let created = admin
        .mutate(
            "createIntegration",
            CREATE_INTEGRATION,
            json!({"i": {"kind": "peer", "name": "Provider B", "baseUrl": url, "settings": {"accountName": b.account}}}),
        )
        .await["integration"]
        .clone();
    assert_eq!(created["kind"], "peer");
    assert_eq!(created["mode"], "TEST");
    assert_eq!(created["enabled"], false);
    assert_eq!(created["baseUrl"], url.as_str());
    assert_eq!(created["settings"]["accountName"], "provider");
    assert_eq!(created["settings"]["autoProcessing"], "manual");
    assert_eq!(created["settings"]["delayWorkingDays"], 0);
    assert_eq!(created["settings"]["checkStatusUpdates"], false);
    assert_eq!(created["missingRecordPolicies"], json!([{"entity": "product", "policy": "DEACTIVATE"}]));
    assert_eq!(created["credentialsSet"], json!([]));
    let id = id_of(&created["id"]);

    let good = |changes: Value| {
        let mut input =
            json!({"kind": "peer", "name": "Another", "baseUrl": url, "settings": {"accountName": "provider"}});
        for (key, value) in changes.as_object().unwrap() {
            input[key] = value.clone();
        }
        json!({"i": input})
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (good(json!({"kind": "sap"})), "kind", "NOT_AN_OPTION"),
        (
            good(json!({"settings": {"accountName": "provider", "delayWorkingDays": 99}})),
            "settings.delayWorkingDays",
            "INVALID",
        ),
        (good(json!({"settings": {"accountName": "provider", "colour": "red"}})), "settings.colour", "UNKNOWN"),
        (good(json!({"settings": {}})), "settings.accountName", "REQUIRED"),
        (good(json!({"settings": {"accountName": "  "}})), "settings.accountName", "INVALID"),
        (
            good(json!({"settings": {"accountName": "provider", "autoProcessing": "sometimes"}})),
            "settings.autoProcessing",
            "INVALID",
        ),
        (good(json!({"name": "Provider B"})), "name", "TAKEN"),
        (good(json!({"name": ""})), "name", "REQUIRED"),
        (
            good(json!({"missingRecordPolicies": [{"entity": "customer", "policy": "DELETE"}]})),
            "missingRecordPolicies.0.entity",
            "INVALID",
        ),
        (good(json!({"baseUrl": "not a url"})), "baseUrl", "INVALID"),
    ];
    for (variables, field, code) in cases {
        let (payload, errors) = admin.refused("createIntegration", CREATE_INTEGRATION, variables.clone()).await;
        assert!(has_error(&errors, field, code), "{field} {code}: {errors:?} for {variables}");
        assert!(payload["integration"].is_null());
    }
    // Several problems at once are all reported.
    let (_, errors) = admin
        .refused(
            "createIntegration",
            CREATE_INTEGRATION,
            good(json!({"name": "Provider B", "settings": {"delayWorkingDays": 99, "colour": "red"}})),
        )
        .await;
    for field in ["name", "settings.delayWorkingDays", "settings.colour", "settings.accountName"] {
        assert!(errors.iter().any(|(f, _)| f == field), "{field} in {errors:?}");
    }
    assert_eq!(integration_count(&admin).await, 1, "nothing was created");

    // Policies: deactivate by default, changeable per synced entity.
    for policy in ["DELETE", "IGNORE", "DEACTIVATE"] {
        let updated = admin
            .mutate(
                "updateIntegration",
                UPDATE_INTEGRATION,
                json!({"i": {"id": id, "missingRecordPolicies": [{"entity": "product", "policy": policy}]}}),
            )
            .await;
        assert_eq!(updated["integration"]["missingRecordPolicies"], json!([{"entity": "product", "policy": policy}]));
    }
    admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": id, "missingRecordPolicies": [{"entity": "product", "policy": "IGNORE"}]}}),
        )
        .await;
    let (_, errors) = admin
        .refused(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": id, "name": "Renamed", "missingRecordPolicies": [{"entity": "sale", "policy": "DELETE"}]}}),
        )
        .await;
    assert!(has_error(&errors, "missingRecordPolicies.0.entity", "INVALID"), "{errors:?}");
    let stored = integration(&admin, &id).await;
    assert_eq!(stored["name"], "Provider B", "a refused update changes nothing");
    assert_eq!(stored["missingRecordPolicies"], json!([{"entity": "product", "policy": "IGNORE"}]));

    // Updating the settings replaces them, defaults filled in, and checks them the same way.
    let updated = admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": id, "settings": {"accountName": "provider", "autoProcessing": "specific", "processOnStatuses": ["sent"], "delayWorkingDays": 2}}}),
        )
        .await;
    assert_eq!(updated["integration"]["settings"]["delayWorkingDays"], 2);
    assert_eq!(updated["integration"]["settings"]["processOnStatuses"], json!(["sent"]));
    let (_, errors) = admin
        .refused(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": id, "settings": {"accountName": "provider", "delayWorkingDays": -1}}}),
        )
        .await;
    assert!(has_error(&errors, "settings.delayWorkingDays", "INVALID"), "{errors:?}");
    assert_eq!(integration(&admin, &id).await["settings"]["delayWorkingDays"], 2);
}

#[tokio::test]
async fn credentials_show_only_their_last_four_characters_and_never_come_back() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let id = create_integration(&admin, "Provider B", &base_url(&server), &b.account).await;
    let production = "kpl_productionSecretThatIsNeverShownAgain0000wxyz";

    let set = set_token(&admin, &id, "TEST", &b.secret).await;
    let last_four: String = b.secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    assert_eq!(
        set["integration"]["credentialsSet"],
        json!([{"mode": "TEST", "field": "apiToken", "lastFour": last_four}])
    );
    set_token(&admin, &id, "PRODUCTION", production).await;
    let stored = integration(&admin, &id).await;
    let sets = stored["credentialsSet"].as_array().unwrap();
    assert_eq!(sets.len(), 2, "{sets:#?}");
    assert!(sets.contains(&json!({"mode": "PRODUCTION", "field": "apiToken", "lastFour": "wxyz"})));

    // Bad credential input is refused with the field named.
    let (_, errors) = admin
        .refused(
            "setIntegrationCredentials",
            SET_CREDENTIALS,
            json!({"i": {"id": id, "mode": "TEST", "values": [{"field": "password", "value": "hunter2hunter2"}]}}),
        )
        .await;
    assert!(has_error(&errors, "values.0.field", "UNKNOWN"), "{errors:?}");
    let (_, errors) = admin
        .refused(
            "setIntegrationCredentials",
            SET_CREDENTIALS,
            json!({"i": {"id": id, "mode": "TEST", "values": [{"field": "apiToken", "value": " kpl_spaced "}]}}),
        )
        .await;
    assert!(has_error(&errors, "values.0.value", "INVALID"), "{errors:?}");

    // An empty value removes the field of that mode only.
    set_token(&admin, &id, "PRODUCTION", "").await;
    let stored = integration(&admin, &id).await;
    assert_eq!(stored["credentialsSet"], json!([{"mode": "TEST", "field": "apiToken", "lastFour": last_four}]));
    let listed = admin
        .data("{ integrations { edges { node { settings credentialsSet { mode field lastFour } } } } }", json!({}))
        .await;
    assert_eq!(nodes(&listed["integrations"]).len(), 1);

    // The connection works with the stored secret, which no response ever contained.
    assert_eq!(test_connection(&admin, &id, None).await["ok"], true);
    admin.assert_never_saw(&b.secret);
    admin.assert_never_saw(production);
}

//! Seed 004's set-up: the kind's fields, "test API", and the advice a wrong key gets.

use super::setup::Setup;
use crate::fakes::snelstart::{CLIENT_KEY, SUBSCRIPTION_KEY};
use serde_json::json;

const TEST_API: &str = "mutation($id: ID!) { testIntegrationConnection(input: {id: $id}) {
  test { ok code message identity } } }";

#[tokio::test]
async fn the_kind_asks_for_the_seeds_fields() {
    let setup = Setup::new(json!({})).await;
    let kinds = setup
        .ok(
            "{ integrationKinds { kind syncedEntities settings { name fieldType required default options }
             credentials { name fieldType required } } }",
            json!({}),
        )
        .await;
    let kind = kinds["integrationKinds"].as_array().unwrap().iter().find(|k| k["kind"] == "snelstart").unwrap().clone();
    let credentials: Vec<&str> =
        kind["credentials"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(credentials, ["apiKey", "clientKey"]);
    let setting = |name: &str| kind["settings"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap().clone();
    assert_eq!(setting("matchingKey")["options"], json!(["email", "kvk_number", "relatie_code", "name"]));
    assert_eq!(setting("startDate")["fieldType"], "date");
    assert_eq!(setting("startDate")["required"], true);

    // A start date that is not a date is refused on its field.
    let refused = setup
        .ok(
            "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) { userErrors { field code } } }",
            json!({"i": {"id": setup.integration, "settings": {"startDate": "28-05-2019"}}}),
        )
        .await;
    assert_eq!(refused["updateIntegration"]["userErrors"][0]["field"], "settings.startDate", "{refused:#}");
}

#[tokio::test]
async fn test_api_works_and_a_wrong_key_gets_the_advice() {
    let setup = Setup::new(json!({})).await;
    let test = setup.ok(TEST_API, json!({"id": setup.integration})).await["testIntegrationConnection"]["test"].clone();
    assert_eq!(test["ok"], true, "{test:#}");
    assert!(test["identity"].as_str().unwrap().starts_with("SnelStart B2B API"), "{test:#}");

    // The API key in the wrong case: SnelStart's gateway refuses it, and the seed's advice is given.
    setup.set_keys(&SUBSCRIPTION_KEY.to_uppercase(), CLIENT_KEY).await;
    let test = setup.ok(TEST_API, json!({"id": setup.integration})).await["testIntegrationConnection"]["test"].clone();
    assert_eq!((test["ok"].clone(), test["code"].clone()), (json!(false), json!("WRONG_CREDENTIALS")), "{test:#}");
    let message = test["message"].as_str().unwrap();
    assert!(message.contains("case-sensitive") && message.contains("spaces"), "{message}");
    assert!(message.contains("invalid subscription key"), "SnelStart's own words too: {message}");

    // With a space inside (Koppel refuses spaces around a secret when it is set): refused before asking
    // SnelStart, with the same advice.
    setup.set_keys(&format!("{} {}", &SUBSCRIPTION_KEY[..8], &SUBSCRIPTION_KEY[8..]), CLIENT_KEY).await;
    let before = setup.fake.requests().len();
    let test = setup.ok(TEST_API, json!({"id": setup.integration})).await["testIntegrationConnection"]["test"].clone();
    assert!(test["message"].as_str().unwrap().contains("case-sensitive"), "{test:#}");
    assert_eq!(setup.fake.requests().len(), before);

    // A wrong koppelsleutel is told apart from a wrong API key.
    setup.set_keys(SUBSCRIPTION_KEY, "verkeerde-sleutel").await;
    let test = setup.ok(TEST_API, json!({"id": setup.integration})).await["testIntegrationConnection"]["test"].clone();
    assert_eq!(test["code"], "WRONG_CREDENTIALS");
    assert!(test["message"].as_str().unwrap().contains("koppelsleutel"), "{test:#}");
}

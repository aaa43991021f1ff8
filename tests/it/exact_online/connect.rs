//! Connecting: the OAuth2 authorization-code flow through Koppel's callback, and every state the
//! callback must refuse without changing anything.

use super::setup::{AUTHORIZATIONS, Setup, TEST};
use crate::fakes::exact_online::DIVISION;
use koppel_entity::oauth_state;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

#[tokio::test]
async fn an_admin_connects_exact_online_and_the_tokens_stay_secret() {
    let setup = Setup::new().await;

    // Before connecting: the connection test says to connect first.
    let test = setup.test_connection().await;
    assert_eq!((test["ok"].clone(), test["code"].clone()), (json!(false), json!("CONFIGURATION")), "{test:#}");
    assert!(test["message"].as_str().unwrap().contains("connect it first"), "{test:#}");
    assert_eq!(setup.authorizations().await, json!([]));

    // The mutation answers Exact's sign-in page for the app, sending the browser back to Koppel.
    let url = setup.start().await;
    let parsed = url::Url::parse(&url).unwrap();
    assert!(url.starts_with(&format!("{}/api/oauth2/auth?", setup.fake.base_url())), "{url}");
    let query: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(query["redirect_uri"], format!("http://{}/oauth/callback", setup.server.addr));
    assert_eq!(query["response_type"], "code");
    assert!(query["state"].len() >= 40, "an unguessable state: {}", query["state"]);

    let back = setup.sign_in(&url).await;
    assert!(back.starts_with(&format!("http://{}/oauth/callback?code=", setup.server.addr)), "{back}");
    let (status, page) = setup.callback(&back).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{page}");
    assert!(page.contains("Exact Online is connected") && page.contains(&DIVISION.to_string()), "{page}");

    // Connected: the division, until when the refresh token is valid (30 days), who signed in.
    let authorizations = setup.authorizations().await;
    let connection = &authorizations[0];
    assert_eq!(connection["connected"], true, "{authorizations:#}");
    assert_eq!(connection["mode"], "TEST");
    assert_eq!(connection["division"], DIVISION.to_string());
    assert_eq!(connection["identity"], "Jan Jansen (jan@bakkerij.nl)");
    let valid_until: chrono::DateTime<chrono::Utc> =
        connection["refreshTokenValidUntil"].as_str().unwrap().parse().unwrap();
    let days = (valid_until - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&days), "{days}");

    let test = setup.test_connection().await;
    assert_eq!(test["ok"], true, "{test:#}");
    assert!(test["identity"].as_str().unwrap().contains(&format!("division {DIVISION}")), "{test:#}");
    assert!(setup.fake.requests().iter().any(|r| r.contains(&format!("/api/v1/{DIVISION}/crm/Accounts"))));

    // The tokens: encrypted at rest, in no answer of the API.
    let issued = setup.fake.tokens_issued();
    assert_eq!(issued.len(), 2);
    let stored = setup.stored().await;
    assert_eq!(stored.len(), 1);
    let everything = setup.ok(AUTHORIZATIONS, json!({"id": setup.integration})).await.to_string();
    for token in &issued {
        assert!(!stored[0].ciphertext.contains(token.as_str()), "a token in the clear in the database");
        assert!(!everything.contains(token.as_str()), "a token in an answer: {everything}");
    }
    let credentials: Vec<String> =
        serde_json::from_str::<serde_json::Value>(&everything).unwrap()["integration"]["credentialsSet"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap().to_owned())
            .collect();
    assert_eq!(credentials, ["clientId", "clientSecret"], "the tokens are not credentials one can set or see");

    // They cannot be set as credentials either.
    let refused = setup
        .ok(
            "mutation($i: SetIntegrationCredentialsInput!) { setIntegrationCredentials(input: $i) { userErrors { field code } } }",
            json!({"i": {"id": setup.integration, "mode": "TEST", "values": [{"field": "refreshToken", "value": "x"}]}}),
        )
        .await;
    assert_eq!(refused["setIntegrationCredentials"]["userErrors"][0]["field"], "values.0.field");
}

#[tokio::test]
async fn a_replayed_expired_unknown_or_foreign_state_is_refused_and_changes_nothing() {
    let setup = Setup::new().await;
    let back = setup.sign_in(&setup.start().await).await;
    let (status, _) = setup.callback(&back).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let before = setup.stored().await;

    // The same callback again (a replay, e.g. the browser's back button or a leaked link).
    let (status, page) = setup.callback(&back).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert!(page.contains("used already"), "{page}");
    assert_eq!(setup.fake.token_counts().codes_exchanged, 1, "the code was not sent to Exact again");

    // A state Koppel never gave.
    let forged = format!("http://{}/oauth/callback?code=abc&state=forged-state-value", setup.server.addr);
    let (status, page) = setup.callback(&forged).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert!(page.contains("not known to Koppel"), "{page}");
    let (status, page) = setup.callback(&format!("http://{}/oauth/callback?code=abc", setup.server.addr)).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{page}");

    // An expired one: its ten minutes have passed.
    let back = setup.sign_in(&setup.start().await).await;
    oauth_state::Entity::update_many()
        .filter(oauth_state::Column::UsedAt.is_null())
        .col_expr(oauth_state::Column::ExpiresAt, Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .exec(&setup.server.server.state.db)
        .await
        .unwrap();
    let (status, page) = setup.callback(&back).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert!(page.contains("expired"), "{page}");

    // One of another account's admin, for its own integration: it connects that integration only.
    let other = setup.server.admin("slagerij").await;
    let theirs = Setup::create(&setup.server, &other, &setup.fake).await;
    let started = setup.server.gql_ok(Some(&other.token), super::setup::START, json!({"id": theirs})).await;
    let url = started["startIntegrationAuthorization"]["authorization"]["url"].as_str().unwrap().to_owned();
    let back = setup.sign_in(&url).await;
    // Their admin is switched off before coming back: the state no longer holds.
    koppel_entity::user::Entity::update_many()
        .filter(koppel_entity::user::Column::AccountId.ne(uuid_of_account(&setup, "bakkerij").await))
        .col_expr(koppel_entity::user::Column::Active, Expr::value(false))
        .exec(&setup.server.server.state.db)
        .await
        .unwrap();
    let (status, page) = setup.callback(&back).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert!(page.contains("no longer an admin"), "{page}");

    // A state of an integration deleted meanwhile.
    let second = Setup::create_named(&setup.server, &setup.admin, &setup.fake, "Exact Online 2").await;
    let started = setup.ok(super::setup::START, json!({"id": second})).await;
    let url = started["startIntegrationAuthorization"]["authorization"]["url"].as_str().unwrap().to_owned();
    let back_second = setup.sign_in(&url).await;
    let deleted = setup
        .ok("mutation($id: ID!) { deleteIntegration(input: {id: $id}) { deletedId } }", json!({"id": second}))
        .await;
    assert_eq!(deleted["deleteIntegration"]["deletedId"], second);
    let (status, page) = setup.callback(&back_second).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{page}");

    assert_eq!(setup.stored().await, before, "nothing changed by any refused callback");
    assert_eq!(setup.fake.token_counts().codes_exchanged, 1, "no refused callback reached Exact");
    let back = setup.sign_in(&setup.start().await).await;
    let (status, _) = setup.callback(&back).await;
    assert_eq!(status, reqwest::StatusCode::OK, "a fresh state still works");
    assert_eq!(setup.stored().await[0].generation, 2, "a reconnection replaces the tokens");
    let test = setup.ok(TEST, json!({"id": setup.integration})).await;
    assert_eq!(test["testIntegrationConnection"]["test"]["ok"], true, "{test:#}");
}

async fn uuid_of_account(setup: &Setup, name: &str) -> uuid::Uuid {
    koppel_entity::account::Entity::find()
        .filter(koppel_entity::account::Column::Name.eq(name))
        .one(&setup.server.server.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

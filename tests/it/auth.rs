//! Authentication and roles over HTTP: logins, JWT defects, API tokens, role guards.

use crate::common::{TEST_PASSWORD, TestServer};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const SECRET: &str = "a-test-signing-secret-of-at-least-32-bytes";
const ME: &str = "{ me { id username role account { name } } }";

async fn server() -> TestServer {
    TestServer::start_with(|c| c.jwt_secret = Some(SECRET.into())).await
}

fn code(response: &Value) -> String {
    TestServer::error_code(response).unwrap_or_else(|| panic!("expected an error: {response:#}"))
}

/// A token signed like Koppel's, with the claims changed by `edit`.
fn forge(
    response_me: &Value,
    account_id: &str,
    edit: impl FnOnce(&mut Value),
    algorithm: Algorithm,
    key: &str,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": response_me["id"], "acc": account_id, "iss": "koppel", "aud": "koppel-api",
        "iat": now, "exp": now + 600,
    });
    edit(&mut claims);
    jsonwebtoken::encode(&Header::new(algorithm), &claims, &EncodingKey::from_secret(key.as_bytes())).unwrap()
}

#[tokio::test]
async fn login_gives_a_token_that_me_accepts_and_wrong_credentials_do_not() {
    let server = server().await;
    let admin = server.admin("acme").await;
    let me = server.gql_ok(Some(&admin.token), ME, json!({})).await;
    assert_eq!(me["me"]["username"], "admin");
    assert_eq!(me["me"]["role"], "ADMIN");
    assert_eq!(me["me"]["account"]["name"], "acme");

    let login = "mutation($input: LoginInput!) { login(input: $input) { session { token } } }";
    for (account, username, password) in
        [("acme", "admin", "wrong-password"), ("acme", "nobody", TEST_PASSWORD), ("nowhere", "admin", TEST_PASSWORD)]
    {
        let response = server
            .gql(None, login, json!({"input": {"account": account, "username": username, "password": password}}))
            .await;
        assert_eq!(code(&response), "UNAUTHENTICATED", "{account}/{username}");
        assert_eq!(response["errors"][0]["message"], "wrong account, username or password");
    }
    // Without a token, nothing but login works.
    assert_eq!(code(&server.gql(None, ME, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(code(&server.gql(None, "{ products { edges { cursor } } }", json!({})).await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn defective_login_tokens_are_unauthenticated() {
    let server = server().await;
    let admin = server.admin("acme").await;
    let me = server.gql_ok(Some(&admin.token), "{ me { id account { id } } }", json!({})).await;
    let account_id = me["me"]["account"]["id"].as_str().unwrap().to_owned();
    let user = &me["me"];

    let valid = forge(user, &account_id, |_| {}, Algorithm::HS256, SECRET);
    assert!(server.gql(Some(&valid), ME, json!({})).await.get("errors").is_none(), "the forging itself works");

    let expired =
        forge(user, &account_id, |c| c["exp"] = json!(chrono::Utc::now().timestamp() - 3600), Algorithm::HS256, SECRET);
    let wrong_audience = forge(user, &account_id, |c| c["aud"] = json!("someone-else"), Algorithm::HS256, SECRET);
    let wrong_issuer = forge(user, &account_id, |c| c["iss"] = json!("evil"), Algorithm::HS256, SECRET);
    let wrong_key = forge(user, &account_id, |_| {}, Algorithm::HS256, "another-secret-that-is-32-bytes-long!!");
    let other_algorithm = forge(user, &account_id, |_| {}, Algorithm::HS512, SECRET);
    let no_expiry = forge(
        user,
        &account_id,
        |c| {
            c.as_object_mut().unwrap().remove("exp");
        },
        Algorithm::HS256,
        SECRET,
    );
    // Same header and signature, a payload claiming another user.
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value = serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
    payload["sub"] = json!(uuid::Uuid::now_v7().to_string());
    parts[1] = b64.encode(payload.to_string());
    let tampered = parts.join(".");
    // `alg: none`, no signature.
    let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{header}.{}.", valid.split('.').nth(1).unwrap());

    for (name, token) in [
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("wrong issuer", wrong_issuer),
        ("wrong key", wrong_key),
        ("HS512 instead of the pinned HS256", other_algorithm),
        ("without exp", no_expiry),
        ("tampered payload", tampered),
        ("alg none", unsigned),
        ("garbage", "not-a-token".into()),
    ] {
        let response = server.gql(Some(&token), ME, json!({})).await;
        assert_eq!(code(&response), "UNAUTHENTICATED", "{name}: {response}");
        assert!(response["data"].is_null(), "{name}");
    }
    let response = server
        .http
        .post(&server.url)
        .header("Authorization", "Basic abc")
        .json(&json!({"query": ME}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

const CREATE_USER: &str =
    "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { field code } } }";
const CREATE_TOKEN: &str = "mutation($input: CreateApiTokenInput!) {
  createApiToken(input: $input) { created { secret apiToken { id prefix integrationOnly } } userErrors { field code } } }";

#[tokio::test]
async fn api_tokens_work_until_revoked_and_their_secret_is_shown_once() {
    let server = server().await;
    let admin = server.admin("acme").await;
    let agent = server
        .gql_ok(Some(&admin.token), CREATE_USER, json!({"input": {"username": "koppeling_partner", "role": "AGENT"}}))
        .await;
    let agent_id = agent["createUser"]["user"]["id"].clone();
    let created =
        server.gql_ok(Some(&admin.token), CREATE_TOKEN, json!({"input": {"userId": agent_id, "name": "script"}})).await;
    let secret = created["createApiToken"]["created"]["secret"].as_str().unwrap().to_owned();
    let token_id = created["createApiToken"]["created"]["apiToken"]["id"].clone();
    assert!(secret.starts_with("kpl_"));
    assert!(secret.starts_with(created["createApiToken"]["created"]["apiToken"]["prefix"].as_str().unwrap()));

    let me = server.gql_ok(Some(&secret), ME, json!({})).await;
    assert_eq!(me["me"]["username"], "koppeling_partner");
    assert_eq!(me["me"]["role"], "AGENT");

    // Listing tokens never shows the secret again, but shows that it was used.
    let listing = server
        .gql(
            Some(&admin.token),
            "{ apiTokens { edges { node { id name prefix lastUsedAt revokedAt user { username } } } } }",
            json!({}),
        )
        .await;
    assert!(!listing.to_string().contains(&secret), "the secret leaked: {listing}");
    assert!(!listing.to_string().contains(&secret[10..]), "part of the secret leaked");
    assert!(listing["data"]["apiTokens"]["edges"][0]["node"]["lastUsedAt"].is_string());

    let revoke = "mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { apiToken { revokedAt } } }";
    let revoked = server.gql_ok(Some(&admin.token), revoke, json!({"input": {"id": token_id}})).await;
    assert!(revoked["revokeApiToken"]["apiToken"]["revokedAt"].is_string());
    let response = server.gql(Some(&secret), ME, json!({})).await;
    assert_eq!(code(&response), "UNAUTHENTICATED");
    // A peer tells a revoked token from a wrong one by this reason, not by the message.
    assert_eq!(response["errors"][0]["extensions"]["reason"], "TOKEN_REVOKED", "{response}");
    assert_eq!(
        server.http.post(&server.url).bearer_auth(&secret).json(&json!({"query": ME})).send().await.unwrap().status(),
        401
    );
    let unknown = server.gql(Some("kpl_made-up"), ME, json!({})).await;
    assert_eq!(code(&unknown), "UNAUTHENTICATED");
    assert!(unknown["errors"][0]["extensions"].get("reason").is_none(), "{unknown}");
}

/// Agent `sam` of account `acme`: its id, a login token and an API token's secret.
async fn agent_with_token(server: &TestServer, admin_token: &str) -> (Value, String, String) {
    let created = server
        .gql_ok(
            Some(admin_token),
            CREATE_USER,
            json!({"input": {"username": "sam", "password": "sam-password-1", "role": "AGENT"}}),
        )
        .await;
    let sam_id = created["createUser"]["user"]["id"].clone();
    let sam = server.login("acme", "sam", "sam-password-1").await;
    let token = server.gql_ok(Some(admin_token), CREATE_TOKEN, json!({"input": {"userId": sam_id, "name": "t"}})).await;
    let secret = token["createApiToken"]["created"]["secret"].as_str().unwrap().to_owned();
    (sam_id, sam, secret)
}

#[tokio::test]
async fn disabling_a_user_stops_its_logins_and_tokens_at_once() {
    let server = server().await;
    let admin = server.admin("acme").await;
    let (sam_id, sam, secret) = agent_with_token(&server, &admin.token).await;
    server.gql_ok(Some(&sam), ME, json!({})).await;

    let disable =
        "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { active } userErrors { field } } }";
    server.gql_ok(Some(&admin.token), disable, json!({"input": {"id": sam_id, "active": false}})).await;
    assert_eq!(code(&server.gql(Some(&sam), ME, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(code(&server.gql(Some(&secret), ME, json!({})).await), "UNAUTHENTICATED");
    let login = "mutation($input: LoginInput!) { login(input: $input) { session { token } } }";
    let response = server
        .gql(None, login, json!({"input": {"account": "acme", "username": "sam", "password": "sam-password-1"}}))
        .await;
    assert_eq!(code(&response), "UNAUTHENTICATED");

    // Admins cannot lock themselves out.
    let me = server.gql_ok(Some(&admin.token), "{ me { id } }", json!({})).await;
    let response = server
        .gql_ok(Some(&admin.token), disable, json!({"input": {"id": me["me"]["id"], "active": false, "role": "AGENT"}}))
        .await;
    let fields: Vec<&str> =
        response["updateUser"]["userErrors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["role", "active"]);
}

#[tokio::test]
async fn a_checked_token_costs_no_statement_until_users_or_tokens_change() {
    let server = server().await;
    let admin = server.admin("acme").await;
    let (sam_id, sam, secret) = agent_with_token(&server, &admin.token).await;
    let floor = "{ me { username } }";
    for bearer in [&sam, &secret] {
        server.gql_ok(Some(bearer), floor, json!({})).await;
        let before = server.metrics_statements().await;
        let me = server.gql_ok(Some(bearer), floor, json!({})).await;
        assert_eq!(me["me"]["username"], "sam");
        assert_eq!(server.metrics_statements().await - before, 0, "a remembered caller is not read again");
    }

    // A change through the API is seen by the next request: the display name, then the disabling.
    let update = "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id } } }";
    server.gql_ok(Some(&admin.token), update, json!({"input": {"id": sam_id, "displayName": "Sam"}})).await;
    let me = server.gql_ok(Some(&secret), "{ me { displayName } }", json!({})).await;
    assert_eq!(me["me"]["displayName"], "Sam");
    server.gql_ok(Some(&admin.token), update, json!({"input": {"id": sam_id, "active": false}})).await;
    assert_eq!(code(&server.gql(Some(&sam), floor, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(code(&server.gql(Some(&secret), floor, json!({})).await), "UNAUTHENTICATED");
}

/// On PostgreSQL another process (a second API server, a script) may change users and tokens: triggers
/// tell every server, which forgets whom it remembered. SQLite has one writing process.
#[tokio::test]
async fn a_token_revoked_by_another_process_stops_working_here() {
    let server = server().await;
    if !server.database_url().starts_with("postgres") {
        return;
    }
    let admin = server.admin("acme").await;
    let created =
        server.gql_ok(Some(&admin.token), CREATE_USER, json!({"input": {"username": "bot", "role": "AGENT"}})).await;
    let bot_id = created["createUser"]["user"]["id"].clone();
    let token =
        server.gql_ok(Some(&admin.token), CREATE_TOKEN, json!({"input": {"userId": bot_id, "name": "t"}})).await;
    let secret = token["createApiToken"]["created"]["secret"].as_str().unwrap().to_owned();
    server.gql_ok(Some(&secret), ME, json!({})).await;
    server.gql_ok(Some(&secret), ME, json!({})).await;

    use sea_orm::ConnectionTrait;
    let other = sea_orm::Database::connect(server.database_url()).await.unwrap();
    other.execute_unprepared("UPDATE api_tokens SET revoked_at = now()").await.unwrap();
    // The notification arrives at commit; give it a moment, never MAX_AGE.
    let started = std::time::Instant::now();
    loop {
        let response = server.gql(Some(&secret), ME, json!({})).await;
        if response["errors"][0]["extensions"]["reason"] == "TOKEN_REVOKED" {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "still accepted: {response}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    other.execute_unprepared("UPDATE users SET active = false WHERE username = 'admin'").await.unwrap();
    let started = std::time::Instant::now();
    while server.gql(Some(&admin.token), ME, json!({})).await.get("errors").is_none() {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "a disabled admin is still accepted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn agents_sell_but_cannot_administer_and_integration_tokens_can_do_nothing_else() {
    let server = server().await;
    let admin = server.admin("acme").await;
    server
        .gql_ok(
            Some(&admin.token),
            CREATE_USER,
            json!({"input": {"username": "ann", "password": "ann-password-1", "role": "AGENT"}}),
        )
        .await;
    let agent = server.login("acme", "ann", "ann-password-1").await;

    // Agents read the catalogue and their sales.
    for query in [
        "{ products { edges { cursor } } }",
        "{ statuses { edges { node { key } } } }",
        "{ sales { edges { cursor } } }",
    ] {
        server.gql_ok(Some(&agent), query, json!({})).await;
    }
    // Admin operations are FORBIDDEN, and write nothing.
    let forbidden = [
        (CREATE_USER, json!({"input": {"username": "eve", "role": "ADMIN"}})),
        ("mutation { createProduct(input: {product: {sku: \"X\", name: \"X\"}}) { product { id } } }", json!({})),
        ("mutation { createOrganisation(input: {name: \"Org\"}) { organisation { id } } }", json!({})),
        ("mutation { createStatus(input: {key: \"k\", name: \"K\"}) { status { id } } }", json!({})),
        (
            "mutation { createExtraField(input: {entity: PRODUCT, key: \"k\", label: \"K\", fieldType: TEXT}) { extraField { id } } }",
            json!({}),
        ),
        ("{ users { edges { cursor } } }", json!({})),
        ("{ apiTokens { edges { cursor } } }", json!({})),
        ("{ integrations { edges { cursor } } }", json!({})),
        ("{ integrationKinds { kind } }", json!({})),
        (CREATE_TOKEN, json!({"input": {"userId": uuid::Uuid::now_v7().to_string(), "name": "t"}})),
        (
            "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id } } }",
            json!({"id": uuid::Uuid::now_v7().to_string()}),
        ),
        (
            "mutation($id: ID!) { updateUser(input: {id: $id, role: ADMIN}) { user { id } } }",
            json!({"id": uuid::Uuid::now_v7().to_string()}),
        ),
        (
            "mutation($id: ID!) { setOrganisationGrants(input: {organisationId: $id, productIds: [], flowIds: []}) { organisation { id } } }",
            json!({"id": uuid::Uuid::now_v7().to_string()}),
        ),
        (
            "mutation($id: ID!) { updateStatus(input: {id: $id, name: \"x\"}) { status { id } } }",
            json!({"id": uuid::Uuid::now_v7().to_string()}),
        ),
        (
            "mutation($id: ID!) { deleteStatus(input: {id: $id}) { deletedId } }",
            json!({"id": uuid::Uuid::now_v7().to_string()}),
        ),
        (
            "mutation($id: ID!) { updateExtraField(input: {id: $id, label: \"x\"}) { extraField { id } } }",
            json!({"id": uuid::Uuid::now_v7().to_string()}),
        ),
        (
            "mutation($id: ID!) { deleteExtraField(input: {id: $id}) { deletedId } }",
            json!({"id": uuid::Uuid::now_v7().to_string()}),
        ),
        (
            "mutation($id: ID!) { setProductAuthorised(input: {id: $id, authorised: true}) { product { id } } }",
            json!({"id": uuid::Uuid::now_v7().to_string()}),
        ),
    ];
    for (query, variables) in &forbidden {
        let response = server.gql(Some(&agent), query, variables.clone()).await;
        assert_eq!(code(&response), "FORBIDDEN", "{query}: {response}");
    }
    let users = server.gql_ok(Some(&admin.token), "{ users { edges { node { username } } } }", json!({})).await;
    assert_eq!(users["users"]["edges"].as_array().unwrap().len(), 2, "eve was not created");
    let products = server.gql_ok(Some(&admin.token), "{ products { edges { cursor } } }", json!({})).await;
    assert!(products["products"]["edges"].as_array().unwrap().is_empty());

    // An integration-only token of an admin still may not use the full API.
    let me = server.gql_ok(Some(&admin.token), "{ me { id } }", json!({})).await;
    let token = server
        .gql_ok(
            Some(&admin.token),
            CREATE_TOKEN,
            json!({"input": {"userId": me["me"]["id"], "name": "partner", "integrationOnly": true}}),
        )
        .await;
    assert_eq!(token["createApiToken"]["created"]["apiToken"]["integrationOnly"], true);
    let secret = token["createApiToken"]["created"]["secret"].as_str().unwrap();
    for (query, variables) in forbidden.iter().chain([("{ products { edges { cursor } } }", json!({}))].iter()) {
        let response = server.gql(Some(secret), query, variables.clone()).await;
        assert_eq!(code(&response), "FORBIDDEN", "integration-only token, {query}: {response}");
    }
}

#[tokio::test]
async fn an_integration_user_signing_in_with_a_password_is_still_limited_to_the_provider_surface() {
    let server = server().await;
    let admin = server.admin("acme").await;
    let org = server
        .gql_ok(
            Some(&admin.token),
            "mutation { createOrganisation(input: {name: \"Partner\"}) { organisation { id } } }",
            json!({}),
        )
        .await["createOrganisation"]["organisation"]["id"]
        .clone();
    let input = json!({"input": {"username": "robot", "password": "robot-password", "role": "INTEGRATION", "organisationId": org}});
    server.gql_ok(Some(&admin.token), CREATE_USER, input).await;
    let robot = server.login("acme", "robot", "robot-password").await;
    for query in
        ["{ products { edges { cursor } } }", "{ sales { edges { cursor } } }", "{ customers { edges { cursor } } }"]
    {
        assert_eq!(code(&server.gql(Some(&robot), query, json!({})).await), "FORBIDDEN", "{query}");
    }
    let error =
        server.gql(Some(&robot), "{ me { organisation { grantedProducts { edges { cursor } } } } }", json!({})).await;
    assert_eq!(code(&error), "FORBIDDEN");
    // What its organisation was granted (nothing yet) is all it sees.
    let visible = server.gql_ok(Some(&robot), "{ providerProducts { edges { cursor } } }", json!({})).await;
    assert_eq!(visible["providerProducts"]["edges"], json!([]));
}

#[tokio::test]
async fn secrets_are_stored_only_as_hashes_or_ciphertext() {
    use sea_orm::{ConnectionTrait, Statement};
    let server = TestServer::start_with(|c| {
        c.jwt_secret = Some(SECRET.into());
        c.allow_private_remotes = true;
    })
    .await;
    let admin = server.admin("acme").await;
    let me = server.gql_ok(Some(&admin.token), "{ me { id } }", json!({})).await;
    let token = server
        .gql_ok(Some(&admin.token), CREATE_TOKEN, json!({"input": {"userId": me["me"]["id"], "name": "t"}}))
        .await;
    let api_secret = token["createApiToken"]["created"]["secret"].as_str().unwrap().to_owned();
    let integration = server
        .gql_ok(
            Some(&admin.token),
            "mutation { createIntegration(input: {kind: \"peer\", name: \"B\", baseUrl: \"http://127.0.0.1:1\", settings: {accountName: \"b\"}}) { integration { id } } }",
            json!({}),
        )
        .await["createIntegration"]["integration"]["id"]
        .clone();
    let credential = "kpl_canary-credential-that-must-stay-encrypted";
    server
        .gql_ok(
            Some(&admin.token),
            "mutation($id: ID!, $v: String!) { setIntegrationCredentials(input: {id: $id, mode: TEST, values: [{field: \"apiToken\", value: $v}]}) { integration { id } } }",
            json!({"id": integration, "v": credential}),
        )
        .await;
    let db = &server.server.state.db;
    let mut stored = String::new();
    for (table, columns) in [
        ("api_tokens", ["name", "token_hash", "prefix"]),
        ("integration_credentials", ["field", "ciphertext", "last_four"]),
        ("users", ["username", "password_hash", "role"]),
    ] {
        let sql = format!("SELECT {} FROM {table}", columns.join(", "));
        for row in db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap() {
            for column in columns {
                stored.push_str(&row.try_get::<Option<String>>("", column).unwrap().unwrap_or_default());
                stored.push('\n');
            }
        }
    }
    assert!(stored.contains("argon2"), "the dump is readable: password hashes are in it");
    for secret in [api_secret.as_str(), &api_secret[4..], credential, &credential[4..20], TEST_PASSWORD] {
        assert!(!stored.contains(secret), "{secret} is stored in the clear");
    }
}

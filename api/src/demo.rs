//! `koppel serve --demo`: a provider account with ~20 energy products and a consumer account with a
//! peer integration to it, on the same server, so that a newcomer can browse and import products in
//! GraphiQL at once. The demo is written as GraphQL operations run in-process through the real schema,
//! so it goes through the same validation as any client. Running it again finds the accounts in place.

use crate::auth::{Credential, Principal};
use crate::schema::{add_loaders, build_schema};
use crate::state::AppState;
use anyhow::{Context, bail};
use koppel_entity::{account, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::net::SocketAddr;

pub const PROVIDER: &str = "demo_provider";
pub const CONSUMER: &str = "demo_consumer";
pub const PASSWORD: &str = "koppel-demo-password";

/// Runs one operation as `user` and returns its `data`, failing on any error or user error.
async fn run(state: &AppState, user: &user::Model, query: &str, variables: Value) -> anyhow::Result<Value> {
    let schema = build_schema(&state.config);
    let principal = Principal::new(user, Credential::Login);
    let request = async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables));
    let request = add_loaders(request.data(state.clone()), &state.db, &principal).data(principal);
    let response = schema.execute(request).await;
    if !response.errors.is_empty() {
        bail!("demo step failed: {:?}\n{query}", response.errors);
    }
    let data = response.data.into_json()?;
    if let Some(errors) = data.as_object().and_then(|o| o.values().next()).and_then(|v| v.get("userErrors"))
        && errors.as_array().is_some_and(|e| !e.is_empty())
    {
        bail!("demo step refused: {errors}\n{query}");
    }
    Ok(data)
}

async fn admin_of(state: &AppState, account_name: &str) -> anyhow::Result<Option<user::Model>> {
    let Some(account) = account::Entity::find().filter(account::Column::Name.eq(account_name)).one(&state.db).await?
    else {
        return Ok(None);
    };
    Ok(user::Entity::find()
        .filter(user::Column::AccountId.eq(account.id))
        .filter(user::Column::Username.eq("admin"))
        .one(&state.db)
        .await?)
}

/// Creates the demo accounts unless they exist, and returns what to print.
pub async fn seed(state: &AppState, addr: SocketAddr) -> anyhow::Result<String> {
    if admin_of(state, PROVIDER).await?.is_none() {
        let (_, provider) = crate::accounts::create_account(&state.db, PROVIDER, "admin", PASSWORD)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let token = seed_provider(state, &provider).await.context("seeding the provider account")?;
        let (_, consumer) = crate::accounts::create_account(&state.db, CONSUMER, "admin", PASSWORD)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        seed_consumer(state, &consumer, addr, &token).await.context("seeding the consumer account")?;
    }
    let consumer = admin_of(state, CONSUMER).await?.context("the demo consumer account has no admin")?;
    let integrations = run(state, &consumer, "{ integrations(first: 1) { edges { node { id } } } }", json!({})).await?;
    let id = integrations["integrations"]["edges"][0]["node"]["id"].as_str().unwrap_or("<integration id>").to_owned();
    Ok(instructions(addr, &id))
}

async fn seed_provider(state: &AppState, admin: &user::Model) -> anyhow::Result<String> {
    let field = "mutation($input: CreateExtraFieldInput!) { createExtraField(input: $input) { extraField { id } userErrors { field message } } }";
    for input in [
        json!({"entity": "PRODUCT", "key": "origin", "label": "Herkomst", "fieldType": "SELECT", "options": ["grey", "green"]}),
        json!({"entity": "PRODUCT", "key": "contract_years", "label": "Looptijd (jaren)", "fieldType": "SELECT", "options": ["1", "2", "3", "4", "5"]}),
        json!({"entity": "PRODUCT", "key": "tariff_id", "label": "Tarief-ID", "fieldType": "TEXT"}),
        json!({"entity": "ORGANISATION", "key": "cire_id", "label": "CIRE ID", "fieldType": "TEXT"}),
    ] {
        run(state, admin, field, json!({"input": input})).await?;
    }
    let supplier = "mutation($input: CreateSupplierInput!) { createSupplier(input: $input) { supplier { id } userErrors { field message } } }";
    let mut suppliers = Vec::new();
    for (name, email) in [("Zonnig Energie", "partners@zonnig.example"), ("Polder Stroom", "verkoop@polder.example")] {
        let data = run(
            state,
            admin,
            supplier,
            json!({"input": {"supplier": {"name": name, "email": email, "contractant": true}}}),
        )
        .await?;
        suppliers.push((name, data["createSupplier"]["supplier"]["id"].clone()));
    }
    let product = "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } userErrors { field message } } }";
    let authorise =
        "mutation($id: ID!) { setProductAuthorised(input: {id: $id, authorised: true}) { product { id } } }";
    let mut products = Vec::new();
    for (s, (supplier_name, supplier_id)) in suppliers.iter().enumerate() {
        for origin in ["grey", "green"] {
            for years in 1..=5u32 {
                let prefix = if s == 0 { "ZON" } else { "PLD" };
                let base = if origin == "green" { 0.245 } else { 0.229 } - f64::from(years) * 0.002 + s as f64 * 0.004;
                let input = json!({"product": {
                    "sku": format!("{prefix}-{}-{years}Y", origin.to_uppercase()),
                    "name": format!("{supplier_name} {} stroom {years} jaar vast", if origin == "green" { "groene" } else { "grijze" }),
                    "category": "energie",
                    "supplierId": supplier_id,
                    "incentive": if years >= 3 { Some("€50 cadeaubon") } else { None },
                    "tariffs": [
                        {"code": "normal", "label": "Normaaltarief", "amount": format!("{base:.5}"), "unit": "EUR/kWh"},
                        {"code": "low", "label": "Daltarief", "amount": format!("{:.5}", base - 0.021), "unit": "EUR/kWh"},
                        {"code": "fixed", "label": "Vaste leveringskosten", "amount": "6.95", "unit": "EUR/month"},
                    ],
                    "extraFields": [
                        {"key": "origin", "value": origin},
                        {"key": "contract_years", "value": years.to_string()},
                        {"key": "tariff_id", "value": format!("T-{prefix}-{origin}-{years}")},
                    ],
                }});
                let data = run(state, admin, product, json!({"input": input})).await?;
                let id = data["createProduct"]["product"]["id"].clone();
                run(state, admin, authorise, json!({"id": id})).await?;
                products.push(id);
            }
        }
    }
    let flow =
        run(state, admin, "mutation { createFlow(input: {name: \"Energie telefonisch\"}) { flow { id } } }", json!({}))
            .await?;
    let flow_id = flow["createFlow"]["flow"]["id"].clone();
    let question = "mutation($input: CreateQuestionInput!) { createQuestion(input: $input) { question { id } userErrors { field message } } }";
    for input in [
        json!({"flowId": flow_id, "key": "payment_method", "label": "Betaalwijze", "questionType": "SELECT", "required": true,
               "options": [{"value": "direct_debit", "label": "Automatische incasso"}, {"value": "giro", "label": "Acceptgiro"}]}),
        json!({"flowId": flow_id, "key": "rehousing", "label": "Gaat de klant verhuizen?", "questionType": "BOOLEAN", "required": true}),
        json!({"flowId": flow_id, "key": "move_date", "label": "Verhuisdatum", "questionType": "DATE", "required": true,
               "conditions": [{"questionKey": "rehousing", "equals": "true"}]}),
        json!({"flowId": flow_id, "key": "current_supplier", "label": "Huidige leverancier", "questionType": "TEXT",
               "validations": {"maxLength": 100}}),
        json!({"flowId": flow_id, "key": "contract_start", "label": "Gewenste startdatum", "questionType": "DATE", "required": true}),
    ] {
        run(state, admin, question, json!({"input": input})).await?;
    }
    run(
        state,
        admin,
        "mutation { createStatus(input: {key: \"callback\", name: \"Terugbellen\"}) { status { id } } }",
        json!({}),
    )
    .await?;
    let organisation = run(
        state,
        admin,
        "mutation { createOrganisation(input: {name: \"Consumer BV\", extraFields: [{key: \"cire_id\", value: \"CIRE-0042\"}]}) { organisation { id } userErrors { field message } } }",
        json!({}),
    )
    .await?;
    let organisation_id = organisation["createOrganisation"]["organisation"]["id"].clone();
    run(
        state,
        admin,
        "mutation($org: ID!, $products: [ID!]!, $flow: ID!) { setOrganisationGrants(input: {organisationId: $org, productIds: $products, flowIds: [$flow]}) { organisation { id } userErrors { field message } } }",
        json!({"org": organisation_id, "products": products, "flow": flow_id}),
    )
    .await?;
    let agent = run(
        state,
        admin,
        "mutation($org: ID!) { createUser(input: {username: \"koppeling_consumer\", role: AGENT, organisationId: $org}) { user { id } userErrors { field message } } }",
        json!({"org": organisation_id}),
    )
    .await?;
    let token = run(
        state,
        admin,
        "mutation($user: ID!) { createApiToken(input: {userId: $user, name: \"Consumer connection\", integrationOnly: true}) { created { secret } userErrors { field message } } }",
        json!({"user": agent["createUser"]["user"]["id"]}),
    )
    .await?;
    token["createApiToken"]["created"]["secret"].as_str().map(str::to_owned).context("no token secret")
}

async fn seed_consumer(state: &AppState, admin: &user::Model, addr: SocketAddr, token: &str) -> anyhow::Result<()> {
    let field = "mutation($input: CreateExtraFieldInput!) { createExtraField(input: $input) { extraField { id } userErrors { field message } } }";
    for input in [
        json!({"entity": "PRODUCT", "key": "herkomst", "label": "Herkomst stroom", "fieldType": "SELECT", "options": ["Grijze stroom", "Groene stroom"]}),
        json!({"entity": "PRODUCT", "key": "looptijd", "label": "Looptijd", "fieldType": "SELECT", "options": ["1 jaar", "2 jaar", "3 jaar", "4 jaar", "5 jaar"]}),
    ] {
        run(state, admin, field, json!({"input": input})).await?;
    }
    let created = run(
        state,
        admin,
        "mutation($input: CreateIntegrationInput!) { createIntegration(input: $input) { integration { id } userErrors { field message } } }",
        json!({"input": {"kind": "peer", "name": "Provider (demo)", "baseUrl": format!("http://{addr}"), "enabled": true,
                         "settings": {"accountName": PROVIDER}}}),
    )
    .await?;
    let id = created["createIntegration"]["integration"]["id"].clone();
    run(
        state,
        admin,
        "mutation($id: ID!, $token: String!) { setIntegrationCredentials(input: {id: $id, mode: TEST, values: [{field: \"apiToken\", value: $token}]}) { integration { id } userErrors { field message } } }",
        json!({"id": id, "token": token}),
    )
    .await?;
    Ok(())
}

fn instructions(addr: SocketAddr, integration_id: &str) -> String {
    format!(
        r#"
Koppel demo: open http://{addr}/graphql

  provider  account {PROVIDER}  user admin  password {PASSWORD}   (20 energy products, a flow with questions)
  consumer  account {CONSUMER}  user admin  password {PASSWORD}   (a peer integration to the provider)

  These passwords are public: do not run a server holding the demo accounts on a network address.

1. Sign in as the consumer:
   mutation {{ login(input: {{account: "{CONSUMER}", username: "admin", password: "{PASSWORD}"}}) {{ session {{ token }} }} }}
   and put {{"Authorization": "Bearer <token>"}} in the Headers tab.
2. {{ integrations {{ edges {{ node {{ id name credentialsSet {{ mode field lastFour }} }} }} }} }}
3. mutation {{ testIntegrationConnection(input: {{id: "{integration_id}"}}) {{ test {{ ok code message identity latencyMs }} }} }}
4. {{ remoteProducts(integrationId: "{integration_id}", first: 5) {{ nodes {{ remoteId sku name imported fields {{ key value }} }} pageInfo {{ hasNextPage endCursor }} }} }}
5. mutation {{ setFieldMappings(input: {{integrationId: "{integration_id}", entity: "product", mappings: [
     {{remoteField: "origin", targetKind: EXTRA_FIELD, target: "herkomst",
      values: [{{remote: "green", local: "Groene stroom"}}, {{remote: "grey", local: "Grijze stroom"}}]}}]}}) {{ fieldMappings {{ remoteField target }} userErrors {{ field message }} }} }}
6. mutation {{ importProducts(input: {{integrationId: "{integration_id}", remoteIds: ["<remoteId>", "<remoteId>"]}}) {{
     products {{ sku name authorised supplier {{ name }} extraFields {{ key value }} }} userErrors {{ field message }} }} }}
"#
    )
}

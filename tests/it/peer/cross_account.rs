//! Another account cannot see or touch an integration, and an agent of its own account may not
//! manage one.

use super::client::Client;
use super::fixtures::{
    INTEGRATION, STATUS_MAPPINGS, connected, create_flow, create_question, create_status, import, integration_count,
    map_origin, test_connection,
};
use super::peer_server;
use crate::common::TEST_PASSWORD;
use serde_json::{Value, json};

/// Every integration operation on integration `id`, as `(query, variables)`.
fn integration_operations(id: &str, flow: &str, status: &str, question: &str) -> Vec<(String, Value)> {
    let ops: Vec<(&str, Value)> = vec![
        ("query($id: ID!) { integration(id: $id) { id } }", json!({"id": id})),
        (
            "mutation($id: ID!) { updateIntegration(input: {id: $id, name: \"Mine now\"}) { integration { id } } }",
            json!({"id": id}),
        ),
        ("mutation($id: ID!) { deleteIntegration(input: {id: $id}) { deletedId } }", json!({"id": id})),
        (
            "mutation($id: ID!) { setIntegrationCredentials(input: {id: $id, mode: TEST, values: [{field: \"apiToken\", value: \"kpl_stolen\"}]}) { integration { id } } }",
            json!({"id": id}),
        ),
        ("mutation($id: ID!) { testIntegrationConnection(input: {id: $id}) { test { ok } } }", json!({"id": id})),
        ("mutation($id: ID!) { syncNow(input: {integrationId: $id}) { runs { id } } }", json!({"id": id})),
        ("query($id: ID!) { reconcilePlan(integrationId: $id) { applied } }", json!({"id": id})),
        ("query($id: ID!) { remoteProducts(integrationId: $id) { nodes { remoteId } } }", json!({"id": id})),
        ("query($id: ID!) { remoteProductFields(integrationId: $id) { key } }", json!({"id": id})),
        ("query($id: ID!) { remoteQuestions(integrationId: $id) { key } }", json!({"id": id})),
        ("query($id: ID!) { remoteFlows(integrationId: $id) { remoteId } }", json!({"id": id})),
        ("query($id: ID!) { remoteStatuses(integrationId: $id) { key } }", json!({"id": id})),
        (
            "mutation($id: ID!) { importProducts(input: {integrationId: $id, remoteIds: [\"x\"]}) { products { id } } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!) { setFieldMappings(input: {integrationId: $id, entity: \"product\", mappings: []}) { fieldMappings { id } } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!, $s: ID!) { setStatusMappings(input: {integrationId: $id, mappings: [{remoteStatus: \"callback\", localStatusId: $s}]}) { statusMappings { automatic } } }",
            json!({"id": id, "s": status}),
        ),
        (
            "mutation($id: ID!, $f: ID!) { setFlowMappings(input: {integrationId: $id, mappings: [{localFlowId: $f, remoteFlowId: \"x\"}]}) { flowMappings { remoteFlowId } } }",
            json!({"id": id, "f": flow}),
        ),
        (
            "mutation($id: ID!, $q: ID!) { setQuestionMappings(input: {integrationId: $id, mappings: [{remoteQuestionKey: \"x\", localQuestionId: $q}]}) { questionMappings { remoteQuestionKey } } }",
            json!({"id": id, "q": question}),
        ),
    ];
    ops.into_iter().map(|(q, v)| (q.to_owned(), v)).collect()
}

/// Everything of an integration a foreign call could change.
async fn integration_snapshot(admin: &Client<'_>, id: &str) -> Value {
    let query = format!(
        "query($id: ID!) {{ integration(id: $id) {{ {INTEGRATION}
           fieldMappings {{ remoteField target }} statusMappings {{ remoteStatus automatic localStatus {{ id }} }}
           flowMappings {{ remoteFlowId localFlow {{ id }} }} questionMappings {{ remoteQuestionKey localQuestion {{ id }} }} }} }}"
    );
    admin.data(&query, json!({"id": id})).await["integration"].clone()
}

#[tokio::test]
async fn other_accounts_cannot_see_or_touch_an_integration_and_agents_may_not_manage_one() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    map_origin(&a).await;
    import(&a, &[&b.p1]).await;
    let a_status = create_status(&a.admin, "terugbellen", "Terugbellen").await;
    a.admin
        .mutate(
            "setStatusMappings",
            STATUS_MAPPINGS,
            json!({"i": {"integrationId": a.integration, "mappings": [{"remoteStatus": "callback", "localStatusId": a_status}]}}),
        )
        .await;
    let before = integration_snapshot(&a.admin, &a.integration).await;

    // A third account, with its own flow, status and question to put in the mappings.
    let c_session = server.admin("third").await;
    let c = Client::new(&server, &c_session.token);
    let c_flow = create_flow(&c, "Eigen flow").await;
    let c_status = create_status(&c, "eigen", "Eigen").await;
    let c_question =
        create_question(&c, json!({"flowId": c_flow, "key": "eigen_vraag", "label": "Eigen", "questionType": "TEXT"}))
            .await;
    for (query, variables) in integration_operations(&a.integration, &c_flow, &c_status, &c_question) {
        assert_eq!(c.error(&query, variables).await, "NOT_FOUND", "{query}");
    }
    assert_eq!(integration_count(&c).await, 0);
    assert_eq!(integration_snapshot(&a.admin, &a.integration).await, before, "A's integration is unchanged");
    assert_eq!(test_connection(&a.admin, &a.integration, None).await["ok"], true);

    // A's own agent may sell, not manage integrations.
    a.admin
        .mutate(
            "createUser",
            "mutation($p: String) { createUser(input: {username: \"verkoper\", role: AGENT, password: $p}) { user { id } userErrors { field message code } } }",
            json!({"p": TEST_PASSWORD}),
        )
        .await;
    let agent_token = server.login(&a.session.account, "verkoper", TEST_PASSWORD).await;
    let agent = Client::new(&server, &agent_token);
    let a_flow = create_flow(&a.admin, "Energie bij B").await;
    let a_question =
        create_question(&a.admin, json!({"flowId": a_flow, "key": "vraag", "label": "Vraag", "questionType": "TEXT"}))
            .await;
    let mut operations = integration_operations(&a.integration, &a_flow, &a_status, &a_question);
    operations.push(("{ integrations { edges { cursor } } }".into(), json!({})));
    operations.push(("{ integrationKinds { kind } }".into(), json!({})));
    operations.push((
        "mutation { createIntegration(input: {kind: \"peer\", name: \"Mine\", baseUrl: \"https://koppel.example.com\", settings: {accountName: \"x\"}}) { integration { id } } }".into(),
        json!({}),
    ));
    for (query, variables) in operations {
        assert_eq!(agent.error(&query, variables).await, "FORBIDDEN", "{query}");
    }
    assert_eq!(integration_snapshot(&a.admin, &a.integration).await, before, "A's integration is unchanged");
    assert_eq!(integration_count(&a.admin).await, 1);
}

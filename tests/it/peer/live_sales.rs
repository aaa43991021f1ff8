//! `saleUpdates` over a real WebSocket: a sale made, forwarded (its transmission sending, then sent, and
//! the status after success) and moved by hand streams to its account's admin as it changes; an agent
//! sees only its own sales, and the sale the forwarding makes in the provider's account never reaches
//! the consumer's subscribers.

use super::forwarding::forwarding;
use super::live::{Socket, next, send, signed_in};
use super::peer_server;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const UPDATES: &str = "subscription($i: ID) { saleUpdates(integrationId: $i) { id status { key } transmissions { integrationId state } } }";

async fn subscribe(socket: &mut Socket, id: &str, variables: Value) {
    send(socket, json!({"id": id, "type": "subscribe", "payload": {"query": UPDATES, "variables": variables}})).await;
}

/// The updates on `socket` until `done` holds for all of them (30 s at most), as `(subscription, sale)`.
async fn updates_until(socket: &mut Socket, done: impl Fn(&[(String, Value)]) -> bool) -> Vec<(String, Value)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while !done(&got) {
        assert!(tokio::time::Instant::now() < deadline, "not all updates came: {got:#?}");
        let Some(message) = next(socket).await else { panic!("the stream ended; got {got:#?}") };
        assert_eq!(message["type"], "next", "{message:#}");
        assert!(message["payload"]["errors"].is_null(), "{message:#}");
        got.push((message["id"].as_str().unwrap().to_owned(), message["payload"]["data"]["saleUpdates"].clone()));
    }
    got
}

fn states(sale: &Value) -> Vec<String> {
    sale["transmissions"].as_array().unwrap().iter().map(|t| t["state"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn sale_updates_stream_a_forwarded_sale_to_its_account_only() {
    let server = peer_server().await;
    let f = forwarding(&server, json!({"autoProcessing": "all"}), true).await;
    let create_user = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }";
    server
        .gql_ok(
            Some(&f.a.session.token),
            create_user,
            json!({"input": {"username": "sam", "password": "sam-password-1", "role": "AGENT"}}),
        )
        .await;
    let sam = server.login(&f.a.session.account, "sam", "sam-password-1").await;

    let mut admin = signed_in(&server, &f.a.session.token).await;
    subscribe(&mut admin, "all", json!({})).await;
    subscribe(&mut admin, "forwarded", json!({"i": f.a.integration})).await;
    let mut agent = signed_in(&server, &sam).await;
    subscribe(&mut agent, "mine", json!({})).await;
    // Let the feed see the subscribers before anything is written.
    tokio::time::sleep(Duration::from_millis(600)).await;

    let sold = f.sell("incasso", false).await;
    let input = json!({
        "productId": f.product, "flowId": f.flow, "customerId": f.customer,
        "answers": [{"questionKey": "betaalwijze", "value": "acceptgiro"}, {"questionKey": "verhuizing", "value": true}],
    });
    let sams = server
        .gql_ok(
            Some(&sam),
            "mutation($i: CreateSaleInput!) { createSale(input: $i) { sale { id } userErrors { field message code } } }",
            json!({"i": input}),
        )
        .await["createSale"]["sale"]["id"]
        .as_str()
        .expect("the agent's sale")
        .to_owned();

    // The admin's sale goes out (SENT, then the status after success); the agent's arrives too.
    let forwarded = |got: &[(String, Value)], sub: &str, sale: &str| {
        got.iter().any(|(id, s)| id == sub && s["id"] == sale && s["status"]["key"] == "sent" && states(s) == ["SENT"])
    };
    let got = updates_until(&mut admin, |got| {
        forwarded(got, "all", &sold)
            && forwarded(got, "forwarded", &sold)
            && got.iter().any(|(id, s)| id == "all" && s["id"] == sams.as_str())
    })
    .await;
    let seen: BTreeSet<_> = got.iter().map(|(_, s)| s["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(seen, BTreeSet::from([sold.clone(), sams.clone()]), "only A's sales: {got:#?}");
    // Each update carries the sale as it is when the feed reads it: a state that lasted less than a
    // poll (QUEUED, SENDING) may be told or folded into the next one, but the end is always told.
    assert!(!f.arrived().await.is_empty(), "B's copy of the sale exists (and never reached A's subscribers)");

    // A change of status by hand.
    f.set_status(&sold, &f.approved).await;
    updates_until(&mut admin, |got| {
        got.iter().any(|(id, s)| id == "all" && s["id"] == sold.as_str() && s["status"]["key"] == "approved")
    })
    .await;

    // The agent saw its own sale, and nothing else.
    let mine = updates_until(&mut agent, |got| got.iter().any(|(_, s)| s["id"] == sams.as_str())).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut more = Vec::new();
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(300), next(&mut agent)).await {
        more.push(message["payload"]["data"]["saleUpdates"]["id"].clone());
    }
    assert!(
        mine.iter().all(|(_, s)| s["id"] == sams.as_str()) && more.iter().all(|id| id == sams.as_str()),
        "an agent sees only its own sales: {mine:#?} {more:?}"
    );
}

#[tokio::test]
async fn sale_updates_refuse_another_accounts_sale() {
    let server = peer_server().await;
    let f = forwarding(&server, json!({"autoProcessing": "all"}), true).await;
    let sold = f.sell("incasso", false).await;
    let other = server.admin("other").await;
    let mut socket = signed_in(&server, &other.token).await;
    let query = "subscription($s: ID) { saleUpdates(saleId: $s) { id } }";
    send(&mut socket, json!({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"s": sold}}}))
        .await;
    let message = next(&mut socket).await.expect("an answer");
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{message:#}");
}

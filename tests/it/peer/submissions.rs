//! `submitSale` is idempotent per partner: retries, concurrent or after a refusal, make one sale; the key
//! sent again with a different sale is a conflict.

use super::client::Client;
use super::fixtures::{SUBMIT_SALE, provider, sale_input};
use super::{has_error, id_of, nodes, user_errors};
use crate::common::TestServer;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[tokio::test]
async fn concurrent_submissions_with_one_key_make_one_sale() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    let input = json!({"i": sale_input("retry-storm", &b.p1, &b.flow)});
    let attempts = (0..6).map(|_| token.raw(SUBMIT_SALE, input.clone()));
    let answers = futures_join_all(attempts).await;
    let mut ids = BTreeSet::new();
    for answer in &answers {
        assert!(answer.get("errors").is_none_or(Value::is_null), "a retry failed: {answer:#}");
        let payload = &answer["data"]["submitSale"];
        assert!(user_errors(payload).is_empty(), "{payload:#}");
        ids.insert(id_of(&payload["sale"]["id"]));
    }
    assert_eq!(ids.len(), 1, "every retry answers with the same sale: {ids:?}");
    let sales = nodes(&b.admin.data("{ sales { edges { node { id } } } }", json!({})).await["sales"]);
    assert_eq!(sales.len(), 1, "{sales:#?}");
    let customers = nodes(&b.admin.data("{ customers { edges { node { id } } } }", json!({})).await["customers"]);
    assert_eq!(customers.len(), 1, "one customer travelled with the one sale: {customers:#?}");
}

/// Polls all futures to completion concurrently, in order.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut handles: Vec<Option<std::pin::Pin<Box<F>>>> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in handles.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("completed")).collect()
}

#[tokio::test]
async fn a_refused_submission_does_not_use_up_its_idempotency_key() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    let mut bad = sale_input("first-try", &b.p1, &b.flow);
    bad["answers"] =
        json!([{"questionKey": "payment_method", "value": "cash"}, {"questionKey": "rehousing", "value": "maybe"}]);
    let (payload, errors) = token.refused("submitSale", SUBMIT_SALE, json!({"i": bad})).await;
    assert!(payload["sale"].is_null());
    assert!(errors.iter().any(|(f, _)| f.contains("payment_method")), "{errors:?}");
    assert!(errors.iter().any(|(f, _)| f.contains("rehousing")), "every problem at once: {errors:?}");
    let mut missing = sale_input("first-try", &b.p1, &b.flow);
    missing["answers"] = json!([]);
    let (_, errors) = token.refused("submitSale", SUBMIT_SALE, json!({"i": missing})).await;
    assert!(errors.iter().any(|(f, _)| f.contains("payment_method")), "the required question: {errors:?}");
    let (_, errors) = token.refused("submitSale", SUBMIT_SALE, json!({"i": sale_input("  ", &b.p1, &b.flow)})).await;
    assert!(has_error(&errors, "idempotencyKey", "REQUIRED"), "{errors:?}");
    assert!(nodes(&b.admin.data("{ customers { edges { node { id } } } }", json!({})).await["customers"]).is_empty());

    let sale = token.mutate("submitSale", SUBMIT_SALE, json!({"i": sale_input("first-try", &b.p1, &b.flow)})).await;
    assert_eq!(sale["sale"]["idempotencyKey"], "first-try");
    let sales = nodes(&b.admin.data("{ sales { edges { node { id } } } }", json!({})).await["sales"]);
    assert_eq!(sales.len(), 1);
}

#[tokio::test]
async fn the_same_key_with_a_different_sale_is_a_conflict_that_changes_nothing() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    const SALES: &str = "{ sales { edges { node { id product { id } answers { questionKey value } updatedAt } } } }";
    let first = token.mutate("submitSale", SUBMIT_SALE, json!({"i": sale_input("order-17", &b.p1, &b.flow)})).await;
    let retry = token.mutate("submitSale", SUBMIT_SALE, json!({"i": sale_input("order-17", &b.p1, &b.flow)})).await;
    assert_eq!(retry["sale"]["id"], first["sale"]["id"], "the same sale again is a retry");
    let before = b.admin.data(SALES, json!({})).await;

    let mut other_answers = sale_input("order-17", &b.p1, &b.flow);
    other_answers["answers"][0]["value"] = json!("giro");
    for different in [other_answers, sale_input("order-17", &b.p2, &b.flow)] {
        let (payload, errors) = token.refused("submitSale", SUBMIT_SALE, json!({"i": different})).await;
        assert!(payload["sale"].is_null(), "{payload:#}");
        assert_eq!(errors, [("idempotencyKey".to_owned(), "CONFLICT".to_owned())], "{payload:#}");
    }
    assert_eq!(b.admin.data(SALES, json!({})).await, before, "still the one sale, unchanged");
    let customers = nodes(&b.admin.data("{ customers { edges { node { id } } } }", json!({})).await["customers"]);
    assert_eq!(customers.len(), 1, "no customer for the refused sales: {customers:#?}");
}

//! Pins the SnelStart fake to the real API as `../shared/REMOTES.md` describes it, so that the
//! connector's tests test against SnelStart's behaviour and not against whatever the fake happened to do.

use super::relatie;
use crate::fakes::snelstart::{CLIENT_KEY, SUBSCRIPTION_KEY, SnelStart, snelstart, snelstart_time};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// The token endpoint of the fake: `auth.snelstart.nl/b2b/token` for real.
fn token_url(fake: &SnelStart) -> String {
    fake.base_url().replace("/v2/", "/b2b/token")
}

async fn token(fake: &SnelStart, client_key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(token_url(fake))
        .form(&[("grant_type", "clientkey"), ("clientkey", client_key)])
        .send()
        .await
        .expect("POST /b2b/token")
}

async fn bearer(fake: &SnelStart) -> String {
    let answer: Value = token(fake, CLIENT_KEY).await.json().await.expect("a token");
    answer["access_token"].as_str().expect("an access token").to_owned()
}

/// GET `path` (under `/v2/`) with the subscription key and the bearer given.
async fn get(fake: &SnelStart, path: &str, key: Option<&str>, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", fake.base_url()));
    if let Some(key) = key {
        request = request.header("Ocp-Apim-Subscription-Key", key);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("a GET of the fake");
    let status = response.status();
    let text = response.text().await.expect("a body");
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") })
}

fn ids(page: &Value) -> Vec<&str> {
    page.as_array().expect("a bare JSON array").iter().map(|r| r["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_koppelsleutel_is_exchanged_for_a_bearer_token_that_expires() {
    let fake = snelstart().await;
    let answer = token(&fake, CLIENT_KEY).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3599);
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));

    let wrong = token(&fake, "not-the-key").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "invalid_grant");

    let bearer = body["access_token"].as_str().unwrap();
    let (status, _) = get(&fake, "echo/hallo", Some(SUBSCRIPTION_KEY), Some(bearer)).await;
    assert_eq!(status, StatusCode::OK);
    fake.expire_tokens();
    let (status, body) = get(&fake, "echo/hallo", Some(SUBSCRIPTION_KEY), Some(bearer)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["Message"], "Authorization has been denied for this request.");
    assert_eq!(fake.token_requests(), 2);

    fake.set_token_lifetime(Duration::from_secs(1));
    let answer: Value = token(&fake, CLIENT_KEY).await.json().await.unwrap();
    assert_eq!(answer["expires_in"], 1);
    let short = answer["access_token"].as_str().unwrap();
    assert_eq!(get(&fake, "echo/a", Some(SUBSCRIPTION_KEY), Some(short)).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&fake, "echo/a", Some(SUBSCRIPTION_KEY), Some(short)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_call_needs_the_subscription_key_exactly_and_a_token() {
    let fake = snelstart().await;
    let token = bearer(&fake).await;
    let (status, body) = get(&fake, "relaties", None, Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["statusCode"], 401);
    assert!(body["message"].as_str().unwrap().contains("missing subscription key"), "{body}");

    // Case-sensitive: the same key in capitals is another key.
    let (status, body) = get(&fake, "relaties", Some(&SUBSCRIPTION_KEY.to_uppercase()), Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["message"].as_str().unwrap().contains("invalid subscription key"), "{body}");
    let spaced = format!("{} {}", &SUBSCRIPTION_KEY[..8], &SUBSCRIPTION_KEY[8..]);
    let (status, _) = get(&fake, "relaties", Some(&spaced), Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = get(&fake, "relaties", Some(SUBSCRIPTION_KEY), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["Message"], "Authorization has been denied for this request.");

    // The key may also travel as a query parameter.
    let (status, body) = get(&fake, &format!("relaties?subscription-key={SUBSCRIPTION_KEY}"), None, Some(&token)).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Array(Vec::new())));

    // "test API": echo answers its input, or 204 for none.
    let (status, body) = get(&fake, "echo/koppel", Some(SUBSCRIPTION_KEY), Some(&token)).await;
    assert_eq!((status, body), (StatusCode::OK, Value::from("koppel")));
    let (status, _) = get(&fake, "echo/", Some(SUBSCRIPTION_KEY), Some(&token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn lists_are_bare_arrays_paged_with_skip_and_top_until_an_empty_page() {
    let fake = snelstart().await;
    for n in 0..5 {
        fake.put_relatie(relatie(&format!("r{n}"), 100 + n, &format!("Klant {n}"), "k@example.nl", "69599068"));
    }
    let token = bearer(&fake).await;
    let key = Some(SUBSCRIPTION_KEY);
    let (_, first) = get(&fake, "relaties?$skip=0&$top=2", key, Some(&token)).await;
    let (_, second) = get(&fake, "relaties?$skip=2&$top=2", key, Some(&token)).await;
    let (_, third) = get(&fake, "relaties?$skip=4&$top=2", key, Some(&token)).await;
    let (_, past) = get(&fake, "relaties?$skip=6&$top=2", key, Some(&token)).await;
    assert_eq!([ids(&first), ids(&second), ids(&third)], [vec!["r0", "r1"], vec!["r2", "r3"], vec!["r4"]]);
    assert!(ids(&past).is_empty(), "no total and no next link: the end is an empty page");
    assert_eq!(fake.requests()[0], "GET /v2/relaties?$skip=0&$top=2", "what the fake was asked, for the tests");
    let relatie = &first[0];
    for field in ["id", "modifiedOn", "relatiesoort", "relatiecode", "naam", "email", "kvkNummer", "nonactief"] {
        assert!(relatie.get(field).is_some(), "{field} in {relatie}");
    }

    // $top defaults to 500 and must be 1–500.
    let (_, all) = get(&fake, "relaties", key, Some(&token)).await;
    assert_eq!(ids(&all).len(), 5);
    // No deletion feed: a deleted relatie is simply no longer listed.
    fake.delete_relatie("r2");
    let (_, all) = get(&fake, "relaties", key, Some(&token)).await;
    assert_eq!(ids(&all), ["r0", "r1", "r3", "r4"]);
    for top in ["0", "501", "veel"] {
        let (status, body) = get(&fake, &format!("relaties?$top={top}"), key, Some(&token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "$top={top}");
        assert!(body[0]["errorCode"].is_string() && body[0]["message"].is_string(), "{body}");
    }
    let (status, body) = get(&fake, "relaties/onbekend", key, Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["Message"].is_string());
}

#[tokio::test]
async fn modified_on_filters_what_changed_since_and_is_case_sensitive() {
    let fake = snelstart().await;
    let mut old = relatie("oud", 1, "Oude Klant", "oud@example.nl", "68750110");
    old["modifiedOn"] = "2017-07-16T12:00:00.000".into();
    fake.put_relatie(old);
    fake.put_relatie(relatie("nieuw", 2, "Nieuwe Klant", "nieuw@example.nl", "69599084"));
    let token = bearer(&fake).await;
    let key = Some(SUBSCRIPTION_KEY);
    let since = "relaties?$filter=ModifiedOn gt datetime'2017-07-16T23:59:59.999'";
    let (_, page) = get(&fake, since, key, Some(&token)).await;
    assert_eq!(ids(&page), ["nieuw"]);

    let (_, page) = get(&fake, "relaties", key, Some(&token)).await;
    let latest = page[1]["modifiedOn"].as_str().unwrap().to_owned();
    let (_, after) = get(&fake, &format!("relaties?$filter=ModifiedOn gt datetime'{latest}'"), key, Some(&token)).await;
    assert!(ids(&after).is_empty(), "gt: the latest itself is not listed again");
    fake.edit_relatie("oud", |r| r["telefoon"] = "06-12345678".into());
    let (_, after) = get(&fake, &format!("relaties?$filter=ModifiedOn gt datetime'{latest}'"), key, Some(&token)).await;
    assert_eq!(ids(&after), ["oud"], "an edit moves modifiedOn");
    assert!(snelstart_time(chrono::Utc::now().naive_utc()).len() == latest.len());

    let (status, _) =
        get(&fake, "relaties?$filter=modifiedOn gt datetime'2017-07-16T23:59:59.999'", key, Some(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "field names are UpperCamelCase");
}

#[tokio::test]
async fn the_gateway_answers_429_with_retry_after_past_its_rate() {
    let fake = snelstart().await;
    let token = bearer(&fake).await;
    fake.limit_rate(2, Duration::from_secs(2));
    let key = Some(SUBSCRIPTION_KEY);
    assert_eq!(get(&fake, "echo/a", key, Some(&token)).await.0, StatusCode::OK);
    assert_eq!(get(&fake, "echo/b", key, Some(&token)).await.0, StatusCode::OK);
    let response = reqwest::Client::new()
        .get(format!("{}echo/c", fake.base_url()))
        .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION_KEY)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["statusCode"], 429);
    assert_eq!(body["message"], format!("Rate limit is exceeded. Try again in {wait} seconds."));
    assert_eq!(fake.refused_for_rate(), 1);
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(get(&fake, "echo/d", key, Some(&token)).await.0, StatusCode::OK, "after the wait it answers again");
}

#[tokio::test]
async fn invoices_carry_the_open_balance_that_payments_lower() {
    let fake = snelstart().await;
    fake.put_factuur(serde_json::json!({
        "id": "f1", "factuurnummer": "2024001", "factuurDatum": "2024-03-01T00:00:00", "vervalDatum": "2024-03-31T00:00:00",
        "factuurBedrag": 121.0, "openstaandSaldo": 121.0,
        "relatie": {"id": "r1", "uri": "/relaties/r1"}, "verkoopBoeking": null, "verkoopOrders": [], "uri": "/verkoopfacturen/f1",
    }));
    let token = bearer(&fake).await;
    let (_, before) = get(&fake, "verkoopfacturen", Some(SUBSCRIPTION_KEY), Some(&token)).await;
    fake.pay("f1", 21.0);
    let (_, after) = get(&fake, "verkoopfacturen", Some(SUBSCRIPTION_KEY), Some(&token)).await;
    assert_eq!(after[0]["openstaandSaldo"], 100.0);
    assert!(after[0]["modifiedOn"].as_str() > before[0]["modifiedOn"].as_str(), "a payment moves modifiedOn");
    assert_eq!(after[0]["factuurDatum"], "2024-03-01T00:00:00", "camel case, as SnelStart's OpenAPI document");
}

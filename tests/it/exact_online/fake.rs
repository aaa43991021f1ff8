//! Pins the Exact Online fake to the real service as `../shared/REMOTES.md` describes it, so that the
//! connector's tests test against Exact's behaviour and not against whatever the fake happened to do.

use crate::fakes::exact_online::{CLIENT_ID, CLIENT_SECRET, DIVISION, ExactOnline, exact_online};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const REDIRECT: &str = "https://koppel.example/oauth/callback";

/// Signs in (the browser's part) and answers the code Exact sends back.
async fn code(fake: &ExactOnline) -> String {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut url = url::Url::parse(&format!("{}/api/oauth2/auth", fake.base_url())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("state", "s-1");
    let answer = browser.get(url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    let back = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert!(back.as_str().starts_with(REDIRECT));
    let query: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "s-1", "the state comes back as it was sent");
    query["code"].clone()
}

async fn token(fake: &ExactOnline, grant: &[(&str, &str)]) -> reqwest::Response {
    let mut form = grant.to_vec();
    form.extend([("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]);
    reqwest::Client::new().post(format!("{}/api/oauth2/token", fake.base_url())).form(&form).send().await.unwrap()
}

async fn api(fake: &ExactOnline, path: &str, bearer: Option<&str>, json_accepted: bool) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}{path}", fake.base_url()));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if json_accepted {
        request = request.header("accept", "application/json");
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn oauth_codes_are_single_use_and_refresh_tokens_rotate() {
    let fake = exact_online().await;
    fake.set_token_lifetime(Duration::from_secs(1));
    let code = code(&fake).await;
    let grant = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)];
    let answer = token(&fake, &grant).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let tokens: Value = answer.json().await.unwrap();
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], "1", "expires_in is a string at Exact");
    let again = token(&fake, &grant).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "a code is single use");
    assert_eq!(again.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // Too early: 400 access_denied with the Reason header.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let early = token(&fake, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(early.status(), StatusCode::BAD_REQUEST);
    assert!(early.headers()["reason"].to_str().unwrap().starts_with("TooEarlyToRefreshTokens"));
    assert_eq!(early.json::<Value>().await.unwrap()["error"], "access_denied");

    // At 95 % of the life a refresh is allowed, gives new tokens and voids the old refresh token.
    tokio::time::sleep(Duration::from_millis(960)).await;
    let fresh = token(&fake, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(fresh.status(), StatusCode::OK);
    let fresh: Value = fresh.json().await.unwrap();
    assert_ne!(fresh["refresh_token"].as_str().unwrap(), refresh);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let old = token(&fake, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        old.json::<Value>().await.unwrap(),
        json!({"error": "unauthorized_client", "error_description": "Old refresh token used."})
    );
    let counts = fake.token_counts();
    assert_eq!((counts.refreshes, counts.too_early, counts.old_refresh_token_used), (1, 1, 1));

    let wrong = reqwest::Client::new()
        .post(format!("{}/api/oauth2/token", fake.base_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", CLIENT_ID),
            ("client_secret", "no"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "invalid_client");
}

#[tokio::test]
async fn the_api_wants_a_live_token_json_and_the_right_division() {
    let fake = exact_online().await;
    let code = code(&fake).await;
    let tokens: Value =
        token(&fake, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
            .await
            .json()
            .await
            .unwrap();
    let bearer = tokens["access_token"].as_str().unwrap();

    let me = api(&fake, "/api/v1/current/Me", Some(bearer), true).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["d"]["results"][0]["CurrentDivision"], DIVISION);
    assert!(me["d"]["results"][0]["__metadata"]["type"].is_string());

    // XML unless JSON is asked for.
    let xml = api(&fake, "/api/v1/current/Me", Some(bearer), false).await;
    assert!(xml.headers()["content-type"].to_str().unwrap().contains("xml"));

    // No token, an unknown one: 401 with an HTML page, not JSON.
    for bearer in [None, Some("unknown")] {
        let refused = api(&fake, "/api/v1/current/Me", bearer, true).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(refused.text().await.unwrap().contains("Object moved"));
    }

    // Another division: 403 with the Reason header.
    let other = api(&fake, "/api/v1/999/crm/Accounts?$top=1", Some(bearer), true).await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    assert_eq!(other.headers()["reason"], "NoDivisionAccess");

    // The envelope: d.results with __metadata, pages of 60 with __next.
    for n in 0..70 {
        fake.put_account(json!({"ID": format!("00000000-0000-4000-8000-{n:012}"), "Code": format!("{n:>18}"), "Name": format!("Klant {n}")}));
    }
    let page: Value =
        api(&fake, &format!("/api/v1/{DIVISION}/crm/Accounts"), Some(bearer), true).await.json().await.unwrap();
    assert_eq!(page["d"]["results"].as_array().unwrap().len(), 60);
    assert_eq!(page["d"]["results"][0]["__metadata"]["type"], "Exact.Web.Api.Models.Account");
    let next = page["d"]["__next"].as_str().unwrap();
    assert!(next.contains("skiptoken"), "{next}");
    let rest: Value = reqwest::Client::new()
        .get(next)
        .bearer_auth(bearer)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["d"]["results"].as_array().unwrap().len(), 10);
    assert!(rest["d"]["__next"].is_null());

    // Items and sales orders are listed the same way (key `OrderID` for orders).
    fake.put_item(json!({"ID": "10000000-0000-4000-8000-000000000001", "Code": "BROOD-01", "Description": "Brood"}));
    fake.put_sales_order(json!({"OrderID": "20000000-0000-4000-8000-000000000001", "YourRef": "KOPPEL-1"}));
    let items: Value =
        api(&fake, &format!("/api/v1/{DIVISION}/logistics/Items"), Some(bearer), true).await.json().await.unwrap();
    assert_eq!(items["d"]["results"][0]["__metadata"]["type"], "Exact.Web.Api.Models.Item");
    let orders: Value = api(&fake, &format!("/api/v1/{DIVISION}/salesorder/SalesOrders"), Some(bearer), true)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orders["d"]["results"][0]["YourRef"], "KOPPEL-1");

    // Expired: 401 saying so.
    fake.expire_access_tokens();
    let expired = api(&fake, "/api/v1/current/Me", Some(bearer), true).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert!(expired.headers()["www-authenticate"].to_str().unwrap().contains("access token expired"));
}

#[tokio::test]
async fn rate_limits_count_down_in_headers_and_a_429_carries_only_the_limit_hit() {
    let fake = exact_online().await;
    let code = code(&fake).await;
    let tokens: Value =
        token(&fake, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
            .await
            .json()
            .await
            .unwrap();
    let bearer = tokens["access_token"].as_str().unwrap();
    let first = api(&fake, "/api/v1/current/Me", Some(bearer), true).await;
    let header = |r: &reqwest::Response, name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header(&first, "x-ratelimit-minutely-limit").as_deref(), Some("60"));
    assert_eq!(header(&first, "x-ratelimit-minutely-remaining").as_deref(), Some("59"));
    assert_eq!(header(&first, "x-ratelimit-limit").as_deref(), Some("5000"));
    assert_eq!(header(&first, "x-ratelimit-remaining").as_deref(), Some("4999"));
    // Resets in epoch milliseconds, the minute on the clock minute.
    let reset: i64 = header(&first, "x-ratelimit-minutely-reset").unwrap().parse().unwrap();
    assert_eq!(reset % 60_000, 0);
    assert!(reset > chrono::Utc::now().timestamp_millis() && reset <= chrono::Utc::now().timestamp_millis() + 60_000);
    let daily: i64 = header(&first, "x-ratelimit-reset").unwrap().parse().unwrap();
    assert_eq!(daily % 86_400_000, 0, "the day ends at midnight UTC");

    fake.limit_rate(60, 1, Duration::from_secs(60));
    api(&fake, "/api/v1/current/Me", Some(bearer), true).await;
    let daily = api(&fake, "/api/v1/current/Me", Some(bearer), true).await;
    assert_eq!(daily.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        header(&daily, "x-ratelimit-remaining").is_some() && header(&daily, "x-ratelimit-minutely-remaining").is_none()
    );
    assert_eq!(daily.text().await.unwrap(), "", "a 429's body is empty");

    fake.limit_rate(1, 5000, Duration::from_secs(60));
    api(&fake, "/api/v1/current/Me", Some(bearer), true).await;
    let minutely = api(&fake, "/api/v1/current/Me", Some(bearer), true).await;
    assert_eq!(minutely.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&minutely, "x-ratelimit-minutely-remaining").as_deref(), Some("0"));
    assert!(header(&minutely, "x-ratelimit-remaining").is_none());
    assert_eq!(fake.rate_limited(), 2);
}

/// A bearer token of the fake, through the code flow.
async fn access_token(fake: &ExactOnline) -> String {
    let code = code(fake).await;
    let grant = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)];
    token(fake, &grant).await.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_sync_api_wants_a_select_and_pages_by_timestamp() {
    let fake = exact_online().await;
    for (id, code) in [("0a", "A"), ("0b", "B"), ("0c", "C")] {
        fake.put_item(json!({"ID": format!("00000000-0000-4000-8000-0000000000{id}"), "Code": code, "IsSalesItem": 1}));
    }
    fake.set_sync_page(2);
    let bearer = access_token(&fake).await;
    let sync = format!("/api/v1/{DIVISION}/sync/Logistics/Items");
    let without = api(&fake, &format!("{sync}?$filter=Timestamp%20gt%201"), Some(&bearer), true).await;
    assert_eq!(without.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        without.json::<Value>().await.unwrap()["error"]["message"]["value"],
        "Please add a $select or a $top=1 statement to the query string."
    );
    let first =
        api(&fake, &format!("{sync}?$select=ID,Code,Timestamp&$filter=Timestamp%20gt%201"), Some(&bearer), true)
            .await
            .json::<Value>()
            .await
            .unwrap();
    let rows = first["d"]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].as_object().unwrap().len(), 4, "only the $select and __metadata: {first:#}");
    let (t0, t1) = (rows[0]["Timestamp"].as_i64().unwrap(), rows[1]["Timestamp"].as_i64().unwrap());
    assert!(t0 < t1, "oldest first");
    let next = url::Url::parse(first["d"]["__next"].as_str().unwrap()).unwrap();
    let rest = api(&fake, &format!("{}?{}", next.path(), next.query().unwrap()), Some(&bearer), true)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(rest["d"]["results"].as_array().unwrap().len(), 1, "{rest:#}");
    assert!(rest["d"]["__next"].is_null());
    // A change gives the record a higher Timestamp: asking from the highest seen finds only it.
    fake.put_item(json!({"ID": "00000000-0000-4000-8000-00000000000a", "Code": "A", "IsSalesItem": 0}));
    let highest = rest["d"]["results"][0]["Timestamp"].as_i64().unwrap();
    let changed =
        api(&fake, &format!("{sync}?$select=ID,Timestamp&$filter=Timestamp%20gt%20{highest}L"), Some(&bearer), true)
            .await
            .json::<Value>()
            .await
            .unwrap();
    let ids: Vec<&str> =
        changed["d"]["results"].as_array().unwrap().iter().map(|r| r["ID"].as_str().unwrap()).collect();
    assert_eq!(ids, ["00000000-0000-4000-8000-00000000000a"]);
}

#[tokio::test]
async fn a_post_answers_the_whole_record_only_when_asked_and_a_put_answers_204() {
    let fake = exact_online().await;
    let bearer = access_token(&fake).await;
    let client = reqwest::Client::new();
    let accounts = format!("{}/api/v1/{DIVISION}/crm/Accounts", fake.base_url());
    let post = |prefer: bool, body: Value| {
        let mut request = client.post(&accounts).bearer_auth(&bearer).header("accept", "application/json").json(&body);
        if prefer {
            request = request.header("Prefer", "return=representation");
        }
        request.send()
    };
    let refused = post(true, json!({"Email": "x@example.nl"})).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.json::<Value>().await.unwrap()["error"]["message"]["value"].as_str().unwrap().contains("Name"));
    assert!(fake.accounts().is_empty(), "a refused record is not stored");

    let bare = post(false, json!({"Name": "Bakkerij"})).await.unwrap();
    assert_eq!(bare.status(), StatusCode::CREATED);
    let bare: Value = bare.json().await.unwrap();
    let keys: Vec<&String> = bare["d"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "__metadata and the key only: {bare:#}");
    let full: Value = post(true, json!({"Name": "Molen"})).await.unwrap().json().await.unwrap();
    assert_eq!(full["d"]["Name"], "Molen");
    let code = full["d"]["Code"].as_str().unwrap();
    assert_eq!(code.len(), 18, "codes are 18 characters, right-aligned");
    assert!(code.starts_with(' '));

    let id = full["d"]["ID"].as_str().unwrap();
    let put = client
        .put(format!("{accounts}(guid'{id}')"))
        .bearer_auth(&bearer)
        .header("accept", "application/json")
        .json(&json!({"Email": "info@molen.nl"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    assert!(fake.accounts().iter().any(|a| a["Email"] == "info@molen.nl"));
}

#[tokio::test]
async fn the_sync_api_wants_select_pages_by_timestamp_and_feeds_deletions() {
    let fake = exact_online().await;
    let code = code(&fake).await;
    let tokens: Value =
        token(&fake, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
            .await
            .json()
            .await
            .unwrap();
    let bearer = tokens["access_token"].as_str().unwrap();
    for n in 0..3 {
        fake.put_account(json!({"ID": format!("a{n}"), "Code": format!("{:>18}", n), "Name": format!("Klant {n}")}));
    }
    fake.set_sync_page(2);
    let accounts = format!("/api/v1/{DIVISION}/sync/CRM/Accounts");

    // Without $select: 400 with Exact's message.
    let refused = api(&fake, &format!("{accounts}?$filter=Timestamp%20gt%201L"), Some(bearer), true).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let said: Value = refused.json().await.unwrap();
    assert_eq!(said["error"]["message"]["value"], "Please add a $select or a $top=1 statement to the query string.");

    // Pages in Timestamp order, only the fields selected, a next link that goes on after the last one.
    let first: Value =
        api(&fake, &format!("{accounts}?$select=Timestamp,ID&$filter=Timestamp%20gt%201L"), Some(bearer), true)
            .await
            .json()
            .await
            .unwrap();
    let rows = first["d"]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0]["Timestamp"].as_i64() < rows[1]["Timestamp"].as_i64());
    assert!(rows[0].get("Name").is_none(), "only what $select asks");
    let next = first["d"]["__next"].as_str().unwrap();
    let second: Value = reqwest::Client::new()
        .get(next)
        .bearer_auth(bearer)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["d"]["results"].as_array().unwrap().len(), 1);
    assert!(second["d"].get("__next").is_none());
    let highest = second["d"]["results"][0]["Timestamp"].as_i64().unwrap();

    // A change takes a higher Timestamp; a deletion is a row of sync/Deleted (EntityType 2).
    fake.put_account(json!({"ID": "a0", "Name": "Klant nul"}));
    fake.delete_account("a1");
    let changed: Value =
        api(&fake, &format!("{accounts}?$select=ID,Name&$filter=Timestamp%20gt%20{highest}L"), Some(bearer), true)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(
        changed["d"]["results"],
        json!([{"__metadata": changed["d"]["results"][0]["__metadata"], "ID": "a0", "Name": "Klant nul"}])
    );
    let deleted: Value = api(
        &fake,
        &format!(
            "/api/v1/{DIVISION}/sync/Deleted?$select=Timestamp,EntityKey,EntityType&$filter=Timestamp%20gt%20{highest}L"
        ),
        Some(bearer),
        true,
    )
    .await
    .json()
    .await
    .unwrap();
    let rows = deleted["d"]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["EntityKey"].as_str(), rows[0]["EntityType"].as_i64()), (Some("a1"), Some(2)));
    assert!(rows[0]["Timestamp"].as_i64().unwrap() > highest);
}

#[tokio::test]
async fn a_deleted_item_leaves_the_sync_api_and_is_a_row_of_sync_deleted_with_entity_type_9() {
    let fake = exact_online().await;
    let (kept, gone) = ("00000000-0000-4000-8000-0000000000a1", "00000000-0000-4000-8000-0000000000a2");
    fake.put_item(json!({"ID": kept, "Code": "A1", "IsSalesItem": true}));
    fake.put_item(json!({"ID": gone, "Code": "A2", "IsSalesItem": true}));
    let highest = fake.last_timestamp();
    fake.remove_item(gone);
    let bearer = access_token(&fake).await;
    let get = |path: String| {
        let fake = &fake;
        let bearer = bearer.clone();
        async move { api(fake, &path, Some(&bearer), true).await.json::<Value>().await.unwrap() }
    };
    let items = get(format!("/api/v1/{DIVISION}/sync/Logistics/Items?$select=ID&$filter=Timestamp%20gt%201L")).await;
    let ids: Vec<&str> = items["d"]["results"].as_array().unwrap().iter().map(|r| r["ID"].as_str().unwrap()).collect();
    assert_eq!(ids, [kept], "{items:#}");
    let deleted = get(format!(
        "/api/v1/{DIVISION}/sync/Deleted?$select=Timestamp,EntityKey,EntityType&$filter=Timestamp%20gt%20{highest}L"
    ))
    .await;
    let rows = deleted["d"]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{deleted:#}");
    assert_eq!((rows[0]["EntityKey"].as_str(), rows[0]["EntityType"].as_i64()), (Some(gone), Some(9)));
    assert!(rows[0]["Timestamp"].as_i64().unwrap() > highest, "a deletion takes the next Timestamp");
}

#[tokio::test]
async fn items_and_item_groups_are_made_once_by_code_and_a_put_changes_only_what_it_sends() {
    let fake = exact_online().await;
    fake.put_item(json!({"ID": "00000000-0000-4000-8000-0000000000aa", "Code": "     OVEN-1", "Description": "Oven"}));
    let bearer = access_token(&fake).await;
    let client = reqwest::Client::new();
    let base = format!("{}/api/v1/{DIVISION}/logistics", fake.base_url());
    let post = |path: &str, prefer: bool, body: Value| {
        let mut request =
            client.post(format!("{base}/{path}")).bearer_auth(&bearer).header("accept", "application/json").json(&body);
        if prefer {
            request = request.header("Prefer", "return=representation");
        }
        request.send()
    };
    let refusal = |answer: Value| answer["error"]["message"]["value"].as_str().unwrap().to_owned();

    // Item groups: Code and Description mandatory, a code once, found by code.
    let missing = post("ItemGroups", true, json!({"Code": "OVENS"})).await.unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(refusal(missing.json().await.unwrap()), "Description: Mandatory");
    let group = post("ItemGroups", false, json!({"Code": "OVENS", "Description": "Ovens"})).await.unwrap();
    assert_eq!(group.status(), StatusCode::CREATED);
    let group: Value = group.json().await.unwrap();
    assert_eq!(group["d"].as_object().unwrap().len(), 2, "__metadata and the key only: {group:#}");
    let group_id = group["d"]["ID"].as_str().unwrap().to_owned();
    let twice = post("ItemGroups", true, json!({"Code": "OVENS", "Description": "Ovens"})).await.unwrap();
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
    let found = api(
        &fake,
        &format!("/api/v1/{DIVISION}/logistics/ItemGroups?$select=ID,Code&$filter=Code%20eq%20'OVENS'"),
        Some(&bearer),
        true,
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(found["d"]["results"][0]["ID"], group_id.as_str());
    assert_eq!(fake.item_groups().len(), 1);

    // Items: Code and Description mandatory, codes of at most 30 characters, a code once (padding
    // aside), an item group that exists.
    for (body, why) in [
        (json!({"Description": "Mixer"}), "Code: Mandatory".to_owned()),
        (json!({"Code": "MIX-20"}), "Description: Mandatory".to_owned()),
        (json!({"Code": "M".repeat(31), "Description": "Mixer"}), "Code: Maximum length is 30 characters".to_owned()),
        (json!({"Code": "OVEN-1", "Description": "Oven"}), "Code: An item with code OVEN-1 already exists".to_owned()),
        (
            json!({"Code": "MIX-20", "Description": "Mixer", "ItemGroup": "00000000-0000-4000-8000-0000000000ff"}),
            "ItemGroup: Item group not found".to_owned(),
        ),
    ] {
        let refused = post("Items", true, body).await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(refusal(refused.json().await.unwrap()), why);
    }
    assert_eq!(fake.stored_items().len(), 1, "a refused item is not stored");
    let bare: Value =
        post("Items", false, json!({"Code": "MIX-20", "Description": "Mixer"})).await.unwrap().json().await.unwrap();
    assert_eq!(bare["d"].as_object().unwrap().len(), 2, "__metadata and the key only: {bare:#}");
    let full = post(
        "Items",
        true,
        json!({"Code": "DEEG-1", "Description": "Deegroller", "ItemGroup": group_id,
                                          "StandardSalesPrice": 49.5, "IsSalesItem": true}),
    )
    .await
    .unwrap();
    assert_eq!(full.status(), StatusCode::CREATED);
    let full: Value = full.json().await.unwrap();
    assert_eq!(
        (full["d"]["Description"].as_str(), full["d"]["ItemGroupCode"].as_str()),
        (Some("Deegroller"), Some("OVENS"))
    );
    let id = full["d"]["ID"].as_str().unwrap();
    let before = full["d"]["Timestamp"].as_i64().unwrap();

    // A PUT answers 204 and changes only the fields it sends (never the code).
    let put = client
        .put(format!("{base}/Items(guid'{id}')"))
        .bearer_auth(&bearer)
        .header("accept", "application/json")
        .json(&json!({"StandardSalesPrice": 45.0, "Code": "OTHER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let item = fake.stored_items().into_iter().find(|i| i["ID"] == id).unwrap();
    assert_eq!((item["StandardSalesPrice"].clone(), item["Code"].clone()), (json!(45.0), json!("DEEG-1")));
    assert_eq!(item["Description"], "Deegroller");
    assert!(item["Timestamp"].as_i64().unwrap() > before, "a change gets the next Timestamp");
}

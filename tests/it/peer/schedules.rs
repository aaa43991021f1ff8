//! Schedules per integration: shown with the next run, edited through the settings, checked on save.

use super::client::Client;
use super::fixtures::{UPDATE_INTEGRATION, base_url, create_integration};
use super::{has_error, peer_server};
use crate::common::TestServer;
use chrono::{DateTime, Timelike, Utc};
use serde_json::{Value, json};

const SCHEDULES: &str = "query($id: ID!) { integration(id: $id) {
  enabled settings schedules { entity schedule setting isDefault timeZone nextRunAt } } }";

async fn schedules(admin: &Client<'_>, id: &str) -> Value {
    admin.data(SCHEDULES, json!({"id": id})).await["integration"].clone()
}

fn next_run(schedule: &Value) -> DateTime<Utc> {
    schedule["nextRunAt"].as_str().expect("a next run").parse().expect("a time")
}

#[tokio::test]
async fn a_product_schedule_is_shown_edited_and_checked_on_save() {
    let server = peer_server().await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let id = create_integration(&admin, "Provider B", &base_url(&server), "provider").await;
    let enable = json!({"i": {"id": id, "enabled": true}});
    admin.mutate("updateIntegration", UPDATE_INTEGRATION, enable).await;

    // Nothing set: the server's interval, every 15 minutes counted from midnight UTC.
    let shown = schedules(&admin, &id).await;
    let product = &shown["schedules"][0];
    assert_eq!(shown["schedules"].as_array().unwrap().len(), 2, "products, and the pull of sale statuses");
    let statuses = &shown["schedules"][1];
    assert_eq!(
        (&statuses["entity"], &statuses["schedule"], &statuses["setting"]),
        (&json!("sale_status"), &json!("07:00, 19:00"), &json!("saleStatusSyncTimes")),
        "twice a day by default"
    );
    assert_eq!(
        (&product["entity"], &product["schedule"], &product["setting"], &product["isDefault"], &product["timeZone"]),
        (&json!("product"), &json!("every 15 minutes"), &json!("productSyncSchedule"), &json!(true), &Value::Null)
    );
    let next = next_run(product);
    assert!(next > Utc::now() && next <= Utc::now() + chrono::Duration::minutes(15), "{next}");
    assert_eq!(next.minute() % 15, 0);

    // 07:00 on Amsterdam's clock, every day: 06:00 UTC in winter, 05:00 UTC in summer.
    let daily = json!({"i": {"id": id, "settings": {"accountName": "provider", "productSyncSchedule": "0 7 * * *"}}});
    admin.mutate("updateIntegration", UPDATE_INTEGRATION, daily).await;
    let shown = schedules(&admin, &id).await;
    let product = &shown["schedules"][0];
    assert_eq!(
        (&product["schedule"], &product["isDefault"], &product["timeZone"]),
        (&json!("0 7 * * *"), &json!(false), &json!("Europe/Amsterdam"))
    );
    let next = next_run(product);
    assert!([5, 6].contains(&next.hour()) && next.minute() == 0, "07:00 Amsterdam is {next}");
    assert!(next > Utc::now() && next <= Utc::now() + chrono::Duration::days(1), "{next}");

    // A bad schedule is a userError naming the field, and changes nothing.
    for bad in [json!("every day at seven"), json!("0 25 * * *"), json!(15)] {
        let refused = json!({"i": {"id": id, "name": "Renamed", "settings": {"accountName": "provider", "productSyncSchedule": bad}}});
        let (_, errors) = admin.refused("updateIntegration", UPDATE_INTEGRATION, refused).await;
        assert!(has_error(&errors, "settings.productSyncSchedule", "INVALID"), "{bad}: {errors:?}");
        assert!(errors.iter().all(|(field, _)| field == "settings.productSyncSchedule"), "{errors:?}");
    }
    let shown = schedules(&admin, &id).await;
    assert_eq!(shown["settings"]["productSyncSchedule"], "0 7 * * *", "the refused updates changed nothing");
    assert_eq!(shown["schedules"][0]["schedule"], "0 7 * * *");

    // A disabled integration is not scheduled: no next run.
    let disable = json!({"i": {"id": id, "enabled": false}});
    admin.mutate("updateIntegration", UPDATE_INTEGRATION, disable).await;
    assert_eq!(schedules(&admin, &id).await["schedules"][0]["nextRunAt"], Value::Null);
}

#[tokio::test]
async fn the_peer_kind_offers_the_product_schedule_and_the_sale_status_times() {
    let server = TestServer::start().await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let kinds =
        admin.data("{ integrationKinds { kind settings { name fieldType required default help } } }", json!({})).await;
    let peer = kinds["integrationKinds"].as_array().unwrap().iter().find(|k| k["kind"] == "peer").unwrap().clone();
    let settings = peer["settings"].as_array().unwrap();
    let schedule = settings.iter().find(|s| s["name"] == "productSyncSchedule").expect("common to every kind");
    assert_eq!(
        (&schedule["fieldType"], &schedule["required"], &schedule["default"]),
        (&json!("cron_schedule"), &json!(false), &Value::Null)
    );
    assert!(schedule["help"].as_str().unwrap().contains("Europe/Amsterdam"));
    let times = settings.iter().find(|s| s["name"] == "saleStatusSyncTimes").expect("peers pull sale statuses");
    assert_eq!((&times["fieldType"], &times["default"]), (&json!("times_of_day"), &json!(["07:00", "19:00"])));
}

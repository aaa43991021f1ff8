//! Sale forwarding (seeds 000 and 001), end to end between two Koppel accounts through the peer
//! connector: A sells B's product and the sale reaches B — by hand or automatically on the right
//! statuses and conditions, after a delay in working days, mapped and validated, exactly once.

use super::fixtures::{
    Consumer, FLOW_MAPPINGS, Provider, QUESTION_MAPPINGS, UPDATE_INTEGRATION, connected, create_flow, create_question,
    create_status, import,
};
use super::{has_error, id_of, nodes, peer_server, user_errors};
use crate::common::TestServer;
use serde_json::{Value, json};
use std::time::Duration;

/// A sells B's product P1 in its own flow, with its own questions mapped onto B's.
pub(super) struct Forwarding<'a> {
    pub(super) b: Provider<'a>,
    pub(super) a: Consumer<'a>,
    /// A's copy of P1.
    pub(super) product: String,
    pub(super) flow: String,
    pub(super) payment: String,
    pub(super) rehousing: String,
    pub(super) customer: String,
    pub(super) approved: String,
}

pub(super) const TRANSMISSIONS: &str = "query($id: ID!) { sale(id: $id) { id status { key } transmissions {
  id saleId integrationId state trigger notBefore attempts remoteId failure lastError problems { field code message } sentAt } } }";

pub(super) const SEND_SALE: &str = "mutation($i: SendSaleInput!) { sendSale(input: $i) {
  transmission { id state trigger remoteId } userErrors { field message code } } }";

/// B and A connected; P1 imported and authorised at A; A's flow and questions; a customer; statuses
/// `approved` at A (besides the system status `sent`). Mapped when `mapped`; `settings` are A's integration settings.
pub(super) async fn forwarding(server: &TestServer, settings: Value, mapped: bool) -> Forwarding<'_> {
    let (b, a) = connected(server).await;
    let product = id_of(&import(&a, &[&b.p1]).await[0]["id"]);
    a.admin
        .mutate(
            "setProductAuthorised",
            "mutation($id: ID!) { setProductAuthorised(input: {id: $id, authorised: true}) { product { id } userErrors { field message code } } }",
            json!({"id": product}),
        )
        .await;
    let flow = create_flow(&a.admin, "Energie").await;
    let payment = create_question(
        &a.admin,
        json!({
            "flowId": flow, "key": "betaalwijze", "label": "Betaalwijze", "questionType": "SELECT", "required": true,
            "options": [{"value": "incasso", "label": "Automatische incasso"}, {"value": "acceptgiro", "label": "Acceptgiro"}],
        }),
    )
    .await;
    let rehousing = create_question(
        &a.admin,
        json!({"flowId": flow, "key": "verhuizing", "label": "Verhuizing", "questionType": "BOOLEAN", "position": 1}),
    )
    .await;
    let customer = id_of(
        &a.admin
            .mutate(
                "createCustomer",
                "mutation($c: CustomerFields!) { createCustomer(input: {customer: $c, contactPersons: [{name: \"Jan Jansen\", phone: \"0612345678\"}]}) { customer { id } userErrors { field message code } } }",
                json!({"c": {"kind": "PERSON", "firstName": "Jan", "lastName": "Jansen", "email": "jan@example.com"}}),
            )
            .await["customer"]["id"],
    );
    let approved = create_status(&a.admin, "approved", "Goedgekeurd").await;
    let setup = Forwarding { b, a, product, flow, payment, rehousing, customer, approved };
    let mut all = json!({"accountName": setup.b.account, "statusAfterSuccess": "sent"});
    all.as_object_mut().unwrap().extend(settings.as_object().cloned().unwrap_or_default());
    setup
        .a
        .admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": setup.a.integration, "enabled": true, "settings": all}}),
        )
        .await;
    if mapped {
        setup.map().await;
    }
    setup
}

impl Forwarding<'_> {
    /// Maps A's flow onto B's and A's questions onto B's, with the payment methods' options.
    pub(super) async fn map(&self) {
        let flows = json!({"integrationId": self.a.integration, "mappings": [{"remoteFlowId": self.b.flow, "localFlowId": self.flow}]});
        self.a.admin.mutate("setFlowMappings", FLOW_MAPPINGS, json!({"i": flows})).await;
        let questions = json!({"integrationId": self.a.integration, "mappings": [
            {"remoteQuestionKey": "payment_method", "localQuestionId": self.payment,
             "options": [{"remote": "direct_debit", "local": "incasso"}, {"remote": "giro", "local": "acceptgiro"}]},
            {"remoteQuestionKey": "rehousing", "localQuestionId": self.rehousing},
        ]});
        self.a.admin.mutate("setQuestionMappings", QUESTION_MAPPINGS, json!({"i": questions})).await;
    }

    /// A sale at A with these answers; returns its id.
    pub(super) async fn sell(&self, payment: &str, rehousing: bool) -> String {
        let input = json!({
            "productId": self.product, "flowId": self.flow, "customerId": self.customer,
            "answers": [{"questionKey": "betaalwijze", "value": payment}, {"questionKey": "verhuizing", "value": rehousing}],
            "optIn": {"consent": true, "channel": "phone"},
        });
        id_of(
            &self
                .a
                .admin
                .mutate(
                    "createSale",
                    "mutation($i: CreateSaleInput!) { createSale(input: $i) { sale { id } userErrors { field message code } } }",
                    json!({"i": input}),
                )
                .await["sale"]["id"],
        )
    }

    pub(super) async fn set_status(&self, sale: &str, status: &str) {
        self.a
            .admin
            .mutate(
                "changeSaleStatus",
                "mutation($id: ID!, $s: ID!) { changeSaleStatus(input: {id: $id, statusId: $s}) { sale { id } userErrors { field message code } } }",
                json!({"id": sale, "s": status}),
            )
            .await;
    }

    pub(super) async fn sale(&self, sale: &str) -> Value {
        self.a.admin.data(TRANSMISSIONS, json!({"id": sale})).await["sale"].clone()
    }

    /// The sale's transmissions once none is queued, scheduled to go within a minute, or on its way.
    pub(super) async fn settled(&self, sale: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let found = self.sale(sale).await;
            let busy = found["transmissions"].as_array().unwrap().iter().any(|t| {
                matches!(t["state"].as_str(), Some("QUEUED" | "SENDING"))
                    || (t["state"] == "SCHEDULED"
                        && chrono::DateTime::parse_from_rfc3339(t["notBefore"].as_str().unwrap()).unwrap()
                            < chrono::Utc::now() + chrono::Duration::minutes(1))
            });
            if !busy {
                // Read again: the sale and its transmissions are two statements, and the outcome of the
                // send (state and status after success, one transaction) may have landed between them.
                return self.sale(sale).await;
            }
            assert!(tokio::time::Instant::now() < deadline, "the sale did not settle: {found:#}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(super) async fn send(&self, sale: &str) -> Value {
        let input = json!({"saleId": sale, "integrationId": self.a.integration});
        self.a.admin.raw(SEND_SALE, json!({"i": input})).await["data"]["sendSale"].clone()
    }

    /// B's sales (what arrived), as `{id idempotencyKey answers product}`.
    pub(super) async fn arrived(&self) -> Vec<Value> {
        nodes(
            &self
                .b
                .admin
                .data(
                    "{ sales(first: 100) { edges { node { id idempotencyKey answers { questionKey value } product { id } customer { firstName email } optIn { consent channel } } } } }",
                    json!({}),
                )
                .await["sales"],
        )
    }
}

fn transmission(sale: &Value) -> &Value {
    let all = sale["transmissions"].as_array().expect("transmissions");
    assert_eq!(all.len(), 1, "one transmission per sale and integration: {sale:#}");
    &all[0]
}

#[tokio::test]
async fn a_manual_send_names_every_missing_mapping_at_once_then_arrives_once() {
    let server = peer_server().await;
    let f = forwarding(&server, json!({}), false).await;
    let sale = f.sell("incasso", false).await;
    assert!(f.sale(&sale).await["transmissions"].as_array().unwrap().is_empty(), "manual: nothing goes by itself");

    let refused = f.send(&sale).await;
    let errors = user_errors(&refused);
    assert!(has_error(&errors, "flowId", "NOT_FOUND"), "{errors:?}");
    assert!(has_error(&errors, "answers.betaalwijze", "UNKNOWN"), "{errors:?}");
    assert!(has_error(&errors, "answers.verhuizing", "UNKNOWN"), "{errors:?}");
    assert!(refused["transmission"].is_null(), "{refused:#}");
    assert!(f.sale(&sale).await["transmissions"].as_array().unwrap().is_empty(), "a refused send queues nothing");

    // Half mapped: the flow, and the payment method with one of its two options only.
    let flows =
        json!({"integrationId": f.a.integration, "mappings": [{"remoteFlowId": f.b.flow, "localFlowId": f.flow}]});
    f.a.admin.mutate("setFlowMappings", FLOW_MAPPINGS, json!({"i": flows})).await;
    let questions = json!({"integrationId": f.a.integration, "mappings": [
        {"remoteQuestionKey": "payment_method", "localQuestionId": f.payment, "options": [{"remote": "giro", "local": "acceptgiro"}]},
    ]});
    f.a.admin.mutate("setQuestionMappings", QUESTION_MAPPINGS, json!({"i": questions})).await;
    let errors = user_errors(&f.send(&sale).await);
    assert!(
        has_error(&errors, "answers.betaalwijze", "NOT_AN_OPTION"),
        "an answer without a value mapping: {errors:?}"
    );
    assert!(has_error(&errors, "answers.verhuizing", "UNKNOWN"), "{errors:?}");
    assert!(has_error(&errors, "remote.payment_method", "REQUIRED"), "the remote requires it: {errors:?}");
    assert_eq!(errors.len(), 3, "{errors:?}");

    f.map().await;
    let queued = f.send(&sale).await;
    assert!(user_errors(&queued).is_empty(), "{queued:#}");
    assert_eq!(queued["transmission"]["trigger"], "MANUAL");
    let settled = f.settled(&sale).await;
    let sent = transmission(&settled);
    assert_eq!(sent["state"], "SENT", "{settled:#}");
    assert_eq!(settled["status"]["key"], "sent", "the status after success");

    let arrived = f.arrived().await;
    assert_eq!(arrived.len(), 1, "{arrived:#?}");
    let remote = &arrived[0];
    assert_eq!(id_of(&remote["id"]), sent["remoteId"].as_str().unwrap());
    assert_eq!(remote["product"]["id"], f.b.p1.as_str());
    assert_eq!(remote["customer"]["email"], "jan@example.com");
    assert!(remote["optIn"].is_null(), "opt-in data is not sent unless the integration says so");
    let answers: Vec<(String, Value)> = remote["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["questionKey"].as_str().unwrap().to_owned(), a["value"].clone()))
        .collect();
    assert_eq!(
        answers,
        [("payment_method".to_owned(), json!("direct_debit")), ("rehousing".to_owned(), json!(false))],
        "answers through the question mappings and their option mappings"
    );

    let again = f.send(&sale).await;
    assert!(has_error(&user_errors(&again), "saleId", "TAKEN"), "{again:#}");
    assert_eq!(f.arrived().await.len(), 1, "sent once");
}

#[tokio::test]
async fn automatic_sending_on_specific_statuses_when_the_conditions_hold() {
    let server = peer_server().await;
    let settings = json!({
        "autoProcessing": "specific",
        "processOnStatuses": ["approved"],
        "saleConditions": [{"field": "answer.verhuizing", "operator": "in", "values": ["false"]}],
        "sendOptIn": true,
    });
    let f = forwarding(&server, settings, true).await;
    let staying = f.sell("incasso", false).await;
    let moving = f.sell("acceptgiro", true).await;
    assert!(f.sale(&staying).await["transmissions"].as_array().unwrap().is_empty(), "not on status new");

    f.set_status(&staying, &f.approved).await;
    f.set_status(&moving, &f.approved).await;
    let settled = f.settled(&staying).await;
    let sent = transmission(&settled);
    assert_eq!((sent["state"].as_str(), sent["trigger"].as_str()), (Some("SENT"), Some("AUTOMATIC")), "{settled:#}");
    assert_eq!(settled["status"]["key"], "sent");
    assert!(
        f.sale(&moving).await["transmissions"].as_array().unwrap().is_empty(),
        "the condition (no rehousing) does not hold"
    );
    let arrived = f.arrived().await;
    assert_eq!(arrived.len(), 1, "{arrived:#?}");
    assert_eq!(arrived[0]["optIn"]["channel"], "phone", "sendOptIn");
}

#[tokio::test]
async fn a_delay_in_working_days_schedules_the_sale_at_the_send_hour() {
    let server = peer_server().await;
    let settings = json!({"autoProcessing": "all", "delayWorkingDays": 2, "sendHour": 10});
    let f = forwarding(&server, settings, true).await;
    let before = chrono::Utc::now();
    let sale = f.sell("incasso", false).await;
    let found = f.sale(&sale).await;
    let scheduled = transmission(&found);
    assert_eq!(scheduled["state"], "SCHEDULED", "{found:#}");
    let not_before: chrono::DateTime<chrono::Utc> = scheduled["notBefore"].as_str().unwrap().parse().unwrap();
    let calendar = koppel_daemon::calendar::WorkingDays::default();
    let expected = [before, chrono::Utc::now()].map(|at| calendar.due_at(at, 2, 10));
    assert!(expected.contains(&not_before), "{not_before} is one of {expected:?}");
    let local = not_before.with_timezone(&chrono_tz::Europe::Amsterdam);
    assert_eq!(chrono::Timelike::hour(&local), 10, "at the send hour, Amsterdam time");
    assert!(calendar.is_working_day(local.date_naive()));
    assert!(f.arrived().await.is_empty(), "not before its time");
}

/// A's events of level `min` and up about sales: `(action, localId, message)`.
async fn sale_events(f: &Forwarding<'_>, min: &str) -> Vec<(String, String, String)> {
    let events = f
        .a
        .admin
        .data(
            "query($id: ID!, $min: EventLevel) { syncEvents(integrationId: $id, minLevel: $min, first: 100) { edges { node { entity action localId message } } } }",
            json!({"id": f.a.integration, "min": min}),
        )
        .await;
    nodes(&events["syncEvents"])
        .into_iter()
        .filter(|e| e["entity"] == "SALE")
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("action"), text("localId"), text("message"))
        })
        .collect()
}

const SALES_IN_STATE: &str =
    "query($s: TransmissionState!) { sales(filter: {transmissionState: $s}) { edges { node { id } } } }";

#[tokio::test]
async fn a_refusal_by_the_provider_fails_with_its_message_until_the_sale_changes() {
    let server = peer_server().await;
    let f = forwarding(&server, json!({"autoProcessing": "all"}), true).await;
    // B takes P1 off A's grants: B's submitSale now refuses the product.
    super::fixtures::set_grants(&f.b.admin, &f.b.organisation, &[&f.b.p2], &[&f.b.flow]).await;
    let sale = f.sell("incasso", false).await;
    let settled = f.settled(&sale).await;
    let failed = transmission(&settled);
    assert_eq!((failed["state"].as_str(), failed["failure"].as_str()), (Some("FAILED"), Some("REMOTE")), "{settled:#}");
    assert_eq!(failed["attempts"], 1, "a refusal is not retried blindly");
    let message = failed["lastError"].as_str().unwrap();
    assert!(message.contains("productId") && message.contains("does not exist"), "the provider's own words: {message}");
    assert_eq!(settled["status"]["key"], "new", "no status after success");
    let failed_sales = nodes(&f.a.admin.data(SALES_IN_STATE, json!({"s": "FAILED"})).await["sales"]);
    assert_eq!(failed_sales.len(), 1, "an operator finds it by its transmission state");
    assert!(sale_events(&f, "ERROR").await.iter().any(|(action, id, _)| action == "refused" && *id == sale));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(transmission(&f.sale(&sale).await)["attempts"], 1, "still not retried");

    // B grants it again; the sale changes (a status), and it goes.
    super::fixtures::set_grants(&f.b.admin, &f.b.organisation, &[&f.b.p1, &f.b.p2], &[&f.b.flow]).await;
    f.set_status(&sale, &f.approved).await;
    let settled = f.settled(&sale).await;
    assert_eq!(transmission(&settled)["state"], "SENT", "{settled:#}");
    assert_eq!(f.arrived().await.len(), 1);
    assert!(nodes(&f.a.admin.data(SALES_IN_STATE, json!({"s": "FAILED"})).await["sales"]).is_empty());
}

#[tokio::test]
async fn a_provider_that_is_down_is_retried_then_reached_and_one_down_too_long_is_dead_until_retried() {
    let server = peer_server().await;
    let f = forwarding(&server, json!({"autoProcessing": "all", "maxSendAttempts": 3}), true).await;
    let proxy = crate::fakes::held_proxy(&super::fixtures::base_url(&server)).await;
    let moved = json!({"i": {"id": f.a.integration, "baseUrl": proxy.remote.base_url()}});
    f.a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, moved).await;
    super::fixtures::set_token(&f.a.admin, &f.a.integration, "TEST", &f.b.secret).await;

    proxy.down_for("submitSale", 2);
    let sale = f.sell("incasso", false).await;
    let settled = f.settled(&sale).await;
    let sent = transmission(&settled);
    assert_eq!((sent["state"].as_str(), sent["attempts"].as_i64()), (Some("SENT"), Some(3)), "{settled:#}");
    assert_eq!(proxy.refused(), 2);
    let retries: Vec<_> = sale_events(&f, "WARN").await.into_iter().filter(|(a, _, _)| a == "retry").collect();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(retries[0].2.contains("attempt 1 of 3"), "{retries:?}");
    assert!(retries[0].2.contains("retry after 1 s"), "the remote's Retry-After is heard: {retries:?}");

    proxy.down_for("submitSale", 100);
    let second = f.sell("incasso", true).await;
    let settled = f.settled(&second).await;
    let dead = transmission(&settled);
    assert_eq!((dead["state"].as_str(), dead["attempts"].as_i64()), (Some("DEAD"), Some(3)), "{settled:#}");
    let alerts = sale_events(&f, "ALERT").await;
    assert_eq!(alerts.len(), 1, "one alert for the dead transmission: {alerts:?}");
    assert!(alerts[0].2.contains("retryTransmission"), "{alerts:?}");
    assert_eq!(nodes(&f.a.admin.data(SALES_IN_STATE, json!({"s": "DEAD"})).await["sales"]).len(), 1);

    proxy.down_for("submitSale", 0);
    let retried = f
        .a
        .admin
        .mutate(
            "retryTransmission",
            "mutation($id: ID!) { retryTransmission(input: {id: $id}) { transmission { state attempts } userErrors { field message code } } }",
            json!({"id": dead["id"]}),
        )
        .await;
    assert_eq!(retried["transmission"]["state"], "QUEUED", "{retried:#}");
    let settled = f.settled(&second).await;
    assert_eq!(transmission(&settled)["state"], "SENT", "{settled:#}");
    assert_eq!(f.arrived().await.len(), 2, "each sale once");
    let again = f
        .a
        .admin
        .raw(
            "mutation($id: ID!) { retryTransmission(input: {id: $id}) { transmission { state } userErrors { field message code } } }",
            json!({"id": dead["id"]}),
        )
        .await;
    assert!(has_error(&user_errors(&again["data"]["retryTransmission"]), "id", "INVALID"), "{again:#}");
}

#[tokio::test]
async fn a_changed_mapping_queues_the_sales_it_failed_again() {
    let server = peer_server().await;
    let f = forwarding(&server, json!({"autoProcessing": "all"}), false).await;
    let sale = f.sell("acceptgiro", false).await;
    let settled = f.settled(&sale).await;
    let failed = transmission(&settled);
    assert_eq!(
        (failed["state"].as_str(), failed["failure"].as_str()),
        (Some("FAILED"), Some("MAPPING")),
        "{settled:#}"
    );
    let fields: Vec<&str> =
        failed["problems"].as_array().unwrap().iter().map(|p| p["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["flowId", "answers.betaalwijze", "answers.verhuizing"], "every problem at once, by name");
    f.map().await;
    let settled = f.settled(&sale).await;
    assert_eq!(transmission(&settled)["state"], "SENT", "{settled:#}");
    let arrived = f.arrived().await;
    let payment =
        arrived[0]["answers"].as_array().unwrap().iter().find(|a| a["questionKey"] == "payment_method").cloned();
    assert_eq!(payment.unwrap()["value"], "giro");
}

#[tokio::test]
async fn the_sale_data_mapping_sends_the_cire_id_and_a_product_field_through_value_mappings() {
    let server = peer_server().await;
    let f = forwarding(&server, json!({"autoProcessing": "all"}), true).await;
    // B asks two more questions in its flow: the seller's CIRE ID (required) and the tariff.
    for (key, required) in [("cire_id", true), ("tariff", false)] {
        let input = json!({"flowId": f.b.flow, "key": key, "label": key, "questionType": "TEXT", "required": required, "position": 5});
        create_question(&f.b.admin, input).await;
    }
    f.a.admin
        .mutate(
            "createExtraField",
            "mutation { createExtraField(input: {entity: ORGANISATION, key: \"cire_id\", label: \"CIRE ID\", fieldType: TEXT}) { extraField { id } userErrors { field message code } } }",
            json!({}),
        )
        .await;
    let office = id_of(
        &f.a.admin
            .mutate(
                "createOrganisation",
                "mutation { createOrganisation(input: {name: \"Kantoor Utrecht\", extraFields: [{key: \"cire_id\", value: \"cire-0042\"}]}) { organisation { id } userErrors { field message code } } }",
                json!({}),
            )
            .await["organisation"]["id"],
    );
    let mapping =
        |mappings: Value| json!({"i": {"integrationId": f.a.integration, "entity": "sale", "mappings": mappings}});
    let (_, errors) =
        f.a.admin
            .refused(
                "setFieldMappings",
                super::fixtures::FIELD_MAPPINGS,
                mapping(json!([
                    {"remoteField": "shoe_size", "targetKind": "ATTRIBUTE", "target": "product.sku"},
                    {"remoteField": "tariff", "targetKind": "ATTRIBUTE", "target": "product.colour"},
                    {"remoteField": "cire_id", "targetKind": "EXTRA_FIELD", "target": "organisation.kvk"},
                ])),
            )
            .await;
    assert!(has_error(&errors, "mappings.0.remoteField", "NOT_FOUND"), "not a question of the remote: {errors:?}");
    assert!(has_error(&errors, "mappings.1.target", "NOT_AN_OPTION"), "{errors:?}");
    assert!(has_error(&errors, "mappings.2.target", "NOT_FOUND"), "{errors:?}");
    f.a.admin
        .mutate(
            "setFieldMappings",
            super::fixtures::FIELD_MAPPINGS,
            mapping(json!([
                {"remoteField": "cire_id", "targetKind": "EXTRA_FIELD", "target": "organisation.cire_id", "transforms": [{"kind": "UPPERCASE"}]},
                {"remoteField": "tariff", "targetKind": "ATTRIBUTE", "target": "product.tariffCode",
                 "values": [{"local": "delivery", "remote": "LEVERING"}]},
            ])),
        )
        .await;

    let input = json!({
        "productId": f.product, "flowId": f.flow, "customerId": f.customer, "organisationId": office,
        "answers": [{"questionKey": "betaalwijze", "value": "incasso"}, {"questionKey": "verhuizing", "value": true}],
    });
    let sale = id_of(
        &f.a.admin
            .mutate(
                "createSale",
                "mutation($i: CreateSaleInput!) { createSale(input: $i) { sale { id } userErrors { field message code } } }",
                json!({"i": input}),
            )
            .await["sale"]["id"],
    );
    let settled = f.settled(&sale).await;
    assert_eq!(transmission(&settled)["state"], "SENT", "{settled:#}");
    let arrived = f.arrived().await;
    let answers: std::collections::BTreeMap<String, Value> = arrived[0]["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["questionKey"].as_str().unwrap().to_owned(), a["value"].clone()))
        .collect();
    assert_eq!(answers["cire_id"], "CIRE-0042", "the organisation's CIRE ID, through its transform");
    assert_eq!(answers["tariff"], "LEVERING", "the product's tariff code, through its value mapping");
    assert_eq!(answers["rehousing"], true);

    // A sale of an organisation without a CIRE ID cannot go: B requires it.
    let without = f.sell("incasso", false).await;
    let settled = f.settled(&without).await;
    let failed = transmission(&settled);
    assert_eq!(failed["failure"], "MAPPING", "{settled:#}");
    assert_eq!(failed["problems"][0]["field"], "remote.cire_id", "{settled:#}");
}

//! The outbox (issue 8): sales forwarded per second by one daemon's relay to a provider on the same
//! machine, and the time from a qualifying sale change (its commit) to the sale's arrival at the
//! provider while the relay idles, with no delay configured.
//!
//! `cargo run --release -p koppel-daemon --example bench_outbox -- --sales 5000`
//!
//! `--database-url postgres://…/postgres` runs it on a new PostgreSQL database instead of SQLite;
//! `--rate 100 --seconds 10` set the latency phase; `--batch` and `--concurrency` the relay's.
//! `cargo test -p koppel-daemon --example bench_outbox` runs the same code at 300 sales on SQLite.
//!
//! The provider is a fake (an axum server answering `submitSale` like Koppel: one sale per
//! idempotency key, the same sale again for a known key, and an empty `providerQuestions`), so the
//! figures are the sending side's.

#[allow(dead_code)]
mod support;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use chrono::Utc;
use koppel_daemon::Context;
use koppel_daemon::outbox::relay::{self, RelayConfig};
use koppel_entity::enums::{LinkedEntity, ProductType, Role, TransmissionState};
use koppel_entity::{integration, product, remote_link, sale, sale_transmission, status, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{BenchDb, millis, percentile};
use tokio::sync::watch;
use uuid::Uuid;

/// Issue 8's targets.
const TARGET_SALES_PER_SECOND: f64 = 1_000.0;
const TARGET_P99: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() {
    let options = support::Options::from_args();
    let defaults = RelayConfig::default();
    let plan = Plan {
        sales: options.number("--sales", 5_000),
        rate: options.number("--rate", 100),
        seconds: options.number("--seconds", 10),
        batch: options.number("--batch", defaults.batch as usize) as u64,
        concurrency: options.number("--concurrency", defaults.concurrency),
    };
    println!("{}", run(options.get("--database-url"), plan).await);
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    sales: usize,
    rate: usize,
    seconds: usize,
    batch: u64,
    concurrency: usize,
}

/// What the fake provider received: the sale id it gave each idempotency key, when each key first
/// arrived, and how many submissions came (retries included).
#[derive(Default)]
struct Received {
    sales: HashMap<String, (String, Instant)>,
    submissions: usize,
}

type Shared = Arc<Mutex<Received>>;

async fn graphql(State(received): State<Shared>, Json(request): Json<Value>) -> Json<Value> {
    let query = request["query"].as_str().unwrap_or_default();
    if query.contains("providerQuestions") {
        return Json(json!({"data": {"providerQuestions": {
            "edges": [], "pageInfo": {"hasNextPage": false, "endCursor": null},
        }}}));
    }
    if !query.contains("submitSale") {
        return Json(json!({"errors": [{"message": "the fake provider answers submitSale and providerQuestions"}]}));
    }
    let key = request["variables"]["input"]["idempotencyKey"].as_str().unwrap_or_default().to_owned();
    let mut received = received.lock().unwrap();
    received.submissions += 1;
    let (id, _) = received.sales.entry(key).or_insert_with(|| (Uuid::now_v7().to_string(), Instant::now())).clone();
    Json(json!({"data": {"submitSale": {"sale": {"id": id, "status": {"key": "new"}}, "userErrors": []}}}))
}

async fn provider() -> (String, Shared) {
    let shared = Shared::default();
    let app = axum::Router::new().route("/graphql", post(graphql)).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the fake provider") });
    (format!("http://{address}"), shared)
}

/// What a sale at the consumer needs: the integration (sending every sale at once), an agent, the
/// status `new` and the status after success `sent`, and a product linked to the provider's.
struct Seller {
    integration: integration::Model,
    agent: Uuid,
    new: Uuid,
    product: Uuid,
}

async fn seller(ctx: &Context, base_url: &str) -> Seller {
    let integration = support::seed::peer_integration(ctx, base_url).await;
    let mut active = integration.into_active_model();
    active.settings = Set(json!({"accountName": "provider", "autoProcessing": "all", "statusAfterSuccess": "sent"}));
    let integration = active.update(&ctx.db).await.expect("the sale settings");
    let account_id = integration.account_id;
    let now = Utc::now();
    let agent = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        organisation_id: Set(None),
        username: Set("agent".into()),
        display_name: Set(None),
        email: Set(None),
        role: Set(Role::Agent),
        password_hash: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&ctx.db)
    .await
    .expect("an agent");
    let mut statuses = Vec::new();
    for (position, key) in ["new", "sent"].into_iter().enumerate() {
        let made = status::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(account_id),
            key: Set(key.into()),
            name: Set(key.into()),
            system: Set(true),
            position: Set(position as i32),
            created_at: Set(now),
        }
        .insert(&ctx.db)
        .await
        .expect("a status");
        statuses.push(made.id);
    }
    let product = product::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        supplier_id: Set(None),
        parent_id: Set(None),
        sku: Set("STROOM-GROEN-1J".into()),
        name: Set("Groene stroom".into()),
        description: Set(None),
        product_type: Set(ProductType::Simple),
        category: Set(None),
        tariffs: Set(json!([])),
        extra_fields: Set(json!({})),
        incentive: Set(None),
        active: Set(true),
        authorised: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&ctx.db)
    .await
    .expect("a product");
    remote_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        integration_id: Set(integration.id),
        entity: Set(LinkedEntity::Product),
        local_id: Set(product.id),
        remote_id: Set(Uuid::now_v7().to_string()),
        content_hash: Set(String::new()),
        manual: Set(false),
        deactivated_by_sync: Set(false),
        last_seen_at: Set(Some(now)),
        last_synced_at: Set(Some(now)),
        created_at: Set(now),
    }
    .insert(&ctx.db)
    .await
    .expect("a link");
    Seller { integration, agent: agent.id, new: statuses[0], product: product.id }
}

/// Makes `count` sales in one transaction, each with the transmission it qualifies (as `createSale`
/// does); returns the transmissions' idempotency keys.
async fn sell(db: &sea_orm::DatabaseConnection, seller: &Seller, count: usize) -> Vec<String> {
    let txn = db.begin().await.expect("a transaction");
    let now = Utc::now();
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let sale = sale::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(seller.integration.account_id),
            organisation_id: Set(None),
            agent_id: Set(seller.agent),
            customer_id: Set(None),
            product_id: Set(seller.product),
            flow_id: Set(None),
            status_id: Set(seller.new),
            answers: Set(json!({})),
            opt_in: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            status_changed_at: Set(now),
            idempotency_key: Set(None),
            idempotency_hash: Set(None),
        }
        .insert(&txn)
        .await
        .expect("a sale");
        let written = koppel_daemon::outbox::sale_changed(&txn, &sale).await.expect("the outbox");
        assert_eq!(written.len(), 1, "the sale qualifies");
        keys.push(written[0].idempotency_key.clone());
    }
    txn.commit().await.expect("committed");
    keys
}

struct Relay {
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start(ctx: &Context, plan: Plan) -> Relay {
    let config = RelayConfig {
        owner: "bench:outbox".into(),
        batch: plan.batch,
        concurrency: plan.concurrency,
        // As `koppel daemon` runs it (its idle poll is at most 200 ms).
        ..RelayConfig::default()
    };
    let (shutdown, receiver) = watch::channel(false);
    Relay { shutdown, task: tokio::spawn(relay::run(ctx.clone(), config, receiver)) }
}

impl Relay {
    async fn stop(self) {
        let _ = self.shutdown.send(true);
        self.task.await.expect("the relay stops");
    }
}

async fn sent(db: &sea_orm::DatabaseConnection) -> u64 {
    sale_transmission::Entity::find()
        .filter(sale_transmission::Column::State.eq(TransmissionState::Sent))
        .count(db)
        .await
        .expect("a count")
}

/// Sales per second: `count` sales queued while no relay runs, then one relay sends them all; timed
/// until every transmission is recorded as sent.
async fn throughput(ctx: &Context, seller: &Seller, received: &Shared, plan: Plan) -> (f64, Duration) {
    let before = sent(&ctx.db).await;
    for start in (0..plan.sales).step_by(500) {
        sell(&ctx.db, seller, (plan.sales - start).min(500)).await;
    }
    if ctx.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // The PostgreSQL here runs without autovacuum: do what it would do after a bulk load.
        ctx.db.execute_unprepared("ANALYZE sale_transmissions; ANALYZE sales").await.expect("analyzed");
    }
    let started = Instant::now();
    let relay = start(ctx, plan);
    while sent(&ctx.db).await < before + plan.sales as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    relay.stop().await;
    let received = received.lock().unwrap();
    assert_eq!(received.sales.len(), plan.sales, "every sale arrived");
    (plan.sales as f64 / elapsed.as_secs_f64(), elapsed)
}

/// Commit to arrival: one sale at a time at `rate` per second for `seconds`, with the relay idling
/// between them. Returns the sorted latencies.
async fn latency(ctx: &Context, seller: &Seller, received: &Shared, plan: Plan) -> Vec<Duration> {
    let relay = start(ctx, plan);
    let count = plan.rate * plan.seconds;
    let mut committed = Vec::with_capacity(count);
    let began = Instant::now();
    for n in 0..count {
        tokio::time::sleep_until((began + Duration::from_secs_f64(n as f64 / plan.rate as f64)).into()).await;
        let key = sell(&ctx.db, seller, 1).await.remove(0);
        committed.push((key, Instant::now()));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut latencies = loop {
        let arrived: Option<Vec<Duration>> = {
            let received = received.lock().unwrap();
            committed
                .iter()
                .map(|(key, at)| received.sales.get(key).map(|(_, arrival)| arrival.saturating_duration_since(*at)))
                .collect()
        };
        if let Some(latencies) = arrived {
            break latencies;
        }
        assert!(Instant::now() < deadline, "every sale arrives");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    relay.stop().await;
    latencies.sort();
    latencies
}

async fn run(database_url: Option<&str>, plan: Plan) -> String {
    let bench = BenchDb::new(database_url).await;
    let ctx = support::context(&bench.db);
    let (base_url, received) = provider().await;
    let seller = seller(&ctx, &base_url).await;
    let label = bench.label;

    let (rate, elapsed) = throughput(&ctx, &seller, &received, plan).await;
    let submissions = received.lock().unwrap().submissions;
    let met = if rate >= TARGET_SALES_PER_SECOND { "met" } else { "MISSED" };
    let mut report = format!(
        "{label}, one relay (batch {}, concurrency {})\n\
         forwarded: {} sales in {:.2} s = {rate:.0} sales/s ({submissions} submissions); target ≥ {TARGET_SALES_PER_SECOND:.0}/s: {met}\n",
        plan.batch,
        plan.concurrency,
        plan.sales,
        elapsed.as_secs_f64(),
    );
    let latencies = latency(&ctx, &seller, &received, plan).await;
    let p99 = percentile(&latencies, 99.0);
    let met = if p99 <= TARGET_P99 { "met" } else { "MISSED" };
    report += &format!(
        "commit to arrival ({} sales at {}/s, idle poll {}): p50 {}, p90 {}, p99 {}, max {}; target p99 ≤ {}: {met}",
        latencies.len(),
        plan.rate,
        millis(RelayConfig::default().idle_poll),
        millis(percentile(&latencies, 50.0)),
        millis(percentile(&latencies, 90.0)),
        millis(p99),
        millis(percentile(&latencies, 100.0)),
        millis(TARGET_P99),
    );
    let all = sale_transmission::Entity::find().count(&bench.db).await.expect("a count");
    assert_eq!(sent(&bench.db).await, all, "every transmission is sent");
    assert_eq!(received.lock().unwrap().sales.len() as u64, all, "each sale once at the provider");
    bench.drop_database().await;
    report
}

#[tokio::test]
async fn the_outbox_at_ci_size() {
    let defaults = RelayConfig::default();
    let plan = Plan { sales: 300, rate: 50, seconds: 2, batch: defaults.batch, concurrency: defaults.concurrency };
    let report = run(None, plan).await;
    assert!(report.contains("commit to arrival"), "{report}");
}

//! Importing a provider's catalogue over HTTP pages of 100 (a fake provider answering the peer
//! connector's GraphQL), into SQLite and into PostgreSQL: products per second, and the share of the time
//! spent on the network (request, provider, decoding), the plan (content hashes and the planner) and the
//! database (`store_products`). Then a pass over the unchanged catalogue, which must write nothing.
//!
//! `cargo run --release -p koppel-daemon --example bench_import -- --products 100000 --database-url postgres://postgres@127.0.0.1:5432/postgres`
//!
//! Without `--database-url` only SQLite is measured. `cargo test -p koppel-daemon --example
//! bench_import` runs the same code at 500 products on SQLite.

#[allow(dead_code)]
mod support;

use koppel_daemon::connect;
use koppel_daemon::connectors::ListRequest;
use koppel_daemon::import::{link_hash, store_products};
use koppel_daemon::reconcile::products::{ChangeAction, reconcile_products};
use koppel_daemon::reconcile::{MissingAction, Observed, PlanLimits, Planner};
use sea_orm::{ConnectionTrait, EntityTrait};
use std::time::{Duration, Instant};
use support::provider::{self, Catalogue};
use support::{BenchDb, seed};

#[tokio::main]
async fn main() {
    let options = support::Options::from_args();
    let products = options.number("--products", 100_000);
    println!("{}", run(None, products).await);
    if let Some(url) = options.get("--database-url") {
        println!("{}", run(Some(url), products).await);
    }
}

fn share(part: Duration, whole: Duration) -> String {
    format!("{:.2} s ({:.0} %)", part.as_secs_f64(), 100.0 * part.as_secs_f64() / whole.as_secs_f64())
}

async fn run(database_url: Option<&str>, products: usize) -> String {
    let bench = BenchDb::new(database_url).await;
    let ctx = support::context(&bench.db);
    let (base_url, _catalogue) = provider::start(Catalogue::unchanged(products)).await;
    let integration = seed::peer_integration(&ctx, &base_url).await;
    let connector = connect::connector_for(&ctx, &integration, integration.mode).await.expect("a connector");

    let (mut network, mut plan, mut database) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let started = Instant::now();
    // As a pass sees an import: every remote record is new to the planner.
    let mut planner = Planner::<u32>::new(Vec::new());
    let fingerprint: Vec<u8> = koppel_daemon::mapping::stored::fingerprint(&[]);
    let mut after = None;
    let mut imported = 0;
    loop {
        let at = Instant::now();
        let page = connector.products(ListRequest { first: 100, after: after.take(), changed_since: None }).await;
        let page = page.expect("a page");
        network += at.elapsed();
        let at = Instant::now();
        for product in &page.items {
            assert_eq!(planner.observe(&product.id, link_hash(product, &fingerprint)), Observed::New);
        }
        plan += at.elapsed();
        let at = Instant::now();
        let wanted = page.items.into_iter().map(|p| (format!("product {}", p.sku), p)).collect();
        imported += store_products(&ctx.db, &integration, wanted, &koppel_daemon::attachments::Fetched::none())
            .await
            .expect("stored")
            .len();
        database += at.elapsed();
        if bench.postgres() && imported % 10_000 == 0 {
            // The PostgreSQL here runs without autovacuum: do what it would do as the tables grow, or the
            // planner keeps the empty tables' statistics and looks links up through the wrong index.
            bench.db.execute_unprepared("ANALYZE products; ANALYZE remote_links").await.expect("analyzed");
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let total = started.elapsed();
    let plan_result = planner.finish(MissingAction::Deactivate, PlanLimits::default());
    assert_eq!((imported, plan_result.new_remote.len()), (products, products));

    let before = seed::written_state(&ctx, &integration).await;
    let integration = koppel_entity::integration::Entity::find_by_id(integration.id)
        .one(&ctx.db)
        .await
        .expect("read")
        .expect("the integration");
    let at = Instant::now();
    let report = reconcile_products(&ctx, &integration, true).await.expect("a pass");
    let pass = at.elapsed();
    assert_eq!(report.count(ChangeAction::Unchanged), products);
    let after = seed::written_state(&ctx, &integration).await;
    assert_eq!(before, after, "a pass over an unchanged catalogue writes nothing");

    let label = bench.label;
    bench.drop_database().await;
    format!(
        "{label}: imported {products} products in {:.2} s = {:.0} products/s\n  network {}, plan {}, database {}\n  a pass over the {products} unchanged: {:.2} s, 0 rows written",
        total.as_secs_f64(),
        products as f64 / total.as_secs_f64(),
        share(network, total),
        share(plan, total),
        share(database, total),
        pass.as_secs_f64(),
    )
}

#[tokio::test]
async fn the_import_at_ci_size() {
    let report = run(None, 500).await;
    assert!(report.contains("0 rows written"), "{report}");
}

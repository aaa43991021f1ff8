//! A product pass over a large catalogue: N linked products (seeded directly) against a fake provider
//! showing them with 1 % changed and 0.1 % gone, read over HTTP pages of 100 and applied; then a second
//! pass over the now unchanged catalogue, which must write nothing. Prints wall times and the peak
//! memory of each pass (`VmHWM`, reset before it).
//!
//! `cargo run --release -p koppel-daemon --example bench_pass -- --products 1000000`
//!
//! `--database-url postgres://…/postgres` runs it on a new PostgreSQL database instead of SQLite.
//! `cargo test -p koppel-daemon --example bench_pass` runs the same code at 2,000 products on SQLite.

#[allow(dead_code)]
mod support;

use chrono::Utc;
use koppel_daemon::import::link_hash;
use koppel_daemon::reconcile::products::{ChangeAction, PassReport, reconcile_products};
use koppel_entity::enums::{LinkedEntity, ProductType};
use koppel_entity::{integration, product, remote_link};
use sea_orm::{ConnectionTrait, EntityTrait, Set, TransactionTrait};
use std::time::{Duration, Instant};
use support::provider::{self, Catalogue};
use support::{BenchDb, peak_mib, reset_peak, rss_mib, seed};
use uuid::Uuid;

#[tokio::main]
async fn main() {
    let options = support::Options::from_args();
    let products = options.number("--products", 1_000_000);
    println!("{}", run(options.get("--database-url"), products).await);
}

/// Writes `count` products linked to the provider's catalogue at version 1, a thousand per statement.
async fn seed_linked(db: &sea_orm::DatabaseConnection, integration: &integration::Model, count: usize) {
    let now = Utc::now();
    let fingerprint = koppel_daemon::mapping::stored::fingerprint(&[]);
    let txn = db.begin().await.expect("a transaction");
    for start in (0..count).step_by(1000) {
        let batch: Vec<(Uuid, usize)> = (start..(start + 1000).min(count)).map(|i| (Uuid::now_v7(), i)).collect();
        let products = batch.iter().map(|(id, i)| {
            let remote = provider::product(*i, 1);
            product::ActiveModel {
                id: Set(*id),
                account_id: Set(integration.account_id),
                supplier_id: Set(None),
                parent_id: Set(None),
                sku: Set(remote.sku),
                name: Set(remote.name),
                description: Set(remote.description),
                product_type: Set(ProductType::Simple),
                category: Set(remote.category),
                tariffs: Set(serde_json::to_value(&remote.tariffs).expect("serialises")),
                extra_fields: Set(serde_json::json!({})),
                incentive: Set(None),
                active: Set(true),
                authorised: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
            }
        });
        product::Entity::insert_many(products).exec_without_returning(&txn).await.expect("products");
        let links = batch.iter().map(|(id, i)| remote_link::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(integration.account_id),
            integration_id: Set(integration.id),
            entity: Set(LinkedEntity::Product),
            local_id: Set(*id),
            remote_id: Set(provider::remote_id(*i)),
            content_hash: Set(link_hash(&provider::product(*i, 1), &fingerprint).to_hex()),
            manual: Set(false),
            deactivated_by_sync: Set(false),
            last_seen_at: Set(Some(now)),
            last_synced_at: Set(Some(now)),
            created_at: Set(now),
        });
        remote_link::Entity::insert_many(links).exec_without_returning(&txn).await.expect("links");
    }
    txn.commit().await.expect("committed");
}

/// A pass, its time, and the resident memory before it and at its peak (MiB).
async fn pass(ctx: &koppel_daemon::Context, id: Uuid) -> (PassReport, Duration, (u64, u64)) {
    let integration = integration::Entity::find_by_id(id).one(&ctx.db).await.expect("read").expect("found");
    reset_peak();
    let before = rss_mib();
    let started = Instant::now();
    let report = reconcile_products(ctx, &integration, true).await.expect("a pass");
    (report, started.elapsed(), (before, peak_mib()))
}

async fn run(database_url: Option<&str>, products: usize) -> String {
    let bench = BenchDb::new(database_url).await;
    let ctx = support::context(&bench.db);
    let changed = Catalogue { count: products, changed_every: Some(100), gone_every: Some(1000) };
    let (base_url, _catalogue) = provider::start(changed).await;
    let integration = seed::peer_integration(&ctx, &base_url).await;
    let started = Instant::now();
    seed_linked(&ctx.db, &integration, products).await;
    if bench.postgres() {
        // The PostgreSQL here runs without autovacuum: do what it would do after a bulk load.
        bench.db.execute_unprepared("ANALYZE products; ANALYZE remote_links").await.expect("analyzed");
    }
    let seeding = started.elapsed();

    let (first, first_time, first_peak) = pass(&ctx, integration.id).await;
    let updated = first.count(ChangeAction::Update);
    let deactivated = first.count(ChangeAction::Deactivate);
    assert_eq!((updated, deactivated), (products / 100, products / 1000), "1 % changed, 0.1 % gone");
    assert_eq!(first.held_back, None);
    drop(first);

    let before = seed::written_state(&ctx, &integration).await;
    let (second, second_time, second_peak) = pass(&ctx, integration.id).await;
    assert_eq!(second.count(ChangeAction::Unchanged), products - products / 1000);
    assert_eq!(second.count(ChangeAction::Update) + second.count(ChangeAction::Deactivate), 0);
    assert_eq!(before, seed::written_state(&ctx, &integration).await, "an unchanged catalogue writes nothing");
    let label = bench.label;
    bench.drop_database().await;
    format!(
        "{label}, {products} linked products (seeded in {:.1} s)\n\
         pass, 1 % changed and 0.1 % gone: {:.2} s, resident {} MiB before, peak {} MiB — {updated} updated, {deactivated} deactivated\n\
         pass, unchanged:                 {:.2} s, resident {} MiB before, peak {} MiB — 0 rows written",
        seeding.as_secs_f64(),
        first_time.as_secs_f64(),
        first_peak.0,
        first_peak.1,
        second_time.as_secs_f64(),
        second_peak.0,
        second_peak.1,
    )
}

#[tokio::test]
async fn the_pass_at_ci_size() {
    let report = run(None, 2_000).await;
    assert!(report.contains("0 rows written"), "{report}");
}

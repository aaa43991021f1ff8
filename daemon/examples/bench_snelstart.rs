//! A first sync from SnelStart (issue 10): 50,000 relaties and 200,000 verkoopfacturen served by the
//! tests' SnelStart fake (`tests/it/fakes/snelstart.rs`, the one pinned to REMOTES.md), pulled into a
//! fresh Koppel database by the engine's own passes as `koppel sync` runs them (a run each, with its
//! events): customers first, then invoices. Then the same two passes again over an unchanged remote.
//! Prints records per second, the statements each pass ran and where the database time went (the
//! statements grouped by their first words).
//!
//! `cargo run --release -p koppel-daemon --example bench_snelstart -- --customers 50000 --invoices 200000 --database-url postgres://postgres@127.0.0.1:5432/postgres`
//!
//! Without `--database-url` only SQLite is measured. `cargo test -p koppel-daemon --example
//! bench_snelstart` runs the same code at 300 customers and 1,200 invoices on SQLite.

#[allow(dead_code)]
mod support;

use chrono::Utc;
use koppel_daemon::reconcile::{self, Progress};
use koppel_daemon::{Context, credentials};
use koppel_entity::enums::{IntegrationMode, LinkedEntity, RunTrigger};
use koppel_entity::{account, integration};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::BenchDb;
use support::fakes::snelstart::{self, CLIENT_KEY, SUBSCRIPTION_KEY};

#[tokio::main]
async fn main() {
    let options = support::Options::from_args();
    let customers = options.number("--customers", 50_000);
    let invoices = options.number("--invoices", 200_000);
    println!("{}", run(None, customers, invoices).await.text);
    if let Some(url) = options.get("--database-url") {
        println!("{}", run(Some(url), customers, invoices).await.text);
    }
}

/// The statements run, and their time, by the first words of their SQL.
#[derive(Default)]
struct Statements {
    by_kind: HashMap<String, (u64, Duration)>,
}

impl Statements {
    fn total(&self) -> u64 {
        self.by_kind.values().map(|(n, _)| n).sum()
    }

    fn time(&self) -> Duration {
        self.by_kind.values().map(|(_, t)| *t).sum()
    }

    /// The kinds that took the most time, as lines.
    fn top(&self, lines: usize) -> String {
        let mut kinds: Vec<(&String, &(u64, Duration))> = self.by_kind.iter().collect();
        kinds.sort_by_key(|(_, (_, time))| std::cmp::Reverse(*time));
        kinds
            .into_iter()
            .take(lines)
            .map(|(sql, (n, t))| format!("    {n:>8} × {sql:<60} {:>7.2} s", t.as_secs_f64()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `INSERT invoices`, `SELECT remote_links`, `UPDATE customers`: what a statement does to which table.
fn kind_of(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let verb = words.first().copied().unwrap_or_default().to_uppercase();
    let table = if verb == "UPDATE" {
        words.get(1)
    } else {
        words.iter().position(|w| matches!(w.to_uppercase().as_str(), "FROM" | "INTO")).and_then(|i| words.get(i + 1))
    };
    format!("{verb} {}", table.map_or("", |t| t.trim_matches('"')))
}

/// A relatie of kind Klant, as SnelStart lists it.
fn relatie(n: usize, modified: &str) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{n:012}"), "modifiedOn": modified, "relatiesoort": ["Klant"],
        "relatiecode": 100_000 + n, "naam": format!("Klant {n}"),
        "vestigingsAdres": {"contactpersoon": null, "straat": format!("Dorpsstraat {n}"), "postcode": "1234 AB",
                            "plaats": "Utrecht", "landISOCode": "NL"},
        "email": format!("klant{n}@example.nl"), "telefoon": "030-1234567", "btwNummer": null,
        "kvkNummer": null, "iban": null, "nonactief": false,
    })
}

/// A verkoopfactuur of relatie `customer`; a third of them partly paid.
fn factuur(n: usize, customer: usize, modified: &str) -> Value {
    let amount = 100.0 + (n % 900) as f64;
    let open = if n.is_multiple_of(3) { amount / 2.0 } else { amount };
    json!({
        "id": format!("10000000-0000-4000-8000-{n:012}"), "modifiedOn": modified,
        "factuurnummer": 2_024_000_000u64 + n as u64, "factuurDatum": "2024-03-01T00:00:00",
        "vervalDatum": "2024-03-31T00:00:00", "factuurBedrag": amount, "openstaandSaldo": open,
        "relatie": {"id": format!("00000000-0000-4000-8000-{customer:012}"), "uri": "/relaties/…"},
        "verkoopBoeking": null, "verkoopOrders": [], "uri": format!("/verkoopfacturen/{n}"),
    })
}

async fn snelstart_integration(ctx: &Context, base_url: &str) -> integration::Model {
    let now = Utc::now();
    let account = account::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        name: Set(format!("bench{}", uuid::Uuid::now_v7().simple())),
        created_at: Set(now),
    }
    .insert(&ctx.db)
    .await
    .expect("an account");
    let integration = integration::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        account_id: Set(account.id),
        kind: Set("snelstart".into()),
        name: Set("SnelStart".into()),
        enabled: Set(true),
        mode: Set(IntegrationMode::Test),
        base_url: Set(base_url.into()),
        settings: Set(json!({"matchingKey": "email", "startDate": "2019-05-28", "unmatchedCustomers": "create"})),
        // The defaults: relaties and invoices gone at SnelStart are deactivated (so passes after the
        // first also list every id since the start date).
        missing_policies: Set(json!({})),
        last_synced_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&ctx.db)
    .await
    .expect("an integration");
    for (field, value) in [("apiKey", SUBSCRIPTION_KEY), ("clientKey", CLIENT_KEY)] {
        credentials::replace(&ctx.db, &ctx.master_key, &integration, IntegrationMode::Test, field, value)
            .await
            .expect("a credential");
    }
    integration
}

/// What one measured pass did.
struct Pass {
    seconds: f64,
    statements: u64,
    database: Duration,
    counts: (i32, i32, i32),
}

async fn pass(
    ctx: &Context,
    integration: &integration::Model,
    entity: LinkedEntity,
    statements: &Mutex<Statements>,
) -> (Pass, Statements) {
    std::mem::take(&mut *statements.lock().unwrap());
    let at = Instant::now();
    let (run, _) = reconcile::job::run_now(ctx, integration, entity, RunTrigger::Api, &Progress::channel().0)
        .await
        .expect("the pass succeeds");
    let seconds = at.elapsed().as_secs_f64();
    let seen = std::mem::take(&mut *statements.lock().unwrap());
    let pass = Pass {
        seconds,
        statements: seen.total(),
        database: seen.time(),
        counts: (run.created, run.updated, run.unchanged),
    };
    (pass, seen)
}

struct Report {
    text: String,
    /// Created, updated, unchanged of each pass (the CI-size test checks them).
    #[cfg_attr(not(test), allow(dead_code))]
    counts: Vec<(i32, i32, i32)>,
}

async fn run(database_url: Option<&str>, customers: usize, invoices: usize) -> Report {
    let mut bench = BenchDb::new(database_url).await;
    let statements = Arc::new(Mutex::new(Statements::default()));
    let counter = statements.clone();
    bench.db.set_metric_callback(move |info| {
        let mut seen = counter.lock().unwrap();
        let entry = seen.by_kind.entry(kind_of(&info.statement.sql)).or_default();
        entry.0 += 1;
        entry.1 += info.elapsed;
    });
    let ctx = support::context(&bench.db);
    let fake = snelstart::snelstart().await;
    let modified = "2024-06-01T12:00:00.000";
    let at = Instant::now();
    fake.load(
        (0..customers).map(|n| relatie(n, modified)).collect(),
        (0..invoices).map(|n| factuur(n, n % customers, modified)).collect(),
    );
    let generated = at.elapsed();
    let integration = snelstart_integration(&ctx, &fake.base_url()).await;

    let mut lines = vec![format!(
        "{}: {customers} relaties and {invoices} verkoopfacturen (generated in {:.1} s)",
        bench.label,
        generated.as_secs_f64()
    )];
    let mut counts = Vec::new();
    let mut first_total = 0.0;
    for (label, entity, records) in [
        ("customers, first sync", LinkedEntity::Customer, customers),
        ("invoices, first sync", LinkedEntity::Invoice, invoices),
        ("customers, unchanged", LinkedEntity::Customer, customers),
        ("invoices, unchanged", LinkedEntity::Invoice, invoices),
    ] {
        if bench.postgres() {
            // This PostgreSQL runs without autovacuum: what it would do as the tables grow.
            bench.db.execute_unprepared("ANALYZE").await.expect("analyzed");
        }
        let (done, seen) = pass(&ctx, &integration, entity, &statements).await;
        if label.ends_with("first sync") {
            first_total += done.seconds;
        }
        lines.push(format!(
            "  {label}: {:.2} s = {:.0} records/s; {} statements ({:.1} per record), {:.2} s in the database ({:.0} %); created {}, updated {}, unchanged {}",
            done.seconds,
            records as f64 / done.seconds,
            done.statements,
            done.statements as f64 / records as f64,
            done.database.as_secs_f64(),
            100.0 * done.database.as_secs_f64() / done.seconds,
            done.counts.0,
            done.counts.1,
            done.counts.2,
        ));
        lines.push(seen.top(6));
        // As it goes: a full-size run takes minutes.
        eprintln!("{}\n{}", lines[lines.len() - 2], lines[lines.len() - 1]);
        counts.push(done.counts);
    }
    lines.push(format!(
        "  first sync in all: {first_total:.2} s = {:.0} records/s",
        (customers + invoices) as f64 / first_total
    ));
    bench.drop_database().await;
    Report { text: lines.join("\n"), counts }
}

#[tokio::test]
async fn the_first_sync_at_ci_size() {
    let report = run(None, 300, 1_200).await;
    assert_eq!(
        report.counts,
        [(300, 0, 0), (1_200, 0, 0), (0, 0, 0), (0, 0, 0)],
        "created, updated, unchanged per pass:\n{}",
        report.text
    );
}

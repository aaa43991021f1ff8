//! Exactly once, tested by crashing (issue 8): A forwards sales to B while `koppel daemon` processes
//! are killed with SIGKILL at random moments, mid-send among them, and restarted. At B every sale
//! exists once, none is lost, and every sale at A has the status after success.
//!
//! Small in CI; the size is its own command (see docs/BENCHMARKS.md):
//! `KOPPEL_FORWARD_CRASH_KILLS=20 KOPPEL_FORWARD_CRASH_SALES=1000 cargo test --test it crash_forward -- --nocapture`

use super::crash::{daemon, setting, some_ms};
use super::forwarding::{Forwarding, forwarding};
use crate::common::TestServer;
use futures_util::StreamExt;
use koppel_entity::enums::TransmissionState;
use koppel_entity::{account, sale, sale_transmission, status};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Makes `count` sales at A, `at_once` requests in flight; returns their ids.
async fn make_sales(f: &Forwarding<'_>, count: usize, at_once: usize) -> Vec<String> {
    futures_util::stream::iter(0..count)
        .map(|n| f.sell(if n % 2 == 0 { "incasso" } else { "acceptgiro" }, n % 3 == 0))
        .buffer_unordered(at_once)
        .collect()
        .await
}

/// Transmissions in `state`; only those leased to the daemon with process id `pid` when given.
async fn in_state(db: &DatabaseConnection, state: TransmissionState, pid: Option<u32>) -> u64 {
    let mut query = sale_transmission::Entity::find().filter(sale_transmission::Column::State.eq(state));
    if let Some(pid) = pid {
        // The relay's lease owner is `<host>:<pid>:outbox`.
        query = query.filter(sale_transmission::Column::LeaseOwner.like(format!("%:{pid}:outbox")));
    }
    query.count(db).await.expect("a count")
}

/// Starts a daemon, lets it run 50–700 ms, kills it with SIGKILL; `kills` times. Returns how many of
/// the kills hit the daemon while it had transmissions `sending` (claimed, not yet recorded).
async fn kill_loop(server: &TestServer, db: &DatabaseConnection, kills: usize) -> usize {
    let mut mid_send = 0;
    for _ in 0..kills {
        let mut daemon = daemon(server);
        tokio::time::sleep(Duration::from_millis(50 + some_ms(650))).await;
        let sending = in_state(db, TransmissionState::Sending, Some(daemon.0.id())).await;
        daemon.0.kill().expect("SIGKILL");
        daemon.0.wait().unwrap();
        mid_send += usize::from(sending > 0);
    }
    mid_send
}

#[tokio::test]
async fn crash_forward_a_daemon_killed_while_it_sends_makes_each_sale_once_at_the_provider() {
    let (kills, count) = (setting("KOPPEL_FORWARD_CRASH_KILLS", 3), setting("KOPPEL_FORWARD_CRASH_SALES", 150));
    // No daemon inside the server: the `koppel daemon` processes send. A and B share one server, and
    // each daemon submits every sale with B's one token: no rate limit gets in the way.
    let server = TestServer::start_with(|c| {
        c.allow_private_remotes = true;
        c.rate_limit_per_token = 1_000_000;
        c.rate_limit_per_address = 1_000_000;
    })
    .await;
    let f = forwarding(&server, json!({"autoProcessing": "all"}), true).await;
    let db = sea_orm::Database::connect(server.database_url()).await.unwrap();

    // Sales are made while the daemons come and go, so the kills find sales on their way.
    let started = Instant::now();
    let (sales, mid_send) = tokio::join!(make_sales(&f, count, 8), kill_loop(&server, &db, kills));
    let _last = daemon(&server);
    let deadline = Instant::now() + Duration::from_secs(60 + count as u64 / 10);
    loop {
        let sent = in_state(&db, TransmissionState::Sent, None).await;
        if sent >= count as u64 {
            break;
        }
        for stuck in [TransmissionState::Failed, TransmissionState::Dead] {
            assert_eq!(in_state(&db, stuck, None).await, 0, "no transmission is {}", stuck.as_str());
        }
        assert!(Instant::now() < deadline, "only {sent} of {count} transmissions were sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();

    // A: one transmission per sale, each sent, each sale in the status after success.
    let transmissions = sale_transmission::Entity::find().all(&db).await.unwrap();
    assert_eq!(transmissions.len(), count, "one transmission per sale");
    assert!(transmissions.iter().all(|t| t.state == TransmissionState::Sent), "every transmission is SENT");
    let a = account::Entity::find().filter(account::Column::Name.eq("consumer")).one(&db).await.unwrap().unwrap();
    let sent_status = status::Entity::find()
        .filter(status::Column::AccountId.eq(a.id))
        .filter(status::Column::Key.eq("sent"))
        .one(&db)
        .await
        .unwrap()
        .expect("A's status `sent`");
    let at_a = sale::Entity::find().filter(sale::Column::AccountId.eq(a.id)).all(&db).await.unwrap();
    assert_eq!(at_a.len(), count);
    assert_eq!(sales.iter().collect::<HashSet<_>>().len(), count);
    let not_sent: Vec<_> = at_a.iter().filter(|s| s.status_id != sent_status.id).map(|s| s.id).collect();
    assert!(not_sent.is_empty(), "every sale at A has the status after success; these do not: {not_sent:?}");

    // B: each sale once — as many sales as A made, one per idempotency key, each the remote id A recorded.
    let b = account::Entity::find().filter(account::Column::Name.eq(&f.b.account)).one(&db).await.unwrap().unwrap();
    let at_b = sale::Entity::find().filter(sale::Column::AccountId.eq(b.id)).all(&db).await.unwrap();
    let keys: HashMap<&str, String> =
        at_b.iter().filter_map(|s| Some((s.idempotency_key.as_deref()?, s.id.to_string()))).collect();
    eprintln!(
        "crash forward: {count} sales, {kills} kills, {mid_send} of them while the daemon had sales `sending`; \
         all sent in {:.1} s; {} sales at B, {} distinct keys",
        took.as_secs_f64(),
        at_b.len(),
        keys.len()
    );
    assert_eq!(at_b.len(), count, "every sale arrived, once");
    assert_eq!(keys.len(), count, "one sale per idempotency key");
    for t in &transmissions {
        assert_eq!(keys.get(t.idempotency_key.as_str()), t.remote_id.as_ref(), "the sale B made for {}", t.id);
    }
}

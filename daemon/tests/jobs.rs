//! The job queue against a real database: SQLite by default, PostgreSQL when `KOPPEL_TEST_DATABASE_URL`
//! names a server (a fresh database per test, dropped at its end).

use chrono::Utc;
use koppel_daemon::connectors::ConnectorError;
use koppel_daemon::error::EngineError;
use koppel_daemon::jobs::{self, Failed, NewJob};
use koppel_entity::enums::JobState;
use koppel_entity::job;
use sea_orm::{DatabaseConnection, EntityTrait};
use std::collections::HashSet;
use std::time::Duration;

#[path = "support/db.rs"]
mod support;

use support::TestDb;

fn job(kind: &str) -> NewJob {
    NewJob::new(kind, serde_json::json!({"n": 1}))
}

async fn state_of(db: &DatabaseConnection, id: uuid::Uuid) -> job::Model {
    job::Entity::find_by_id(id).one(db).await.unwrap().expect("the job")
}

#[tokio::test]
async fn a_dedupe_key_makes_one_job() {
    let t = TestDb::new().await;
    let first = jobs::enqueue(&t.db, job("reconcile").dedupe("reconcile:x:product:2026-12-02T07:00")).await.unwrap();
    let second = jobs::enqueue(&t.db, job("reconcile").dedupe("reconcile:x:product:2026-12-02T07:00")).await.unwrap();
    let other = jobs::enqueue(&t.db, job("reconcile").dedupe("reconcile:x:product:2026-12-02T19:00")).await.unwrap();
    assert!(first.is_some() && other.is_some());
    assert_eq!(second, None, "the same slot is enqueued once");
    // Jobs without a key are never merged.
    assert!(jobs::enqueue(&t.db, job("noop")).await.unwrap().is_some());
    assert!(jobs::enqueue(&t.db, job("noop")).await.unwrap().is_some());
    assert_eq!(job::Entity::find().all(&t.db).await.unwrap().len(), 4);
    t.drop_database().await;
}

#[tokio::test]
async fn concurrent_workers_never_claim_the_same_job() {
    let t = TestDb::new().await;
    for _ in 0..30 {
        jobs::enqueue(&t.db, job("noop")).await.unwrap();
    }
    let mut claimers = Vec::new();
    for worker in 0..4 {
        let db = t.db.clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(claimed) =
                jobs::claim(&db, &format!("worker-{worker}"), Duration::from_secs(60), Utc::now()).await.unwrap()
            {
                mine.push(claimed.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 30, "every job claimed once");
    assert_eq!(distinct.len(), 30, "no job claimed twice");
    t.drop_database().await;
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_again_after_its_lease() {
    let t = TestDb::new().await;
    let id = jobs::enqueue(&t.db, job("reconcile")).await.unwrap().unwrap();
    let lease = Duration::from_secs(30);
    let now = Utc::now();
    let first = jobs::claim(&t.db, "dead-worker", lease, now).await.unwrap().expect("due");
    assert_eq!((first.id, first.attempts, first.state), (id, 1, JobState::Running));
    assert!(jobs::claim(&t.db, "other", lease, now).await.unwrap().is_none(), "leased: nobody else takes it");
    let later = now + chrono::Duration::seconds(31);
    let again = jobs::claim(&t.db, "other", lease, later).await.unwrap().expect("the lease ran out");
    assert_eq!((again.id, again.attempts), (id, 2));
    assert!(!jobs::complete(&t.db, id, "dead-worker").await.unwrap(), "the old owner lost the job");
    assert!(!jobs::renew(&t.db, id, "dead-worker", lease).await.unwrap());
    assert!(jobs::renew(&t.db, id, "other", lease).await.unwrap());
    assert!(jobs::complete(&t.db, id, "other").await.unwrap());
    assert_eq!(state_of(&t.db, id).await.state, JobState::Done);
    t.drop_database().await;
}

#[tokio::test]
async fn temporary_failures_back_off_then_the_last_attempt_is_dead() {
    let t = TestDb::new().await;
    let mut new = job("reconcile");
    new.max_attempts = 2;
    let id = jobs::enqueue(&t.db, new).await.unwrap().unwrap();
    let lease = Duration::from_secs(60);
    let claimed = jobs::claim(&t.db, "w", lease, Utc::now()).await.unwrap().unwrap();
    let before = Utc::now();
    let Failed::Retry { at } = jobs::fail(&t.db, &claimed, "w", &ConnectorError::Timeout.into()).await.unwrap() else {
        panic!("a timeout is temporary")
    };
    assert!(at >= before + chrono::Duration::seconds(5), "backs off: {at} vs {before}");
    let stored = state_of(&t.db, id).await;
    assert_eq!(stored.state, JobState::Queued);
    assert!(stored.last_error.as_deref().unwrap_or_default().starts_with("TIMEOUT"), "{stored:?}");
    assert!(jobs::claim(&t.db, "w", lease, Utc::now()).await.unwrap().is_none(), "not due before its time");
    let claimed = jobs::claim(&t.db, "w", lease, at + chrono::Duration::seconds(1)).await.unwrap().unwrap();
    assert_eq!(claimed.attempts, 2);
    let outcome = jobs::fail(&t.db, &claimed, "w", &ConnectorError::Timeout.into()).await.unwrap();
    assert_eq!(outcome, Failed::Dead, "the last attempt");
    assert_eq!(state_of(&t.db, id).await.state, JobState::Dead);
    t.drop_database().await;
}

#[tokio::test]
async fn permanent_errors_are_not_retried_and_retry_after_is_honoured() {
    let t = TestDb::new().await;
    let lease = Duration::from_secs(60);
    let wrong = jobs::enqueue(&t.db, job("a")).await.unwrap().unwrap();
    let claimed = jobs::claim(&t.db, "w", lease, Utc::now()).await.unwrap().unwrap();
    let refused = EngineError::from(ConnectorError::WrongCredentials("401".into()));
    assert_eq!(jobs::fail(&t.db, &claimed, "w", &refused).await.unwrap(), Failed::Dead);
    assert_eq!(state_of(&t.db, wrong).await.state, JobState::Dead);

    jobs::enqueue(&t.db, job("b")).await.unwrap().unwrap();
    let claimed = jobs::claim(&t.db, "w", lease, Utc::now()).await.unwrap().unwrap();
    let busy = EngineError::from(ConnectorError::RateLimited { retry_after_seconds: 600 });
    let before = Utc::now();
    let Failed::Retry { at } = jobs::fail(&t.db, &claimed, "w", &busy).await.unwrap() else {
        panic!("busy is temporary")
    };
    assert!(at >= before + chrono::Duration::seconds(600), "waits as long as the remote asked: {at}");
    t.drop_database().await;
}

mod scheduled_passes {
    use super::*;
    use koppel_daemon::crypto::MasterKey;
    use koppel_daemon::process::{self, DaemonOptions};
    use koppel_daemon::{Context, Limits, credentials, retention, schedule};
    use koppel_entity::enums::{EventLevel, IntegrationMode, RunState, RunTrigger};
    use koppel_entity::{account, integration, sync_event, sync_run};
    use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, Set};
    use std::sync::Arc;

    async fn peer_integration(ctx: &Context, enabled: bool) -> integration::Model {
        peer_integration_with(ctx, enabled, serde_json::json!({"accountName": "partner"})).await
    }

    async fn peer_integration_with(ctx: &Context, enabled: bool, settings: serde_json::Value) -> integration::Model {
        let now = Utc::now();
        let account = account::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            name: Set(format!("acme{}", uuid::Uuid::now_v7().simple())),
            created_at: Set(now),
        }
        .insert(&ctx.db)
        .await
        .unwrap();
        let integration = integration::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            account_id: Set(account.id),
            kind: Set("peer".into()),
            name: Set("Partner".into()),
            enabled: Set(enabled),
            mode: Set(IntegrationMode::Test),
            // Nothing listens on the discard port: every pass fails as UNREACHABLE.
            base_url: Set("http://localhost:9".into()),
            settings: Set(settings),
            missing_policies: Set(serde_json::json!({})),
            last_synced_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&ctx.db)
        .await
        .unwrap();
        credentials::replace(
            &ctx.db,
            &ctx.master_key,
            &integration,
            IntegrationMode::Test,
            "apiToken",
            "kpl_0123456789abcdef",
        )
        .await
        .unwrap();
        integration
    }

    /// The daemon's defaults: products every 15 minutes, a 30-day retention.
    fn timing() -> schedule::Timing {
        schedule::Timing {
            tick: Duration::from_secs(30),
            default_every: Duration::from_secs(15 * 60),
            retention: Duration::from_secs(30 * 24 * 60 * 60),
        }
    }

    fn context(db: &DatabaseConnection) -> Context {
        Context {
            db: db.clone(),
            master_key: Arc::new(MasterKey::from_base64(&MasterKey::generate()).unwrap()),
            http: koppel_daemon::net::client(true, Duration::from_secs(2)),
            // Nothing here stores files: a directory that is never created.
            files: koppel_daemon::files::FileStore::directory(std::env::temp_dir().join("koppel-no-files")),
            limits: Limits { allow_private_remotes: true, ..Limits::default() },
            shared: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_slot_is_queued_once_and_only_for_enabled_integrations() {
        let t = TestDb::new().await;
        let ctx = context(&t.db);
        let on = peer_integration(&ctx, true).await;
        let off = peer_integration(&ctx, false).await;
        let now = Utc::now();
        // One pass, the night's retention job and the night's file sweep.
        assert_eq!(schedule::queue_due(&t.db, now, &timing()).await.unwrap(), 3);
        assert_eq!(schedule::queue_due(&t.db, now, &timing()).await.unwrap(), 0, "the same slot again");
        let runs = sync_run::Entity::find().all(&t.db).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(
            (runs[0].integration_id, runs[0].trigger, runs[0].state),
            (on.id, RunTrigger::Schedule, RunState::Queued)
        );
        assert!(runs.iter().all(|r| r.integration_id != off.id), "a disabled integration is not scheduled");
        t.drop_database().await;
    }

    #[tokio::test]
    async fn a_failing_pass_is_recorded_on_its_run_and_retried_later() {
        let t = TestDb::new().await;
        let ctx = context(&t.db);
        let integration = peer_integration(&ctx, true).await;
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let options = DaemonOptions { idle_poll: Duration::from_millis(50), ..DaemonOptions::default() };
        let daemon = tokio::spawn(process::run(ctx.clone(), options, shutdown));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let run = loop {
            let runs = sync_run::Entity::find()
                .filter(sync_run::Column::IntegrationId.eq(integration.id))
                .all(&t.db)
                .await
                .unwrap();
            if let Some(run) = runs.into_iter().find(|r| r.state == RunState::Failed) {
                break run;
            }
            assert!(std::time::Instant::now() < deadline, "the scheduled pass did not run");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // The night's retention job was queued at start too, and a worker ran it.
        loop {
            let purges = job::Entity::find().filter(job::Column::Kind.eq(retention::KIND)).all(&t.db).await.unwrap();
            if purges.iter().any(|j| j.state == JobState::Done) {
                assert_eq!(purges.len(), 1);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the retention job did not run: {purges:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.send(true).unwrap();
        daemon.await.unwrap();
        assert!(run.error.as_deref().unwrap_or_default().starts_with("UNREACHABLE"), "{run:?}");
        let queued = state_of(&t.db, run.job_id.expect("the run names its job")).await;
        assert_eq!(queued.state, JobState::Queued, "an unreachable remote is temporary: retried later");
        assert!(queued.run_after > Utc::now(), "after a backoff");
        let events = sync_event::Entity::find().filter(sync_event::Column::RunId.eq(run.id)).all(&t.db).await.unwrap();
        assert!(events.iter().any(|e| e.level == EventLevel::Warn && e.message.contains("UNREACHABLE")), "{events:?}");
        assert!(
            events.iter().all(|e| e.level != EventLevel::Alert),
            "an attempt that is retried is no alert: {events:?}"
        );
        t.drop_database().await;
    }

    /// Drives a job's attempts by hand through the worker's own path, each one due in the future.
    async fn attempt(ctx: &Context, attempt: i64) -> job::Model {
        use koppel_daemon::jobs::worker::{self, WorkerConfig};
        let config = WorkerConfig {
            owner: "test-worker".into(),
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(50),
            max_batch: worker::DEFAULT_MAX_BATCH,
        };
        // Each attempt a day later: past any backoff.
        let at = Utc::now() + chrono::Duration::days(attempt);
        let claimed = jobs::claim(&ctx.db, &config.owner, config.lease, at).await.unwrap().expect("a due job");
        worker::run_one(ctx, &config, &process::Dispatch::default(), claimed.clone()).await;
        claimed
    }

    #[tokio::test]
    async fn a_dead_job_raises_one_alert_not_one_per_retry_and_queues_one_webhook_delivery() {
        use koppel_daemon::alerts::{delivery, webhook};
        use koppel_daemon::reconcile::job::queue_pass;
        use koppel_entity::enums::LinkedEntity;
        let t = TestDb::new().await;
        let ctx = context(&t.db);
        let integration = peer_integration(&ctx, true).await;
        webhook::set(&t.db, &ctx.master_key, ctx.limits, integration.account_id, "http://127.0.0.1:1/alerts")
            .await
            .unwrap();
        let run =
            queue_pass(&t.db, &integration, LinkedEntity::Product, RunTrigger::Manual, None).await.unwrap().unwrap();
        let job_id = run.job_id.unwrap();
        // Three attempts in all: two that are retried, the last one dies.
        job::Entity::update_many()
            .col_expr(job::Column::MaxAttempts, sea_orm::sea_query::Expr::value(3))
            .filter(job::Column::Id.eq(job_id))
            .exec(&t.db)
            .await
            .unwrap();
        let events_of = |level| {
            sync_event::Entity::find()
                .filter(sync_event::Column::IntegrationId.eq(integration.id))
                .filter(sync_event::Column::Level.eq(level))
                .all(&t.db)
        };
        for n in 1..=2 {
            assert_eq!(attempt(&ctx, n).await.id, job_id);
            assert_eq!(state_of(&t.db, job_id).await.state, JobState::Queued, "attempt {n} is retried");
            assert!(events_of(EventLevel::Alert).await.unwrap().is_empty(), "no alert after attempt {n}");
            assert_eq!(events_of(EventLevel::Warn).await.unwrap().len(), n as usize, "a warning per attempt");
        }
        attempt(&ctx, 3).await;
        assert_eq!(state_of(&t.db, job_id).await.state, JobState::Dead);
        let alerts = events_of(EventLevel::Alert).await.unwrap();
        assert_eq!(alerts.len(), 1, "one alert for the dead job: {alerts:?}");
        assert_eq!((alerts[0].action.as_str(), alerts[0].run_id), ("dead", Some(run.id)));
        assert!(
            alerts[0].message.contains("after 3 attempts") && alerts[0].message.contains("UNREACHABLE"),
            "{alerts:?}"
        );
        let stored = sync_run::Entity::find_by_id(run.id).one(&t.db).await.unwrap().unwrap();
        assert_eq!(stored.state, RunState::Failed);

        // The alert's delivery was queued with it, once, naming the alert's event.
        let deliveries = job::Entity::find().filter(job::Column::Kind.eq(delivery::KIND)).all(&t.db).await.unwrap();
        assert_eq!(deliveries.len(), 1, "{deliveries:?}");
        assert_eq!(deliveries[0].payload, serde_json::json!({"event_id": alerts[0].id}));
        assert_eq!(deliveries[0].account_id, Some(integration.account_id));

        // The receiver is down: the delivery fails, is retried later, says why on the webhook, and raises
        // no alert of its own.
        let tried = attempt(&ctx, 4).await;
        assert_eq!(tried.kind, delivery::KIND);
        assert_eq!(state_of(&t.db, tried.id).await.state, JobState::Queued);
        let hook = webhook::find(&t.db, integration.account_id).await.unwrap().unwrap();
        assert!(hook.last_error.as_deref().unwrap_or_default().starts_with("UNREACHABLE"), "{hook:?}");
        assert!(!hook.last_error.unwrap().contains("127.0.0.1"), "the URL is not repeated in the error");
        assert_eq!(events_of(EventLevel::Alert).await.unwrap().len(), 1);

        // A permanent error dies at once: one alert too, of a job not tied to a run.
        let new =
            NewJob::new("unknown_kind", serde_json::json!({})).for_integration(integration.account_id, integration.id);
        let refused = jobs::enqueue(&t.db, new).await.unwrap().unwrap();
        assert_eq!(attempt(&ctx, 5).await.id, refused);
        assert_eq!(state_of(&t.db, refused).await.state, JobState::Dead);
        let alerts = events_of(EventLevel::Alert).await.unwrap();
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert_eq!((alerts[1].action.as_str(), alerts[1].run_id), ("dead", None));
        assert!(alerts[1].message.contains("after 1 attempt:"), "{alerts:?}");
        t.drop_database().await;
    }

    #[tokio::test]
    async fn finished_runs_their_events_and_finished_jobs_are_purged_after_the_retention() {
        use koppel_daemon::reconcile::runs;
        let t = TestDb::new().await;
        let ctx = context(&t.db);
        let integration = peer_integration(&ctx, true).await;
        let entity = koppel_entity::enums::LinkedEntity::Product;
        let old =
            runs::queue(&t.db, uuid::Uuid::now_v7(), &integration, entity, RunTrigger::Manual, None).await.unwrap();
        runs::fail(&t.db, old, "TIMEOUT: the remote did not answer in time").await.unwrap();
        let waiting =
            runs::queue(&t.db, uuid::Uuid::now_v7(), &integration, entity, RunTrigger::Manual, None).await.unwrap();
        let retention = Duration::from_secs(30 * 24 * 60 * 60);
        assert_eq!(retention::purge(&t.db, Utc::now(), retention).await.unwrap(), 0, "nothing is old yet");
        let later = Utc::now() + chrono::Duration::days(31);
        assert_eq!(retention::purge(&t.db, later, retention).await.unwrap(), 1, "the failed run's event");
        let left = sync_run::Entity::find().all(&t.db).await.unwrap();
        assert_eq!(left.iter().map(|r| r.id).collect::<Vec<_>>(), [waiting.id], "a run not finished is kept");
        t.drop_database().await;
    }

    #[tokio::test]
    async fn a_product_sold_between_the_plan_and_the_delete_is_deactivated_instead() {
        use koppel_daemon::links::{self, LinkWrite};
        use koppel_daemon::reconcile::products::{Removed, remove_product};
        use koppel_entity::enums::{LinkedEntity, ProductType, Role};
        use koppel_entity::{product, remote_link, sale, status, user};
        use sea_orm::TransactionTrait;
        let t = TestDb::new().await;
        let ctx = context(&t.db);
        let integration = peer_integration(&ctx, true).await;
        let now = Utc::now();
        let account_id = integration.account_id;
        let agent = user::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
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
        .insert(&t.db)
        .await
        .unwrap();
        let new = status::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            account_id: Set(account_id),
            key: Set("new".into()),
            name: Set("New".into()),
            system: Set(true),
            position: Set(0),
            created_at: Set(now),
        }
        .insert(&t.db)
        .await
        .unwrap();
        let mut products = Vec::new();
        for sku in ["SOLD", "FREE"] {
            let made = product::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                account_id: Set(account_id),
                supplier_id: Set(None),
                parent_id: Set(None),
                sku: Set(sku.into()),
                name: Set(sku.into()),
                description: Set(None),
                product_type: Set(ProductType::Simple),
                category: Set(None),
                tariffs: Set(serde_json::json!([])),
                extra_fields: Set(serde_json::json!({})),
                incentive: Set(None),
                active: Set(true),
                authorised: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&t.db)
            .await
            .unwrap();
            let link =
                LinkWrite { entity: LinkedEntity::Product, local_id: made.id, remote_id: sku, content_hash: "h" };
            links::upsert(&t.db, &integration, link, None, now).await.unwrap();
            products.push(made);
        }
        // The sale arrives after the pass read the sales: the plan still says delete.
        sale::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            account_id: Set(account_id),
            organisation_id: Set(None),
            agent_id: Set(agent.id),
            customer_id: Set(None),
            product_id: Set(products[0].id),
            flow_id: Set(None),
            status_id: Set(new.id),
            answers: Set(serde_json::json!({})),
            opt_in: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            status_changed_at: Set(now),
            idempotency_key: Set(None),
            idempotency_hash: Set(None),
        }
        .insert(&t.db)
        .await
        .unwrap();
        let txn = t.db.begin().await.unwrap();
        assert_eq!(remove_product(&txn, &integration, products[0].id, now).await.unwrap(), Removed::Deactivated);
        assert_eq!(remove_product(&txn, &integration, products[1].id, now).await.unwrap(), Removed::Deleted);
        txn.commit().await.unwrap();
        let left = product::Entity::find().all(&t.db).await.unwrap();
        assert_eq!(left.len(), 1, "the unsold product is deleted");
        assert_eq!((left[0].sku.as_str(), left[0].active), ("SOLD", false), "the sold one is switched off");
        let link = remote_link::Entity::find().one(&t.db).await.unwrap().expect("the sold product's link stays");
        assert!(link.deactivated_by_sync, "and comes back on if the remote shows it again");
        t.drop_database().await;
    }

    fn at(text: &str) -> chrono::DateTime<Utc> {
        text.parse().expect("an RFC 3339 time")
    }

    /// The dedupe keys of the reconcile jobs queued, in order.
    async fn pass_keys(db: &DatabaseConnection) -> Vec<String> {
        let mut jobs = job::Entity::find().filter(job::Column::Kind.eq("reconcile")).all(db).await.unwrap();
        jobs.sort_by_key(|j| j.id);
        jobs.into_iter().filter_map(|j| j.dedupe_key).collect()
    }

    /// Workers finished every run: the next slot of each integration can be queued.
    async fn finish_runs(db: &DatabaseConnection) {
        use sea_orm::sea_query::Expr;
        sync_run::Entity::update_many()
            .col_expr(sync_run::Column::State, Expr::value(RunState::Succeeded))
            .col_expr(sync_run::Column::FinishedAt, Expr::value(Some(Utc::now())))
            .exec(db)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_integration_with_its_own_schedule_is_queued_per_its_slots() {
        let t = TestDb::new().await;
        let ctx = context(&t.db);
        // 07:30 on Amsterdam's clock: 06:30 UTC in winter, 05:30 UTC in summer.
        let daily = serde_json::json!({"accountName": "partner", "productSyncSchedule": "30 7 * * *"});
        let own = peer_integration_with(&ctx, true, daily).await;
        let default = peer_integration(&ctx, true).await;
        let key = |integration: &integration::Model, slot: &str| format!("reconcile:{}:product:{slot}", integration.id);

        schedule::queue_due(&t.db, at("2026-12-02T07:20:00Z"), &timing()).await.unwrap();
        assert_eq!(
            pass_keys(&t.db).await,
            [key(&own, "2026-12-02T06:30:00+00:00"), key(&default, "2026-12-02T07:15:00+00:00")],
            "the daily slot of today (winter time) and the current quarter hour"
        );
        finish_runs(&t.db).await;
        schedule::queue_due(&t.db, at("2026-12-02T07:35:00Z"), &timing()).await.unwrap();
        assert_eq!(pass_keys(&t.db).await.len(), 3, "only the default integration has a new slot");
        assert_eq!(pass_keys(&t.db).await[2], key(&default, "2026-12-02T07:30:00+00:00"));
        finish_runs(&t.db).await;
        schedule::queue_due(&t.db, at("2026-12-03T06:30:00Z"), &timing()).await.unwrap();
        assert!(pass_keys(&t.db).await.contains(&key(&own, "2026-12-03T06:30:00+00:00")), "the next morning");
        t.drop_database().await;
    }

    #[tokio::test]
    async fn editing_or_disabling_an_integration_takes_effect_at_the_next_tick() {
        use koppel_entity::enums::LinkedEntity;
        let t = TestDb::new().await;
        let ctx = context(&t.db);
        let integration = peer_integration(&ctx, true).await;
        let queued = || async { pass_keys(&t.db).await.len() };
        schedule::queue_due(&t.db, at("2026-12-02T07:00:00Z"), &timing()).await.unwrap();
        assert_eq!(queued().await, 1);
        finish_runs(&t.db).await;

        // Hourly at :45 from now on; the tick at 07:20 finds 06:45 queued by no one: caught up once.
        let mut edited: integration::ActiveModel = integration.clone().into();
        edited.settings = Set(serde_json::json!({"accountName": "partner", "productSyncSchedule": "45 * * * *"}));
        let integration = edited.update(&t.db).await.unwrap();
        schedule::queue_due(&t.db, at("2026-12-02T07:20:00Z"), &timing()).await.unwrap();
        let key = |slot| schedule::pass_key(&integration, LinkedEntity::Product, at(slot));
        assert_eq!(pass_keys(&t.db).await[1], key("2026-12-02T06:45:00Z"), "the edited schedule, not 07:15");
        finish_runs(&t.db).await;
        schedule::queue_due(&t.db, at("2026-12-02T07:40:00Z"), &timing()).await.unwrap();
        assert_eq!(queued().await, 2, "no quarter-hour slot any more");
        schedule::queue_due(&t.db, at("2026-12-02T07:45:00Z"), &timing()).await.unwrap();
        assert_eq!(pass_keys(&t.db).await[2], key("2026-12-02T07:45:00Z"));
        finish_runs(&t.db).await;

        let mut disabled: integration::ActiveModel = integration.into();
        disabled.enabled = Set(false);
        disabled.update(&t.db).await.unwrap();
        schedule::queue_due(&t.db, at("2026-12-02T08:45:00Z"), &timing()).await.unwrap();
        assert_eq!(queued().await, 3, "a disabled integration is not scheduled");
        t.drop_database().await;
    }

    #[tokio::test]
    async fn two_schedulers_ticking_the_same_slot_queue_one_job() {
        let t = TestDb::new().await;
        let ctx = context(&t.db);
        for _ in 0..10 {
            peer_integration(&ctx, true).await;
        }
        // Two daemons tick a fraction of a second apart, within the same slot.
        let (first, second, timing) = (at("2026-12-02T07:20:00.250Z"), at("2026-12-02T07:20:01.875Z"), timing());
        let (a, b) =
            tokio::join!(schedule::queue_due(&t.db, first, &timing), schedule::queue_due(&t.db, second, &timing));
        // Ten passes, one retention job and one file sweep, between them.
        assert_eq!(a.unwrap() + b.unwrap(), 12);
        let keys = pass_keys(&t.db).await;
        assert_eq!(keys.len(), 10);
        assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 10);
        assert_eq!(sync_run::Entity::find().all(&t.db).await.unwrap().len(), 10, "one run per integration");
        t.drop_database().await;
    }

    #[tokio::test]
    async fn the_retention_job_is_queued_once_per_night() {
        let t = TestDb::new().await;
        let nights = || async {
            let jobs = job::Entity::find().filter(job::Column::Kind.eq(retention::KIND)).all(&t.db).await.unwrap();
            let mut keys: Vec<String> = jobs.into_iter().filter_map(|j| j.dedupe_key).collect();
            keys.sort();
            keys
        };
        // 03:30 in Amsterdam is 02:30 UTC in winter: a daemon starting at noon catches up on last night.
        for now in ["2026-12-02T12:00:00Z", "2026-12-02T23:00:00Z", "2026-12-03T02:29:59Z"] {
            schedule::queue_due(&t.db, at(now), &timing()).await.unwrap();
        }
        assert_eq!(nights().await, ["retention:2026-12-02T02:30:00+00:00"]);
        schedule::queue_due(&t.db, at("2026-12-03T02:30:00Z"), &timing()).await.unwrap();
        schedule::queue_due(&t.db, at("2026-12-03T02:30:30Z"), &timing()).await.unwrap();
        assert_eq!(nights().await, ["retention:2026-12-02T02:30:00+00:00", "retention:2026-12-03T02:30:00+00:00"]);
        t.drop_database().await;
    }

    #[tokio::test]
    async fn a_run_of_an_entity_without_a_pass_fails_for_good_with_a_clear_error() {
        use koppel_daemon::reconcile;
        use koppel_entity::enums::LinkedEntity;
        let t = TestDb::new().await;
        let ctx = context(&t.db);
        let integration = peer_integration(&ctx, true).await;
        let run = reconcile::job::queue_pass(&t.db, &integration, LinkedEntity::Order, RunTrigger::Api, None)
            .await
            .unwrap()
            .expect("queued");
        let claimed = jobs::claim(&t.db, "w", Duration::from_secs(60), Utc::now()).await.unwrap().expect("due");
        let error = reconcile::job::run(&ctx, &claimed).await.expect_err("no order pass yet");
        assert!(error.is_permanent(), "retrying cannot help");
        assert_eq!(jobs::fail(&t.db, &claimed, "w", &error).await.unwrap(), Failed::Dead);
        let run = sync_run::Entity::find_by_id(run.id).one(&t.db).await.unwrap().unwrap();
        assert_eq!(run.state, RunState::Failed);
        assert_eq!(run.error.as_deref(), Some("NO_PASS: Koppel has no order pass yet"));
        t.drop_database().await;
    }

    #[tokio::test]
    async fn the_ticker_queues_an_integration_enabled_after_the_schedule_started() {
        let t = TestDb::new().await;
        let ctx = context(&t.db);
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let timing = schedule::Timing { tick: Duration::from_secs(1), ..timing() };
        let ticking = tokio::spawn(schedule::run(t.db.clone(), timing, shutdown));
        // The sweep at start found nothing to schedule; the next ticks must find the new integration.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let integration = peer_integration(&ctx, true).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let runs = sync_run::Entity::find()
                .filter(sync_run::Column::IntegrationId.eq(integration.id))
                .all(&t.db)
                .await
                .unwrap();
            if !runs.is_empty() {
                assert_eq!((runs.len(), runs[0].trigger), (1, RunTrigger::Schedule));
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no tick queued the new integration's slot");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), ticking).await.expect("the schedule stops").unwrap();
        t.drop_database().await;
    }
}

//! The nightly sweep, run as the daemon runs it (a `file_sweep` job): objects without a row and rows
//! without a reference, older than an hour, are removed; what is in use stays.

use super::*;
use crate::common::TestServer;
use koppel_daemon::jobs::NewJob;
use koppel_entity::enums::JobState;
use koppel_entity::{file, job};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn the_sweep_job_removes_orphans_and_keeps_what_is_used() {
    let server = TestServer::with_daemon(|_| {}).await;
    let db = &server.server.state.db;
    let admin = server.admin("acme").await;
    let product = product(&server, &admin, "P1").await;
    let kept = attach(&server, &admin, &product, "voorwaarden.pdf", &pdf(1), json!({})).await;
    let account_id = file_rows(&server).await[0].account_id;

    // An object whose row never committed (a crash after the write), written two hours ago.
    let crashed = pdf(2);
    let key = sha256(&crashed);
    let dir = server.data_dir().join("files").join(&key[..2]).join(&key[2..4]);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(&key);
    std::fs::write(&path, &crashed).unwrap();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(two_hours_ago).unwrap();
    // An object written a moment ago without a row yet: an upload in flight.
    let in_flight = pdf(3);
    server.server.state.engine.files.write(in_flight.clone().into()).await.unwrap();
    // A row no attachment or logo uses, from two hours ago, with its object.
    let unused = pdf(4);
    server.server.state.engine.files.write(unused.clone().into()).await.unwrap();
    file::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        account_id: Set(account_id),
        sha256: Set(sha256(&unused)),
        size: Set(unused.len() as i64),
        content_type: Set("application/pdf".into()),
        name: Set("vergeten.pdf".into()),
        created_at: Set(chrono::Utc::now() - chrono::Duration::hours(2)),
    }
    .insert(db)
    .await
    .unwrap();
    let unused_path =
        server.data_dir().join("files").join(&sha256(&unused)[..2]).join(&sha256(&unused)[2..4]).join(sha256(&unused));
    std::fs::File::options().write(true).open(&unused_path).unwrap().set_modified(two_hours_ago).unwrap();
    assert_eq!(stored_objects(&server).len(), 4);

    let id = koppel_daemon::jobs::enqueue(db, NewJob::new(koppel_daemon::files::sweep::KIND, json!({})))
        .await
        .unwrap()
        .expect("queued");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let row = job::Entity::find().filter(job::Column::Id.eq(id)).one(db).await.unwrap().unwrap();
        if row.state == JobState::Done {
            break;
        }
        assert!(row.state != JobState::Dead, "the sweep died: {row:?}");
        assert!(std::time::Instant::now() < deadline, "the sweep did not run: {row:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut expected = vec![sha256(&pdf(1)), sha256(&in_flight)];
    expected.sort();
    assert_eq!(stored_objects(&server), expected, "the orphans went, the used and the young stayed");
    let rows = file_rows(&server).await;
    assert_eq!(rows.len(), 1, "the unused row went");
    assert_eq!(rows[0].sha256, sha256(&pdf(1)));
    let response = download(&server, kept["attachment"]["url"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200, "the attachment still downloads");
}

//! On PostgreSQL, every committed sync event is announced on the `koppel_events` channel with its id
//! (`pg_notify` is delivered at commit, in commit order), so each API process follows the events with
//! one `LISTEN` instead of polling, and never misses the rows of a transaction that committed after a
//! later id was read. SQLite has no notifications: there the feed polls (see `daemon/src/feed.rs`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION koppel_notify_sync_event() RETURNS trigger AS $$
             BEGIN
                 PERFORM pg_notify('koppel_events', NEW.id::text);
                 RETURN NULL;
             END
             $$ LANGUAGE plpgsql",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER sync_events_notify AFTER INSERT ON sync_events
             FOR EACH ROW EXECUTE FUNCTION koppel_notify_sync_event()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS sync_events_notify ON sync_events").await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS koppel_notify_sync_event()").await?;
        Ok(())
    }
}

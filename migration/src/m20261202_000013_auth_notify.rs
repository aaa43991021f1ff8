//! Who may call: every committed change to `users` or `api_tokens` is announced on `koppel_auth`, so
//! that each API process forgets the callers it remembered (see `api/src/auth/cache.rs`). The payload is
//! empty: PostgreSQL folds the notifications of one transaction into one, and every listener forgets
//! everything anyway. SQLite has no notifications; there only the one API process writes these tables.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 2] = ["users", "api_tokens"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION koppel_notify_auth() RETURNS trigger AS $$
             BEGIN
                 PERFORM pg_notify('koppel_auth', '');
                 RETURN NULL;
             END
             $$ LANGUAGE plpgsql",
        )
        .await?;
        for table in TABLES {
            // A token's `last_used_at`, moved once a minute, changes nothing about who may call.
            let condition = if table == "api_tokens" {
                "WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.user_id IS DISTINCT FROM NEW.user_id
                       OR OLD.integration_only IS DISTINCT FROM NEW.integration_only)"
            } else {
                "WHEN (OLD.* IS DISTINCT FROM NEW.*)"
            };
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_notify_auth_update AFTER UPDATE ON {table}
                 FOR EACH ROW {condition} EXECUTE FUNCTION koppel_notify_auth()"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_notify_auth_delete AFTER DELETE ON {table}
                 FOR EACH ROW EXECUTE FUNCTION koppel_notify_auth()"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for table in TABLES {
            for event in ["update", "delete"] {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_notify_auth_{event} ON {table}"))
                    .await?;
            }
        }
        db.execute_unprepared("DROP FUNCTION IF EXISTS koppel_notify_auth()").await?;
        Ok(())
    }
}

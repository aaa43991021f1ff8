//! The live feed of changed sales (`saleUpdates`). On PostgreSQL every committed insert or update of a
//! sale or of one of its transmissions is announced on the `koppel_sales` channel as
//! `<account id>|<sale id>` — small, and the same for a sale and its transmissions, so PostgreSQL folds
//! the notifications of one transaction about one sale into one. SQLite has no notifications: there the
//! feed polls both tables by `updated_at`, which the indexes below serve (see `daemon/src/sale_feed.rs`).

use crate::index;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The trigger functions and triggers: (function, table, the sale id's column).
const NOTIFIERS: [(&str, &str, &str); 2] =
    [("koppel_notify_sale", "sales", "id"), ("koppel_notify_sale_transmission", "sale_transmissions", "sale_id")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index("sales", &["updated_at"], false)).await?;
        manager.create_index(index("sale_transmissions", &["updated_at"], false)).await?;
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for (function, table, sale_id) in NOTIFIERS {
            db.execute_unprepared(&format!(
                "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
                 BEGIN
                     PERFORM pg_notify('koppel_sales', NEW.account_id::text || '|' || NEW.{sale_id}::text);
                     RETURN NULL;
                 END
                 $$ LANGUAGE plpgsql"
            ))
            .await?;
            // An update that changes nothing (a lease renewed to the same values) tells nobody anything.
            for (name, event, condition) in
                [("insert", "INSERT", ""), ("update", "UPDATE", "WHEN (OLD.* IS DISTINCT FROM NEW.*)")]
            {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_notify_{name} AFTER {event} ON {table}
                     FOR EACH ROW {condition} EXECUTE FUNCTION {function}()"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            for (function, table, _) in NOTIFIERS {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_notify_insert ON {table}")).await?;
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_notify_update ON {table}")).await?;
                db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {function}()")).await?;
            }
        }
        manager
            .drop_index(Index::drop().name("ix_sale_transmissions_updated_at").table("sale_transmissions").to_owned())
            .await?;
        manager.drop_index(Index::drop().name("ix_sales_updated_at").table("sales").to_owned()).await
    }
}

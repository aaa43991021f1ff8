//! Database helpers the engine and the API share.

use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};

/// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`):
/// a deferred transaction that reads, then writes after another connection committed fails at once with
/// `SQLITE_BUSY_SNAPSHOT`, whereas an immediate one waits its turn (busy timeout). PostgreSQL ignores it.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, sea_orm::DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

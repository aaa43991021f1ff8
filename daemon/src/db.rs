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

/// Whether a statement was refused by a foreign key. sea-orm recognises PostgreSQL's `23503` and
/// SQLite's `SQLITE_CONSTRAINT_FOREIGNKEY` (787); SQLite reports a deferred or cascading check as
/// `SQLITE_CONSTRAINT_TRIGGER` (1811) with the same message, which is recognised here too.
pub fn is_foreign_key_violation(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, SqlErr};
    if matches!(error.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) {
        return true;
    }
    let (DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx))) = error else {
        return false;
    };
    match sqlx.as_ref() {
        sea_orm::sqlx::Error::Database(db) => {
            db.code().as_deref() == Some("1811") && db.message().contains("FOREIGN KEY constraint failed")
        }
        _ => false,
    }
}

/// The file of a `sqlite:` URL; `None` for other databases and for an in-memory one.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

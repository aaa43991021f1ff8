//! Free-text search: case-insensitive on every database (SQLite's LIKE ignores ASCII case, PostgreSQL's
//! does not), with the user's `%` and `_` taken literally.

use sea_orm::ColumnTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};

/// `lower(column) LIKE '%search%'`, escaped.
pub fn contains(column: impl ColumnTrait, search: &str) -> Expr {
    let escaped = search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(column.as_column_ref()))).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

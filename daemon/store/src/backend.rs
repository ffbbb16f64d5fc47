//! The two databases the store speaks to, and the one door through which query text
//! built at run time reaches sqlx: everything that decides SQL by backend stands on
//! this, below the store and its migrations.

use sqlx::AssertSqlSafe;

/// Which database.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// sqlx runs query text built at run time only when the caller vouches for it; the
/// store builds its text from constants and `$n` placeholders alone.
pub(super) fn sql(s: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(s)
}

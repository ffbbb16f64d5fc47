//! `[store]`: where the service keeps its state — an embedded SQLite file by default,
//! or a PostgreSQL database shared by several replicas.
//!
//! A PostgreSQL URL usually carries a password, so it can come from an environment
//! variable instead of the file.

use serde::Deserialize;

use crate::check::{Bound, Check};
use crate::spans::join;

/// The `[store]` section. Every key is optional.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSection {
    /// SQLite database file, relative to the config file (default `"adaptd.db"`).
    /// Used when no PostgreSQL URL is given.
    pub sqlite_path: String,
    /// PostgreSQL URL (`"postgres://adaptd@db.internal/adaptd"`); prefer
    /// `postgres_url_env` when it holds a password.
    pub postgres_url: Option<String>,
    /// Environment variable holding the PostgreSQL URL.
    pub postgres_url_env: Option<String>,
    /// Connections in the pool (1–100; default 8).
    pub max_connections: u32,
    /// Time to wait for a connection or a lock, in seconds (> 0; default 10).
    pub timeout_seconds: f64,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            sqlite_path: "adaptd.db".to_owned(),
            postgres_url: None,
            postgres_url_env: None,
            max_connections: 8,
            timeout_seconds: 10.0,
        }
    }
}

impl StoreSection {
    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        let p = |k: &str| join(path, k);
        if self.sqlite_path.is_empty() {
            ck.err(&p("sqlite_path"), "must not be empty");
        }
        if self.postgres_url.is_some() && self.postgres_url_env.is_some() {
            ck.err(
                &p("postgres_url_env"),
                "give postgres_url or postgres_url_env, not both",
            );
        }
        if let Some(u) = &self.postgres_url
            && !(u.starts_with("postgres://") || u.starts_with("postgresql://"))
        {
            ck.err(
                &p("postgres_url"),
                "must start with postgres:// or postgresql://",
            );
        }
        if (self.postgres_url.is_some() || self.postgres_url_env.is_some())
            && ck.has(&p("sqlite_path"))
        {
            ck.err(
                &p("sqlite_path"),
                "is ignored when a PostgreSQL URL is given; remove one of them",
            );
        }
        if let Some(v) = &self.postgres_url_env
            && (v.is_empty() || v.contains(['=', '\0']))
        {
            ck.err(
                &p("postgres_url_env"),
                format!("not an environment variable name (got \"{v}\")"),
            );
        }
        ck.num(
            &p("max_connections"),
            f64::from(self.max_connections),
            &[Bound::Ge(1.0), Bound::Le(100.0)],
        );
        ck.num(
            &p("timeout_seconds"),
            self.timeout_seconds,
            &[Bound::Gt(0.0)],
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn sqlite_is_the_default() {
        let c = Config::from_str("", "t.toml").unwrap();
        assert_eq!(c.store.sqlite_path, "adaptd.db");
        assert!(c.store.postgres_url.is_none());
    }

    #[test]
    fn contradictions_are_reported() {
        let text = "[store]\nsqlite_path = \"x.db\"\npostgres_url = \"mysql://h/db\"\npostgres_url_env = \"DB\"\nmax_connections = 0\n";
        let e = Config::from_str(text, "t.toml").unwrap_err().to_string();
        for want in [
            "t.toml:2:15: store.sqlite_path: is ignored when a PostgreSQL URL is given",
            "t.toml:3:16: store.postgres_url: must start with postgres://",
            "t.toml:4:20: store.postgres_url_env: give postgres_url or postgres_url_env, not both",
            "t.toml:5:19: store.max_connections: must be between 1 and 100 (got 0)",
        ] {
            assert!(e.contains(want), "missing `{want}` in:\n{e}");
        }
    }
}

//! Schema migrations: numbered steps applied in order, each in its own transaction,
//! recorded in `schema_migrations`. A step is never edited once released; a change is
//! a new step. SQLite and PostgreSQL differ only in identity columns and types.

use super::backend::Backend;

/// One step: its version and its statements (one statement per string, since
/// neither driver runs several in one prepared query).
#[derive(Debug)]
pub struct Step {
    /// Version reached after the step.
    pub version: i64,
    /// Statements, for the backend.
    pub statements: Vec<String>,
}

/// Identity column, per backend.
fn id(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Backend::Postgres => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    }
}

/// Floating-point column, per backend.
fn real(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "REAL",
        Backend::Postgres => "DOUBLE PRECISION",
    }
}

/// The steps, oldest first.
pub fn steps(backend: Backend) -> Vec<Step> {
    let id = id(backend);
    let real = real(backend);
    vec![
        Step {
        version: 1,
        statements: vec![
            "CREATE TABLE components (
                name TEXT PRIMARY KEY,
                attributes TEXT NOT NULL,
                sources TEXT NOT NULL,
                first_seen_ms BIGINT NOT NULL,
                last_seen_ms BIGINT NOT NULL,
                data_until_minute BIGINT,
                stale_reason TEXT,
                stale_since_cycle BIGINT
            )"
            .to_owned(),
            format!(
                "CREATE TABLE summaries (
                    id {id},
                    component TEXT NOT NULL,
                    start_minute BIGINT NOT NULL,
                    end_minute BIGINT NOT NULL,
                    cycle_id BIGINT NOT NULL,
                    profile TEXT NOT NULL
                )"
            ),
            "CREATE INDEX summaries_by_component ON summaries (component, end_minute)".to_owned(),
            format!(
                "CREATE TABLE cycles (
                    id {id},
                    instance TEXT NOT NULL,
                    started_ms BIGINT NOT NULL,
                    finished_ms BIGINT,
                    outcome TEXT NOT NULL,
                    failed_stage TEXT,
                    error TEXT,
                    report TEXT NOT NULL
                )"
            ),
            format!(
                "CREATE TABLE recommendations (
                    id {id},
                    component TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    status TEXT NOT NULL,
                    verdict TEXT NOT NULL,
                    latest BIGINT NOT NULL,
                    saving_usd_per_month {real} NOT NULL,
                    current_usd_per_month {real},
                    recommended_usd_per_month {real},
                    summary TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    document TEXT NOT NULL,
                    inputs TEXT NOT NULL,
                    gauges TEXT NOT NULL,
                    cycle_id BIGINT NOT NULL,
                    created_ms BIGINT NOT NULL,
                    updated_ms BIGINT NOT NULL,
                    status_actor TEXT,
                    status_note TEXT,
                    UNIQUE (component, version)
                )"
            ),
            "CREATE INDEX recommendations_latest ON recommendations (latest, saving_usd_per_month)"
                .to_owned(),
            "CREATE INDEX recommendations_by_status ON recommendations (status, saving_usd_per_month)"
                .to_owned(),
            "CREATE TABLE collector_state (
                source TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                updated_ms BIGINT NOT NULL
            )"
            .to_owned(),
            format!(
                "CREATE TABLE audit_log (
                    id {id},
                    at_ms BIGINT NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    outcome TEXT NOT NULL
                )"
            ),
            "CREATE INDEX audit_by_subject ON audit_log (subject, id)".to_owned(),
            "CREATE TABLE leader_lease (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_ms BIGINT NOT NULL
            )"
            .to_owned(),
        ],
        },
        alerts(id),
        recent_telemetry(real),
        Step {
            version: 4,
            // A counter bumped in the transaction of every change to the
            // recommendations table, so readers of the listing learn whether it changed
            // from one primary-key read, while cycles that change nothing there (no
            // new telemetry) do not make every replica rebuild it.
            statements: vec![
                "CREATE TABLE revisions (name TEXT PRIMARY KEY, n BIGINT NOT NULL)".to_owned(),
                "INSERT INTO revisions (name, n) VALUES ('recommendations', 0)".to_owned(),
            ],
        },
        Step {
            version: 5,
            // Storing a new version clears the component's `latest` flag. Without this
            // index SQLite served that from `recommendations_latest (latest, …)`,
            // visiting every newest version for each one stored: a first cycle over
            // 10,000 components spent most of its commit there, holding the write
            // lock long enough for the leader's lease to lapse.
            statements: vec![
                "CREATE INDEX recommendations_by_component ON recommendations (component, latest)"
                    .to_owned(),
            ],
        },
    ]
}

/// The additive migration that creates the `alerts` table (see `super::alerts`).
fn alerts(id: &str) -> Step {
    Step {
        version: 2,
        statements: vec![
            format!(
                "CREATE TABLE alerts (
                    id {id},
                    received_ms BIGINT NOT NULL,
                    source TEXT NOT NULL,
                    identity TEXT NOT NULL,
                    dedup_key TEXT NOT NULL,
                    name TEXT NOT NULL,
                    component TEXT,
                    status TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    cycle_id BIGINT,
                    payload TEXT NOT NULL
                )"
            ),
            "CREATE INDEX alerts_by_key ON alerts (dedup_key, received_ms)".to_owned(),
            "CREATE INDEX alerts_by_component ON alerts (component, received_ms)".to_owned(),
            "CREATE INDEX alerts_by_outcome ON alerts (outcome, id)".to_owned(),
        ],
    }
}

/// The additive migration that creates the `recent_telemetry` table (see
/// `super::recent`). `real` is the backend's floating-point type.
fn recent_telemetry(real: &str) -> Step {
    Step {
        version: 3,
        statements: vec![
            format!(
                "CREATE TABLE recent_telemetry (
                    component TEXT NOT NULL,
                    minute BIGINT NOT NULL,
                    invocations {real},
                    errors {real},
                    throttles {real},
                    cold_starts {real},
                    p99_ms {real},
                    PRIMARY KEY (component, minute)
                )"
            ),
            "CREATE INDEX recent_telemetry_by_minute ON recent_telemetry (minute)".to_owned(),
        ],
    }
}

/// The newest version this build knows.
pub fn latest(backend: Backend) -> i64 {
    steps(backend).last().map_or(0, |s| s.version)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::Row;

    use crate::{SqlStore, Store};

    /// Clearing a component's `latest` flag looks the component up, not every newest
    /// version (which made storing N versions take N² row visits).
    #[test]
    fn clearing_latest_uses_the_component_index() {
        let dir = std::env::temp_dir().join(format!("adaptd-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let plan = rt.block_on(async {
            let store = SqlStore::open(
                &adaptd_config::StoreSection::default(),
                &dir,
                "test".into(),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
            store.migrate().await.unwrap();
            let rows = sqlx::query(
                "EXPLAIN QUERY PLAN UPDATE recommendations SET latest = 0 \
                 WHERE component = 'a' AND latest = 1",
            )
            .fetch_all(store.pool())
            .await
            .unwrap();
            rows.iter()
                .map(|r| r.try_get::<String, _>("detail").unwrap())
                .collect::<Vec<_>>()
                .join("; ")
        });
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            plan.contains("recommendations_by_component (component=? AND latest=?)"),
            "{plan}"
        );
    }
}

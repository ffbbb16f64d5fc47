//! [`SqlStore`]: the store on SQLite or PostgreSQL, chosen at run time.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use adaptd_config::StoreSection;
use futures_util::StreamExt;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Row};
use tokio::sync::Mutex;

use super::backend::sql;
use super::leader::Leadership;
use super::migrations;
use super::redact::redact_url;
use super::*;

/// The store. Cheap to share behind an `Arc`. Its `Debug` shows the URL redacted.
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    url: String,
    leadership: Mutex<Leadership>,
    /// This replica's identity, written into cycles and leases.
    instance: String,
    lease: Duration,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .field("url", &redact_url(&self.url))
            .field("instance", &self.instance)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

const REC_COLUMNS: &str = "id, component, version, status, verdict, latest, saving_usd_per_month, \
     current_usd_per_month, recommended_usd_per_month, summary, fingerprint, inputs, gauges, \
     cycle_id, created_ms, updated_ms, status_actor, status_note";

impl SqlStore {
    /// Connects to the store `section` describes (paths relative to `base`). `lease` is
    /// how long SQLite leadership lasts without renewal.
    pub async fn open(
        section: &StoreSection,
        base: &Path,
        instance: String,
        lease: Duration,
    ) -> Result<Self, StoreError> {
        let url = match (&section.postgres_url, &section.postgres_url_env) {
            (Some(u), _) => u.clone(),
            (None, Some(var)) => std::env::var(var).map_err(|_| {
                StoreError::Settings(format!(
                    "store.postgres_url_env names ${var}, which is not set"
                ))
            })?,
            (None, None) => {
                let path = base.join(&section.sqlite_path);
                format!("sqlite://{}?mode=rwc", path.display())
            }
        };
        Self::connect(&url, section, instance, lease).await
    }

    /// Connects to `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(
        url: &str,
        section: &StoreSection,
        instance: String,
        lease: Duration,
    ) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let timeout = Duration::from_secs_f64(section.timeout_seconds);
        let busy_ms = timeout.as_millis();
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(section.max_connections)
            .acquire_timeout(timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in [
                            "PRAGMA journal_mode = WAL".to_owned(),
                            "PRAGMA synchronous = NORMAL".to_owned(),
                            format!("PRAGMA busy_timeout = {busy_ms}"),
                        ] {
                            sqlx::query(sql(pragma)).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            backend,
            url: url.to_owned(),
            leadership: Mutex::new(Leadership::default()),
            instance,
            lease,
        })
    }

    /// Which database, where, for a log line (a PostgreSQL URL's password redacted).
    pub fn describe(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("SQLite {}", redact_url(&self.url)),
            Backend::Postgres => format!("PostgreSQL {}", redact_url(&self.url)),
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for the store's other tables (`alerts`).
    pub(super) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// This replica's identity.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Closes every connection (leadership included).
    pub async fn close(&self) {
        self.leadership.lock().await.drop_lock();
        self.pool.close().await;
    }

    /// Opens a write transaction fenced by leadership: on PostgreSQL on the
    /// connection that holds the advisory lock (a replica whose session died cannot
    /// commit), on SQLite after renewing the lease (which fails if another replica
    /// took it). Close it with [`SqlStore::end`].
    async fn fence(&self) -> Result<Fenced<'_>, StoreError> {
        match self.backend {
            Backend::Postgres => {
                let mut guard = self.leadership.lock().await;
                let conn = guard.connection().ok_or(StoreError::NotLeader)?;
                if let Err(e) = sqlx::query("BEGIN").execute(&mut *conn).await {
                    guard.drop_lock();
                    return Err(e.into());
                }
                Ok(Fenced::Postgres(guard))
            }
            Backend::Sqlite => {
                let mut conn = self.pool.acquire().await?;
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
                let now = now_ms();
                let renewed = sqlx::query(
                    "UPDATE leader_lease SET expires_ms = $1 WHERE name = 'leader' AND holder = $2 AND expires_ms >= $3",
                )
                .bind(now + self.lease_ms())
                .bind(&self.instance)
                .bind(now)
                .execute(&mut *conn)
                .await;
                match renewed {
                    Ok(done) if done.rows_affected() == 1 => Ok(Fenced::Sqlite(conn)),
                    other => {
                        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                        other?;
                        Err(StoreError::NotLeader)
                    }
                }
            }
        }
    }

    /// Commits a fenced transaction when `r` is `Ok`, else rolls it back.
    async fn end<T>(mut fenced: Fenced<'_>, r: Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = fenced.conn();
        match r {
            Ok(v) => {
                if let Err(e) = sqlx::query("COMMIT").execute(&mut *conn).await {
                    fenced.lost();
                    return Err(e.into());
                }
                Ok(v)
            }
            Err(e) => {
                if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                    // A dead session cannot roll back: leadership went with it.
                    fenced.lost();
                }
                Err(e)
            }
        }
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// An identifier for the advisory lock: one per database, fixed, so every replica
    /// of this database contends for the same one.
    const LOCK_KEY: i64 = 0x6164_6170_7464; // "adaptd"
}

/// A write transaction under leadership.
enum Fenced<'a> {
    /// On the lock's own session.
    Postgres(tokio::sync::MutexGuard<'a, Leadership>),
    /// On a pooled connection, lease renewed.
    Sqlite(sqlx::pool::PoolConnection<sqlx::Any>),
}

impl Fenced<'_> {
    fn conn(&mut self) -> &mut AnyConnection {
        match self {
            Fenced::Postgres(g) => g.connection().expect("checked when fenced"),
            Fenced::Sqlite(c) => c,
        }
    }

    fn lost(&mut self) {
        if let Fenced::Postgres(g) = self {
            g.drop_lock();
        }
    }
}

fn parse_json(what: impl FnOnce() -> String, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt {
        what: what(),
        source,
    })
}

fn rec_row(r: &AnyRow, with_document: bool) -> Result<RecommendationRow, StoreError> {
    let id: i64 = r.try_get("id")?;
    let status: String = r.try_get("status")?;
    let inputs: String = r.try_get("inputs")?;
    Ok(RecommendationRow {
        id,
        component: r.try_get("component")?,
        version: r.try_get("version")?,
        status: status.parse().map_err(|e: String| StoreError::Corrupt {
            what: format!("recommendation {id} status"),
            source: serde::de::Error::custom(e),
        })?,
        verdict: r.try_get("verdict")?,
        latest: r.try_get::<i64, _>("latest")? != 0,
        saving_usd_per_month: r.try_get("saving_usd_per_month")?,
        current_usd_per_month: r.try_get("current_usd_per_month")?,
        recommended_usd_per_month: r.try_get("recommended_usd_per_month")?,
        summary: r.try_get("summary")?,
        inputs: parse_json(|| format!("recommendation {id} inputs"), &inputs)?,
        cycle_id: r.try_get("cycle_id")?,
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
        status_actor: r.try_get("status_actor")?,
        status_note: r.try_get("status_note")?,
        fingerprint: r.try_get("fingerprint")?,
        document: if with_document {
            Some(r.try_get("document")?)
        } else {
            None
        },
        gauges: r.try_get("gauges")?,
    })
}

fn cycle_row(r: &AnyRow) -> Result<CycleRow, StoreError> {
    let id: i64 = r.try_get("id")?;
    let report: String = r.try_get("report")?;
    Ok(CycleRow {
        id,
        instance: r.try_get("instance")?,
        started_ms: r.try_get("started_ms")?,
        finished_ms: r.try_get("finished_ms")?,
        outcome: r.try_get("outcome")?,
        failed_stage: r.try_get("failed_stage")?,
        error: r.try_get("error")?,
        report: parse_json(|| format!("cycle {id} report"), &report)?,
    })
}

async fn insert_version(
    conn: &mut AnyConnection,
    new: &NewVersion,
    cycle_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE recommendations SET latest = 0 WHERE component = $1 AND latest = 1")
        .bind(&new.component)
        .execute(&mut *conn)
        .await?;
    let version: i64 = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM recommendations WHERE component = $1",
    )
    .bind(&new.component)
    .fetch_one(&mut *conn)
    .await?
    .try_get("v")?;
    sqlx::query(
        "INSERT INTO recommendations (component, version, status, verdict, latest, \
         saving_usd_per_month, current_usd_per_month, recommended_usd_per_month, summary, \
         fingerprint, document, inputs, gauges, cycle_id, created_ms, updated_ms) \
         VALUES ($1, $2, 'proposed', $3, 1, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(&new.component)
    .bind(version)
    .bind(&new.verdict)
    .bind(new.saving_usd_per_month)
    .bind(new.current_usd_per_month)
    .bind(new.recommended_usd_per_month)
    .bind(&new.summary)
    .bind(&new.fingerprint)
    .bind(new.document.text())
    .bind(&new.inputs)
    .bind(new.gauges.text())
    .bind(cycle_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn apply_finish(conn: &mut AnyConnection, f: &CycleFinish) -> Result<(), StoreError> {
    let now = f.finished_ms;
    if !f.actions.is_empty() {
        bump_recommendations(&mut *conn).await?;
    }
    for action in &f.actions {
        match action {
            VersionAction::Insert { new, supersede } => {
                if let Some(old) = supersede {
                    sqlx::query(
                        "UPDATE recommendations SET status = 'superseded', updated_ms = $2, \
                         status_actor = 'service', status_note = 'a newer cycle recommends otherwise' \
                         WHERE id = $1 AND status IN ('proposed', 'approved')",
                    )
                    .bind(old)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                }
                insert_version(conn, new, f.cycle_id, now).await?;
            }
            VersionAction::Refresh { id, new } => {
                sqlx::query(
                    "UPDATE recommendations SET saving_usd_per_month = $2, current_usd_per_month = $3, \
                     recommended_usd_per_month = $4, summary = $5, document = $6, inputs = $7, \
                     gauges = $8, cycle_id = $9 WHERE id = $1 AND status = 'proposed'",
                )
                .bind(id)
                .bind(new.saving_usd_per_month)
                .bind(new.current_usd_per_month)
                .bind(new.recommended_usd_per_month)
                .bind(&new.summary)
                .bind(new.document.text())
                .bind(&new.inputs)
                .bind(new.gauges.text())
                .bind(f.cycle_id)
                .execute(&mut *conn)
                .await?;
            }
            VersionAction::Confirm { id } => {
                sqlx::query("UPDATE recommendations SET cycle_id = $2 WHERE id = $1")
                    .bind(id)
                    .bind(f.cycle_id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    for (name, why) in &f.stale {
        sqlx::query(
            "UPDATE components SET stale_reason = $2, \
             stale_since_cycle = COALESCE(stale_since_cycle, $3) WHERE name = $1",
        )
        .bind(name)
        .bind(why)
        .bind(f.cycle_id)
        .execute(&mut *conn)
        .await?;
    }
    for name in &f.fresh {
        sqlx::query(
            "UPDATE components SET stale_reason = NULL, stale_since_cycle = NULL \
             WHERE name = $1 AND stale_reason IS NOT NULL",
        )
        .bind(name)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE cycles SET finished_ms = $2, outcome = $3, failed_stage = $4, error = $5, report = $6 \
         WHERE id = $1",
    )
    .bind(f.cycle_id)
    .bind(f.finished_ms)
    .bind(&f.outcome)
    .bind(&f.failed_stage)
    .bind(&f.error)
    .bind(&f.report)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn apply_collection(conn: &mut AnyConnection, c: &Collection) -> Result<(), StoreError> {
    for s in &c.seen {
        let sources = serde_json::to_string(&s.sources).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO components (name, attributes, sources, first_seen_ms, last_seen_ms, data_until_minute) \
             VALUES ($1, $2, $3, $4, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET attributes = excluded.attributes, \
             sources = excluded.sources, last_seen_ms = excluded.last_seen_ms, \
             data_until_minute = COALESCE(excluded.data_until_minute, components.data_until_minute)",
        )
        .bind(&s.name)
        .bind(s.attributes.to_string())
        .bind(sources)
        .bind(c.at_ms)
        .bind(s.data_until_minute)
        .execute(&mut *conn)
        .await?;
    }
    for s in &c.summaries {
        sqlx::query(
            "INSERT INTO summaries (component, start_minute, end_minute, cycle_id, profile) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.component)
        .bind(s.start_minute)
        .bind(s.end_minute)
        .bind(c.cycle_id)
        .bind(&s.profile)
        .execute(&mut *conn)
        .await?;
    }
    for (source, state) in &c.states {
        sqlx::query(
            "INSERT INTO collector_state (source, state, updated_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (source) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms",
        )
        .bind(source)
        .bind(state)
        .bind(c.at_ms)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("DELETE FROM summaries WHERE end_minute < $1")
        .bind(c.prune_before_minute)
        .execute(&mut *conn)
        .await?;
    recent::write(conn, &c.recent).await
}

impl Store for SqlStore {
    async fn migrate(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        let latest = migrations::latest(self.backend);
        for step in migrations::steps(self.backend) {
            let begin = match self.backend {
                Backend::Sqlite => "BEGIN IMMEDIATE",
                Backend::Postgres => "BEGIN",
            };
            sqlx::query(begin).execute(&mut *conn).await?;
            if self.backend == Backend::Postgres {
                // Replicas starting together migrate one at a time.
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(Self::LOCK_KEY + 1)
                    .execute(&mut *conn)
                    .await?;
            }
            let current: i64 =
                sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get("v")?;
            if current > latest {
                sqlx::query("ROLLBACK").execute(&mut *conn).await?;
                return Err(StoreError::TooNew {
                    found: current,
                    supported: latest,
                });
            }
            if current >= step.version {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
                continue;
            }
            let mut result = Ok(());
            for statement in &step.statements {
                if let Err(e) = sqlx::query(sql(statement.clone()))
                    .execute(&mut *conn)
                    .await
                {
                    result = Err(e);
                    break;
                }
            }
            if result.is_ok() {
                result = sqlx::query(
                    "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                )
                .bind(step.version)
                .bind(now_ms())
                .execute(&mut *conn)
                .await
                .map(|_| ());
            }
            match result {
                Ok(()) => {
                    sqlx::query("COMMIT").execute(&mut *conn).await?;
                }
                Err(e) => {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    return Err(e.into());
                }
            }
        }
        Ok(latest)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn lead(&self) -> Result<bool, StoreError> {
        match self.backend {
            Backend::Postgres => {
                let mut guard = self.leadership.lock().await;
                guard.lead_postgres(&self.url, Self::LOCK_KEY).await
            }
            Backend::Sqlite => {
                let now = now_ms();
                let done = sqlx::query(
                    "INSERT INTO leader_lease (name, holder, expires_ms) VALUES ('leader', $1, $2) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms \
                     WHERE leader_lease.holder = excluded.holder OR leader_lease.expires_ms < $3",
                )
                .bind(&self.instance)
                .bind(now + self.lease_ms())
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    }

    async fn resign(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Postgres => {
                self.leadership
                    .lock()
                    .await
                    .resign_postgres(Self::LOCK_KEY)
                    .await;
                Ok(())
            }
            Backend::Sqlite => {
                sqlx::query("DELETE FROM leader_lease WHERE name = 'leader' AND holder = $1")
                    .bind(&self.instance)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    }

    async fn collector_state(&self, source: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT state FROM collector_state WHERE source = $1")
            .bind(source)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("state")).transpose()?)
    }

    async fn begin_cycle(&self, instance: &str, started_ms: i64) -> Result<i64, StoreError> {
        let mut f = self.fence().await?;
        // Whoever leads now is alone: a cycle still "running" was left by a replica
        // that died or lost leadership, and can no longer commit.
        let closed = sqlx::query(
            "UPDATE cycles SET outcome = 'abandoned', finished_ms = $1, \
             error = 'its replica stopped or lost leadership before finishing' \
             WHERE finished_ms IS NULL",
        )
        .bind(started_ms)
        .execute(f.conn())
        .await;
        if let Err(e) = closed {
            return Self::end(f, Err(e.into())).await;
        }
        let r = sqlx::query(
            "INSERT INTO cycles (instance, started_ms, outcome, report) \
             VALUES ($1, $2, 'running', '{}') RETURNING id",
        )
        .bind(instance)
        .bind(started_ms)
        .fetch_one(f.conn())
        .await
        .and_then(|row| row.try_get::<i64, _>("id"))
        .map_err(StoreError::from);
        Self::end(f, r).await
    }

    async fn commit_collection(&self, c: &Collection) -> Result<(), StoreError> {
        let mut f = self.fence().await?;
        let r = apply_collection(f.conn(), c).await;
        Self::end(f, r).await
    }

    async fn summaries(
        &self,
        component: &str,
        since_minute: i64,
    ) -> Result<Vec<StoredSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT start_minute, end_minute, profile FROM summaries \
             WHERE component = $1 AND end_minute > $2 ORDER BY start_minute, id",
        )
        .bind(component)
        .bind(since_minute)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredSummary {
                    start_minute: r.try_get("start_minute")?,
                    end_minute: r.try_get("end_minute")?,
                    profile: r.try_get("profile")?,
                })
            })
            .collect()
    }

    async fn components(&self) -> Result<Vec<ComponentRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, attributes, sources, first_seen_ms, last_seen_ms, data_until_minute, \
             stale_reason, stale_since_cycle FROM components ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("name")?;
                let attributes: String = r.try_get("attributes")?;
                let sources: String = r.try_get("sources")?;
                Ok(ComponentRow {
                    attributes: parse_json(|| format!("component {name} attributes"), &attributes)?,
                    sources: serde_json::from_str(&sources).unwrap_or_default(),
                    first_seen_ms: r.try_get("first_seen_ms")?,
                    last_seen_ms: r.try_get("last_seen_ms")?,
                    data_until_minute: r.try_get("data_until_minute")?,
                    stale_reason: r.try_get("stale_reason")?,
                    stale_since_cycle: r.try_get("stale_since_cycle")?,
                    name,
                })
            })
            .collect()
    }

    async fn latest_recommendations(&self) -> Result<Vec<RecommendationRow>, StoreError> {
        let rows = sqlx::query(sql(format!(
            "SELECT {REC_COLUMNS} FROM recommendations WHERE latest = 1 ORDER BY component"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| rec_row(r, false)).collect()
    }

    async fn for_each_latest_recommendation<F>(&self, mut each: F) -> Result<(), StoreError>
    where
        F: FnMut(RecommendationRow) + Send,
    {
        let query = sql(format!(
            "SELECT {REC_COLUMNS} FROM recommendations WHERE latest = 1 ORDER BY component"
        ));
        let mut rows = sqlx::query(query).fetch(&self.pool);
        while let Some(r) = rows.next().await {
            each(rec_row(&r?, false)?);
        }
        Ok(())
    }

    async fn component_counts(&self) -> Result<(i64, i64), StoreError> {
        let r =
            sqlx::query("SELECT COUNT(*) AS total, COUNT(stale_reason) AS stale FROM components")
                .fetch_one(&self.pool)
                .await?;
        Ok((r.try_get("total")?, r.try_get("stale")?))
    }

    async fn finish_cycle(&self, f: &CycleFinish) -> Result<(), StoreError> {
        let mut fenced = self.fence().await?;
        let r = apply_finish(fenced.conn(), f).await;
        Self::end(fenced, r).await
    }

    async fn list_recommendations(
        &self,
        filter: &RecommendationFilter,
    ) -> Result<(Vec<RecommendationRow>, i64), StoreError> {
        // Built from fixed fragments; every value is a bound parameter.
        let mut clauses: Vec<String> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut n = 0;
        let mut param = |texts: &mut Vec<String>, v: String| {
            texts.push(v);
            n += 1;
            format!("${n}")
        };
        if !filter.all_versions {
            clauses.push("latest = 1".into());
        }
        if filter.statuses.is_empty() {
            clauses.push("status <> 'superseded'".into());
        } else {
            let ps: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| param(&mut texts, s.as_str().to_owned()))
                .collect();
            clauses.push(format!("status IN ({})", ps.join(", ")));
        }
        if !filter.verdicts.is_empty() {
            let ps: Vec<String> = filter
                .verdicts
                .iter()
                .map(|v| param(&mut texts, v.clone()))
                .collect();
            clauses.push(format!("verdict IN ({})", ps.join(", ")));
        }
        if let Some(c) = &filter.component {
            let p = param(&mut texts, c.clone());
            clauses.push(format!("component = {p}"));
        }
        let min_saving = filter.min_saving_usd_per_month;
        if min_saving.is_some() {
            clauses.push(format!("saving_usd_per_month >= ${}", n + 1));
        }
        let where_ = clauses.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) AS n FROM recommendations WHERE {where_}");
        let list_sql = format!(
            "SELECT {REC_COLUMNS} FROM recommendations WHERE {where_} \
             ORDER BY saving_usd_per_month DESC, id LIMIT {} OFFSET {}",
            filter.limit.max(0),
            filter.offset.max(0)
        );
        let mut count = sqlx::query(sql(count_sql));
        let mut list = sqlx::query(sql(list_sql));
        for t in &texts {
            count = count.bind(t.clone());
            list = list.bind(t.clone());
        }
        if let Some(m) = min_saving {
            count = count.bind(m);
            list = list.bind(m);
        }
        let total: i64 = count.fetch_one(&self.pool).await?.try_get("n")?;
        let rows = list.fetch_all(&self.pool).await?;
        let rows = rows
            .iter()
            .map(|r| rec_row(r, false))
            .collect::<Result<_, _>>()?;
        Ok((rows, total))
    }

    async fn recommendation(&self, id: i64) -> Result<Option<RecommendationRow>, StoreError> {
        let row = sqlx::query(sql(format!(
            "SELECT {REC_COLUMNS}, document FROM recommendations WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| rec_row(&r, true)).transpose()
    }

    async fn transition(&self, t: &Transition) -> Result<RecommendationRow, TransitionError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::from)?;
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        sqlx::query(begin)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from)?;
        let r = transition_in(&mut conn, t).await;
        let end = if r.is_ok() { "COMMIT" } else { "ROLLBACK" };
        sqlx::query(end)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from)?;
        r
    }

    async fn cycles(
        &self,
        limit: i64,
        before_id: Option<i64>,
    ) -> Result<Vec<CycleRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, instance, started_ms, finished_ms, outcome, failed_stage, error, report \
             FROM cycles WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(cycle_row).collect()
    }

    async fn cycle(&self, id: i64) -> Result<Option<CycleRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, instance, started_ms, finished_ms, outcome, failed_stage, error, report \
             FROM cycles WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(cycle_row).transpose()
    }

    async fn audit(&self, e: &AuditEntry) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(insert_audit(&mut conn, e).await?)
    }

    async fn audit_log(
        &self,
        limit: i64,
        before_id: Option<i64>,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, actor, action, subject, payload, outcome FROM audit_log \
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let payload: String = r.try_get("payload")?;
                Ok(AuditRow {
                    id,
                    at_ms: r.try_get("at_ms")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    subject: r.try_get("subject")?,
                    payload: parse_json(|| format!("audit entry {id} payload"), &payload)?,
                    outcome: r.try_get("outcome")?,
                })
            })
            .collect()
    }

    async fn audit_since(&self, action: &str, since_ms: i64) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, actor, action, subject, payload, outcome FROM audit_log \
             WHERE action = $1 AND at_ms >= $2 ORDER BY id",
        )
        .bind(action)
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_row).collect()
    }

    async fn audit_subject(&self, subject: &str) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, actor, action, subject, payload, outcome FROM audit_log \
             WHERE subject = $1 ORDER BY id",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_row).collect()
    }

    async fn audit_open(&self, begin: &str, end: &str) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.id, b.at_ms, b.actor, b.action, b.subject, b.payload, b.outcome \
             FROM audit_log b WHERE b.action = $1 AND NOT EXISTS \
             (SELECT 1 FROM audit_log e WHERE e.subject = b.subject AND e.action = $2 \
              AND e.id > b.id) ORDER BY b.id",
        )
        .bind(begin)
        .bind(end)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_row).collect()
    }

    async fn recent_telemetry(
        &self,
        components: &[String],
        from_minute: i64,
    ) -> Result<adaptd_engine::telemetry::TelemetrySet, StoreError> {
        let samples = recent::load(&self.pool, components, from_minute).await?;
        Ok(recent::telemetry(&samples))
    }

    async fn prune_recent(&self, before_minute: i64) -> Result<u64, StoreError> {
        recent::prune(&self.pool, before_minute).await
    }

    async fn revision(&self) -> Result<(i64, i64), StoreError> {
        let r = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM cycles WHERE finished_ms IS NOT NULL) AS c, \
             (SELECT COALESCE(MAX(id), 0) FROM audit_log) AS a",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((r.try_get("c")?, r.try_get("a")?))
    }

    async fn recommendations_revision(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT n FROM revisions WHERE name = 'recommendations'")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get("n")?)
    }
}

/// Marks a change to the recommendations table, in the writer's transaction.
async fn bump_recommendations(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE revisions SET n = n + 1 WHERE name = 'recommendations'")
        .execute(conn)
        .await?;
    Ok(())
}

fn audit_row(r: &AnyRow) -> Result<AuditRow, StoreError> {
    let id: i64 = r.try_get("id")?;
    let payload: String = r.try_get("payload")?;
    Ok(AuditRow {
        id,
        at_ms: r.try_get("at_ms")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        subject: r.try_get("subject")?,
        payload: parse_json(|| format!("audit entry {id} payload"), &payload)?,
        outcome: r.try_get("outcome")?,
    })
}

async fn insert_audit(conn: &mut AnyConnection, e: &AuditEntry) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at_ms, actor, action, subject, payload, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(e.at_ms)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.subject)
    .bind(&e.payload)
    .bind(&e.outcome)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")
}

async fn transition_in(
    conn: &mut AnyConnection,
    t: &Transition,
) -> Result<RecommendationRow, TransitionError> {
    let db = |e: sqlx::Error| TransitionError::Store(e.into());
    let current = sqlx::query(sql(format!(
        "SELECT {REC_COLUMNS} FROM recommendations WHERE id = $1"
    )))
    .bind(t.id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(current) = current else {
        return Err(TransitionError::NotFound(t.id));
    };
    let row = rec_row(&current, false)?;
    let conflict = |why: String| TransitionError::Conflict {
        id: t.id,
        status: row.status,
        why,
    };
    if !t.from.contains(&row.status) {
        let from: Vec<&str> = t.from.iter().map(|s| s.as_str()).collect();
        return Err(conflict(format!(
            "only a recommendation that is {} can become {}",
            from.join(" or "),
            t.to
        )));
    }
    if !t.verdicts.is_empty() && !t.verdicts.contains(&row.verdict) {
        return Err(conflict(format!(
            "its verdict is `{}`: there is nothing to {}",
            row.verdict,
            if t.to == Lifecycle::Approved {
                "approve"
            } else {
                "do"
            }
        )));
    }
    // Conditional on the status read, so a concurrent change on another replica makes
    // this one fail rather than overwrite it.
    let done = sqlx::query(
        "UPDATE recommendations SET status = $2, updated_ms = $3, status_actor = $4, status_note = $5 \
         WHERE id = $1 AND status = $6",
    )
    .bind(t.id)
    .bind(t.to.as_str())
    .bind(t.at_ms)
    .bind(&t.actor)
    .bind(&t.note)
    .bind(row.status.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if done.rows_affected() != 1 {
        return Err(conflict("it changed meanwhile; read it again".into()));
    }
    bump_recommendations(&mut *conn).await.map_err(db)?;
    let payload = serde_json::json!({
        "component": row.component,
        "version": row.version,
        "from": row.status.as_str(),
        "to": t.to.as_str(),
        "note": t.note,
    });
    insert_audit(
        conn,
        &AuditEntry {
            at_ms: t.at_ms,
            actor: t.actor.clone(),
            action: format!("recommendation.{}", verb(t.to)),
            subject: format!("recommendation/{}", t.id),
            payload: payload.to_string(),
            outcome: "ok".into(),
        },
    )
    .await
    .map_err(db)?;
    Ok(RecommendationRow {
        status: t.to,
        updated_ms: t.at_ms,
        status_actor: Some(t.actor.clone()),
        status_note: t.note.clone(),
        ..row
    })
}

/// The audit verb of a status.
fn verb(to: Lifecycle) -> &'static str {
    match to {
        Lifecycle::Approved => "approve",
        Lifecycle::Rejected => "reject",
        Lifecycle::Applied => "apply",
        Lifecycle::RolledBack => "roll_back",
        Lifecycle::Superseded => "supersede",
        Lifecycle::Proposed => "propose",
    }
}

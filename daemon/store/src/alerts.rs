//! The `alerts` table: every alert the service received, whatever became of it
//! (a focused cycle, a duplicate, rate-limited, resolved, unmapped), so that
//! deduplication, rate limits and the context a firing alert holds survive restarts
//! and are shared by replicas.
//!
//! Alerts waiting for a focused cycle are rows with outcome `pending`: whichever
//! replica received the webhook records it, and the leader runs the cycle.
//!
//! Deduplication and the rate limit are decided by the database, not by the replica:
//! [`AlertStore::admit_alert`] checks and records in one transaction that holds a lock
//! every replica contends for (PostgreSQL: transaction-scoped advisory locks on the
//! alert's dedup key and component; SQLite: the database's write lock, taken before
//! reading). Two replicas receiving the same alert at once (a load balancer retrying)
//! record one of them as new and the other as its duplicate.

use std::future::Future;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Backend, SqlStore, Store, StoreError};

/// Outcomes that count against a component's rate limit: a focused cycle was asked
/// for.
pub const FOCUS_OUTCOMES: [&str; 4] = ["pending", "focused", "unchanged", "focus_failed"];

/// An alert to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAlert {
    /// When it arrived (ms).
    pub received_ms: i64,
    /// `alertmanager` or `sns`.
    pub source: String,
    /// What stays the same while the alert fires and resolves: the Alertmanager
    /// fingerprint, or the alarm's ARN or name.
    pub identity: String,
    /// Identity and status: the same key within the window is a duplicate.
    pub dedup_key: String,
    /// `alertname`, or `AlarmName`.
    pub name: String,
    /// The component it maps to, if any.
    pub component: Option<String>,
    /// `firing` or `resolved` (SNS `INSUFFICIENT_DATA` is `unknown`).
    pub status: String,
    /// `pending` (a focused cycle is due), `duplicate`, `rate_limited`, `resolved`,
    /// `unmapped`, `ignored`.
    pub outcome: String,
    /// The alert as received (JSON).
    pub payload: String,
}

/// A stored alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertRow {
    /// Id, increasing.
    pub id: i64,
    /// See [`NewAlert`].
    pub received_ms: i64,
    /// See [`NewAlert`].
    pub source: String,
    /// See [`NewAlert`].
    pub identity: String,
    /// See [`NewAlert`].
    pub name: String,
    /// See [`NewAlert`].
    pub component: Option<String>,
    /// See [`NewAlert`].
    pub status: String,
    /// See [`NewAlert`]; after the focused cycle `focused` (a new or refreshed
    /// version), `unchanged` (the same advice as a decided version) or
    /// `focus_failed`.
    pub outcome: String,
    /// The focused cycle that handled it.
    pub cycle_id: Option<i64>,
    /// See [`NewAlert`].
    pub payload: serde_json::Value,
}

/// The windows and limit an alert is admitted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// An alert with the same dedup key received at or after this (ms) makes the new
    /// one a duplicate.
    pub dedup_since_ms: i64,
    /// Focused cycles asked for at or after this (ms) count against the rate limit.
    pub rate_since_ms: i64,
    /// Focused cycles allowed per component within the rate window.
    pub max_focused: i64,
}

/// What [`AlertStore::admit_alert`] recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admitted {
    /// Recorded with the outcome it was given.
    Recorded {
        /// The alert's id.
        id: i64,
    },
    /// Recorded as `duplicate` of alert `first`.
    Duplicate {
        /// The alert's id.
        id: i64,
        /// The alert it repeats.
        first: i64,
    },
    /// Recorded as `rate_limited`: the component already had `count` focused cycles
    /// within the rate window.
    RateLimited {
        /// The alert's id.
        id: i64,
        /// Focused cycles within the window.
        count: i64,
    },
}

impl Admitted {
    /// The recorded alert's id.
    pub fn id(&self) -> i64 {
        match self {
            Admitted::Recorded { id }
            | Admitted::Duplicate { id, .. }
            | Admitted::RateLimited { id, .. } => *id,
        }
    }
}

/// The store's alert operations.
pub trait AlertStore: Store {
    /// Records alert `a`, deciding against every replica's writes at once: a
    /// duplicate (an alert with the same `dedup_key` received within the dedup window
    /// and not itself a duplicate) is recorded as `duplicate`; an alert that asks for
    /// a focused cycle (outcome `pending`) when its component already had
    /// `max_focused` within the rate window is recorded as `rate_limited`; otherwise
    /// it is recorded with its own outcome. Check and insert are one transaction
    /// under a lock, so concurrent submissions cannot both pass a check.
    fn admit_alert(
        &self,
        a: &NewAlert,
        rules: &Admission,
    ) -> impl Future<Output = Result<Admitted, StoreError>> + Send;

    /// Alerts waiting for a focused cycle, oldest first.
    fn pending_focus(&self) -> impl Future<Output = Result<Vec<AlertRow>, StoreError>> + Send;

    /// Sets the outcome of alerts `ids` after the focused cycle `cycle_id`.
    fn finish_focus(
        &self,
        ids: &[i64],
        cycle_id: i64,
        outcome: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Alerts received at or after `since_ms`, oldest first.
    fn alerts_since(
        &self,
        since_ms: i64,
    ) -> impl Future<Output = Result<Vec<AlertRow>, StoreError>> + Send;

    /// Alerts, newest first.
    fn alerts(
        &self,
        limit: i64,
        before_id: Option<i64>,
    ) -> impl Future<Output = Result<Vec<AlertRow>, StoreError>> + Send;
}

const COLUMNS: &str =
    "id, received_ms, source, identity, name, component, status, outcome, cycle_id, payload";

fn row(r: &AnyRow) -> Result<AlertRow, StoreError> {
    let id: i64 = r.try_get("id")?;
    let payload: String = r.try_get("payload")?;
    Ok(AlertRow {
        id,
        received_ms: r.try_get("received_ms")?,
        source: r.try_get("source")?,
        identity: r.try_get("identity")?,
        name: r.try_get("name")?,
        component: r.try_get("component")?,
        status: r.try_get("status")?,
        outcome: r.try_get("outcome")?,
        cycle_id: r.try_get("cycle_id")?,
        payload: serde_json::from_str(&payload).map_err(|source| StoreError::Corrupt {
            what: format!("alert {id} payload"),
            source,
        })?,
    })
}

/// The class of the advisory locks of alert admission (`pg_advisory_xact_lock(int4,
/// int4)`; a key space apart from the single-`bigint` keys of leadership and
/// migrations).
const ADMISSION_LOCK_CLASS: i32 = 0x616c_7274; // "alrt"

/// A stable 32-bit key for `text` (FNV-1a, folded): the same on every replica and
/// build. Two texts sharing a key only wait for each other.
fn lock_key(text: &str) -> i32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Truncation is the point: the fold keeps bits of both halves.
    ((h ^ (h >> 32)) as u32).cast_signed()
}

/// The advisory locks `a`'s admission takes: its dedup key and, when it asks for a
/// focused cycle, its component (the rate limit counts per component, across dedup
/// keys). Ascending, so two admissions never wait for each other in a cycle.
fn admission_locks(a: &NewAlert) -> Vec<i32> {
    let mut keys = vec![lock_key(&format!("dedup:{}", a.dedup_key))];
    if a.outcome == "pending"
        && let Some(c) = &a.component
    {
        keys.push(lock_key(&format!("component:{c}")));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

async fn duplicate_of(
    conn: &mut AnyConnection,
    dedup_key: &str,
    since_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let r = sqlx::query(
        "SELECT MIN(id) AS id FROM alerts WHERE dedup_key = $1 AND received_ms >= $2 \
         AND outcome <> 'duplicate'",
    )
    .bind(dedup_key)
    .bind(since_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get("id")?)
}

async fn focus_count(
    conn: &mut AnyConnection,
    component: &str,
    since_ms: i64,
) -> Result<i64, StoreError> {
    let outcomes: Vec<String> = FOCUS_OUTCOMES.iter().map(|o| format!("'{o}'")).collect();
    let r = sqlx::query(super::backend::sql(format!(
        "SELECT COUNT(*) AS n FROM alerts WHERE component = $1 AND received_ms >= $2 \
         AND outcome IN ({})",
        outcomes.join(", ")
    )))
    .bind(component)
    .bind(since_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get("n")?)
}

async fn insert(conn: &mut AnyConnection, a: &NewAlert, outcome: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO alerts (received_ms, source, identity, dedup_key, name, component, \
         status, outcome, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(a.received_ms)
    .bind(&a.source)
    .bind(&a.identity)
    .bind(&a.dedup_key)
    .bind(&a.name)
    .bind(&a.component)
    .bind(&a.status)
    .bind(outcome)
    .bind(&a.payload)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Decides and records `a` on `conn`, inside the admission's transaction.
async fn admit(
    conn: &mut AnyConnection,
    a: &NewAlert,
    rules: &Admission,
) -> Result<Admitted, StoreError> {
    if let Some(first) = duplicate_of(conn, &a.dedup_key, rules.dedup_since_ms).await? {
        let id = insert(conn, a, "duplicate").await?;
        return Ok(Admitted::Duplicate { id, first });
    }
    if a.outcome == "pending"
        && let Some(c) = &a.component
    {
        let count = focus_count(conn, c, rules.rate_since_ms).await?;
        if count >= rules.max_focused {
            let id = insert(conn, a, "rate_limited").await?;
            return Ok(Admitted::RateLimited { id, count });
        }
    }
    let id = insert(conn, a, &a.outcome).await?;
    Ok(Admitted::Recorded { id })
}

impl AlertStore for SqlStore {
    async fn admit_alert(&self, a: &NewAlert, rules: &Admission) -> Result<Admitted, StoreError> {
        // SQLite: BEGIN IMMEDIATE takes the write lock before the first read, so a
        // concurrent admission (another connection or process) waits instead of
        // reading the same state. A dropped transaction rolls back.
        let mut tx = match self.backend() {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool().begin().await?,
        };
        if self.backend() == Backend::Postgres {
            // Held until commit; READ COMMITTED reads after it see the rows every
            // earlier holder committed.
            for key in admission_locks(a) {
                sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                    .bind(ADMISSION_LOCK_CLASS)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let admitted = admit(&mut tx, a, rules).await?;
        tx.commit().await?;
        Ok(admitted)
    }

    async fn pending_focus(&self) -> Result<Vec<AlertRow>, StoreError> {
        let rows = sqlx::query(super::backend::sql(format!(
            "SELECT {COLUMNS} FROM alerts WHERE outcome = 'pending' ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    async fn finish_focus(
        &self,
        ids: &[i64],
        cycle_id: i64,
        outcome: &str,
    ) -> Result<(), StoreError> {
        for id in ids {
            sqlx::query(
                "UPDATE alerts SET outcome = $2, cycle_id = $3 WHERE id = $1 AND outcome = 'pending'",
            )
            .bind(id)
            .bind(outcome)
            .bind(cycle_id)
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    async fn alerts_since(&self, since_ms: i64) -> Result<Vec<AlertRow>, StoreError> {
        let rows = sqlx::query(super::backend::sql(format!(
            "SELECT {COLUMNS} FROM alerts WHERE received_ms >= $1 ORDER BY id"
        )))
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    async fn alerts(
        &self,
        limit: i64,
        before_id: Option<i64>,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let rows = sqlx::query(super::backend::sql(format!(
            "SELECT {COLUMNS} FROM alerts WHERE id < $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }
}

//! The `alerts` table: every alert the service received, whatever became of it
//! (a focused cycle, a duplicate, rate-limited, resolved, unmapped), so that
//! deduplication, rate limits and the context a firing alert holds survive restarts
//! and are shared by replicas.
//!
//! Alerts waiting for a focused cycle are rows with outcome `pending`: whichever
//! replica received the webhook records it, and the leader runs the cycle.

use std::future::Future;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::migrations::Step;
use super::{SqlStore, Store, StoreError};

/// Outcomes that count against a component's rate limit: a focused cycle was asked
/// for.
pub const FOCUS_OUTCOMES: [&str; 4] = ["pending", "focused", "unchanged", "focus_failed"];

/// The additive migration that creates the table.
pub(super) fn migration(id: &str) -> Step {
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

/// The store's alert operations.
pub trait AlertStore: Store {
    /// Records an alert; returns its id.
    fn record_alert(&self, a: &NewAlert) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// The id of an alert with `dedup_key` received at or after `since_ms`, if any.
    fn duplicate_of(
        &self,
        dedup_key: &str,
        since_ms: i64,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// How many alerts for `component` since `since_ms` asked for a focused cycle.
    fn focus_count(
        &self,
        component: &str,
        since_ms: i64,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

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

impl AlertStore for SqlStore {
    async fn record_alert(&self, a: &NewAlert) -> Result<i64, StoreError> {
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
        .bind(&a.outcome)
        .bind(&a.payload)
        .fetch_one(self.pool())
        .await?
        .try_get("id")?)
    }

    async fn duplicate_of(
        &self,
        dedup_key: &str,
        since_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let r = sqlx::query(
            "SELECT MIN(id) AS id FROM alerts WHERE dedup_key = $1 AND received_ms >= $2 \
             AND outcome <> 'duplicate'",
        )
        .bind(dedup_key)
        .bind(since_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(r.try_get("id")?)
    }

    async fn focus_count(&self, component: &str, since_ms: i64) -> Result<i64, StoreError> {
        let outcomes: Vec<String> = FOCUS_OUTCOMES.iter().map(|o| format!("'{o}'")).collect();
        let r = sqlx::query(super::sql::sql(format!(
            "SELECT COUNT(*) AS n FROM alerts WHERE component = $1 AND received_ms >= $2 \
             AND outcome IN ({})",
            outcomes.join(", ")
        )))
        .bind(component)
        .bind(since_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(r.try_get("n")?)
    }

    async fn pending_focus(&self) -> Result<Vec<AlertRow>, StoreError> {
        let rows = sqlx::query(super::sql::sql(format!(
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
        let rows = sqlx::query(super::sql::sql(format!(
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
        let rows = sqlx::query(super::sql::sql(format!(
            "SELECT {COLUMNS} FROM alerts WHERE id < $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }
}

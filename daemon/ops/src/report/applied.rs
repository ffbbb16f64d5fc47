//! The changes the service applied, read from its store, for the scheduled report's
//! realised savings: what `adaptd report --applied FILE` takes from a file.
//!
//! A recommendation that was applied (status `applied`, or `rolled_back` since) holds
//! the deployment before (its `current`) and after (its `recommended`) and the saving
//! it predicted; the audit log holds when it was applied and rolled back (the
//! transitions `recommendation.apply` and `recommendation.roll_back` on
//! `recommendation/ID`). The report itself decides which changes fall in its period.

use adaptd_engine::telemetry::Minute;
use adaptd_optimizer::recommend::Recommendation;
use adaptd_report::AppliedChange;
use adaptd_store::{Lifecycle, RecommendationFilter, Store, StoreError};

/// Most applied versions read: far more than a report lists.
const MAX_APPLIED: i64 = 10_000;

/// Every change applied through the store that was still in place at
/// `since_minute` or later (rolled back after it, or never), oldest first.
pub async fn applied_changes<S: Store>(
    store: &S,
    since_minute: Minute,
) -> Result<Vec<AppliedChange>, StoreError> {
    let filter = RecommendationFilter {
        statuses: vec![Lifecycle::Applied, Lifecycle::RolledBack],
        all_versions: true,
        limit: MAX_APPLIED,
        ..RecommendationFilter::default()
    };
    let (rows, _) = store.list_recommendations(&filter).await?;
    let mut out = Vec::new();
    for row in rows {
        let audit = store
            .audit_subject(&format!("recommendation/{}", row.id))
            .await?;
        let last = |verb: &str| {
            let action = format!("recommendation.{verb}");
            audit
                .iter()
                .filter(|a| a.action == action)
                .map(|a| a.at_ms / 60_000)
                .max()
        };
        let Some(applied_at_minute) = last("apply") else {
            tracing::warn!(
                "recommendation {} is {} without an apply in the audit log; left out of the report",
                row.id,
                row.status.as_str()
            );
            continue;
        };
        let rolled_back_at_minute = last("roll_back").filter(|&m| m >= applied_at_minute);
        if rolled_back_at_minute.is_some_and(|m| m < since_minute) {
            continue;
        }
        let Some(full) = store.recommendation(row.id).await? else {
            continue;
        };
        let doc: Option<Recommendation> = full
            .document
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok());
        let Some((before, after)) = doc.and_then(|r| Some((r.current?, r.recommended?))) else {
            tracing::warn!(
                "recommendation {}: its document has no current and recommended deployment; left out of the report",
                row.id
            );
            continue;
        };
        out.push(AppliedChange {
            component: row.component,
            applied_at_minute,
            before: before.deployment,
            after: after.deployment,
            predicted_saving_usd_per_month: row.saving_usd_per_month,
            rolled_back_at_minute,
            rollback_reason: rolled_back_at_minute.and(full.status_note),
        });
    }
    out.sort_by_key(|c| c.applied_at_minute);
    Ok(out)
}

//! The `recent_telemetry` table: the last minutes of telemetry, per component and
//! minute, of the metrics verification compares (`adaptd_ops::apply::observe`), so that a
//! verification due after a restart, or on another replica that took over, judges
//! from the window before the change instead of finding it missing.
//!
//! Cycles write it with their collection ([`super::Collection::recent`]), in the
//! transaction that moves the watermarks: a minute is never past a watermark without
//! being here, and a cycle that fails after collecting loses nothing. Only components
//! the service may apply to are kept (the caller decides), only the five metrics
//! verification reads, and the service's verifier prunes the table to the minutes a
//! verdict can still need, so it stays small: a few hundred rows per component.

use std::collections::BTreeMap;

use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Minute, Stat, TelemetrySet};
use sqlx::{AnyConnection, AnyPool, Row};

use super::StoreError;

/// The metrics verification reads (see `apply::observe::observed`), and their columns.
pub const METRICS: [(Metric, Stat, &str); 5] = [
    (Metric::Invocations, Stat::Sum, "invocations"),
    (Metric::Errors, Stat::Sum, "errors"),
    (Metric::Throttles, Stat::Sum, "throttles"),
    (Metric::ColdStarts, Stat::Sum, "cold_starts"),
    (Metric::DurationMs, Stat::P99, "p99_ms"),
];

/// Rows per INSERT: one statement per hundred rows instead of one per row (a cycle
/// after a backfill writes thousands), well under both databases' parameter limits.
const ROWS_PER_INSERT: usize = 100;

/// One minute of one component.
#[derive(Clone, Debug, PartialEq)]
pub struct RecentSample {
    /// The component.
    pub component: String,
    /// The minute.
    pub minute: Minute,
    /// The values of [`METRICS`], in that order; `None` where not collected.
    pub values: [Option<f64>; 5],
}

/// The samples of the components `keep` selects in `sets`, from minute `from` on;
/// one per component and minute (a later set's value wins, as in a telemetry merge).
pub fn samples<'a>(
    sets: impl IntoIterator<Item = &'a TelemetrySet>,
    keep: impl Fn(&str) -> bool,
    from: Minute,
) -> Vec<RecentSample> {
    let mut by: BTreeMap<(&str, Minute), [Option<f64>; 5]> = BTreeMap::new();
    for set in sets {
        for (name, c) in &set.components {
            if !keep(name) {
                continue;
            }
            for (i, (metric, stat, _)) in METRICS.iter().enumerate() {
                let Some(series) = c.get(*metric, *stat) else {
                    continue;
                };
                for (m, v) in series.observed().filter(|(m, _)| *m >= from) {
                    by.entry((name.as_str(), m)).or_default()[i] = Some(v);
                }
            }
        }
    }
    by.into_iter()
        .map(|((component, minute), values)| RecentSample {
            component: component.to_owned(),
            minute,
            values,
        })
        .collect()
}

/// The samples as telemetry, as verification reads it.
pub fn telemetry(samples: &[RecentSample]) -> TelemetrySet {
    let mut set = TelemetrySet::default();
    for s in samples {
        let c = set
            .components
            .entry(s.component.clone())
            .or_insert_with(|| ComponentTelemetry::new(s.component.clone()));
        for ((metric, stat, _), v) in METRICS.iter().zip(s.values) {
            if let Some(v) = v {
                // A stored value that is not finite (edited by hand) is left out.
                let _ = c.record(s.minute, *metric, *stat, v);
            }
        }
    }
    set
}

/// Writes `samples` on `conn` (inside the collection's transaction). A minute
/// collected again keeps the values the new collection lacks.
pub(super) async fn write(
    conn: &mut AnyConnection,
    samples: &[RecentSample],
) -> Result<(), StoreError> {
    let names: Vec<&str> = METRICS.iter().map(|m| m.2).collect();
    let updates: Vec<String> = names
        .iter()
        .map(|n| format!("{n} = COALESCE(excluded.{n}, recent_telemetry.{n})"))
        .collect();
    for chunk in samples.chunks(ROWS_PER_INSERT) {
        let width = 2 + METRICS.len();
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| {
                let params: Vec<String> =
                    (1..=width).map(|p| format!("${}", r * width + p)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let text = format!(
            "INSERT INTO recent_telemetry (component, minute, {}) VALUES {} \
             ON CONFLICT (component, minute) DO UPDATE SET {}",
            names.join(", "),
            rows.join(", "),
            updates.join(", ")
        );
        let mut q = sqlx::query(super::backend::sql(text));
        for s in chunk {
            q = q.bind(s.component.as_str()).bind(s.minute);
            for v in s.values {
                q = q.bind(v);
            }
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The samples of `components` from minute `from` on.
pub(super) async fn load(
    pool: &AnyPool,
    components: &[String],
    from: Minute,
) -> Result<Vec<RecentSample>, StoreError> {
    let names: Vec<&str> = METRICS.iter().map(|m| m.2).collect();
    let text = format!(
        "SELECT minute, {} FROM recent_telemetry WHERE component = $1 AND minute >= $2 \
         ORDER BY minute",
        names.join(", ")
    );
    let mut out = Vec::new();
    for component in components {
        let rows = sqlx::query(super::backend::sql(text.clone()))
            .bind(component.as_str())
            .bind(from)
            .fetch_all(pool)
            .await?;
        for r in rows {
            let mut values = [None; 5];
            for (v, name) in values.iter_mut().zip(&names) {
                *v = r.try_get::<Option<f64>, _>(*name)?;
            }
            out.push(RecentSample {
                component: component.clone(),
                minute: r.try_get("minute")?,
                values,
            });
        }
    }
    Ok(out)
}

/// Deletes the samples before minute `before`; returns how many.
pub(super) async fn prune(pool: &AnyPool, before: Minute) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM recent_telemetry WHERE minute < $1")
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_what_verification_reads_of_selected_components_only() {
        let mut a = ComponentTelemetry::new("a");
        let mut b = ComponentTelemetry::new("b");
        for m in 0..10 {
            a.record(m, Metric::Invocations, Stat::Sum, 100.0).unwrap();
            a.record(m, Metric::Errors, Stat::Sum, 1.0).unwrap();
            a.record(m, Metric::DurationMs, Stat::P99, 200.0 + m as f64)
                .unwrap();
            // Not read by verification: not kept.
            a.record(m, Metric::MaxMemoryUsedMb, Stat::Maximum, 90.0)
                .unwrap();
            b.record(m, Metric::Invocations, Stat::Sum, 5.0).unwrap();
        }
        let mut first = TelemetrySet::default();
        first.components.insert("a".into(), a.clone());
        first.components.insert("b".into(), b);
        // A second set repeats minute 9 with a new value: it wins.
        let mut later = ComponentTelemetry::new("a");
        later.record(9, Metric::Errors, Stat::Sum, 7.0).unwrap();
        let mut second = TelemetrySet::default();
        second.components.insert("a".into(), later);
        let s = samples([&first, &second], |n| n == "a", 4);
        assert_eq!(s.len(), 6);
        assert!(s.iter().all(|s| s.component == "a" && s.minute >= 4));
        assert_eq!(
            s[5].values,
            [Some(100.0), Some(7.0), None, None, Some(209.0)]
        );
        let back = telemetry(&s);
        let c = &back.components["a"];
        assert!(c.get(Metric::MaxMemoryUsedMb, Stat::Maximum).is_none());
    }
}

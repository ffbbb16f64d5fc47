//! Focused cycles: what an alert changes in the optimisation, and the cycle it
//! starts.
//!
//! While an alert fires for a component (recorded within `context_hold_seconds`
//! and not resolved since), the component's objectives are tightened in every cycle:
//! its cold-start budget is multiplied by `cold_start_budget_factor` (or set to
//! `cold_start_rate_when_unset`) and its p99 objective by `p99_factor`. A latency
//! alert thus makes the optimiser willing to pay for more provisioned concurrency
//! (cold starts are what provisioned concurrency removes, and usually what a p99
//! breach of a function is made of), without a rule per alert name.
//!
//! An alert with outcome `pending` makes the leader run a focused cycle at once:
//! the usual incremental collection (every source, so the recent window is fresh),
//! then the joint optimisation with the tightened objectives, storing versions only
//! for the focused components, flagged in their `inputs` as alert-triggered. The
//! alerts then record the cycle and what it did: `focused` (a new or refreshed
//! proposal), `unchanged` (the same advice as a decided version), `focus_failed`.
//! A cycle interrupted by shutdown leaves them pending, for the next leader.

use std::collections::{BTreeMap, BTreeSet};

use adaptd_config::{AlertsSection, Resolved};
use adaptd_store::StoreError;
use adaptd_store::alerts::{AlertRow, AlertStore};
use serde_json::{Value, json};

use crate::cycle::report::CycleReport;

/// The alerts' effect on one cycle.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertContext {
    /// Components whose objectives are tightened, with the alerts holding them
    /// (`source:name`).
    pub holding: BTreeMap<String, Vec<String>>,
    /// For a focused cycle, the components it stores versions for.
    pub focus: Option<BTreeSet<String>>,
    /// The pending alerts a focused cycle handles.
    pub alert_ids: Vec<i64>,
    /// `cold_start_budget_factor`, `cold_start_rate_when_unset`, `p99_factor`.
    factors: (f64, f64, f64),
}

/// Components with a firing alert among `rows` (oldest first): per alert identity,
/// the last status wins.
pub fn holding(rows: &[AlertRow]) -> BTreeMap<String, Vec<String>> {
    let mut last: BTreeMap<(&str, &str), (&str, bool, &str)> = BTreeMap::new();
    for r in rows {
        let Some(c) = r.component.as_deref() else {
            continue;
        };
        if r.outcome == "unmapped" || r.status == "unknown" {
            continue;
        }
        last.insert(
            (r.source.as_str(), r.identity.as_str()),
            (c, r.status == "firing", r.name.as_str()),
        );
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((source, _), (c, firing, name)) in last {
        if firing {
            let held = out.entry(c.to_owned()).or_default();
            let label = format!("{source}:{name}");
            if !held.contains(&label) {
                held.push(label);
            }
        }
    }
    out
}

impl AlertContext {
    fn new(rows: &[AlertRow], a: &AlertsSection) -> Self {
        Self {
            holding: holding(rows),
            focus: None,
            alert_ids: Vec::new(),
            factors: (
                a.cold_start_budget_factor,
                a.cold_start_rate_when_unset,
                a.p99_factor,
            ),
        }
    }

    /// Tightens the objectives of the components alerts hold.
    pub fn tighten(&self, resolved: &mut Resolved) {
        let (factor, unset, p99) = self.factors;
        for c in &mut resolved.components {
            if !self.holding.contains_key(&c.name) {
                continue;
            }
            c.slo.max_cold_start_rate =
                Some(c.slo.max_cold_start_rate.map_or(unset, |r| r * factor));
            if let Some(p) = c.slo.p99_ms.as_mut() {
                *p *= p99;
            }
        }
    }

    /// Whether the cycle stores a version for `component`.
    pub fn writes(&self, component: &str) -> bool {
        self.focus.as_ref().is_none_or(|f| f.contains(component))
    }

    /// What a version's `inputs` say about the alerts behind it.
    pub fn inputs(&self, component: &str) -> Option<Value> {
        let held = self.holding.get(component)?;
        let (factor, unset, p99) = self.factors;
        Some(json!({
            "triggered_by": if self.focus.is_some() { "alert" } else { "alert_context" },
            "alerts": held,
            "alert_ids": self.alert_ids,
            "cold_start_budget_factor": factor,
            "cold_start_rate_when_unset": unset,
            "p99_factor": p99,
        }))
    }

    /// For the cycle's report.
    pub fn report(&self) -> Value {
        json!({
            "focus": self.focus,
            "alert_ids": self.alert_ids,
            "tightened": self.holding.keys().collect::<Vec<_>>(),
        })
    }
}

fn hold_since(a: &AlertsSection) -> i64 {
    adaptd_store::now_ms()
        - i64::try_from(a.context_hold_seconds.saturating_mul(1000)).unwrap_or(i64::MAX / 2)
}

/// The context of a scheduled cycle: no focus, the alerts that hold.
pub async fn context<S: AlertStore>(
    store: &S,
    a: &AlertsSection,
) -> Result<AlertContext, StoreError> {
    Ok(AlertContext::new(
        &store.alerts_since(hold_since(a)).await?,
        a,
    ))
}

/// The context of a focused cycle for the pending alerts, if any.
pub async fn pending<S: AlertStore>(
    store: &S,
    a: &AlertsSection,
) -> Result<Option<AlertContext>, StoreError> {
    let pending = store.pending_focus().await?;
    if pending.is_empty() {
        return Ok(None);
    }
    let mut rows = store.alerts_since(hold_since(a)).await?;
    // A pending alert older than the hold still asks for its cycle.
    for p in &pending {
        if !rows.iter().any(|r| r.id == p.id) {
            rows.push(p.clone());
        }
    }
    rows.sort_by_key(|r| r.id);
    let mut cx = AlertContext::new(&rows, a);
    cx.focus = Some(pending.iter().filter_map(|p| p.component.clone()).collect());
    cx.alert_ids = pending.iter().map(|p| p.id).collect();
    Ok(Some(cx))
}

/// Records on each handled alert what its focused cycle did.
pub async fn finish<S: AlertStore>(
    store: &S,
    cx: &AlertContext,
    pending: &[AlertRow],
    report: &CycleReport,
) -> Result<(), StoreError> {
    if report.outcome == "interrupted" {
        // Shutdown stopped the cycle: the alerts stay pending for the next leader.
        return Ok(());
    }
    for p in pending {
        let Some(c) = &p.component else { continue };
        let done = report
            .components
            .iter()
            .find(|(n, _)| n == c)
            .map(|(_, a)| *a);
        let outcome = match done {
            _ if report.outcome == "failed" => "focus_failed",
            Some("insert" | "refresh") => "focused",
            Some(_) => "unchanged",
            None => "focus_failed",
        };
        if cx.alert_ids.contains(&p.id) {
            store.finish_focus(&[p.id], report.id, outcome).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, identity: &str, component: Option<&str>, status: &str) -> AlertRow {
        AlertRow {
            id,
            received_ms: id,
            source: "alertmanager".into(),
            identity: identity.into(),
            name: format!("A{identity}"),
            component: component.map(str::to_owned),
            status: status.into(),
            outcome: if status == "firing" {
                "focused"
            } else {
                "resolved"
            }
            .into(),
            cycle_id: None,
            payload: json!({}),
        }
    }

    #[test]
    fn the_last_status_of_each_alert_decides() {
        let rows = vec![
            row(1, "x", Some("a"), "firing"),
            row(2, "y", Some("b"), "firing"),
            row(3, "x", Some("a"), "resolved"),
            row(4, "z", None, "firing"),
            row(5, "w", Some("b"), "firing"),
        ];
        let h = holding(&rows);
        assert_eq!(h.keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(h["b"], ["alertmanager:Aw", "alertmanager:Ay"]);
        let again = [rows, vec![row(6, "x", Some("a"), "firing")]].concat();
        assert!(holding(&again).contains_key("a"));
    }

    #[test]
    fn tightening_halves_the_cold_start_budget_of_held_components_only() {
        let a = AlertsSection::default();
        let cx = AlertContext::new(&[row(1, "x", Some("checkout-api"), "firing")], &a);
        let config = adaptd_config::Config::from_str(
            "[[components]]\nname = \"checkout-api\"\nslo = { max_cold_start_rate = 0.01, p99_ms = 600 }\n[[components]]\nname = \"other\"\nslo = { max_cold_start_rate = 0.01 }\n[[components]]\nname = \"bare\"\n",
            "t.toml",
        )
        .unwrap();
        let mut r = config.resolve(&[]).unwrap();
        cx.tighten(&mut r);
        let slo = |n: &str| {
            r.components
                .iter()
                .find(|c| c.name == n)
                .unwrap()
                .slo
                .clone()
        };
        assert_eq!(slo("checkout-api").max_cold_start_rate, Some(0.005));
        assert_eq!(slo("checkout-api").p99_ms, Some(600.0));
        assert_eq!(slo("other").max_cold_start_rate, Some(0.01));
        let cx = AlertContext::new(&[row(1, "x", Some("bare"), "firing")], &a);
        let before = slo("bare").max_cold_start_rate;
        cx.tighten(&mut r);
        let after = r
            .components
            .iter()
            .find(|c| c.name == "bare")
            .unwrap()
            .slo
            .max_cold_start_rate;
        assert_eq!(after, Some(before.map_or(0.01, |b| b * 0.5)));
        assert!(cx.writes("anything"));
        assert!(cx.inputs("bare").is_some() && cx.inputs("other").is_none());
    }
}

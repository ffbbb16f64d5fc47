//! Inputs → report: the judgements (what is a risk, what the realised savings add up
//! to, which components lead) made once, so every format shows the same ones.

use std::collections::{BTreeMap, BTreeSet};

use adaptd_optimizer::recommend::{Recommendation, Status};

use crate::input::{ChangeState, DataQualityWarning, Inputs};
use crate::model::{
    ComponentReport, HourPoint, PeriodInfo, Report, RiskKind, SCHEMA_VERSION, SloRisk, Summary,
};
use crate::text::{date, ms, pct, rfc3339, usd};

/// Builds the report document.
pub fn build(inputs: &Inputs) -> Report {
    let set = &inputs.recommendations;
    let previous: BTreeMap<&str, &Recommendation> = inputs
        .previous
        .iter()
        .flat_map(|p| &p.components)
        .map(|r| (r.component.as_str(), r))
        .collect();
    let mut components: Vec<ComponentReport> = set
        .components
        .iter()
        .map(|r| component(r, inputs, previous.get(r.component.as_str()).copied()))
        .collect();
    components.sort_by(|a, b| {
        b.saving_usd_per_month
            .total_cmp(&a.saving_usd_per_month)
            .then_with(|| a.component.cmp(&b.component))
    });

    let mut changes: Vec<_> = inputs.changes.clone();
    changes.sort_by(|a, b| {
        (a.change.applied_at_minute, &a.change.component)
            .cmp(&(b.change.applied_at_minute, &b.change.component))
    });
    let slo_risks = slo_risks(inputs);
    let data_quality = data_quality(inputs);

    let in_place = changes
        .iter()
        .filter(|c| c.state != ChangeState::RolledBack);
    let measured: Vec<_> = in_place
        .clone()
        .filter_map(|c| {
            Some((
                c.change.predicted_saving_usd_per_month,
                c.realised.as_ref()?,
            ))
        })
        .collect();
    let summary = Summary {
        components: set.summary.components,
        changes_recommended: set.summary.changes,
        current_usd_per_month: set.summary.current_usd_per_month,
        recommended_usd_per_month: set.summary.recommended_usd_per_month,
        available_savings_usd_per_month: set.summary.available_savings_usd_per_month,
        previous_available_savings_usd_per_month: inputs
            .previous
            .as_ref()
            .map(|p| p.summary.available_savings_usd_per_month),
        changes_applied: changes
            .iter()
            .filter(|c| c.state == ChangeState::Applied)
            .count(),
        changes_rolled_back: changes
            .iter()
            .filter(|c| c.state == ChangeState::RolledBack)
            .count(),
        predicted_savings_applied_usd_per_month: in_place
            .clone()
            .map(|c| c.change.predicted_saving_usd_per_month)
            .sum::<f64>()
            + 0.0,
        // `+ 0.0`: an empty f64 sum is -0.0, which JSON would show as such.
        realised_savings_usd_per_month: measured
            .iter()
            .map(|r| r.1.saving_usd_per_month)
            .sum::<f64>()
            + 0.0,
        predicted_savings_measured_usd_per_month: measured.iter().map(|r| r.0).sum::<f64>() + 0.0,
        realised_error_usd_per_month: measured
            .iter()
            .map(|r| r.1.error_usd_per_month)
            .sum::<f64>()
            + 0.0,
        changes_not_measured: in_place.filter(|c| c.realised.is_none()).count(),
        slo_risks: slo_risks.len(),
        data_quality_warnings: data_quality.len(),
    };
    Report {
        schema_version: SCHEMA_VERSION,
        title: inputs.title.clone(),
        period: PeriodInfo {
            start_minute: inputs.period.start_minute,
            end_minute: inputs.period.end_minute,
            start: rfc3339(inputs.period.start_minute),
            end: rfc3339(inputs.period.end_minute),
            days: inputs.period.days(),
            id: date(inputs.period.end_minute),
        },
        generated_at: rfc3339(inputs.generated_at_minute),
        summary,
        slo_risks,
        data_quality,
        components,
        changes,
        warnings: set.warnings.clone(),
    }
}

fn component(
    r: &Recommendation,
    inputs: &Inputs,
    prev: Option<&Recommendation>,
) -> ComponentReport {
    let observed = inputs.observed.get(&r.component);
    let (now, rec) = (r.current.as_ref(), r.recommended.as_ref());
    let hours = r
        .hours
        .iter()
        .map(|h| HourPoint {
            hour: h.hour,
            invocations_per_minute: h.invocations_per_minute,
            p99_invocations_per_minute: h.p99_invocations_per_minute,
            current_level: h.current_level,
            recommended_level: h.recommended_level,
            predicted_p99_ms_current: h.current_p99_ms,
            predicted_p99_ms_recommended: h.recommended_p99_ms,
            observed_p99_ms: observed.and_then(|o| o.hourly_p99_ms.get(h.hour).copied().flatten()),
        })
        .collect();
    ComponentReport {
        component: r.component.clone(),
        status: r.status,
        current: now.map(|p| p.description.clone()),
        recommended: rec.map(|p| p.description.clone()),
        current_usd_per_month: now.map(|p| p.usd_per_month),
        recommended_usd_per_month: rec.map(|p| p.usd_per_month),
        saving_usd_per_month: r.saving_usd_per_month,
        previous_saving_usd_per_month: prev.map(|p| p.saving_usd_per_month),
        current_cost: now.map(|p| p.cost.clone()),
        recommended_cost: rec.map(|p| p.cost.clone()),
        changes: r.changes.clone(),
        confidence: r.confidence.level.clone(),
        explanation: r.explanation.summary.clone(),
        slo_p99_ms: r.slo.p99_ms,
        slo_max_cold_start_rate: r.slo.max_cold_start_rate,
        predicted_p99_ms_current: now.map(|p| p.worst_hour_p99_ms),
        predicted_p99_ms_recommended: rec.map(|p| p.worst_hour_p99_ms),
        observed_p99_ms: observed.and_then(|o| o.p99_ms),
        predicted_cold_start_rate_current: now.map(|p| p.cold_start_rate),
        predicted_cold_start_rate_recommended: rec.map(|p| p.cold_start_rate),
        observed_cold_start_rate: observed.and_then(|o| o.cold_start_rate),
        hours,
        timezone: r.timezone.name().to_owned(),
        frontier: inputs
            .frontiers
            .get(&r.component)
            .cloned()
            .unwrap_or_default(),
        warnings: r.explanation.warnings.clone(),
    }
}

fn slo_risks(inputs: &Inputs) -> Vec<SloRisk> {
    let mut out = Vec::new();
    for r in &inputs.recommendations.components {
        let risk = |kind, detail: String| SloRisk {
            component: r.component.clone(),
            kind,
            detail,
        };
        let best = r.recommended.as_ref();
        match (r.status, r.current.as_ref()) {
            (Status::SloInfeasible, _) => out.push(risk(
                RiskKind::Infeasible,
                format!(
                    "{} cannot be met within the guardrails; the closest option{}.",
                    objectives(r),
                    best.map_or(String::new(), |b| format!(
                        " reaches p99 {} with {} cold starts at {}/month",
                        ms(b.worst_hour_p99_ms),
                        pct(b.cold_start_rate),
                        usd(b.usd_per_month)
                    ))
                ),
            )),
            (_, Some(now)) if !now.meets_slo => out.push(risk(
                RiskKind::BreachPredicted,
                format!(
                    "As deployed it is predicted to miss {}: p99 {} and {} cold starts{}.",
                    objectives(r),
                    ms(now.worst_hour_p99_ms),
                    pct(now.cold_start_rate),
                    if best.is_some_and(|b| b.meets_slo) {
                        "; the recommendation meets it"
                    } else {
                        ""
                    }
                ),
            )),
            _ => {}
        }
        let observed = inputs.observed.get(&r.component).and_then(|o| o.p99_ms);
        if let (Some(target), Some(seen)) = (r.slo.p99_ms, observed)
            && seen > target
        {
            out.push(risk(
                RiskKind::ObservedAboveTarget,
                format!(
                    "Telemetry's p99 execution time was {} against a target of {}.",
                    ms(seen),
                    ms(target)
                ),
            ));
        }
    }
    for c in &inputs.changes {
        if c.state == ChangeState::RolledBack {
            out.push(SloRisk {
                component: c.change.component.clone(),
                kind: RiskKind::RolledBack,
                detail: format!(
                    "The change to {} was rolled back{}.",
                    c.change.after.describe(),
                    c.change
                        .rollback_reason
                        .as_deref()
                        .map_or(String::new(), |r| format!(": {r}"))
                ),
            });
        }
    }
    out.sort_by(|a, b| (a.kind, &a.component).cmp(&(b.kind, &b.component)));
    out
}

/// "p99 ≤ 300 ms and cold starts ≤ 1%".
fn objectives(r: &Recommendation) -> String {
    let mut parts = Vec::new();
    if let Some(t) = r.slo.p99_ms {
        parts.push(format!("p99 ≤ {}", ms(t)));
    }
    if let Some(c) = r.slo.max_cold_start_rate {
        parts.push(format!("cold starts ≤ {}", pct(c)));
    }
    if let Some(t) = r.slo.max_throttle_rate {
        parts.push(format!("throttles ≤ {}", pct(t)));
    }
    if parts.is_empty() {
        "its SLO".to_owned()
    } else {
        format!("the SLO ({})", parts.join(" and "))
    }
}

fn data_quality(inputs: &Inputs) -> Vec<DataQualityWarning> {
    let mut seen = BTreeSet::new();
    for w in &inputs.data_quality {
        seen.insert(w.clone());
    }
    for r in &inputs.recommendations.components {
        for w in &r.explanation.warnings {
            seen.insert(DataQualityWarning {
                component: Some(r.component.clone()),
                message: w.clone(),
            });
        }
        if r.status == Status::NoData {
            seen.insert(DataQualityWarning {
                component: Some(r.component.clone()),
                message: "no usable telemetry in the period: no recommendation".to_owned(),
            });
        }
    }
    // `None` sorts first: fleet-wide findings lead.
    seen.into_iter().collect()
}

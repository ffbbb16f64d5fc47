//! Explanations: what decided each recommendation and what the alternatives cost.

use adaptd_engine::options::lambda::memory::memory_floor_mb;
use adaptd_engine::options::{Candidate, Evaluation, platform};
use adaptd_engine::spec::{Deployment, Provisioned, Slo};

use super::build::{Built, Prepared};
use super::model::{
    Alternative, Confidence, Explanation, PlatformComparison, Predicted, outline_meets,
};
use super::price::{Priced, Prices, cheapest, kind, price_candidates};
use crate::Solution;

/// Explains the choice of `chosen` (from candidate `cand`) over what is deployed.
#[allow(clippy::too_many_arguments)]
pub fn explain(
    p: &Prepared<'_>,
    cand: &Candidate,
    current: &Predicted,
    recommended: &Predicted,
    chosen: &Evaluation,
    risk_price: f64,
    built: &Built<'_>,
    solution: &Solution,
) -> Explanation {
    let spec = p.spec;
    let slo = &spec.slo;
    let prices = price_candidates(p, built, recommended);
    let alternatives = alternatives(p, recommended, &prices);
    let mut binding = Vec::new();
    if let Some(text) = &p.infeasible {
        binding.push(text.clone());
    }

    // The same configuration without the SLO's help: what the SLO costs.
    let unconstrained = cheapest(p, cand);
    if let Some(r) = slo.max_cold_start_rate {
        let near = recommended.cold_start_rate >= 0.8 * r || risk_price > 1e-9;
        let without = unconstrained.as_ref().map(|e| e.cold_start_rate);
        if near || without.is_some_and(|w| w > r) {
            let mut s = format!(
                "cold-start SLO ≤ {} binds: predicted {}",
                pct(r),
                pct(recommended.cold_start_rate)
            );
            if let Some(w) = without.filter(|&w| w > r) {
                s.push_str(&format!(" ({} at the cheapest setting)", pct(w)));
            }
            binding.push(s);
        }
    }
    if let (Some(t), Some(u)) = (slo.p99_ms, unconstrained.as_ref())
        && u.worst_hour_p99_ms > t
    {
        let inv: Vec<f64> = u.hours.iter().map(|h| h.invocations_per_month).collect();
        let checked = adaptd_engine::spec::p99_checked_hours(&inv);
        let hours: Vec<usize> = (0..24)
            .filter(|&h| checked[h] && u.hours[h].p99_ms > t)
            .collect();
        binding.push(format!(
            "p99 ≤ {t:.0} ms binds in {} (the cheapest setting would reach {:.0} ms)",
            hour_ranges(&hours),
            u.worst_hour_p99_ms
        ));
    }
    if let (Deployment::Lambda(l), Some(ctx)) = (&recommended.deployment, p.ctx.as_ref()) {
        match (memory_floor_mb(ctx), ctx.profile.max_memory_used_mb) {
            (Some(floor), Some(used)) if l.memory_mb == floor && floor > 128 => {
                binding.push(format!(
                    "memory floor {floor} MB: largest use {used:.0} MB + {:.0} % headroom",
                    100.0 * spec.model.memory_headroom
                ));
            }
            (None, _) => binding
                .push("memory use unknown: memory is not lowered below the deployed size".into()),
            _ => {}
        }
    }
    // A guardrail is worth citing when what it forbids would save real money.
    if let Some(best) = alternatives.iter().find(|a| a.meets_slo)
        && let Some(g) = best.excluded_by.as_ref().filter(|_| {
            recommended.usd_per_month - best.usd_per_month
                >= 1.0_f64.max(0.05 * recommended.usd_per_month)
        })
    {
        binding.push(format!(
            "guardrail {g} forbids {}, which would cost {}/month",
            best.description,
            usd(best.usd_per_month)
        ));
    }
    if let Some(rows) = built.account_rows.get(&spec.account) {
        let hours: Vec<usize> = (0..24)
            .filter(|&h| solution.row_prices[rows[h].0] > 1e-9)
            .collect();
        let uses = matches!(&recommended.deployment, Deployment::Lambda(l) if l.provisioned != Provisioned::None || l.reserved_concurrency.is_some());
        if !hours.is_empty() && uses {
            binding.push(format!(
                "account {} concurrency limit binds in {}",
                spec.account,
                hour_ranges(&hours)
            ));
        }
    }
    for db in &spec.databases {
        let Some((_, sw)) = built.db_rows.get(db) else {
            continue;
        };
        let proxy_usd = built.problem.switches[sw.0].cost;
        if solution.switches[sw.0] {
            binding.push(format!(
                "{db} would run out of connections: an RDS Proxy ({}/month) pools them",
                usd(proxy_usd)
            ));
        } else if let Some(text) = reserved_instead_of_proxy(p, cand, recommended, db, proxy_usd) {
            binding.push(text);
        }
    }
    if binding.is_empty() {
        binding.push("no constraint binds: this is the cheapest option that meets the SLO".into());
    }

    let mut warnings: Vec<String> = p.profile.map(|pr| pr.warnings.clone()).unwrap_or_default();
    if !spec.current_is_known {
        warnings
            .push("the deployed configuration was not discovered; defaults were assumed".into());
    }
    Explanation {
        other_platform: other_platform(p, recommended, &prices.priced),
        summary: summary(current, recommended, slo),
        binding,
        alternatives,
        assumptions: chosen
            .assumptions
            .iter()
            .map(|a| format!("{} = {} ({})", a.name, a.value, a.source))
            .collect(),
        warnings,
    }
}

/// When a reserved-concurrency cap the deployment did not have holds `db`'s
/// connections, the cap against the proxy it makes unnecessary.
fn reserved_instead_of_proxy(
    p: &Prepared<'_>,
    cand: &Candidate,
    recommended: &Predicted,
    db: &str,
    proxy_usd: f64,
) -> Option<String> {
    let Deployment::Lambda(l) = &recommended.deployment else {
        return None;
    };
    let r = l.reserved_concurrency?;
    let deployed = match &p.spec.current {
        Deployment::Lambda(c) => c.reserved_concurrency,
        Deployment::Fargate(_) => None,
    };
    if deployed == Some(r) {
        return None;
    }
    // What the same configuration would open uncapped.
    let uncapped = p
        .candidates
        .iter()
        .find(|c| {
            c.reserved_concurrency.is_none()
                && matches!((&c.template, &cand.template), (Deployment::Lambda(a), Deployment::Lambda(b)) if a.memory_mb == b.memory_mb && a.architecture == b.architecture)
        })
        .map_or(String::new(), |c| {
            format!(" (uncapped it would open {:.0})", c.db_connections)
        });
    Some(format!(
        "reserved concurrency {r} caps {db} connections at {r}{uncapped}, throttling {} of invocations: cheaper than an RDS Proxy ({}/month)",
        pct(recommended.throttle_rate),
        usd(proxy_usd)
    ))
}

/// The best option of the other platform and why it lost: the cheapest that meets
/// the SLO, else the cheapest; allowed ones before forbidden ones.
fn other_platform(
    p: &Prepared<'_>,
    recommended: &Predicted,
    priced: &[Option<Priced>],
) -> Option<PlatformComparison> {
    let ctx = p.ctx.as_ref()?;
    let mine = recommended.deployment.platform();
    // (forbidden, breaks the SLO, cost, candidate)
    let mut best: Option<(bool, bool, f64, usize)> = None;
    for (i, (c, priced)) in p.candidates.iter().zip(priced).enumerate() {
        let Some(o) = priced.as_ref().filter(|_| c.template.platform() != mine) else {
            continue;
        };
        let key = (c.excluded.is_some(), !o.meets, o.cost);
        if best
            .as_ref()
            .is_none_or(|b| key.partial_cmp(&(b.0, b.1, b.2)) == Some(std::cmp::Ordering::Less))
        {
            best = Some((key.0, key.1, key.2, i));
        }
    }
    let (_, _, _, i) = best?;
    let c = &p.candidates[i];
    let d = c.deployment(&priced[i].as_ref()?.levels);
    let e = platform(d.platform()).outline(ctx, &d)?;
    let slo = &p.spec.slo;
    let meets_slo = outline_meets(&e, slo);
    let excluded_by = c.excluded.as_ref().map(|x| {
        if x.rules.is_empty() {
            x.guardrail.clone()
        } else {
            format!("{} (rule {})", x.guardrail, x.rules.join(", "))
        }
    });
    let side_by_side = format!(
        "{}/month, worst-hour p99 {:.0} ms, cold starts {} against {}/month, {:.0} ms, {}",
        usd(e.usd_per_month),
        e.worst_hour_p99_ms,
        pct(e.cold_start_rate),
        usd(recommended.usd_per_month),
        recommended.worst_hour_p99_ms,
        pct(recommended.cold_start_rate)
    );
    let why = if let Some(x) = &c.excluded {
        format!("{}: {side_by_side}", x.reason)
    } else if !meets_slo {
        let mut broken = Vec::new();
        if let Some(t) = slo.p99_ms.filter(|&t| e.worst_hour_p99_ms > t) {
            broken.push(format!("p99 {:.0} ms > {t:.0} ms", e.worst_hour_p99_ms));
        }
        if let Some(r) = slo.max_cold_start_rate.filter(|&r| e.cold_start_rate > r) {
            broken.push(format!(
                "cold starts {} > {}",
                pct(e.cold_start_rate),
                pct(r)
            ));
        }
        if let Some(r) = slo.max_throttle_rate.filter(|&r| e.throttle_rate > r) {
            broken.push(format!("throttles {} > {}", pct(e.throttle_rate), pct(r)));
        }
        if broken.is_empty() {
            broken.push("the SLO with the planned confidence".into());
        }
        format!("it breaks the SLO ({}): {side_by_side}", broken.join(", "))
    } else if e.usd_per_month >= recommended.usd_per_month {
        format!(
            "it costs {}/month more: {side_by_side}",
            usd(e.usd_per_month - recommended.usd_per_month)
        )
    } else {
        format!("the joint plan's shared limits or change thresholds kept it out: {side_by_side}")
    };
    Some(PlatformComparison {
        platform: d.platform().to_string(),
        description: d.describe(),
        usd_per_month: e.usd_per_month,
        worst_hour_p99_ms: e.worst_hour_p99_ms,
        cold_start_rate: e.cold_start_rate,
        throttle_rate: e.throttle_rate,
        meets_slo,
        excluded_by,
        recommended_usd_per_month: recommended.usd_per_month,
        recommended_worst_hour_p99_ms: recommended.worst_hour_p99_ms,
        recommended_cold_start_rate: recommended.cold_start_rate,
        why,
    })
}

/// The best option of each kind (on demand, constant or scheduled provisioned
/// concurrency, arm64, Fargate), cheapest first, without the recommendation itself.
fn alternatives(p: &Prepared<'_>, recommended: &Predicted, prices: &Prices) -> Vec<Alternative> {
    let slo = &p.spec.slo;
    let Some(ctx) = p.ctx.as_ref() else {
        return Vec::new();
    };
    // Price every option from the candidates' slot outcomes (cheap), keep the cheapest
    // of each kind, and only evaluate those shown (a full evaluation is not cheap).
    struct Option_ {
        cost: f64,
        meets: bool,
        candidate: usize,
        levels: Vec<usize>,
    }
    let mut options: Vec<Option_> = Vec::new();
    for (i, (priced, fixed)) in prices.priced.iter().zip(&prices.fixed).enumerate() {
        if let Some(o) = priced {
            options.push(Option_ {
                cost: o.cost,
                meets: o.meets,
                candidate: i,
                levels: o.levels.clone(),
            });
        }
        for (levels, cost, meets) in fixed {
            options.push(Option_ {
                cost: *cost,
                meets: *meets,
                candidate: i,
                levels: levels.clone(),
            });
        }
    }
    options.sort_by(|a, b| b.meets.cmp(&a.meets).then(a.cost.total_cmp(&b.cost)));
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for o in options {
        let c = &p.candidates[o.candidate];
        let d = c.deployment(&o.levels);
        let key = (kind(&d), c.excluded.is_some());
        // The kind first: most options are of a kind already shown, and describing
        // them (schedules especially) is not free.
        if seen.contains(&key) {
            continue;
        }
        let description = d.describe();
        if description == recommended.description {
            continue;
        }
        seen.push(key.clone());
        let Some(e) = platform(d.platform()).outline(ctx, &d) else {
            continue;
        };
        out.push(Alternative {
            kind: key.0,
            description,
            usd_per_month: e.usd_per_month,
            meets_slo: outline_meets(&e, slo),
            worst_hour_p99_ms: e.worst_hour_p99_ms,
            cold_start_rate: e.cold_start_rate,
            excluded_by: c.excluded.as_ref().map(|e| {
                if e.rules.is_empty() {
                    e.guardrail.clone()
                } else {
                    format!("{} (rule {})", e.guardrail, e.rules.join(", "))
                }
            }),
        });
        if out.len() == 5 {
            break;
        }
    }
    out.sort_by(|a, b| a.usd_per_month.total_cmp(&b.usd_per_month));
    out
}

fn summary(current: &Predicted, rec: &Predicted, slo: &Slo) -> String {
    let saving = current.usd_per_month - rec.usd_per_month;
    let change = super::changes(&current.deployment, &rec.deployment);
    if change.is_empty() {
        let why = if current.meets_slo || !slo.is_set() {
            "already the best option"
        } else {
            "nothing within the guardrails does better"
        };
        return format!(
            "keep {} ({}/month): {why}",
            current.description,
            usd(current.usd_per_month)
        );
    }
    let what: Vec<String> = change
        .iter()
        .map(|c| match c.field.as_str() {
            "provisioned_concurrency" => format!("provisioned concurrency {} → {}", c.from, c.to),
            "memory_mb" => format!("memory {} → {} MB", c.from, c.to),
            f => format!("{} {} → {}", f.replace('_', " "), c.from, c.to),
        })
        .collect();
    let money = if saving >= 0.0 {
        format!("saves {}/month", usd(saving))
    } else {
        format!("costs {}/month more", usd(-saving))
    };
    let mut s = format!("{}: {money}", what.join(", "));
    if slo.max_cold_start_rate.is_some()
        || (current.cold_start_rate - rec.cold_start_rate).abs() > 0.001
    {
        s.push_str(&format!(
            "; cold starts {} → {}",
            pct(current.cold_start_rate),
            pct(rec.cold_start_rate)
        ));
    }
    if slo.p99_ms.is_some() || (current.worst_hour_p99_ms - rec.worst_hour_p99_ms).abs() > 1.0 {
        s.push_str(&format!(
            "; worst-hour p99 {:.0} → {:.0} ms",
            current.worst_hour_p99_ms, rec.worst_hour_p99_ms
        ));
    }
    if !current.meets_slo && rec.meets_slo {
        s.push_str(" (meets the SLO, which the deployed configuration breaks)");
    }
    s
}

/// How much data stands behind a recommendation.
pub fn confidence(p: &Prepared<'_>) -> Confidence {
    let (days, invocations) = p
        .profile
        .map_or((0.0, 0.0), |pr| (pr.days(), pr.invocations));
    let mut reasons = Vec::new();
    if days < 7.0 {
        reasons.push(format!(
            "{days:.1} days of data (a week covers weekly patterns)"
        ));
    }
    if invocations < 1000.0 {
        reasons.push(format!("{invocations:.0} invocations observed"));
    }
    if !p.spec.current_is_known {
        reasons.push("deployed configuration assumed".into());
    }
    if let Some(pr) = p.profile {
        if pr.cpu_bound.is_none() && p.spec.model.cpu_bound_fraction.is_none() {
            reasons.push("CPU-bound share not measured (default used)".into());
        }
        if pr.max_memory_used_mb.is_none() {
            reasons.push("memory use unknown".into());
        }
    }
    let level = if days >= 7.0 && invocations >= 1000.0 && p.spec.current_is_known {
        "high"
    } else if days >= 1.0 && invocations >= 100.0 {
        "medium"
    } else {
        "low"
    };
    Confidence {
        level: level.into(),
        days_of_data: days,
        invocations_seen: invocations,
        reasons,
    }
}

/// "08–18 h, 22–23 h" for a sorted list of hours.
pub fn hour_ranges(hours: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < hours.len() {
        let start = hours[i];
        let mut end = start;
        while i + 1 < hours.len() && hours[i + 1] == end + 1 {
            i += 1;
            end = hours[i];
        }
        parts.push(format!("{start:02}–{:02} h", end + 1));
        i += 1;
    }
    if parts.is_empty() {
        "no hour".into()
    } else {
        parts.join(", ")
    }
}

fn pct(x: f64) -> String {
    if x < 0.001 && x > 0.0 {
        format!("{:.3} %", 100.0 * x)
    } else {
        format!("{:.1} %", 100.0 * x)
    }
}

fn usd(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("${x:.0}")
    } else {
        format!("${x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_ranges_are_compact() {
        assert_eq!(
            hour_ranges(&[8, 9, 10, 17, 22]),
            "08–11 h, 17–18 h, 22–23 h"
        );
        assert_eq!(hour_ranges(&[]), "no hour");
    }
}

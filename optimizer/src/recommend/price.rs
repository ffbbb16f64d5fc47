//! What each candidate costs at its cheapest, under its SLO and without it: the
//! prices an explanation compares the recommendation with.

use std::borrow::Cow;

use adaptd_engine::options::{Candidate, Evaluation, platform};
use adaptd_engine::spec::Deployment;

use super::budget::risk_budget;
use super::build::{Built, Prepared, min_risk, to_base};
use crate::cheapest_in_base;
use crate::problem::Base;

/// A candidate's cheapest levels: under its SLO when any meet it, else without it.
/// Both the alternatives and the other-platform comparison read it, so it is worked
/// out once per candidate.
pub(super) struct Priced {
    pub(super) levels: Vec<usize>,
    pub(super) cost: f64,
    pub(super) meets: bool,
}

impl Priced {
    pub(super) fn of(c: &Candidate, base: &Base) -> Option<Self> {
        match cheapest_levels_of(base) {
            Some((levels, cost)) => Some(Self {
                levels,
                cost,
                meets: true,
            }),
            None => cheapest_unconstrained(c).map(|(levels, cost)| Self {
                levels,
                cost,
                meets: false,
            }),
        }
    }
}

/// The candidates an explanation can show, priced (with their bases): every Lambda
/// candidate (each can show as on demand, constant or scheduled provisioned
/// concurrency), and of Fargate's many (sizes × scaling modes) enough to know the best
/// of each architecture and guardrail standing, the only Fargate alternatives an
/// explanation shows. Those are searched cheapest lower bound first — the cost without
/// the SLO, which no choice under it undercuts — and the search stops once one that
/// meets the SLO costs less than the next bound. Pricing every Fargate candidate
/// under the SLO was most of what explaining cost.
#[allow(clippy::type_complexity)]
pub(super) fn price_candidates<'b>(
    p: &Prepared<'_>,
    built: &'b Built<'_>,
) -> (Vec<Option<Cow<'b, Base>>>, Vec<Option<Priced>>) {
    let n = p.candidates.len();
    let mut bases: Vec<Option<Cow<'b, Base>>> = (0..n).map(|_| None).collect();
    let mut priced: Vec<Option<Priced>> = (0..n).map(|_| None).collect();
    let mut groups: Vec<((String, bool), Vec<(usize, f64)>)> = Vec::new();
    for (i, c) in p.candidates.iter().enumerate() {
        let Deployment::Fargate(f) = &c.template else {
            let base = slo_base(p, built, i);
            priced[i] = Priced::of(c, &base);
            bases[i] = Some(base);
            continue;
        };
        let Some((_, bound)) = cheapest_unconstrained(c) else {
            continue;
        };
        let key = (f.architecture.to_string(), c.excluded.is_some());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push((i, bound)),
            None => groups.push((key, vec![(i, bound)])),
        }
    }
    for (_, mut members) in groups {
        members.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut best_meeting = f64::INFINITY;
        for (i, bound) in members {
            // Equal bounds are still priced: among equal costs the first candidate wins,
            // as when every candidate was priced.
            if bound > best_meeting {
                break;
            }
            let base = slo_base(p, built, i);
            let Some(o) = Priced::of(&p.candidates[i], &base) else {
                continue;
            };
            if o.meets {
                best_meeting = best_meeting.min(o.cost);
            }
            priced[i] = Some(o);
            bases[i] = Some(base);
        }
    }
    (bases, priced)
}

/// The cheapest levels of `base` and their cost, if any meet its risk budget.
fn cheapest_levels_of(base: &Base) -> Option<(Vec<usize>, f64)> {
    let r = min_risk(base)?;
    if base.risk_budget.is_some_and(|b| r > b + 1e-9) {
        return None;
    }
    cheapest_in_base(base)
}

/// The cheapest levels of candidate `c` without an SLO, and their cost: with nothing
/// to meet, each slot simply takes its cheapest allowed level (no risk budget couples
/// the slots), so no base needs building and no search runs.
fn cheapest_unconstrained(c: &Candidate) -> Option<(Vec<usize>, f64)> {
    let mut cost = c.fixed_usd_per_month;
    let mut levels = Vec::with_capacity(c.slots.len());
    for slot in &c.slots {
        let (l, o) = slot
            .levels
            .iter()
            .enumerate()
            .filter_map(|(l, o)| o.as_ref().map(|o| (l, o)))
            .min_by(|a, b| a.1.usd_per_month.total_cmp(&b.1.usd_per_month))?;
        levels.push(l);
        cost += o.usd_per_month;
    }
    Some((levels, cost))
}

/// The cheapest deployment of candidate `c` without an SLO: what the SLO costs.
pub(super) fn cheapest(p: &Prepared<'_>, c: &Candidate) -> Option<Evaluation> {
    let (levels, _) = cheapest_unconstrained(c)?;
    let d = c.deployment(&levels);
    platform(d.platform()).evaluate(p.ctx.as_ref()?, &d)
}

/// Candidate `i` under the component's own SLO: the base the problem already holds when
/// the candidate is in it (the same filter and budget; rows do not matter alone), else
/// one built here. Building bases and their budgets again was most of what explaining
/// cost on a real fleet.
pub(super) fn slo_base<'b>(p: &Prepared<'_>, built: &'b Built<'_>, i: usize) -> Cow<'b, Base> {
    match (
        p.infeasible.is_none(),
        p.item,
        p.base_candidates.iter().position(|&j| j == i),
    ) {
        (true, Some(item), Some(k)) => Cow::Borrowed(&built.problem.items[item].bases[k]),
        _ => {
            let c = &p.candidates[i];
            let slo = &p.spec.slo;
            Cow::Owned(to_base(
                c,
                slo,
                None,
                &[],
                None,
                risk_budget(slo, p.profile, c),
            ))
        }
    }
}

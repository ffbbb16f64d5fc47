//! What each candidate costs at its cheapest, under its SLO and without it: the
//! prices an explanation compares the recommendation with.

use std::borrow::Cow;

use adaptd_engine::options::{Candidate, Outline, platform};
use adaptd_engine::spec::{Architecture, Deployment, Provisioned};

use super::budget::Budgets;
use super::build::{Built, Prepared, min_risk, to_base};
use super::model::Predicted;
use crate::problem::Base;
use crate::{cheapest_in_base, cheapest_in_base_below};

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

/// A Lambda candidate's options at fixed levels, as (levels, cost, meets the SLO): see
/// [`fixed_level_options`].
pub(super) type FixedOptions = Vec<(Vec<usize>, f64, bool)>;

/// What an explanation shows one option of: a [`kind`], and whether guardrails forbid
/// it.
type Shown = (String, bool);

/// The candidates an explanation can show, priced once for all its parts.
pub(super) struct Prices {
    /// Each candidate's cheapest levels (`None`: not priced, or it could not show).
    pub(super) priced: Vec<Option<Priced>>,
    /// Each Lambda candidate's [`fixed_level_options`] (empty for the others).
    pub(super) fixed: Vec<FixedOptions>,
}

/// The candidates an explanation can show, priced. Of Fargate's
/// many (sizes × scaling modes) an explanation shows only the best of each
/// architecture and guardrail standing: those are searched cheapest lower bound first
/// — the cost without the SLO, which no choice under it undercuts — and the search
/// stops once one that meets the SLO costs less than the next bound. Pricing every
/// Fargate candidate under the SLO was most of what explaining cost.
///
/// Lambda candidates (each can show as on demand, constant or scheduled provisioned
/// concurrency) are searched only below what could still show when the recommendation
/// is on Lambda ([`price_lambda`]).
pub(super) fn price_candidates<'b>(
    p: &Prepared<'_>,
    built: &'b Built<'_>,
    recommended: &Predicted,
) -> Prices {
    let n = p.candidates.len();
    let mut bases: Vec<Option<Cow<'b, Base>>> = (0..n).map(|_| None).collect();
    let mut priced: Vec<Option<Priced>> = (0..n).map(|_| None).collect();
    let mut fixed: Vec<FixedOptions> = (0..n).map(|_| Vec::new()).collect();
    let mut groups: Vec<(Shown, Vec<(usize, f64)>)> = Vec::new();
    let mut lambda: Vec<(usize, f64)> = Vec::new();
    let mut budgets = Budgets::new(&p.spec.slo, p.profile);
    for (i, c) in p.candidates.iter().enumerate() {
        let Deployment::Fargate(f) = &c.template else {
            let bound = cheapest_unconstrained(c).map_or(f64::NEG_INFINITY, |(_, b)| b);
            lambda.push((i, bound));
            let base = slo_base(p, built, i, &mut budgets);
            fixed[i] = fixed_level_options(c, &base);
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
    price_lambda(p, recommended, lambda, &bases, &fixed, &mut priced);
    for (_, mut members) in groups {
        members.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut best_meeting = f64::INFINITY;
        for (i, bound) in members {
            // Equal bounds are still priced: among equal costs the first candidate wins,
            // as when every candidate was priced.
            if bound > best_meeting {
                break;
            }
            let base = slo_base(p, built, i, &mut budgets);
            let Some(o) = Priced::of(&p.candidates[i], &base) else {
                continue;
            };
            if o.meets {
                best_meeting = best_meeting.min(o.cost);
            }
            priced[i] = Some(o);
        }
    }
    Prices { priced, fixed }
}

/// Prices the Lambda candidates `lambda` (index, cost without the SLO), cheapest first.
///
/// When the recommendation is on Lambda an explanation shows, of Lambda's options,
/// the cheapest of each kind ([`kind`]) that meets the SLO, the recommendation aside
/// (the other-platform comparison reads Fargate's). A candidate that can meet its SLO
/// is, at its cheapest, on demand or at one constant level — what its own fixed-level
/// options, always listed, already are — or a schedule, which shows only below the
/// cheapest schedule meeting the SLO so far: its exact search gets that as a cutoff,
/// and drops every path above it. One that cannot meet it shows as its cheapest
/// levels without the SLO, and only when no option of their kind meets it. The
/// searches without a cutoff were half of what explaining a real fleet cost.
fn price_lambda(
    p: &Prepared<'_>,
    recommended: &Predicted,
    mut lambda: Vec<(usize, f64)>,
    bases: &[Option<Cow<'_, Base>>],
    fixed: &[FixedOptions],
    priced: &mut [Option<Priced>],
) {
    let prune = matches!(recommended.deployment, Deployment::Lambda(_));
    let mine = recommended.description.as_str();
    // The cheapest option meeting the SLO per (kind, excluded), the recommendation aside.
    let mut best: Vec<(Shown, f64)> = Vec::new();
    if prune {
        for &(i, _) in &lambda {
            for (levels, cost, _) in fixed[i].iter().filter(|o| o.2) {
                note(&mut best, mine, &p.candidates[i], levels, *cost);
            }
        }
    }
    lambda.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (i, bound) in lambda {
        let (c, Some(base)) = (&p.candidates[i], &bases[i]) else {
            continue;
        };
        let o = match (prune, &c.template) {
            (true, Deployment::Lambda(l)) => {
                price_below_best(&best, c, l.architecture, base, bound)
            }
            _ => Priced::of(c, base),
        };
        if let Some(o) = o.as_ref().filter(|o| o.meets) {
            note(&mut best, mine, c, &o.levels, o.cost);
        }
        priced[i] = o;
    }
}

/// Lambda candidate `c` on `arch` priced as [`Priced::of`] does, or `None` when nothing
/// it could become would show (see [`price_lambda`]). `bound` is its cost without the
/// SLO, which nothing under the SLO undercuts.
fn price_below_best(
    best: &[(Shown, f64)],
    c: &Candidate,
    arch: Architecture,
    base: &Base,
    bound: f64,
) -> Option<Priced> {
    if !can_meet(base) {
        return if fallback_hidden(best, c) {
            None
        } else {
            Priced::of(c, base)
        };
    }
    let schedule = (lambda_kind(arch, LAMBDA_KINDS[2]), c.excluded.is_some());
    let Some((_, cheapest)) = best.iter().find(|(k, _)| *k == schedule) else {
        return Priced::of(c, base);
    };
    // Equal costs are still found: among them the first candidate shows.
    let cutoff = cheapest + 1e-9 * (1.0 + cheapest.abs());
    if bound >= cutoff {
        return None;
    }
    cheapest_in_base_below(base, cutoff).map(|(levels, cost)| Priced {
        levels,
        cost,
        meets: true,
    })
}

/// Whether candidate `c`'s cheapest levels without its SLO (what it shows as when
/// nothing of it meets the SLO) are of a kind that already has an option meeting it.
fn fallback_hidden(best: &[(Shown, f64)], c: &Candidate) -> bool {
    cheapest_unconstrained(c).is_some_and(|(levels, _)| {
        let key = (kind(&c.deployment(&levels)), c.excluded.is_some());
        best.iter().any(|(k, _)| *k == key)
    })
}

/// Keeps `cost` when it is the cheapest of its (kind, excluded) so far, unless it is
/// the recommendation (described `mine`), which an explanation does not list.
fn note(best: &mut Vec<(Shown, f64)>, mine: &str, c: &Candidate, levels: &[usize], cost: f64) {
    let d = c.deployment(levels);
    if d.describe() == mine {
        return;
    }
    let key = (kind(&d), c.excluded.is_some());
    match best.iter_mut().find(|(k, _)| *k == key) {
        Some((_, b)) => *b = b.min(cost),
        None => best.push((key, cost)),
    }
}

/// What an explanation calls a deployment's kind: its platform and architecture, and
/// on Lambda how provisioned concurrency is held (one of [`LAMBDA_KINDS`]). It shows
/// one alternative of each kind.
pub(super) fn kind(d: &Deployment) -> String {
    match d {
        Deployment::Fargate(f) => format!("fargate {}", f.architecture),
        Deployment::Lambda(l) => {
            let pc = match &l.provisioned {
                Provisioned::None => LAMBDA_KINDS[0],
                Provisioned::Constant(_) => LAMBDA_KINDS[1],
                Provisioned::Hourly(_) => LAMBDA_KINDS[2],
            };
            lambda_kind(l.architecture, pc)
        }
    }
}

/// The kind of a Lambda option on `arch` holding provisioned concurrency as `pc`.
fn lambda_kind(arch: Architecture, pc: &str) -> String {
    format!("lambda {arch} {pc}")
}

/// How a Lambda option holds provisioned concurrency, as [`kind`] names it.
const LAMBDA_KINDS: [&str; 3] = [
    "on demand",
    "constant provisioned concurrency",
    "provisioned concurrency schedule",
];

/// A Lambda candidate at fixed levels under its SLO's `base`: on demand only, and with
/// the cheapest constant level that meets the SLO, as (levels, cost, meets).
fn fixed_level_options(c: &Candidate, base: &Base) -> FixedOptions {
    let mut out = Vec::new();
    if !matches!(c.template, Deployment::Lambda(_)) {
        return out;
    }
    let budget = base.risk_budget;
    let level_cost = |l: usize| -> Option<(f64, f64, bool)> {
        let mut cost = c.fixed_usd_per_month;
        let mut risk = 0.0;
        let mut ok = true;
        for (slot, filtered) in c.slots.iter().zip(&base.slots) {
            let o = slot.levels.get(l)?.as_ref()?;
            cost += o.usd_per_month;
            risk += o.cold_starts_per_month;
            ok &= filtered.alternatives[l].is_some();
        }
        Some((cost, risk, ok && budget.is_none_or(|b| risk <= b + 1e-9)))
    };
    if let Some((cost, _, ok)) = level_cost(0) {
        out.push((vec![0; c.slots.len()], cost, ok));
    }
    if c.slots.len() == 24 {
        let constant = (1..c.levels.len())
            .filter_map(|l| level_cost(l).filter(|x| x.2).map(|x| (l, x.0)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((l, cost)) = constant {
            out.push((vec![l; 24], cost, true));
        }
    }
    out
}

/// The cheapest levels of `base` and their cost, if any meet its risk budget.
fn cheapest_levels_of(base: &Base) -> Option<(Vec<usize>, f64)> {
    can_meet(base).then(|| cheapest_in_base(base)).flatten()
}

/// Whether some levels of `base` meet its risk budget.
fn can_meet(base: &Base) -> bool {
    min_risk(base).is_some_and(|r| base.risk_budget.is_none_or(|b| r <= b + 1e-9))
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
pub(super) fn cheapest(p: &Prepared<'_>, c: &Candidate) -> Option<Outline> {
    let (levels, _) = cheapest_unconstrained(c)?;
    let d = c.deployment(&levels);
    platform(d.platform()).outline(p.ctx.as_ref()?, &d)
}

/// Candidate `i` under the component's own SLO: the base the problem already holds when
/// the candidate is in it (the same filter and budget; rows do not matter alone), else
/// one built here. Building bases and their budgets again was most of what explaining
/// cost on a real fleet.
pub(super) fn slo_base<'b>(
    p: &Prepared<'_>,
    built: &'b Built<'_>,
    i: usize,
    budgets: &mut Budgets<'_>,
) -> Cow<'b, Base> {
    match (
        p.infeasible.is_none(),
        p.item,
        p.base_candidates.iter().position(|&j| j == i),
    ) {
        (true, Some(item), Some(k)) => Cow::Borrowed(&built.problem.items[item].bases[k]),
        _ => {
            let c = &p.candidates[i];
            let slo = &p.spec.slo;
            Cow::Owned(to_base(c, slo, None, &[], None, budgets.of(c)))
        }
    }
}

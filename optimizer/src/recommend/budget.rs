//! The cold-start budget an SLO allows a component: the period it is judged over (from
//! the history's length) and the allowance counted from what the history saw. Every
//! path that plans (one-shot, chunked, elastic, explanations, frontier) asks here, so
//! the rule has one owner.

use adaptd_engine::options::{Candidate, Evaluation};
use adaptd_engine::profile::Profile;
use adaptd_engine::spec::{DEFAULT_SLO_PERIOD_HOURS, MIN_HISTORY_PERIOD_HOURS, Slo};

/// The cold-start budgets of one component's candidates under `slo` (expected cold
/// starts per month, with room for chance; see [`Slo::cold_start_budget_per_month`]),
/// the SLO judged over the period the profile's history stands for
/// ([`Slo::judged_over_history`]). Every path that plans (one-shot, chunked, elastic,
/// explanations, frontier) asks here, so the period is decided in one place.
///
/// Each budget is a search for a Poisson quantile, and a component's candidates share
/// their traffic: it is worked out once per traffic figure (the searches were 4 % of
/// planning a real-shaped fleet).
pub struct Budgets<'a> {
    slo: &'a Slo,
    profile: Option<&'a Profile>,
    /// (invocations per month, as bits; its budget).
    seen: Vec<(u64, Option<f64>)>,
}

impl<'a> Budgets<'a> {
    pub fn new(slo: &'a Slo, profile: Option<&'a Profile>) -> Self {
        Self {
            slo,
            profile,
            seen: Vec::new(),
        }
    }

    /// The budget of candidate `c`.
    pub fn of(&mut self, c: &Candidate) -> Option<f64> {
        let key = c.invocations_per_month.to_bits();
        if let Some((_, b)) = self.seen.iter().find(|(k, _)| *k == key) {
            return *b;
        }
        let b = cold_start_budget(self.slo, self.profile, c.invocations_per_month);
        self.seen.push((key, b));
        b
    }
}

/// The cold-start budget (expected cold starts per month) for `invocations_per_month`
/// under `slo` judged over `profile`'s history. The period's allowance is counted from
/// no more invocations than the history saw in a period of that length: the
/// hour-of-day model extrapolates an hour the history covers only in part (its first
/// or last minutes) to a whole hour, which for a sparse function active in such a
/// minute multiplies its traffic, and with it the cold starts it may have.
pub fn cold_start_budget(
    slo: &Slo,
    profile: Option<&Profile>,
    invocations_per_month: f64,
) -> Option<f64> {
    let seen_per_month = profile.filter(|p| p.observed_minutes > 0).map(|p| {
        let hours = (p.observed_minutes as f64 / 60.0).max(MIN_HISTORY_PERIOD_HOURS);
        p.invocations * DEFAULT_SLO_PERIOD_HOURS / hours
    });
    let counted = seen_per_month.map_or(invocations_per_month, |s| s.min(invocations_per_month));
    judged_slo(slo, profile).cold_start_budget_per_month(counted)
}

/// Whether the prediction `e` keeps `slo`'s cold-start objective with the planned
/// confidence: the test a plan is held to, so a deployment that only meets the
/// objective on average is not kept for want of a large enough saving.
pub fn holds_with_confidence(e: &Evaluation, slo: &Slo, profile: Option<&Profile>) -> bool {
    cold_start_budget(slo, profile, e.invocations_per_month)
        .is_none_or(|b| e.cold_start_rate * e.invocations_per_month <= b * (1.0 + 1e-9) + 1e-9)
}

/// `slo` with the period it is judged over when planned from `profile`'s history (what
/// the recommendation reports as the SLO it was held to).
pub fn judged_slo(slo: &Slo, profile: Option<&Profile>) -> Slo {
    slo.judged_over_history(profile.map_or(0.0, |p| p.covered_minutes as f64 / 60.0))
}

#[cfg(test)]
mod tests {
    use adaptd_engine::profile::summarize;
    use adaptd_engine::spec::{Deployment, FargateConfig};
    use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Stat};

    use super::*;

    /// An 8-hour history from 07:59: four invocations in its first minute, one later.
    fn sparse_profile() -> Profile {
        let mut t = ComponentTelemetry::new("f");
        for m in 479..959 {
            let c = match m {
                479 => 4.0,
                900 => 1.0,
                _ => 0.0,
            };
            t.record(m, Metric::Invocations, Stat::Sum, c).unwrap();
        }
        summarize(&t, 10, 1.0)
    }

    /// At most 1 % cold starts, the rest as defaulted.
    fn one_percent() -> Slo {
        Slo {
            max_cold_start_rate: Some(0.01),
            ..Slo::default()
        }
    }

    #[test]
    fn the_allowance_counts_what_the_history_saw() {
        let p = sparse_profile();
        let slo = one_percent();
        // The hour-of-day model takes 07:00 as a whole hour of 4 a minute: 7,300 a
        // month, 240 a day, which would allow 2 cold starts a day.
        let modelled = 4.0 * 60.0 * 730.0 / 24.0 + 30.0;
        let day = judged_slo(&slo, Some(&p));
        assert_eq!(day.period_hours, Some(MIN_HISTORY_PERIOD_HOURS));
        // The history saw 5 invocations in its day: none allowed, planned at 90 %.
        let b = cold_start_budget(&slo, Some(&p), modelled).unwrap();
        assert!((b * 24.0 / 730.0 - (-(0.9f64).ln())).abs() < 1e-9, "{b}");
        assert!(b < day.cold_start_budget_per_month(modelled).unwrap());
        // Without a profile the candidate's own figure is all there is.
        assert_eq!(
            cold_start_budget(&slo, None, modelled),
            slo.cold_start_budget_per_month(modelled)
        );
    }

    fn serving(invocations_per_month: f64) -> Candidate {
        Candidate {
            label: "c".into(),
            template: Deployment::Fargate(FargateConfig::default()),
            excluded: None,
            fixed_usd_per_month: 0.0,
            levels: vec![0],
            slots: Vec::new(),
            invocations_per_month,
            reserved_concurrency: None,
            db_connections: 0.0,
        }
    }

    #[test]
    fn budgets_remembers_each_traffic_figure_apart() {
        let p = sparse_profile();
        let slo = one_percent();
        let mut budgets = Budgets::new(&slo, Some(&p));
        // Asked in any order, again and again: each candidate's own budget, above the
        // history's cap as below it.
        for n in [3.0, 50_000.0, 3.0, 0.0, 50_000.0, 1e7] {
            assert_eq!(
                budgets.of(&serving(n)),
                cold_start_budget(&slo, Some(&p), n),
                "{n}"
            );
        }
        assert_eq!(budgets.seen.len(), 4);
    }
}

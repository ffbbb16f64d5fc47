//! The dual side: one price search per priced row, and where those searches start and
//! stop.
//!
//! An hour's price mostly moves that hour's usage, so each row runs its own safeguarded
//! secant search on `usage(mu) = capacity` (Illinois-style, most recent bracket) rather
//! than a subgradient step on the whole vector: far fewer evaluations in practice.

use std::time::Instant;

use super::search::Search;
use crate::error::SolveError;
use crate::units::ItemData;

/// One priced row's search for the price at which its usage meets its capacity.
#[derive(Debug, Clone, Default)]
pub(super) struct RowSearch {
    /// Most recent `(price, excess)` with usage above capacity.
    pub(super) over: Option<(f64, f64)>,
    /// Most recent `(price, excess)` with usage at or below capacity.
    pub(super) under: Option<(f64, f64)>,
    pub(super) last_over: bool,
    /// The typical cost per unit of the row's usage (sets the first price to try).
    pub(super) scale: f64,
    /// Usage at the latest price (set by the caller before [`RowSearch::next`]).
    pub(super) demand: f64,
    /// A price at which removing the smallest unit of usage is worth more than every
    /// cost in the problem: higher prices cannot change any choice.
    pub(super) ceiling: f64,
    /// Largest move of the next update (0 until the first positive price).
    pub(super) step: f64,
    /// Sign of the latest excess that called for a move (+1 over, -1 under, 0 none).
    pub(super) last_sign: i8,
}

impl RowSearch {
    /// Next price given the excess (usage minus capacity) at price `mu`. `slack` is how
    /// far below capacity usage may sit before a positive price is lowered.
    pub(super) fn next(&mut self, mu: f64, excess: f64, slack: f64) -> f64 {
        let proposal = self.propose(mu, excess, slack);
        // Rows are coupled (a price moves usage into neighbouring hours), so brackets go
        // stale and a pure secant search can oscillate. Each row therefore also keeps a
        // trust step: it grows while the excess keeps its sign and halves when it flips.
        let sign = if excess > 0.0 {
            1
        } else if mu > 0.0 && excess < -slack {
            -1
        } else {
            0
        };
        if sign != 0 && sign == -self.last_sign {
            self.step *= 0.5;
        } else if sign != 0 && sign == self.last_sign {
            self.step *= 1.5;
        }
        if sign != 0 {
            self.last_sign = sign;
        }
        let next = if mu > 0.0 && self.step > 0.0 {
            proposal.clamp(mu - self.step, mu + self.step)
        } else {
            if self.step <= 0.0 && proposal > 0.0 {
                self.step = proposal;
            }
            proposal
        };
        next.clamp(0.0, self.ceiling)
    }

    /// Forgets the brackets and the direction of the latest moves and shortens the
    /// trust step by `factor`: the search resumes from another price.
    pub(super) fn restart(&mut self, factor: f64) {
        self.over = None;
        self.under = None;
        self.last_over = false;
        self.last_sign = 0;
        self.step *= factor;
    }

    /// The safeguarded secant proposal.
    fn propose(&mut self, mu: f64, excess: f64, slack: f64) -> f64 {
        let secant = |o: (f64, f64), u: (f64, f64)| {
            if o.0 >= u.0 {
                None
            } else {
                Some(o.0 + o.1 * (u.0 - o.0) / (o.1 - u.1))
            }
        };
        if excess > 0.0 {
            if self.last_over
                && let Some(u) = &mut self.under
            {
                u.1 *= 0.5;
            }
            self.over = Some((mu, excess));
            self.last_over = true;
            match self.under.and_then(|u| secant((mu, excess), u)) {
                Some(x) => x,
                None => {
                    self.under = None;
                    if mu <= 0.0 {
                        // If demand fell linearly to nothing at the typical unit cost,
                        // this price would remove just the excess.
                        self.scale * (excess / self.demand.max(excess)).clamp(1e-3, 1.0)
                    } else {
                        mu * 2.0
                    }
                }
            }
        } else if mu <= 0.0 || excess >= -slack {
            mu
        } else {
            if !self.last_over
                && let Some(o) = &mut self.over
            {
                o.1 *= 0.5;
            }
            self.under = Some((mu, excess));
            self.last_over = false;
            match self.over.and_then(|o| secant(o, (mu, excess))) {
                Some(x) => x,
                None => {
                    self.over = None;
                    if mu < self.scale * 1e-3 {
                        0.0
                    } else {
                        mu * 0.5
                    }
                }
            }
        }
    }
}

/// Typical cost per unit of usage of each row: where its price search starts.
pub(super) fn price_scales(data: &[ItemData], rows: usize) -> Vec<f64> {
    let mut sum = vec![0.0; rows];
    let mut n = vec![0.0; rows];
    for d in data.iter().step_by((data.len() / 2000).max(1)) {
        for cb in &d.compact {
            for c in 0..cb.cost.len() {
                if !cb.cost[c].is_finite() || cb.cost[c] <= 0.0 {
                    continue;
                }
                for k in cb.use_start[c] as usize..cb.use_start[c + 1] as usize {
                    let (r, u) = (cb.use_row[k] as usize, cb.use_amt[k]);
                    if u > 0.0 {
                        sum[r] += cb.cost[c] / u;
                        n[r] += 1.0;
                    }
                }
            }
        }
    }
    sum.iter()
        .zip(&n)
        .map(|(s, n)| if *n > 0.0 { s / n } else { 1.0 })
        .collect()
}

/// Per row, the [`RowSearch::ceiling`]: the total of every item's most expensive choice
/// divided by the row's smallest positive usage. Also returns that total, an upper
/// bound on the cost of any assignment (base costs and levels; switches aside).
pub(super) fn price_ceilings(data: &[ItemData], rows: usize) -> (Vec<f64>, f64) {
    let mut total = 0.0;
    let mut unit = vec![f64::INFINITY; rows];
    for d in data {
        let mut worst: f64 = 0.0;
        for cb in &d.compact {
            let mut c = cb.fixed_cost;
            for s in 0..cb.slots {
                let cells = &cb.cost[s * cb.levels..(s + 1) * cb.levels];
                c += cells
                    .iter()
                    .copied()
                    .filter(|x| x.is_finite())
                    .fold(0.0, f64::max);
            }
            worst = worst.max(c);
            let amounts = cb.base_usage.iter().map(|&(r, u)| (r, u));
            let cells = cb.use_row.iter().copied().zip(cb.use_amt.iter().copied());
            for (r, u) in amounts.chain(cells) {
                if u > 0.0 {
                    unit[r as usize] = unit[r as usize].min(u);
                }
            }
        }
        total += worst;
    }
    let ceilings = unit
        .iter()
        .map(|&u| {
            if u.is_finite() {
                (total + 1.0) / u
            } else {
                0.0
            }
        })
        .collect();
    (ceilings, total)
}

impl Search<'_> {
    /// Looks for a proof that the priced rows cannot all hold: prices so high on a set
    /// of rows (all rows still exceeded, then each alone) that the bound passes the
    /// largest cost any assignment can have.
    pub(super) fn prove_rows_infeasible(
        &mut self,
        exceeded: &[usize],
        deadline: Instant,
    ) -> Result<Option<Vec<usize>>, SolveError> {
        let nr = self.problem.rows.len();
        let (ceilings, total) = price_ceilings(&self.data, nr);
        let worst = total + self.problem.switches.iter().map(|x| x.cost).sum::<f64>();
        let mut sets: Vec<Vec<usize>> = vec![exceeded.to_vec()];
        if exceeded.len() > 1 {
            sets.extend(exceeded.iter().map(|&r| vec![r]));
        }
        for set in sets {
            if Instant::now() >= deadline {
                break;
            }
            let mut mu = vec![0.0; nr];
            for &r in &set {
                mu[r] = ceilings[r];
            }
            self.solve_units(&mu, None)?;
            if self.bound(&mu)? > worst * (1.0 + 1e-9) + 1e-9 {
                return Ok(Some(set));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::RowSearch;

    /// A step-free demand curve: the search must settle inside the slack band below
    /// capacity within a handful of evaluations, from a poor first guess.
    #[test]
    fn secant_search_settles_just_below_capacity() {
        for (scale, cap) in [(1.0, 50.0), (0.05, 90.0), (20.0, 10.0)] {
            let demand = |mu: f64| 100.0 / (1.0 + 3.0 * mu);
            let mut search = RowSearch {
                scale,
                ceiling: 1e6,
                ..RowSearch::default()
            };
            let slack = 0.01 * cap;
            let mut mu = 0.0;
            let mut steps = 0;
            loop {
                let d = demand(mu);
                search.demand = d;
                let next = search.next(mu, d - cap, slack);
                steps += 1;
                if next == mu {
                    break;
                }
                assert!(steps < 40, "no convergence from scale {scale}");
                mu = next;
            }
            let d = demand(mu);
            assert!(d <= cap && d >= cap - slack, "usage {d} for capacity {cap}");
        }
    }

    /// Going back to the best prices: brackets measured elsewhere are dropped, and the
    /// first move from there is at most the shortened step whatever the excess.
    #[test]
    fn a_restart_forgets_the_brackets_and_moves_in_shorter_steps() {
        let demand = |mu: f64| 100.0 / (1.0 + 3.0 * mu);
        let cap = 50.0;
        let mut search = RowSearch {
            scale: 1.0,
            ceiling: 1e6,
            ..RowSearch::default()
        };
        let mut mu = 0.0;
        for _ in 0..4 {
            let d = demand(mu);
            search.demand = d;
            mu = search.next(mu, d - cap, 0.5);
        }
        assert!(search.over.is_some() || search.under.is_some());
        let step = search.step;
        assert!(step > 0.0);
        search.restart(0.25);
        assert!(search.over.is_none() && search.under.is_none());
        let at = 0.05;
        let d = demand(at);
        search.demand = d;
        let next = search.next(at, d - cap, 0.5);
        assert!(
            next > at && next <= at + 0.25 * step + 1e-12,
            "moved from {at} to {next} with step {step}"
        );
    }

    #[test]
    fn slack_rows_stay_free_and_prices_respect_the_ceiling() {
        let mut search = RowSearch {
            scale: 1.0,
            ceiling: 4.0,
            ..RowSearch::default()
        };
        assert_eq!(search.next(0.0, -5.0, 1.0), 0.0);
        // Usage that never falls: prices climb to the ceiling and stop there.
        let mut mu = 0.0;
        for _ in 0..20 {
            search.demand = 10.0;
            mu = search.next(mu, 5.0, 1.0);
        }
        assert_eq!(mu, 4.0);
    }
}

//! How long requests wait for a free slot in a service of `c` parallel slots: an M/G/c
//! queue, approximated from M/M/c (Erlang C) by the two-moment Allen–Cunneen rule.
//!
//! **The rule.** A request waits with Erlang C's probability `C(c, a)`, and, if it
//! waits, for an exponential time whose mean is M/M/c's `S / (c − a)` scaled by
//! `k = (1 + CV²) / 2`, `CV²` the squared coefficient of variation of the service
//! time (Allen, *Probability, Statistics, and Queueing Theory*, 2nd ed., 1990, §6;
//! Tijms, *A First Course in Stochastic Models*, 2003, §5.7; exact for the mean wait
//! at `c = 1`, Pollaczek–Khinchine). So `P(W > t) = C · exp(−t (c − a) / (k S))`.
//! Exponential service times (`CV² = 1`, `k = 1`) give M/M/c itself; the steady
//! durations of most services (CV² well below 1) wait about half as long.
//!
//! **The cap at `CV² = 1`.** Two moments cannot fix the M/G/c wait when service times
//! are more variable than exponential (Gupta, Harchol-Balter, Dai and Zwart, *On the
//! inapproximability of M/G/K: why two moments of job size distribution are not
//! enough*, Queueing Systems 64, 2010): a variance made by a rare very long request
//! holds one slot of `c` while the others go on, which a two-moment rule reads as the
//! whole queue slowing. Simulated against the Azure trace's heavy-tailed durations
//! (CV² 2.4, a 1 % tail to 30× the median), the uncapped rule put 2–5× too many
//! requests over the wait threshold while Erlang C's exponential was within 20 %; on a
//! lognormal of CV² 1.9 the truth lay between the two (docs/models.md, "Fargate"). So
//! `k` stops at 1: above it M/M/c, which errs by less than either alternative tried.

/// Probability that an arrival waits, for `c` servers and offered load `a = λ·S`
/// (Erlang C). 1 when the system is unstable (`a ≥ c`).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if c == 0 || a >= f64::from(c) {
        return 1.0;
    }
    if a <= 0.0 {
        return 0.0;
    }
    // Erlang B by its stable recurrence, then C from B.
    let mut b = 1.0;
    for i in 1..=c {
        b = a * b / (f64::from(i) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho * (1.0 - b))
}

/// The Allen–Cunneen factor `(1 + CV²) / 2` on the conditional wait, with `CV²`
/// capped at 1 (see the module doc).
pub fn variability_factor(scv: f64) -> f64 {
    (1.0 + scv.clamp(0.0, 1.0)) / 2.0
}

/// Decay rate of the conditional wait (per unit of `service`): `(c − a) / (k S)`.
fn decay(c: u32, arrival_rate: f64, service: f64, scv: f64) -> f64 {
    (f64::from(c) / service - arrival_rate) / variability_factor(scv)
}

/// Probability that a request waits longer than `t` (same unit as `service`), for
/// `c` slots, `arrival_rate` requests per unit, mean service time `service` of squared
/// coefficient of variation `scv`. 1 when the queue is unstable.
pub fn wait_over(c: u32, arrival_rate: f64, service: f64, scv: f64, t: f64) -> f64 {
    let a = arrival_rate * service;
    if a >= f64::from(c) {
        return 1.0;
    }
    let pw = erlang_c(c, a);
    if pw <= 0.0 {
        return 0.0;
    }
    pw * (-t.max(0.0) * decay(c, arrival_rate, service, scv)).exp()
}

/// Quantile `p` of the waiting time (same unit as `service`): 0 with probability
/// `1 − C`, exponential with [`wait_over`]'s decay otherwise. Infinite when unstable.
pub fn wait_quantile(c: u32, arrival_rate: f64, service: f64, scv: f64, p: f64) -> f64 {
    let a = arrival_rate * service;
    if c == 0 || a >= f64::from(c) {
        return f64::INFINITY;
    }
    let pw = erlang_c(c, a);
    let tail = 1.0 - p;
    if pw <= tail {
        return 0.0;
    }
    (pw / tail).ln() / decay(c, arrival_rate, service, scv)
}

#[cfg(test)]
#[path = "queueing_tests.rs"]
mod tests;

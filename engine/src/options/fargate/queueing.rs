//! M/M/c queueing (Erlang C): how long requests wait for a free slot in a service of
//! `c` parallel slots.

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

/// Quantile `p` of the waiting time (same unit as `service`): waits are 0 with
/// probability `1 - C` and exponential with rate `c/S - λ` otherwise.
pub fn wait_quantile(c: u32, arrival_rate: f64, service: f64, p: f64) -> f64 {
    let a = arrival_rate * service;
    let pw = erlang_c(c, a);
    if pw >= 1.0 && a >= f64::from(c) {
        return f64::INFINITY;
    }
    let tail = 1.0 - p;
    if pw <= tail {
        return 0.0;
    }
    let rate = f64::from(c) / service - arrival_rate;
    (pw / tail).ln() / rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_textbook_values() {
        // c = 1 is M/M/1: P(wait) = ρ.
        assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
        // c = 2, a = 1: C = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        // A call-centre table value: c = 10, a = 8 → C ≈ 0.409.
        assert!(
            (erlang_c(10, 8.0) - 0.4092).abs() < 1e-3,
            "{}",
            erlang_c(10, 8.0)
        );
        assert_eq!(erlang_c(3, 3.0), 1.0);
    }

    #[test]
    fn waits_vanish_with_spare_capacity() {
        assert_eq!(wait_quantile(50, 10.0, 1.0, 0.99), 0.0);
        // M/M/1 at ρ = 0.5, S = 1: P(W > t) = 0.5·e^{-0.5 t}; p99 → t = 2 ln 50.
        let t = wait_quantile(1, 0.5, 1.0, 0.99);
        assert!((t - 2.0 * 50f64.ln()).abs() < 1e-9, "{t}");
        assert!(wait_quantile(1, 2.0, 1.0, 0.99).is_infinite());
    }
}

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
    assert_eq!(wait_quantile(50, 10.0, 1.0, 1.0, 0.99), 0.0);
    // M/M/1 at ρ = 0.5, S = 1: P(W > t) = 0.5·e^{-0.5 t}; p99 → t = 2 ln 50.
    let t = wait_quantile(1, 0.5, 1.0, 1.0, 0.99);
    assert!((t - 2.0 * 50f64.ln()).abs() < 1e-9, "{t}");
    assert!((wait_over(1, 0.5, 1.0, 1.0, t) - 0.01).abs() < 1e-12);
    assert!(wait_quantile(1, 2.0, 1.0, 1.0, 0.99).is_infinite());
    assert_eq!(wait_over(1, 2.0, 1.0, 1.0, 5.0), 1.0);
}

#[test]
fn steady_service_waits_half_as_long_and_heavy_tails_stop_at_erlang_c() {
    let mmc = wait_quantile(6, 4.2, 1.0, 1.0, 0.99);
    // Constant service: Allen–Cunneen halves the conditional wait (exact mean at c = 1,
    // M/D/1 against M/M/1).
    assert!((wait_quantile(6, 4.2, 1.0, 0.0, 0.99) - mmc / 2.0).abs() < 1e-12);
    // More variable than exponential: capped at M/M/c (module doc).
    assert_eq!(wait_quantile(6, 4.2, 1.0, 2.4, 0.99), mmc);
    assert_eq!(
        wait_over(6, 4.2, 1.0, 2.4, 0.8),
        wait_over(6, 4.2, 1.0, 1.0, 0.8)
    );
    // P(wait > 0) is Erlang C whatever the variability.
    assert!((wait_over(6, 4.2, 1.0, 0.0, 0.0) - erlang_c(6, 4.2)).abs() < 1e-12);
}

/// A FIFO queue of `c` slots simulated with Poisson arrivals at `rate` and service
/// times from `service(u)` for uniform `u`: the share of requests waiting over `t`.
fn simulated_wait_over(c: u32, rate: f64, service: impl Fn(f64) -> f64, t: f64) -> f64 {
    // SplitMix64: deterministic, no dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uniform = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut free = vec![0.0f64; c as usize];
    let (mut now, mut over, mut n) = (0.0, 0u32, 0u32);
    for i in 0..200_000 {
        now += -(1.0 - uniform()).ln() / rate;
        let (slot, &at) = free
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .expect("c > 0");
        let start = at.max(now);
        free[slot] = start + service(uniform());
        if i >= 10_000 {
            n += 1;
            over += u32::from(start - now > t);
        }
    }
    f64::from(over) / f64::from(n)
}

#[test]
fn the_rule_follows_a_simulated_queue_where_erlang_c_does_not() {
    // Six slots 70 % busy, a threshold of 0.8 mean service times.
    let (c, rate, t) = (6, 4.2, 0.8);
    // Service uniform on [0.9, 1.1] (CV² 0.003): Erlang C puts four times too many
    // over the threshold; the rule is within 15 %.
    let sim = simulated_wait_over(c, rate, |u| 0.9 + 0.2 * u, t);
    let rule = wait_over(c, rate, 1.0, 0.2f64.powi(2) / 12.0, t);
    let mmc = wait_over(c, rate, 1.0, 1.0, t);
    assert!((rule / sim - 1.0).abs() < 0.15, "rule {rule} sim {sim}");
    assert!(mmc > 3.0 * sim, "M/M/c {mmc} sim {sim}");
    // Exponential service: the rule is Erlang C, exact.
    let sim = simulated_wait_over(c, rate, |u| -(1.0 - u).ln(), t);
    let rule = wait_over(c, rate, 1.0, 1.0, t);
    assert!((rule / sim - 1.0).abs() < 0.1, "rule {rule} sim {sim}");
}

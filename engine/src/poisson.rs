//! Poisson probabilities, the arithmetic of "arrivals at random instants".
//!
//! Occupancy of an infinite-server system with Poisson arrivals (M/G/∞) is Poisson
//! with mean `rate × mean duration`, whatever the duration distribution; the latency
//! model leans on that for concurrency. Means reach the thousands for busy functions,
//! so everything is computed in log space or, far from the origin, by the normal
//! approximation.

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9; ~15 significant digits).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `P(N = k)` for `N ~ Poisson(mean)`.
pub fn pmf(mean: f64, k: u64) -> f64 {
    if mean <= 0.0 {
        return if k == 0 { 1.0 } else { 0.0 };
    }
    let k = k as f64;
    (k * mean.ln() - mean - ln_gamma(k + 1.0)).exp()
}

/// Above this mean the normal approximation replaces the exact sum.
const NORMAL_ABOVE: f64 = 400.0;

/// `P(N ≤ k)`.
pub fn cdf(mean: f64, k: u64) -> f64 {
    if mean <= 0.0 {
        return 1.0;
    }
    if mean > NORMAL_ABOVE {
        let z = (k as f64 + 0.5 - mean) / mean.sqrt();
        return normal_cdf(z);
    }
    // Sum from the side nearer the tail for accuracy.
    let kf = k as f64;
    if kf < mean {
        let mut term = pmf(mean, k);
        let mut sum = term;
        let mut i = k;
        while i > 0 && term > sum * 1e-17 {
            term *= i as f64 / mean;
            i -= 1;
            sum += term;
        }
        sum.min(1.0)
    } else {
        1.0 - sf_from(mean, k + 1)
    }
}

/// `P(N ≥ k)`.
pub fn sf(mean: f64, k: u64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if mean <= 0.0 {
        return 0.0;
    }
    if mean > NORMAL_ABOVE {
        let z = (k as f64 - 0.5 - mean) / mean.sqrt();
        return 1.0 - normal_cdf(z);
    }
    if (k as f64) <= mean {
        1.0 - cdf(mean, k - 1)
    } else {
        sf_from(mean, k)
    }
}

/// `P(N ≥ k)` for `k` above the mean, summing the upper tail.
fn sf_from(mean: f64, k: u64) -> f64 {
    let mut term = pmf(mean, k);
    let mut sum = term;
    let mut i = k;
    while term > sum * 1e-17 && term > 0.0 {
        i += 1;
        term *= mean / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

/// `E[(N - k)+]`: the expected excess over `k`, e.g. invocations that find `k`
/// provisioned environments busy, in units of occupancy.
pub fn expected_excess(mean: f64, k: u64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    // E[(N-k)+] = E[N] - E[min(N,k)] and E[min(N,k)] = Σ_{j<k} P(N > j).
    let mut below = 0.0;
    for j in 0..k {
        let tail = sf(mean, j + 1);
        below += tail;
        if tail < 1e-15 {
            break;
        }
    }
    (mean - below).max(0.0)
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 through erf; |error| < 1.5e-7).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    sign * y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..30u32 {
            f *= f64::from(n);
            assert!(
                (ln_gamma(f64::from(n) + 1.0) - f.ln()).abs() < 1e-9,
                "n={n}"
            );
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn pmf_sums_to_one_and_cdf_agrees() {
        for mean in [0.01, 0.5, 3.0, 40.0, 300.0] {
            let total: f64 = (0..2000).map(|k| pmf(mean, k)).sum();
            assert!((total - 1.0).abs() < 1e-9, "mean={mean} total={total}");
            let mut acc = 0.0;
            for k in 0..(mean as u64 * 3 + 10) {
                acc += pmf(mean, k);
                assert!((cdf(mean, k) - acc).abs() < 1e-9, "mean={mean} k={k}");
                assert!(
                    (sf(mean, k + 1) - (1.0 - acc)).abs() < 1e-9,
                    "mean={mean} k={k}"
                );
            }
        }
    }

    #[test]
    fn known_values() {
        // P(N ≥ 2) for mean 1: 1 - 2/e.
        assert!((sf(1.0, 2) - (1.0 - 2.0 / std::f64::consts::E)).abs() < 1e-12);
        // E[(N-0)+] is the mean; E[(N-1)+] = mean - P(N ≥ 1).
        assert!((expected_excess(2.5, 0) - 2.5).abs() < 1e-12);
        assert!((expected_excess(2.5, 1) - (2.5 - (1.0 - (-2.5f64).exp()))).abs() < 1e-12);
        // Normal regime is continuous with the exact one near the switch.
        let exact = sf(399.0, 430);
        let approx = sf(401.0, 432);
        assert!((exact - approx).abs() < 0.01, "{exact} vs {approx}");
    }
}

/// `P(N = j)` for `j = 0..len`, by recurrence outward from the mode so that neither
/// underflow (`e^-1000`) nor per-term `ln Γ` costs anything. Terms below `f64`'s range
/// are zero. The table ends early once the terms above the mode fall below
/// [`TAIL_END`]: everything the models do with it (survival, peaks, blocking) walks its
/// length, and for the small means of sparse traffic most of [`table_len`] is zeros.
pub fn pmf_table(mean: f64, len: usize) -> Vec<f64> {
    let mut t = vec![0.0; len];
    if len == 0 {
        return t;
    }
    if mean <= 0.0 {
        t[0] = 1.0;
        return t;
    }
    let mode = (mean.floor() as usize).min(len - 1);
    t[mode] = pmf(mean, mode as u64);
    for j in (mode + 1)..len {
        t[j] = t[j - 1] * mean / j as f64;
        if t[j] < TAIL_END {
            t.truncate(j + 1);
            break;
        }
    }
    for j in (0..mode).rev() {
        t[j] = t[j + 1] * (j + 1) as f64 / mean;
    }
    t
}

/// Where a table's upper tail ends: a term below this, beyond the mode, and every term
/// after it (they only fall) is left out. The mass left out is below `1e-17`.
pub const TAIL_END: f64 = 1e-18;

/// A length that covers every term of `Poisson(mean)` above ~1e-16.
pub fn table_len(mean: f64) -> usize {
    (mean + 12.0 * mean.sqrt() + 24.0).ceil() as usize
}

/// `P(N ≥ j)` for `j = 0..=len` from a [`pmf_table`] (the mass beyond the table is
/// negligible by construction of [`table_len`]).
pub fn sf_table(pmf: &[f64]) -> Vec<f64> {
    let mut s = vec![0.0; pmf.len() + 1];
    for j in (0..pmf.len()).rev() {
        s[j] = s[j + 1] + pmf[j];
    }
    // Summation error must not leave P(N ≥ 0) above 1.
    for v in &mut s {
        *v = v.min(1.0);
    }
    s
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn tables_agree_with_the_direct_functions() {
        for mean in [0.0, 0.003, 0.7, 5.0, 80.0, 1500.0] {
            let len = table_len(mean);
            let p = pmf_table(mean, len);
            let s = sf_table(&p);
            assert!(
                p.len() <= len && p.len() < 60 + 2 * mean as usize,
                "mean={mean}"
            );
            for j in 0..len.min(400) {
                let (p_j, s_j) = (
                    p.get(j).copied().unwrap_or(0.0),
                    s.get(j).copied().unwrap_or(0.0),
                );
                assert!(
                    (p_j - pmf(mean, j as u64)).abs() < 1e-12,
                    "pmf mean={mean} j={j}"
                );
                if mean <= NORMAL_ABOVE {
                    assert!(
                        (s_j - sf(mean, j as u64)).abs() < 1e-9,
                        "sf mean={mean} j={j}: {} vs {}",
                        s_j,
                        sf(mean, j as u64)
                    );
                }
            }
        }
    }
}

/// `P(K = k)` for `K ~ Binomial(n, q)`, `k = 0..=n`, by recurrence outward from the mode
/// (no underflow for large `n`). Terms below `f64`'s range are zero.
pub fn binomial_pmf_table(n: u64, q: f64) -> Vec<f64> {
    // Beyond mean + 12 sd (plus a margin) the mass is below 1e-16: not stored.
    let sd = (n as f64 * q * (1.0 - q)).sqrt();
    let reach = (n as f64 * q + 12.0 * sd + 24.0).ceil() as u64;
    let len = usize::try_from(n.min(reach)).unwrap_or(usize::MAX - 1) + 1;
    let mut t = vec![0.0; len];
    if q <= 0.0 {
        t[0] = 1.0;
        return t;
    }
    if q >= 1.0 {
        let mut t = vec![0.0; usize::try_from(n).unwrap_or(usize::MAX - 1) + 1];
        t[usize::try_from(n).unwrap_or(0)] = 1.0;
        return t;
    }
    let nf = n as f64;
    let mode = (((nf + 1.0) * q).floor() as usize).min(len - 1);
    let m = mode as f64;
    t[mode] = (ln_gamma(nf + 1.0) - ln_gamma(m + 1.0) - ln_gamma(nf - m + 1.0)
        + m * q.ln()
        + (nf - m) * (1.0 - q).ln())
    .exp();
    let odds = q / (1.0 - q);
    for k in (mode + 1)..len {
        t[k] = t[k - 1] * (nf - (k - 1) as f64) / k as f64 * odds;
        if t[k] < TAIL_END {
            t.truncate(k + 1);
            break;
        }
    }
    for k in (0..mode).rev() {
        t[k] = t[k + 1] * (k + 1) as f64 / (nf - k as f64) / odds;
    }
    t
}

/// The distribution of the sum of two independent counts.
pub fn convolve(a: &[f64], b: &[f64]) -> Vec<f64> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        if x < 1e-18 {
            continue;
        }
        for (j, &y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

#[cfg(test)]
mod binomial_tests {
    use super::*;

    #[test]
    fn binomial_sums_to_one_with_the_right_mean() {
        for (n, q) in [(0u64, 0.3), (1, 0.5), (10, 0.25), (400, 0.9), (5000, 0.5)] {
            let t = binomial_pmf_table(n, q);
            let total: f64 = t.iter().sum();
            let mean: f64 = t.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
            assert!((total - 1.0).abs() < 1e-9, "n={n} q={q} total={total}");
            assert!(
                (mean - n as f64 * q).abs() < 1e-6 * (1.0 + n as f64),
                "n={n} q={q} mean={mean}"
            );
        }
        // Exact small case: Binomial(2, 0.5) = 1/4, 1/2, 1/4.
        let t = binomial_pmf_table(2, 0.5);
        assert!(
            (t[0] - 0.25).abs() < 1e-12
                && (t[1] - 0.5).abs() < 1e-12
                && (t[2] - 0.25).abs() < 1e-12
        );
        let c = convolve(&[0.5, 0.5], &[0.5, 0.5]);
        assert_eq!(c, vec![0.25, 0.5, 0.25]);
    }
}

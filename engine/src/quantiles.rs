//! Distributions known only through a few percentile points.
//!
//! Sources rarely give a full distribution: CloudWatch gives p50/p90/p99/max, the Azure
//! trace gives p0/p1/p25/p50/p75/p99/p100. [`QuantileSet`] treats those points as a
//! piecewise-linear inverse CDF, which is what the replay samples from and what the
//! latency model integrates, so both agree by construction.

use serde::{Deserialize, Serialize};

/// A distribution given by points `(probability, value)` of its inverse CDF, sorted by
/// probability, with values non-decreasing. Between points it is linear; below the first
/// and above the last point it is flat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantileSet {
    points: Vec<(f64, f64)>,
    /// The mean the source reported, if any (informational; see [`QuantileSet::mean`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mean: Option<f64>,
}

/// Why a set of percentile points is not a distribution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantileError {
    /// No points.
    #[error("no percentile points")]
    Empty,
    /// A probability outside 0–1 or a non-finite value.
    #[error("percentile point ({0}, {1}) is out of range (probability in 0–1, finite value)")]
    OutOfRange(f64, f64),
    /// Values decrease as probability increases.
    #[error("percentiles decrease: p{p0} = {v0} but p{p1} = {v1}", p0 = .0 * 100.0, v0 = .1, p1 = .2 * 100.0, v1 = .3)]
    Decreasing(f64, f64, f64, f64),
}

impl QuantileSet {
    /// Builds a set from `(probability, value)` points in any order. Duplicate
    /// probabilities keep the last value. Values must not decrease with probability.
    pub fn new(mut points: Vec<(f64, f64)>, mean: Option<f64>) -> Result<Self, QuantileError> {
        if points.is_empty() {
            return Err(QuantileError::Empty);
        }
        for &(p, v) in &points {
            if !(0.0..=1.0).contains(&p) || !v.is_finite() {
                return Err(QuantileError::OutOfRange(p, v));
            }
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                earlier.1 = later.1;
                true
            } else {
                false
            }
        });
        for w in points.windows(2) {
            if w[1].1 < w[0].1 {
                return Err(QuantileError::Decreasing(w[0].0, w[0].1, w[1].0, w[1].1));
            }
        }
        let mean = mean.filter(|m| m.is_finite());
        Ok(Self { points, mean })
    }

    /// A distribution concentrated on one value.
    pub fn constant(value: f64) -> Self {
        Self {
            points: vec![(0.0, value), (1.0, value)],
            mean: Some(value),
        }
    }

    /// The points, sorted by probability.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    /// The value below which a share `p` of the mass lies.
    pub fn quantile(&self, p: f64) -> f64 {
        let pts = &self.points;
        let p = p.clamp(0.0, 1.0);
        if p <= pts[0].0 {
            return pts[0].1;
        }
        let last = pts[pts.len() - 1];
        if p >= last.0 {
            return last.1;
        }
        let i = pts.partition_point(|&(q, _)| q <= p);
        let (p0, v0) = pts[i - 1];
        let (p1, v1) = pts[i];
        v0 + (v1 - v0) * (p - p0) / (p1 - p0)
    }

    /// The share of the mass at or below `x` (inverse of [`quantile`](Self::quantile)).
    pub fn cdf(&self, x: f64) -> f64 {
        let pts = &self.points;
        if x < pts[0].1 {
            return 0.0;
        }
        let last = pts[pts.len() - 1];
        if x >= last.1 {
            return 1.0;
        }
        // Last point with value <= x; the next one has a larger value.
        let i = pts.partition_point(|&(_, v)| v <= x);
        let (p0, v0) = pts[i - 1];
        let (p1, v1) = pts[i];
        if v1 == v0 {
            p1
        } else {
            p0 + (p1 - p0) * (x - v0) / (v1 - v0)
        }
    }

    /// The mean of the distribution (the integral of its inverse CDF). Costs, latency
    /// and the replay all use this one distribution, so they agree; a source's reported
    /// mean is kept apart ([`reported_mean`](Self::reported_mean)) because percentiles
    /// and a mean from different aggregations rarely describe one distribution (the
    /// Azure trace's percentiles are of 30-second averages).
    pub fn mean(&self) -> f64 {
        self.integral_mean()
    }

    /// The reported mean, if the source gave one.
    pub fn reported_mean(&self) -> Option<f64> {
        self.mean
    }

    /// Mean of the piecewise-linear inverse CDF (exact trapezoids, flat ends).
    pub fn integral_mean(&self) -> f64 {
        let pts = &self.points;
        let mut total = pts[0].0 * pts[0].1;
        for w in pts.windows(2) {
            total += (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0;
        }
        let last = pts[pts.len() - 1];
        total + (1.0 - last.0) * last.1
    }

    /// Squared coefficient of variation, `Var X / (E X)²`, exactly (each segment of the
    /// inverse CDF is a uniform stretch: `E X² = Σ Δp (v₀² + v₀v₁ + v₁²) / 3`). The M/G/c
    /// wait of a Fargate service reads how variable its service times are from it; a
    /// rescaled distribution ([`scaled`](Self::scaled)) keeps it. 0 for a constant or
    /// a zero mean.
    pub fn scv(&self) -> f64 {
        let pts = &self.points;
        let mut second = pts[0].0 * pts[0].1 * pts[0].1;
        for w in pts.windows(2) {
            let ((p0, v0), (p1, v1)) = (w[0], w[1]);
            second += (p1 - p0) * (v0 * v0 + v0 * v1 + v1 * v1) / 3.0;
        }
        let last = pts[pts.len() - 1];
        second += (1.0 - last.0) * last.1 * last.1;
        let mean = self.integral_mean();
        if mean <= 0.0 {
            return 0.0;
        }
        (second / (mean * mean) - 1.0).max(0.0)
    }

    /// Mean of `f(X)`, integrating over `steps` equal slices of probability (midpoints).
    pub fn expect(&self, steps: usize, f: impl Fn(f64) -> f64) -> f64 {
        let steps = steps.max(1);
        let n = steps as f64;
        (0..steps)
            .map(|i| f(self.quantile((i as f64 + 0.5) / n)))
            .sum::<f64>()
            / n
    }

    /// `E[min(X, cap)]`, exactly (piecewise-linear integration with the crossing point
    /// of each segment).
    pub fn expected_min(&self, cap: f64) -> f64 {
        let pts = &self.points;
        let mut total = pts[0].0 * pts[0].1.min(cap);
        for w in pts.windows(2) {
            let ((p0, v0), (p1, v1)) = (w[0], w[1]);
            let dp = p1 - p0;
            if v1 <= cap {
                total += dp * (v0 + v1) / 2.0;
            } else if v0 >= cap {
                total += dp * cap;
            } else {
                let t = (cap - v0) / (v1 - v0);
                total += dp * t * (v0 + cap) / 2.0 + dp * (1.0 - t) * cap;
            }
        }
        let last = pts[pts.len() - 1];
        total + (1.0 - last.0) * last.1.min(cap)
    }

    /// `E[(X − cap)+]`, exactly.
    pub fn expected_excess(&self, cap: f64) -> f64 {
        (self.integral_mean() - self.expected_min(cap)).max(0.0)
    }

    /// `E[⌈X / unit⌉ · unit]` with at least one unit: the mean billed amount when each
    /// draw is rounded up. Segments much wider than a unit round up by half a unit on
    /// average; narrow ones are integrated numerically.
    pub fn expected_rounded_up(&self, unit: f64) -> f64 {
        let unit = unit.max(1e-12);
        let billed = |x: f64| (x / unit).ceil().max(1.0) * unit;
        let pts = &self.points;
        let mut total = pts[0].0 * billed(pts[0].1);
        for w in pts.windows(2) {
            let ((p0, v0), (p1, v1)) = (w[0], w[1]);
            let dp = p1 - p0;
            if dp <= 0.0 {
                continue;
            }
            if v1 - v0 >= 20.0 * unit && v0 >= unit {
                total += dp * ((v0 + v1) / 2.0 + unit / 2.0);
            } else {
                const STEPS: usize = 32;
                let mut acc = 0.0;
                for i in 0..STEPS {
                    let t = (i as f64 + 0.5) / STEPS as f64;
                    acc += billed(v0 + t * (v1 - v0));
                }
                total += dp * acc / STEPS as f64;
            }
        }
        let last = pts[pts.len() - 1];
        total + (1.0 - last.0) * billed(last.1)
    }

    /// The same distribution with every value multiplied by `factor` (> 0).
    pub fn scaled(&self, factor: f64) -> Self {
        Self {
            points: self.points.iter().map(|&(p, v)| (p, v * factor)).collect(),
            mean: self.mean.map(|m| m * factor),
        }
    }

    /// The largest value.
    pub fn max(&self) -> f64 {
        self.points[self.points.len() - 1].1
    }
}

/// The distribution a source's summary statistics describe: percentile points
/// `(probability, value)` (any order; rounding may make them cross by a hair, which is
/// smoothed) and a reported mean. Without a 0th percentile the lower tail is unknown: it
/// is placed so that the distribution's mean is the reported one (within `[0, first
/// point]`), so that billing from the distribution matches the source. A lone mean
/// becomes a constant. Every consumer (the engine's profile, the replay) reads sources
/// through this one rule.
pub fn from_stats(
    mut points: Vec<(f64, f64)>,
    mean: Option<f64>,
) -> Result<Option<QuantileSet>, QuantileError> {
    if points.is_empty() {
        return Ok(mean.map(QuantileSet::constant));
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    for i in 1..points.len() {
        if points[i].1 < points[i - 1].1 {
            points[i].1 = points[i - 1].1;
        }
    }
    if let (Some(avg), Some(&(p1, v1))) = (mean, points.first())
        && p1 > 0.0
    {
        let q = QuantileSet::new(points.clone(), None)?;
        let v0 = (v1 - 2.0 * (q.integral_mean() - avg) / p1).clamp(0.0, v1);
        points.insert(0, (0.0, v0));
    }
    QuantileSet::new(points, mean).map(Some)
}

/// Quantile `p` of a mixture: with probability `1 - w` a draw from `base`, with
/// probability `w` a draw from `base` plus `shift`. That is what "p99 including cold
/// starts" means.
pub fn shifted_mixture_quantile(base: &QuantileSet, w: f64, shift: f64, p: f64) -> f64 {
    let w = w.clamp(0.0, 1.0);
    if w <= 0.0 || shift <= 0.0 {
        return base.quantile(p);
    }
    // Usually the shifted mass starts above the quantile: then it is the base's
    // quantile at p / (1 − w), no search needed.
    let q = p / (1.0 - w);
    if q <= 1.0 {
        let x = base.quantile(q);
        if x - shift < base.quantile(0.0) {
            return x;
        }
    }
    mixture_quantile(&[(base, 0.0, 1.0 - w), (base, shift, w)], p)
}

/// Quantile `p` of a weighted mixture of shifted distributions: term `(d, s, w)` is a
/// draw from `d` plus `s`, with weight `w`.
///
/// Exact, not searched: every term's CDF is linear between its points, so the
/// mixture's is linear between the union of all terms' (shifted) points. A binary
/// search over those points finds the segment holding `p` in a handful of CDF
/// evaluations, and the segment is inverted directly — where a bisection on the
/// mixture took a hundred evaluations for each quantile of each hour of each option.
pub fn mixture_quantile(terms: &[(&QuantileSet, f64, f64)], p: f64) -> f64 {
    let total: f64 = terms.iter().map(|t| t.2).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let cdf = |x: f64| {
        terms
            .iter()
            .map(|&(d, shift, w)| w * d.cdf(x - shift))
            .sum::<f64>()
            / total
    };
    let mut xs: Vec<f64> = terms
        .iter()
        .filter(|t| t.2 > 0.0)
        .flat_map(|&(d, shift, _)| d.points.iter().map(move |&(_, v)| v + shift))
        .collect();
    xs.sort_unstable_by(f64::total_cmp);
    xs.dedup();
    // The first point at which the mixture reaches p; below it, it is short of p.
    let k = xs.partition_point(|&x| cdf(x) < p);
    if k == 0 {
        return xs.first().copied().unwrap_or(0.0);
    }
    let Some(&b) = xs.get(k) else {
        return xs[k - 1];
    };
    let a = xs[k - 1];
    // Linear on [a, b), and perhaps a jump at b (a point of several terms' mass).
    let fa = cdf(a);
    let mid = a + (b - a) / 2.0;
    let slope = (cdf(mid) - fa) / (mid - a);
    if slope <= 0.0 {
        return b;
    }
    (a + (p - fa) / slope).min(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn azure_like() -> QuantileSet {
        QuantileSet::new(
            vec![
                (0.0, 10.0),
                (0.01, 12.0),
                (0.25, 20.0),
                (0.5, 30.0),
                (0.75, 50.0),
                (0.99, 200.0),
                (1.0, 400.0),
            ],
            None,
        )
        .unwrap()
    }

    #[test]
    fn quantile_interpolates_and_cdf_inverts_it() {
        let q = azure_like();
        assert!((q.quantile(0.5) - 30.0).abs() < 1e-12);
        assert!((q.quantile(0.625) - 40.0).abs() < 1e-12);
        for p in [0.0, 0.1, 0.3, 0.5, 0.8, 0.99, 0.995] {
            let x = q.quantile(p);
            assert!((q.cdf(x) - p).abs() < 1e-9, "p={p} x={x} cdf={}", q.cdf(x));
        }
        assert_eq!(q.cdf(5.0), 0.0);
        assert_eq!(q.cdf(400.0), 1.0);
    }

    #[test]
    fn integral_mean_is_exact_for_trapezoids() {
        let q = QuantileSet::new(vec![(0.0, 0.0), (1.0, 10.0)], None).unwrap();
        assert!((q.mean() - 5.0).abs() < 1e-12);
        let q = QuantileSet::new(vec![(0.5, 2.0)], None).unwrap();
        assert!((q.mean() - 2.0).abs() < 1e-12);
        let with_reported = QuantileSet::new(vec![(0.0, 0.0), (1.0, 10.0)], Some(3.0)).unwrap();
        assert_eq!(with_reported.reported_mean(), Some(3.0));
        assert!((with_reported.mean() - 5.0).abs() < 1e-12);
    }

    #[test]
    fn refuses_decreasing_points() {
        let e = QuantileSet::new(vec![(0.5, 10.0), (0.9, 5.0)], None).unwrap_err();
        assert!(e.to_string().contains("p50 = 10 but p90 = 5"), "{e}");
        assert!(QuantileSet::new(vec![], None).is_err());
        assert!(QuantileSet::new(vec![(1.5, 1.0)], None).is_err());
    }

    #[test]
    fn mixture_quantile_moves_p99_once_shifted_mass_exceeds_one_percent() {
        let base = QuantileSet::new(vec![(0.0, 100.0), (1.0, 100.0)], None).unwrap();
        assert!((shifted_mixture_quantile(&base, 0.005, 600.0, 0.99) - 100.0).abs() < 1e-6);
        assert!((shifted_mixture_quantile(&base, 0.02, 600.0, 0.99) - 700.0).abs() < 1e-6);
    }
}

#[cfg(test)]
mod expectation_tests {
    use super::*;

    #[test]
    fn exact_expectations_match_numeric_integration() {
        let q = QuantileSet::new(
            vec![
                (0.0, 10.0),
                (0.01, 12.0),
                (0.5, 30.0),
                (0.99, 200.0),
                (1.0, 400.0),
            ],
            None,
        )
        .unwrap();
        for cap in [5.0, 11.0, 30.0, 100.0, 250.0, 1000.0] {
            let numeric = q.expect(200_000, |x| x.min(cap));
            assert!((q.expected_min(cap) - numeric).abs() < 1e-3, "cap={cap}");
            assert!(
                (q.expected_excess(cap) - q.expect(200_000, |x| (x - cap).max(0.0))).abs() < 1e-3
            );
        }
        let billed = q.expect(200_000, |x| x.ceil().max(1.0));
        assert!(
            (q.expected_rounded_up(1.0) - billed).abs() < 0.02,
            "{} vs {billed}",
            q.expected_rounded_up(1.0)
        );
        // Sub-unit durations are billed one unit.
        assert!((QuantileSet::constant(0.4).expected_rounded_up(1.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn scv_matches_numeric_integration_and_ignores_scale() {
        let q = QuantileSet::new(
            vec![
                (0.0, 258.0),
                (0.01, 352.0),
                (0.5, 394.0),
                (0.99, 713.0),
                (1.0, 13_451.0),
            ],
            None,
        )
        .unwrap();
        let m = q.mean();
        let numeric = q.expect(400_000, |x| (x / m - 1.0).powi(2));
        assert!((q.scv() - numeric).abs() < 1e-3, "{} vs {numeric}", q.scv());
        assert!((q.scaled(2.5).scv() - q.scv()).abs() < 1e-9);
        // Uniform on [0, 1]: variance 1/12 over mean² 1/4.
        let u = QuantileSet::new(vec![(0.0, 0.0), (1.0, 1.0)], None).unwrap();
        assert!((u.scv() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(QuantileSet::constant(7.0).scv(), 0.0);
    }
}

#[cfg(test)]
mod mixture_tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_bisection() {
        let base = QuantileSet::new(
            vec![(0.0, 10.0), (0.5, 30.0), (0.99, 200.0), (1.0, 400.0)],
            None,
        )
        .unwrap();
        for &(w, shift) in &[(0.001, 600.0), (0.02, 600.0), (0.3, 50.0), (0.005, 5.0)] {
            for p in [0.5, 0.95, 0.99] {
                let got = shifted_mixture_quantile(&base, w, shift, p);
                let cdf = |x: f64| (1.0 - w) * base.cdf(x) + w * base.cdf(x - shift);
                assert!(cdf(got) >= p - 1e-9, "w={w} shift={shift} p={p} got={got}");
                assert!(
                    cdf(got - 1e-6) <= p + 1e-9,
                    "w={w} shift={shift} p={p} got={got} not the smallest"
                );
            }
        }
    }

    /// The exact inversion agrees with a bisection on the mixture's CDF, jumps (a
    /// point mass where two points share a value, a first point above p = 0) included.
    #[test]
    fn mixture_quantiles_agree_with_a_bisection() {
        let jumpy = QuantileSet::new(
            vec![(0.05, 40.0), (0.5, 40.0), (0.9, 90.0), (1.0, 1000.0)],
            None,
        )
        .unwrap();
        let bisect = |terms: &[(&QuantileSet, f64, f64)], p: f64| {
            let total: f64 = terms.iter().map(|t| t.2).sum();
            let cdf = |x: f64| terms.iter().map(|&(d, s, w)| w * d.cdf(x - s)).sum::<f64>() / total;
            let (mut lo, mut hi) = (0.0, 1e7);
            for _ in 0..200 {
                let mid = (lo + hi) / 2.0;
                if cdf(mid) >= p { hi = mid } else { lo = mid }
            }
            hi
        };
        let base = QuantileSet::new(
            vec![
                (0.0, 10.0),
                (0.25, 20.0),
                (0.5, 30.0),
                (0.99, 200.0),
                (1.0, 400.0),
            ],
            None,
        )
        .unwrap();
        for d in [&base, &jumpy] {
            for (w, shift) in [
                (0.0, 0.0),
                (0.003, 600.0),
                (0.2, 35.0),
                (0.5, 5.0),
                (0.97, 250.0),
            ] {
                let terms = [(d, 0.0, 1.0 - w), (d, shift, w)];
                for p in [0.01, 0.05, 0.3, 0.5, 0.9, 0.95, 0.99, 0.999] {
                    let (exact, searched) = (mixture_quantile(&terms, p), bisect(&terms, p));
                    assert!(
                        (exact - searched).abs() < 1e-6 * (1.0 + searched),
                        "w={w} shift={shift} p={p}: {exact} vs {searched}"
                    );
                    let shifted = shifted_mixture_quantile(d, w, shift, p);
                    assert!((shifted - searched).abs() < 1e-6 * (1.0 + searched));
                }
            }
        }
        let (other, w) = (QuantileSet::constant(70.0), 0.25);
        let terms = [(&base, 0.0, 1.0 - w), (&other, 10.0, w)];
        for p in [0.1, 0.5, 0.99] {
            assert!((mixture_quantile(&terms, p) - bisect(&terms, p)).abs() < 1e-6);
        }
    }
}

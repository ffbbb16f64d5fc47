//! Latency quantiles with a bounded relative error and constant memory.
//!
//! A day of a busy function is millions of latencies; sorting them per hour would cost
//! more than the simulation. The sketch keeps a count per bucket of 64 equal slices of
//! each power of two (the top six mantissa bits of the `f64`), from 2⁻¹⁰ ms to 2³⁰ ms.
//! A quantile is the midpoint of the bucket holding the nearest-rank sample (rank
//! `⌈p·n⌉`), so it is within 1/128 (0.79 %) of that sample, and it is clamped to the
//! exact minimum and maximum, which are tracked on the side. Values below 2⁻¹⁰ ms
//! (≈ 1 µs) share the first bucket and report the exact minimum; values from 2³⁰ ms
//! share the last and report the exact maximum.

/// Sub-buckets per power of two, as bits.
const SUB_BITS: u32 = 6;
/// Smallest binary exponent with its own buckets (2⁻¹⁰ ms).
const MIN_EXP: i64 = -10;
/// One past the largest (2³⁰ ms ≈ 12 days).
const MAX_EXP: i64 = 30;
/// Buckets: one for tiny values, 64 per octave, one for huge values.
const BUCKETS: usize = 2 + (((MAX_EXP - MIN_EXP) as usize) << SUB_BITS);

/// Largest relative error of a reported quantile (vs the nearest-rank sample).
pub const RELATIVE_ERROR: f64 = 1.0 / 128.0;

/// A latency histogram (ms).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sketch {
    counts: Vec<u32>,
    n: u64,
    min: f64,
    max: f64,
}

fn bucket(v: f64) -> usize {
    if v < f64::from_bits(((1023 + MIN_EXP) as u64) << 52) {
        return 0;
    }
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    if exp >= MAX_EXP {
        return BUCKETS - 1;
    }
    let sub = ((bits >> (52 - SUB_BITS)) & ((1 << SUB_BITS) - 1)) as usize;
    1 + (((exp - MIN_EXP) as usize) << SUB_BITS) + sub
}

fn midpoint(b: usize) -> f64 {
    let k = b - 1;
    let exp = (k >> SUB_BITS) as i64 + MIN_EXP;
    let sub = (k & ((1 << SUB_BITS) - 1)) as u64;
    let lower = f64::from_bits((((exp + 1023) as u64) << 52) | (sub << (52 - SUB_BITS)));
    let width = f64::from_bits(((exp + 1023) as u64) << 52) / f64::from(1u32 << SUB_BITS);
    lower + width / 2.0
}

impl Sketch {
    /// Records one latency (ms, ≥ 0).
    pub fn add(&mut self, v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
            self.min = v;
            self.max = v;
        }
        self.counts[bucket(v)] += 1;
        self.n += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Samples recorded.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Adds another sketch's samples.
    pub fn merge(&mut self, other: &Sketch) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other.clone();
            return;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.n += other.n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The largest sample, exactly.
    pub fn max(&self) -> Option<f64> {
        (self.n > 0).then_some(self.max)
    }

    /// The nearest-rank `p` quantile within [`RELATIVE_ERROR`].
    pub fn quantile(&self, p: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let rank = ((p.clamp(0.0, 1.0) * self.n as f64).ceil() as u64).max(1);
        let mut acc = 0u64;
        for (b, &c) in self.counts.iter().enumerate() {
            acc += u64::from(c);
            if acc >= rank {
                let v = if b == 0 {
                    self.min
                } else if b == BUCKETS - 1 {
                    self.max
                } else {
                    midpoint(b)
                };
                return Some(v.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_stay_within_the_stated_error() {
        let mut s = Sketch::default();
        let mut xs: Vec<f64> = (0..10_000)
            .map(|i| 0.37 * f64::from(i).powf(1.7) + 0.01)
            .collect();
        for &x in &xs {
            s.add(x);
        }
        xs.sort_by(f64::total_cmp);
        for p in [0.0, 0.01, 0.5, 0.95, 0.99, 0.999, 1.0] {
            let rank = ((p * xs.len() as f64).ceil() as usize).max(1);
            let exact = xs[rank - 1];
            let got = s.quantile(p).unwrap();
            assert!(
                (got - exact).abs() <= exact * RELATIVE_ERROR + 1e-12,
                "p={p}: {got} vs {exact}"
            );
        }
        assert_eq!(s.max(), Some(*xs.last().unwrap()));
    }

    #[test]
    fn extremes_and_merging() {
        let mut a = Sketch::default();
        assert_eq!(a.quantile(0.5), None);
        a.add(0.0);
        a.add(5e10);
        assert_eq!(a.quantile(0.5), Some(0.0));
        assert_eq!(a.quantile(1.0), Some(5e10));
        let mut b = Sketch::default();
        b.add(100.0);
        b.add(100.0);
        a.merge(&b);
        assert_eq!(a.len(), 4);
        let q = a.quantile(0.75).unwrap();
        assert!((q - 100.0).abs() <= 100.0 * RELATIVE_ERROR, "{q}");
    }
}

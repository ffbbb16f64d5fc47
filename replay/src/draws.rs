//! The random part of a replay: when each invocation arrives and how long it runs at
//! the observed configuration.
//!
//! Minute `i` of the window draws from its own stream (seed, absolute minute): first
//! its `count` arrival instants, uniform over the minute and then sorted, then `count`
//! durations by inverse CDF from the minute's distribution, handed to the arrivals in
//! time order. [`Arrivals::Periodic`] workloads draw no instants: the `k`-th of `count`
//! arrives at `(φ + k) / count` of the minute, with the phase `φ ∈ [0, 1)` drawn once
//! per workload (SplitMix64 of the seed XOR the FNV-1a hash of the name). Nothing here depends on the configuration or policy: a configuration
//! only rescales the durations (the duration law is a constant factor), so every
//! replay of a workload with one seed sees the same invocations.

use crate::rng::{SplitMix64, Xoshiro256pp};
use crate::workload::{Arrivals, Workload};

/// Milliseconds in a minute.
pub const MINUTE_MS: f64 = 60_000.0;

/// Where a simulation gets each minute's invocations from.
pub trait Draws {
    /// Arrival instants (ms from the window start, sorted) and durations at the observed
    /// configuration (ms) of minute `i` of the window.
    fn minute(&mut self, i: usize) -> (&[f64], &[f64]);
}

/// Draws each minute on demand into reused buffers: no memory beyond the busiest
/// minute, for replays that run once.
#[derive(Debug)]
pub struct OnTheFly<'a> {
    workload: &'a Workload,
    seed: u64,
    times: Vec<f64>,
    base_ms: Vec<f64>,
    ticks: Vec<u64>,
}

impl<'a> OnTheFly<'a> {
    /// Draws for `workload` with `seed`.
    pub fn new(workload: &'a Workload, seed: u64) -> Self {
        Self {
            workload,
            seed,
            times: Vec::new(),
            base_ms: Vec::new(),
            ticks: Vec::new(),
        }
    }
}

impl Draws for OnTheFly<'_> {
    fn minute(&mut self, i: usize) -> (&[f64], &[f64]) {
        draw_minute(
            self.workload,
            self.seed,
            i,
            &mut self.ticks,
            &mut self.times,
            &mut self.base_ms,
        );
        (&self.times, &self.base_ms)
    }
}

/// Every minute's draws kept in memory, for searches that replay one workload many
/// times (16 bytes per invocation).
#[derive(Debug, Clone)]
pub struct Trace {
    starts: Vec<usize>,
    times: Vec<f64>,
    base_ms: Vec<f64>,
}

impl Trace {
    /// Draws the whole window once.
    pub fn new(workload: &Workload, seed: u64) -> Self {
        let total = usize::try_from(workload.invocations()).unwrap_or(usize::MAX);
        let mut starts = Vec::with_capacity(workload.minutes() + 1);
        let mut times = Vec::with_capacity(total);
        let mut base_ms = Vec::with_capacity(total);
        let (mut ticks, mut t, mut b) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..workload.minutes() {
            starts.push(times.len());
            draw_minute(workload, seed, i, &mut ticks, &mut t, &mut b);
            times.extend_from_slice(&t);
            base_ms.extend_from_slice(&b);
        }
        starts.push(times.len());
        Self {
            starts,
            times,
            base_ms,
        }
    }

    /// Invocations held.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether no invocation is held.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }
}

impl Draws for &Trace {
    fn minute(&mut self, i: usize) -> (&[f64], &[f64]) {
        let (a, b) = (self.starts[i], self.starts[i + 1]);
        (&self.times[a..b], &self.base_ms[a..b])
    }
}

fn draw_minute(
    w: &Workload,
    seed: u64,
    i: usize,
    ticks: &mut Vec<u64>,
    times: &mut Vec<f64>,
    base_ms: &mut Vec<f64>,
) {
    let n = w.counts[i] as usize;
    ticks.clear();
    times.clear();
    base_ms.clear();
    if n == 0 {
        return;
    }
    let mut rng = Xoshiro256pp::for_minute(seed, w.start + i as i64);
    let origin = i as f64 * MINUTE_MS;
    match w.arrivals {
        Arrivals::Uniform => {
            ticks.extend((0..n).map(|_| rng.next_u64() >> 11));
            ticks.sort_unstable();
            let scale = MINUTE_MS / (1u64 << 53) as f64;
            times.extend(ticks.iter().map(|&k| origin + k as f64 * scale));
        }
        Arrivals::Periodic => {
            let phase = periodic_phase(w, seed);
            let step = MINUTE_MS / n as f64;
            times.extend((0..n).map(|k| origin + (phase + k as f64) * step));
        }
    }
    let q = w.duration_for_minute(i);
    base_ms.extend((0..n).map(|_| q.quantile(rng.next_f64()).max(0.0)));
}

/// The phase of a periodic workload: fixed by the seed and the name.
fn periodic_phase(w: &Workload, seed: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in w.name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (SplitMix64::new(seed ^ h).next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use adaptd_engine::quantiles::QuantileSet;

    #[test]
    fn arrivals_are_sorted_inside_their_minute_and_the_trace_matches() {
        let q = QuantileSet::new(vec![(0.0, 10.0), (1.0, 30.0)], None).unwrap();
        let w = Workload::new("f", 1000, vec![5, 0, 300], q, 1024.0);
        let trace = Trace::new(&w, 3);
        let mut fly = OnTheFly::new(&w, 3);
        for i in 0..3 {
            let (t, d) = fly.minute(i);
            let (t, d) = (t.to_vec(), d.to_vec());
            assert_eq!(t.len(), w.counts[i] as usize);
            assert!(t.windows(2).all(|p| p[0] <= p[1]));
            let lo = i as f64 * MINUTE_MS;
            assert!(t.iter().all(|&x| x >= lo && x < lo + MINUTE_MS));
            assert!(d.iter().all(|&x| (10.0..=30.0).contains(&x)));
            let mut tr = &trace;
            let (t2, d2) = tr.minute(i);
            assert_eq!((t2, d2), (&t[..], &d[..]));
        }
        // 300 uniform durations on [10, 30]: mean near 20.
        let (_, d) = fly.minute(2);
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        assert!((mean - 20.0).abs() < 1.0, "{mean}");
        assert_eq!(trace.len(), 305);
    }

    #[test]
    fn periodic_arrivals_keep_one_phase() {
        let mut w = Workload::new(
            "timer",
            0,
            vec![1, 0, 1, 2],
            QuantileSet::constant(5.0),
            1024.0,
        );
        w.arrivals = Arrivals::Periodic;
        let mut fly = OnTheFly::new(&w, 9);
        let a = fly.minute(0).0[0];
        assert!((fly.minute(2).0[0] - a - 2.0 * MINUTE_MS).abs() < 1e-6);
        let two = fly.minute(3).0.to_vec();
        assert!((two[1] - two[0] - MINUTE_MS / 2.0).abs() < 1e-6);
        assert!(two[0] >= 3.0 * MINUTE_MS && two[1] < 4.0 * MINUTE_MS);
    }
}

//! Benchmark: synthetic Lambda fleets (see `adaptd_optimizer::synthetic`) of 1,000 and
//! 10,000 functions, solved with the default options; prints the median wall time of
//! several runs and the quality of the answer. Plain `Instant` timing: each solve takes
//! long enough that a statistics harness adds nothing but run time.
//!
//! `cargo bench -p adaptd-optimizer --bench solve [-- SIZES...]`

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use adaptd_optimizer::synthetic::{FleetSpec, lambda_fleet};
use adaptd_optimizer::{Method, Solution, SolveOptions, solve};

fn run(name: &str, spec: &FleetSpec, method: Method, runs: usize) {
    let t = Instant::now();
    let problem = lambda_fleet(spec);
    let built = t.elapsed();
    let options = SolveOptions {
        method,
        ..SolveOptions::default()
    };
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut last: Option<Solution> = None;
    for _ in 0..runs {
        let t = Instant::now();
        match solve(&problem, &options) {
            Ok(s) => last = Some(s),
            Err(e) => {
                println!("{name}: error: {e}");
                return;
            }
        }
        times.push(t.elapsed());
    }
    times.sort();
    let Some(s) = last else { return };
    // Hour rows the answer fills to within 0.5 % of capacity, and those with a price.
    let mut usage = vec![0.0; problem.rows.len()];
    for (item, c) in problem.items.iter().zip(&s.choices) {
        let base = &item.bases[c.base];
        for &(r, u) in &base.usage {
            usage[r.0] += u;
        }
        for (slot, &l) in base.slots.iter().zip(&c.levels) {
            for &(r, u) in slot.alternatives[l].iter().flat_map(|a| &a.usage) {
                usage[r.0] += u;
            }
        }
    }
    let full = (0..24.min(problem.rows.len()))
        .filter(|&r| usage[r] >= 0.995 * problem.rows[r].capacity)
        .count();
    let priced = s.row_prices.iter().take(24).filter(|&&p| p > 0.0).count();
    println!(
        "{name:<34} items {:>6}  median {:>8.3} s  (min {:.3}, max {:.3}, runs {runs}, built in {:.1} s)",
        spec.items,
        times[times.len() / 2].as_secs_f64(),
        times[0].as_secs_f64(),
        times[times.len() - 1].as_secs_f64(),
        built.as_secs_f64(),
    );
    println!(
        "{:<34} cost {:.2}  bound {:.2}  gap {:.4}%  method {:?}  HiGHS solves {}  iterations {}  refined {}  groups {}  priced rows {} (hours at capacity {full}, with a price {priced})  master columns {}  fallback {}",
        "",
        s.cost,
        s.lower_bound,
        100.0 * s.gap,
        s.stats.method,
        s.stats.highs_solves,
        s.stats.outer_iterations,
        s.stats.items_refined,
        s.stats.groups,
        s.stats.priced_rows,
        s.stats.master_columns,
        s.stats.fell_back_to_monolithic,
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    let runs = 5;
    for &n in &sizes {
        let spec = FleetSpec::new(n, 42);
        run("binding account rows", &spec, Method::Auto, runs);
        let loose = FleetSpec {
            account_pressure: None,
            databases: 0,
            ..spec.clone()
        };
        run("rows never bind", &loose, Method::Auto, runs);
    }
}

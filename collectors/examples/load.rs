//! Loads a telemetry spec and reports what was read and how long it took, e.g.
//!
//! ```text
//! cargo run --release -p adaptd-collectors --example load -- examples/telemetry.csv.gz
//! cargo run --release -p adaptd-collectors --example load -- azure2019:tests/data/azure2019-500
//! ```

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let Some(spec) = std::env::args().nth(1) else {
        eprintln!("usage: load SPEC   (a file, a directory or azure2019:DIR)");
        return ExitCode::FAILURE;
    };
    let t = Instant::now();
    match adaptd_collectors::load(&spec) {
        Ok(set) => {
            let elapsed = t.elapsed();
            let series: usize = set.components.values().map(|c| c.series.len()).sum();
            let samples: usize = set
                .components
                .values()
                .flat_map(|c| c.series.values())
                .map(|s| s.observed_minutes())
                .sum();
            eprintln!(
                "{spec}: {} components, {series} series, {samples} samples in {:.3} s",
                set.len(),
                elapsed.as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

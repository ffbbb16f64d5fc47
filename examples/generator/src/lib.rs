//! The generator of adaptd's embedded example telemetry.
//!
//! adaptd ships with one week of per-minute telemetry for a thirteen-component shop
//! (`examples/telemetry.csv.gz`, read with `examples/adaptd.toml`) so that every
//! command can be tried, documented and tested without an AWS account. Real exports
//! cannot be shipped, and a hand-written file could not show the behaviours adaptd is
//! meant to find, so the week is simulated from the scenario in [`shapes`]: Poisson
//! traffic around diurnal, bursty, timer and rare shapes; lognormal durations; a
//! 10-minute keep-alive warm pool deciding cold starts; provisioned concurrency where
//! configured; and a memory change to learn CPU-boundness from.
//!
//! The simulation is seeded and uses its own PRNG ([`rng`]), so the same seed gives the
//! same bytes on any machine and with any crate versions, and the committed file can be
//! regenerated and diffed:
//!
//! ```text
//! cargo run --release -p adaptd-examples --bin gen-sample            # default seed
//! cargo run --release -p adaptd-examples --bin gen-sample -- --seed 7 --out /tmp/t.csv.gz
//! ```
//!
//! The output is the long format (see `docs/telemetry-format.md`): per active minute
//! `invocations`, `errors`, `throttles` sums, `duration_ms` avg/p50/p90/p99/max,
//! `concurrent_executions` max, `cold_starts` sum (and `init_duration_ms` avg when
//! positive), `max_memory_used_mb` max, plus `configured_memory_mb` where the memory
//! changed and provisioned-concurrency metrics where it is configured; an idle minute is
//! a single `invocations,sum,0`. Attributes `trigger`, `runtime`, `memory_mb`,
//! `architecture` (and `provisioned_concurrency`) describe what is deployed now.

pub mod rng;
pub mod shapes;
mod sim;

use std::io::{self, Write};
use std::path::Path;

use adaptd_collectors::file::write_long_csv;
use adaptd_engine::telemetry::{MINUTES_PER_DAY, Minute, TelemetrySet};

pub use sim::KEEP_ALIVE_MINUTES;

/// The seed of the committed sample.
pub const DEFAULT_SEED: u64 = 20_261_116;

/// First minute of the week: Monday 2026-11-16T00:00Z.
pub const START: Minute = 20_773 * MINUTES_PER_DAY;

/// One past the last minute: 2026-11-23T00:00Z.
pub const END: Minute = START + 7 * MINUTES_PER_DAY;

/// Simulates the week for every component of [`shapes::SHAPES`].
pub fn generate(seed: u64) -> TelemetrySet {
    let mut set = TelemetrySet {
        sources: vec![format!("adaptd-examples gen-sample --seed {seed}")],
        ..TelemetrySet::default()
    };
    for (i, shape) in shapes::SHAPES.iter().enumerate() {
        let c = sim::simulate(shape, i as u64, seed, START, END);
        set.components.insert(c.name.clone(), c);
    }
    set
}

/// Writes `set` as gzip-compressed long-format CSV (best compression: the file is
/// committed).
pub fn write_csv_gz(set: &TelemetrySet, w: impl Write) -> io::Result<()> {
    let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::best());
    write_long_csv(set, &mut gz)?;
    gz.finish()?.flush()
}

/// Writes `set` to `path` (see [`write_csv_gz`]), through a temporary file so that an
/// interrupted run leaves the previous file intact.
pub fn write_file(set: &TelemetrySet, path: &Path) -> io::Result<()> {
    let tmp = path.with_extension("gz.partial");
    write_csv_gz(set, io::BufWriter::new(std::fs::File::create(&tmp)?))?;
    std::fs::rename(&tmp, path)
}

//! `gen-sample`: writes the example week of telemetry (see the `adaptd_examples` crate
//! docs).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Generate one week of example telemetry in the long format (gzip CSV).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Random seed; the committed sample uses the default.
    #[arg(long, default_value_t = adaptd_examples::DEFAULT_SEED)]
    seed: u64,
    /// Output file.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../telemetry.csv.gz"))]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let set = adaptd_examples::generate(args.seed);
    match adaptd_examples::write_file(&set, &args.out) {
        Ok(()) => {
            eprintln!("wrote {} (seed {})", args.out.display(), args.seed);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-sample: cannot write {}: {e}", args.out.display());
            ExitCode::FAILURE
        }
    }
}

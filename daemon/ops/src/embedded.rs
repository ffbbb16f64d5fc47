//! The embedded demo: the sample config and a week of generated telemetry from
//! `examples/`, compiled into the binary so `adaptd demo` needs no files.

/// `examples/adaptd.toml`.
pub const CONFIG: &str = include_str!("../../../examples/adaptd.toml");

/// `examples/telemetry.csv.gz`, made by `gen-sample` (see `examples/README.md`).
pub const TELEMETRY_CSV_GZ: &[u8] = include_bytes!("../../../examples/telemetry.csv.gz");

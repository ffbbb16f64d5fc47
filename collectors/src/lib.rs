//! Collectors: everything that reads telemetry from the outside world into the engine's
//! model ([`TelemetrySet`]).
//!
//! Each source has its own module and error type; [`load`] picks one from a short
//! textual spec so that configs and command lines can name a source in one string.

pub mod azure2019;
pub mod cloudwatch;
pub mod file;
mod input;
pub mod problems;
pub mod prometheus;
mod records;
pub mod shutdown;
pub mod timestamp;
pub mod watermarks;

use std::path::Path;

use adaptd_engine::telemetry::TelemetrySet;

/// Loading a telemetry source failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A long-format file or directory could not be read.
    #[error(transparent)]
    File(#[from] file::Error),
    /// An Azure Functions 2019 trace could not be read.
    #[error(transparent)]
    Azure2019(#[from] azure2019::Error),
    /// The spec names a kind of source that does not exist.
    #[error(
        "unknown telemetry source `{scheme}:` in `{spec}` (expected `azure2019:DIR` or a file or directory path)"
    )]
    UnknownScheme {
        /// The prefix before the colon.
        scheme: String,
        /// The whole spec.
        spec: String,
    },
    /// The path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path.
        path: String,
    },
}

/// Loads telemetry from `spec`:
/// - `azure2019:DIR` — an Azure Functions 2019 trace directory, with default
///   [`azure2019::Options`];
/// - a file path — long format, flavour by extension (`.csv`, `.json`, `.jsonl`, each
///   optionally `.gz`);
/// - a directory path — every long-format file directly inside it, merged.
pub fn load(spec: &str) -> Result<TelemetrySet, Error> {
    if let Some(dir) = spec.strip_prefix("azure2019:") {
        return Ok(azure2019::load_dir(
            Path::new(dir),
            &azure2019::Options::default(),
        )?);
    }
    let path = Path::new(spec);
    if !path.exists() {
        // `cloudwatch:foo` is a spec for a source this build lacks, not a missing file.
        if let Some((scheme, _)) = spec.split_once(':')
            && scheme.len() > 1
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(Error::UnknownScheme {
                scheme: scheme.to_owned(),
                spec: spec.to_owned(),
            });
        }
        return Err(Error::NotFound {
            path: spec.to_owned(),
        });
    }
    Ok(file::read_path(path)?)
}

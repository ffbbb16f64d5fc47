//! `adaptd serve`: loads and checks the config, then runs the service on a tokio
//! runtime until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use adaptd_config::Config;

use super::invalid;

/// Arguments of `adaptd serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Config file (TOML); `[service]` and `[store]` say how the service runs.
    #[arg(long, short)]
    pub config: PathBuf,
}

/// `adaptd serve`.
pub fn serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => return Ok(invalid(&e)),
    };
    // Resolution errors that do not depend on telemetry are caught before listening.
    if let Err(e) = config.resolve(&[]) {
        return Ok(invalid(&e));
    }
    let base = args
        .config
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match runtime.block_on(crate::service::serve(config, &base)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e @ crate::service::ServeError::Settings(_)) => Ok(invalid(&e)),
        Err(e) => {
            tracing::error!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}

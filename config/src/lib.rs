//! Configuration: the TOML schema of adaptd, its validation and its resolution into
//! the engine's types.
//!
//! [`Config::from_str`] checks a whole file up front and reports every problem at
//! once, each as `FILE:LINE:COL: dotted.path: what is wrong (got …)`:
//!
//! 1. The text is parsed into a spanned document (syntax errors stop here).
//! 2. The document is deserialized into [`Config`]; each unknown key or wrongly typed
//!    value is recorded and dropped, and deserialization resumes (see `de.rs`).
//! 3. Semantic validation (ranges, references, duplicates, Fargate sizes, schedules,
//!    globs, price keys) reports dotted paths, mapped back to positions through the
//!    document (see `spans.rs`).
//!
//! Each section is a module with its serde struct (whose doc comments are the user
//! reference, `docs/configuration.md`) and its validation. Adding a section is a new
//! module, one field of [`Config`] and one line in `Config::validate`.

mod alerts;
mod apply;
mod check;
mod collectors;
mod components;
mod current;
mod de;
mod discovered;
mod error;
mod fargate;
mod iac;
mod model;
mod optimizer;
mod prices;
mod report;
mod resolve;
mod resources;
mod root;
mod rules;
#[cfg(test)]
mod schema;
mod service;
mod spans;
mod store;

use std::path::Path;

use adaptd_engine::prices::PriceSheet;
use serde::Deserialize;
use toml::de::DeTable;

pub use alerts::{AlertsSection, host_matches, template_labels};
pub use apply::{ApplyComponent, ApplyEnvironment, ApplyMode, ApplySection, ApplyWindow, WEEKDAYS};
pub use collectors::{
    CloudWatchAccount, CloudWatchSection, CollectorsSection, EcsSection, PromPreset, PromSource,
    PrometheusSection, ProvisionedMetrics, parse_series_key,
};
pub use components::{Component, DEFAULT_MEMORY_MB, DefaultsSection};
pub use current::{Current, LAMBDA_MEMORY_MB, Schedule};
pub use discovered::Discovered;
pub use error::{ConfigError, ConfigErrors};
pub use fargate::{
    FARGATE_SIZES, fargate_memory_options, is_valid_fargate_size, smallest_fargate_vcpu_for,
};
pub use iac::{IacComponent, IacSection};
pub use model::ModelSection;
pub use optimizer::{OptimizerMethod, OptimizerSettings};
pub use prices::{DEFAULT_REGION, PricesSection};
pub use report::{
    Cron, CronError, ReportFormat, ReportSection, S3Section, WebhookSection, next_run_after,
};
pub use resolve::Resolved;
pub use resources::{Account, DEFAULT_ACCOUNT, DEFAULT_CONCURRENCY_LIMIT, Database};
pub use root::{ROOT_ENV, root_from_env, under_root};
pub use rules::{Facts, GuardrailRule, Match, SloObjectives, SloRule};
pub use service::{ServiceSection, ServiceToken};
pub use store::StoreSection;

use check::{Check, Problem};
use spans::{Lines, Pos, SpanIndex};

/// adaptd's configuration file. Every section is optional; an empty file is valid.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Model parameters for every component.
    pub model: ModelSection,
    /// Price sheet and overrides.
    pub prices: PricesSection,
    /// Optimiser settings.
    pub optimizer: OptimizerSettings,
    /// Assumptions for components found only in telemetry.
    pub defaults: DefaultsSection,
    /// AWS accounts and their concurrency limits.
    pub accounts: Vec<Account>,
    /// Databases components connect to.
    pub databases: Vec<Database>,
    /// SLO rules, applied in order.
    pub slo: Vec<SloRule>,
    /// Guardrail rules, combined by the most restrictive value.
    pub guardrails: Vec<GuardrailRule>,
    /// Components with what telemetry cannot tell.
    pub components: Vec<Component>,
    /// The weekly report: schedule, period, formats, delivery.
    pub report: ReportSection,
    /// Live telemetry sources: CloudWatch, Prometheus.
    pub collectors: CollectorsSection,
    /// Infrastructure code: where it is, how components map to it, how adaptd commits.
    pub iac: IacSection,
    /// `adaptd serve`: listen address, cycle interval, API token, shutdown.
    pub service: ServiceSection,
    /// Where the service keeps its state: SQLite (default) or PostgreSQL.
    pub store: StoreSection,
    /// Alerts that trigger focused cycles: Alertmanager, CloudWatch via SNS.
    pub alerts: AlertsSection,
    /// Guarded apply: modes, guardrails, verification, where changes go.
    pub apply: ApplySection,
    /// Where the config came from, for positions in later errors.
    #[serde(skip)]
    source: Source,
}

#[derive(Clone, Debug, Default)]
struct Source {
    origin: String,
    index: SpanIndex,
    /// The `prices.sheet` file, once loaded.
    price_sheet: Option<PriceSheet>,
}

impl Config {
    /// Parses and validates `text`; `origin` (the file name) prefixes every error.
    pub fn from_str(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        let lines = Lines::new(text);
        let error = |pos: Pos, path: String, message: String| ConfigError {
            origin: origin.to_owned(),
            line: pos.line,
            col: pos.col,
            path,
            message,
        };
        let (doc, syntax) = DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            // Recovery cascades; the first problem of each line is the one to fix.
            let mut errors: Vec<ConfigError> = Vec::new();
            let mut syntax: Vec<(usize, &str)> = syntax
                .iter()
                .map(|e| (e.span().map_or(0, |s| s.start), e.message()))
                .collect();
            syntax.sort_by_key(|e| e.0);
            for (offset, message) in syntax {
                let pos = lines.pos(offset);
                if errors.last().is_none_or(|l| l.line != pos.line) {
                    errors.push(error(
                        pos,
                        String::new(),
                        format!("invalid TOML: {message}"),
                    ));
                }
            }
            return Err(ConfigErrors::new(errors));
        }
        let span = doc.span();
        let root = doc.into_inner();
        let index = SpanIndex::build(&root, &lines);
        let (config, raw) = de::collect::<Config>(&root, span);
        let mut errors: Vec<ConfigError> = raw
            .iter()
            .map(|e| error(lines.pos(e.span.start), e.path.clone(), e.message.clone()))
            .collect();
        let Some(mut config) = config else {
            return Err(ConfigErrors::new(errors));
        };
        let mut ck = Check::new(&index, raw.into_iter().map(|e| e.path).collect());
        config.validate(&mut ck);
        errors.extend(ck.errors.into_iter().map(|p| {
            let pos = if p.at_key {
                index.key_pos(&p.path)
            } else {
                index.value_pos(&p.path)
            };
            error(pos, p.path, p.message)
        }));
        if !errors.is_empty() {
            return Err(ConfigErrors::new(errors));
        }
        config.source = Source {
            origin: origin.to_owned(),
            index,
            price_sheet: None,
        };
        config.apply.defaults_timezone = config.defaults.timezone.clone();
        Ok(config)
    }

    /// Reads and validates the file at `path`, and loads `prices.sheet` relative to
    /// its directory. With `ADAPTD_ROOT` set, the file and its paths are taken under
    /// that root ([`Config::load_under`]).
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Self::load_under(root_from_env().as_deref(), path)
    }

    /// [`Config::load`] with the root given: `path` and the config's absolute paths
    /// under `root` (see `root.rs`), or as they are with `None`.
    pub fn load_under(root: Option<&Path>, path: &Path) -> Result<Config, ConfigErrors> {
        let rooted = root.map(|r| under_root(r, path));
        let path = rooted.as_deref().unwrap_or(path);
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors::new(vec![ConfigError {
                origin: origin.clone(),
                line: 0,
                col: 0,
                path: String::new(),
                message: format!("cannot read the configuration ({e})"),
            }])
        })?;
        let mut config = Config::from_str(&text, &origin)?;
        if let Some(r) = root {
            config.reroot(r, path.parent().unwrap_or(Path::new(".")));
        }
        let Some(sheet) = config.prices.sheet.clone() else {
            return Ok(config);
        };
        let file = path.parent().unwrap_or(Path::new(".")).join(&sheet);
        let loaded = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read price sheet {} ({e})", file.display()))
            .and_then(|t| {
                PriceSheet::from_toml_str(&t).map_err(|e| format!("{}: {e}", file.display()))
            });
        let mut ck = Check::new(&config.source.index, Vec::new());
        match loaded {
            Err(msg) => ck.err("prices.sheet", msg),
            Ok(s) => {
                if let Some(r) = &config.prices.region
                    && *r != s.region
                {
                    ck.err(
                        "prices.region",
                        format!(
                            "does not match the sheet's region (got \"{r}\", sheet has \"{}\")",
                            s.region
                        ),
                    );
                }
                prices::check_overrides(&s, &config.prices.overrides, "prices", &mut ck);
                config.source.price_sheet = Some(s);
            }
        }
        let errors = ck.errors;
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors::new(config.positioned(errors)))
        }
    }

    /// Uses `sheet` as the `prices.sheet` file (for configs parsed with
    /// [`Config::from_str`]).
    pub fn with_price_sheet(mut self, sheet: PriceSheet) -> Self {
        self.source.price_sheet = Some(sheet);
        self
    }

    /// The origin (file name) given when parsing.
    pub fn origin(&self) -> &str {
        &self.source.origin
    }

    /// The price sheet: `prices.sheet` or the built-in sheet of `prices.region`, with
    /// `prices.overrides` applied.
    pub fn price_sheet(&self) -> Result<PriceSheet, ConfigErrors> {
        if self.prices.sheet.is_some() && self.source.price_sheet.is_none() {
            let msg =
                "the sheet file is not loaded (use Config::load, or Config::with_price_sheet)";
            return Err(ConfigErrors::new(
                self.positioned(vec![Problem::new("prices.sheet", msg)]),
            ));
        }
        self.prices
            .price_sheet(self.source.price_sheet.as_ref())
            .map_err(|e| {
                ConfigErrors::new(self.positioned(vec![Problem::new("prices", e.to_string())]))
            })
    }

    /// Errors at the positions of their paths.
    fn positioned(&self, errors: Vec<Problem>) -> Vec<ConfigError> {
        let index = &self.source.index;
        errors
            .into_iter()
            .map(|p| {
                let pos = if p.at_key {
                    index.key_pos(&p.path)
                } else {
                    index.value_pos(&p.path)
                };
                ConfigError {
                    origin: self.source.origin.clone(),
                    line: pos.line,
                    col: pos.col,
                    path: p.path,
                    message: p.message,
                }
            })
            .collect()
    }

    /// Semantic validation of every section.
    fn validate(&self, ck: &mut Check<'_>) {
        self.model.validate("model", ck);
        self.prices.validate("prices", ck);
        self.optimizer.validate("optimizer", ck);
        self.validate_defaults(ck);
        resources::validate_accounts(&self.accounts, ck);
        resources::validate_databases(&self.databases, ck);
        rules::validate_slo_rules(&self.slo, ck);
        rules::validate_guardrail_rules(&self.guardrails, ck);
        self.validate_components(ck);
        self.report.validate("report", ck);
        self.collectors.validate("collectors", ck);
        self.iac.validate("iac", ck);
        self.service.validate("service", ck);
        self.store.validate("store", ck);
        self.alerts.validate("alerts", ck);
        self.apply.validate("apply", ck);
    }
}

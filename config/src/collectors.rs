//! `[collectors]`: where live telemetry comes from — CloudWatch (with Lambda's own
//! configuration APIs) and Prometheus-compatible servers.
//!
//! Only the schema and its validation live here; the collectors crate turns a
//! validated section into running clients. Secrets are never values in this file:
//! they are named by an environment variable or a file, so the config can be
//! committed.

use std::collections::BTreeMap;

use globset::Glob;
use serde::Deserialize;

use crate::check::{Bound, Check};
use crate::spans::{index, join};

/// The `[collectors]` section.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorsSection {
    /// CloudWatch and Lambda (`[collectors.cloudwatch]`); absent: not collected.
    pub cloudwatch: Option<CloudWatchSection>,
    /// A Prometheus-compatible server (`[collectors.prometheus]`); absent: not
    /// collected.
    pub prometheus: Option<PrometheusSection>,
}

/// Which provisioned-concurrency metrics are requested for functions that have
/// provisioned concurrency.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisionedMetrics {
    /// Spill-over invocations and the peak of provisioned executions per qualifier;
    /// peak utilisation is derived from the allocation (2 metrics per qualifier).
    #[default]
    Compact,
    /// Also provisioned invocations and average utilisation (4 per qualifier).
    Full,
}

/// `[collectors.cloudwatch]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudWatchSection {
    /// Endpoint of every AWS API called (Lambda, CloudWatch, STS), for a local test
    /// server or a VPC endpoint (`"http://127.0.0.1:5000"`). Default: AWS's.
    pub endpoint_url: Option<String>,
    /// Named profile of the shared AWS config files. Default: the standard chain
    /// (environment, `AWS_PROFILE`, SSO, web identity, instance metadata).
    pub profile: Option<String>,
    /// Regions of the account the credentials belong to. Default: the region of the
    /// standard chain. Ignored when `accounts` is given.
    pub regions: Vec<String>,
    /// Other accounts, reached by assuming a role. Empty: only the credentials' own
    /// account.
    pub accounts: Vec<CloudWatchAccount>,
    /// Globs on function names to collect (`["orders-*"]`). Empty: every function.
    pub functions: Vec<String>,
    /// Globs on function names to skip, applied after `functions`.
    pub exclude_functions: Vec<String>,
    /// Tags a function must carry, each a glob on the tag's value.
    pub tags: BTreeMap<String, String>,
    /// Name of the component of a function: `{function}`, `{account}` (the account
    /// key) and `{region}` are replaced (default `"{function}"`).
    pub component_name: String,
    /// History fetched on the first collection of a function, in days (1–15;
    /// default 14). CloudWatch keeps 1-minute data for 15 days.
    pub lookback_days: u32,
    /// Least new history, in minutes, before a function's metrics are fetched again
    /// (1–1440; default 1440). Every fetch requests each metric once whatever its
    /// window, so one long window a day is what keeps the cost low; collecting more
    /// often than this only refreshes configuration.
    pub cycle_minutes: u32,
    /// Minutes before now that are not yet complete in CloudWatch and are left for
    /// the next collection (0–60; default 10).
    pub settle_minutes: u32,
    /// Budget of metrics requested per function per day (>= 1; default 10). Metrics
    /// beyond it are left out, least useful first, and listed in the report.
    pub max_metrics_per_function_per_day: u32,
    /// Percentiles of `Duration` requested (default `["p50", "p90", "p99"]`);
    /// `Maximum` is always requested within the budget.
    pub duration_percentiles: Vec<String>,
    /// Request Lambda Insights metrics (init duration, cold starts, memory used) for
    /// functions with the Lambda Insights extension (default true).
    pub lambda_insights: bool,
    /// `"compact"` (default) or `"full"`.
    pub provisioned_metrics: ProvisionedMetrics,
    /// Concurrent API requests per account and region (1–50; default 4).
    pub max_concurrent_requests: u32,
    /// Timeout of one API attempt, in seconds (> 0; default 30).
    pub timeout_seconds: f64,
    /// Attempts per API call, retries of throttling and server errors included
    /// (1–10; default 5).
    pub max_attempts: u32,
    /// ECS services on Fargate (`[collectors.cloudwatch.ecs]`), discovered through
    /// the ECS API and measured in the same budgeted GetMetricData plan as the
    /// functions; absent: ECS is not looked at (no ECS or load-balancer permissions
    /// needed).
    pub ecs: Option<EcsSection>,
}

/// `[collectors.cloudwatch.ecs]`: which ECS services to collect, and what the ECS
/// API cannot tell about them.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EcsSection {
    /// Globs on cluster names to look in (`["shop-*"]`). Empty: every cluster.
    pub clusters: Vec<String>,
    /// Globs on service names to collect. Empty: every service of those clusters.
    pub services: Vec<String>,
    /// Globs on service names to skip, applied after `services`.
    pub exclude_services: Vec<String>,
    /// Name of the component of a service: `{service}`, `{cluster}`, `{account}` and
    /// `{region}` are replaced (default `"{service}"`). Shares the name space of the
    /// functions' components: a clash is reported, not merged.
    pub component_name: String,
    /// Requests one task serves at once, for services whose tag
    /// `adaptd:per_task_concurrency` does not say (>= 1; default 1, the cautious
    /// assumption that never overstates what a task can take). Neither the ECS API
    /// nor CloudWatch shows it: set your server's worker or connection count.
    pub per_task_concurrency: u32,
    /// Request Container Insights' `RunningTaskCount` for services of clusters
    /// with Container Insights enabled (default true).
    pub container_insights: bool,
}

impl Default for EcsSection {
    fn default() -> Self {
        Self {
            clusters: Vec::new(),
            services: Vec::new(),
            exclude_services: Vec::new(),
            component_name: "{service}".to_owned(),
            per_task_concurrency: 1,
            container_insights: true,
        }
    }
}

impl Default for CloudWatchSection {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            profile: None,
            regions: Vec::new(),
            accounts: Vec::new(),
            functions: Vec::new(),
            exclude_functions: Vec::new(),
            tags: BTreeMap::new(),
            component_name: "{function}".to_owned(),
            lookback_days: 14,
            cycle_minutes: 1440,
            settle_minutes: 10,
            max_metrics_per_function_per_day: 10,
            duration_percentiles: vec!["p50".into(), "p90".into(), "p99".into()],
            lambda_insights: true,
            provisioned_metrics: ProvisionedMetrics::Compact,
            max_concurrent_requests: 4,
            timeout_seconds: 30.0,
            max_attempts: 5,
            ecs: None,
        }
    }
}

/// `[[collectors.cloudwatch.accounts]]`: an account reached through a role.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudWatchAccount {
    /// Account key written as the `account` attribute of its functions; match it to
    /// an `[[accounts]]` name to apply that account's limits (required, unique).
    pub name: String,
    /// Role to assume (`"arn:aws:iam::111122223333:role/adaptd-read"`). Unset: the
    /// credentials' own account.
    pub role_arn: Option<String>,
    /// External ID the role's trust policy requires, if any.
    pub external_id: Option<String>,
    /// Regions to collect (required, at least one).
    pub regions: Vec<String>,
}

/// A preset of PromQL templates.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromPreset {
    /// An HTTP service instrumented with a request counter and a latency histogram
    /// (`http_requests_total`, `http_request_duration_seconds_bucket`).
    #[default]
    Service,
    /// AWS Lambda metrics exported by YACE (`aws_lambda_invocations_sum`, …, label
    /// `dimension_FunctionName`).
    Yace,
    /// AWS Lambda metrics exported by Prometheus's cloudwatch_exporter
    /// (`aws_lambda_invocations_sum`, …, label `function_name`).
    CloudwatchExporter,
    /// ECS services on Fargate as YACE exports them: `AWS/ECS` and Container
    /// Insights per service (`aws_ecs_cpuutilization_average`, …, label
    /// `dimension_ServiceName`) and `AWS/ApplicationELB` per target group
    /// (`aws_applicationelb_request_count_sum`, …), a target group counting for the
    /// service of the same name (`targetgroup/NAME/…`).
    YaceEcs,
    /// The same series as cloudwatch_exporter names them (labels `service_name` and
    /// `target_group`).
    CloudwatchExporterEcs,
    /// No templates: `queries` gives them all.
    Custom,
}

/// `[collectors.prometheus]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrometheusSection {
    /// Base URL of the HTTP API (`"https://prom.example.com"`, or Mimir's
    /// `".../prometheus"`; required).
    pub url: String,
    /// Environment variable holding a bearer token.
    pub bearer_token_env: Option<String>,
    /// File holding a bearer token (read at each collection, so it may rotate).
    pub bearer_token_file: Option<String>,
    /// User name for basic auth.
    pub username: Option<String>,
    /// Environment variable holding the basic-auth password.
    pub password_env: Option<String>,
    /// PEM file of the CA that signed the server's certificate, added to the
    /// system's roots.
    pub ca_file: Option<String>,
    /// Extra request headers (`{ "X-Scope-OrgID" = "team-a" }` for Mimir, Cortex,
    /// Thanos tenants).
    pub headers: BTreeMap<String, String>,
    /// History fetched on the first collection, in days (> 0; default 14).
    pub lookback_days: u32,
    /// Resolution of the range queries, in seconds (60, the telemetry's minute, or a
    /// multiple of it; default 60).
    pub step_seconds: u32,
    /// Minutes before now left for the next collection, since the newest samples
    /// may not be scraped yet (0–60; default 2).
    pub settle_minutes: u32,
    /// Points per series per query (1–11000; default 11000, Prometheus's limit);
    /// longer ranges are split.
    pub max_points_per_query: u32,
    /// Queries in flight at once (1–32; default 2), so adaptd never overloads the
    /// server.
    pub max_concurrent_queries: u32,
    /// Timeout of one query, in seconds (> 0; default 60); also sent as the
    /// server-side `timeout`.
    pub timeout_seconds: f64,
    /// What to query (at least one).
    pub sources: Vec<PromSource>,
}

impl Default for PrometheusSection {
    fn default() -> Self {
        Self {
            url: String::new(),
            bearer_token_env: None,
            bearer_token_file: None,
            username: None,
            password_env: None,
            ca_file: None,
            headers: BTreeMap::new(),
            lookback_days: 14,
            step_seconds: 60,
            settle_minutes: 2,
            max_points_per_query: 11_000,
            max_concurrent_queries: 2,
            timeout_seconds: 60.0,
            sources: Vec::new(),
        }
    }
}

/// `[[collectors.prometheus.sources]]`: one kind of component and its queries.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromSource {
    /// Templates to start from: `"service"` (default), `"yace"`,
    /// `"cloudwatch_exporter"`, `"yace_ecs"`, `"cloudwatch_exporter_ecs"` or
    /// `"custom"`.
    pub preset: PromPreset,
    /// Label whose value names the component (default: `service` for `service`,
    /// `dimension_FunctionName` for `yace`, `function_name` for
    /// `cloudwatch_exporter`, `dimension_ServiceName` for `yace_ecs`, `service_name`
    /// for `cloudwatch_exporter_ecs`; required for `custom`).
    pub component_label: Option<String>,
    /// Label matchers put into every template as `{selector}` (`'job="api"'`).
    pub selector: String,
    /// Range of `rate()`/`increase()` in the templates, `{rate_window}`, in seconds
    /// (>= 2 scrape intervals; default 120).
    pub rate_window_seconds: Option<u32>,
    /// CloudWatch period of exported Lambda metrics, `{period_minutes}` in the
    /// templates, in seconds (multiple of 60; default 60). A per-period sum is spread
    /// evenly over its minutes.
    pub cloudwatch_period_seconds: Option<u32>,
    /// `platform` attribute of the components (`"lambda"` or `"fargate"`; default
    /// `"lambda"` for the Lambda presets, `"fargate"` for the ECS ones, unset for
    /// `service`).
    pub platform: Option<String>,
    /// Templates keyed by `metric.stat` (`"duration_ms.p99"`), added to the preset's
    /// or replacing them; an empty template removes one. Each must return one series
    /// per component, labelled by `component_label`.
    pub queries: BTreeMap<String, String>,
}

/// Placeholders a PromQL template may use.
pub const PROM_PLACEHOLDERS: [&str; 4] =
    ["{selector}", "{label}", "{rate_window}", "{period_minutes}"];

impl CollectorsSection {
    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        if let Some(cw) = &self.cloudwatch {
            cw.validate(&join(path, "cloudwatch"), ck);
        }
        if let Some(p) = &self.prometheus {
            p.validate(&join(path, "prometheus"), ck);
        }
    }
}

fn check_url(path: &str, url: &str, ck: &mut Check<'_>) {
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    if !scheme_ok || url.len() <= "https://".len() || url.contains(char::is_whitespace) {
        ck.err(
            path,
            format!("must be an http:// or https:// URL (got \"{url}\")"),
        );
    }
}

fn check_globs(path: &str, globs: &[String], ck: &mut Check<'_>) {
    for (i, g) in globs.iter().enumerate() {
        if let Err(e) = Glob::new(g) {
            ck.err(&index(path, i), format!("invalid glob: {}", e.kind()));
        }
    }
}

/// Whether `s` looks like an AWS region name (`us-east-1`, `eu-central-2`,
/// `us-gov-west-1`), so a typo fails at load time rather than as a DNS error.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn check_regions(path: &str, regions: &[String], ck: &mut Check<'_>) {
    for (i, r) in regions.iter().enumerate() {
        if !is_region(r) {
            ck.err(
                &index(path, i),
                format!("not an AWS region name (got \"{r}\", expected e.g. \"us-east-1\")"),
            );
        }
    }
}

impl CloudWatchSection {
    fn validate(&self, path: &str, ck: &mut Check<'_>) {
        if let Some(u) = &self.endpoint_url {
            check_url(&join(path, "endpoint_url"), u, ck);
        }
        check_regions(&join(path, "regions"), &self.regions, ck);
        crate::resources::unique_names(
            &join(path, "accounts"),
            "collector account",
            self.accounts.iter().map(|a| a.name.as_str()),
            ck,
        );
        for (i, a) in self.accounts.iter().enumerate() {
            let p = index(&join(path, "accounts"), i);
            if let Some(arn) = &a.role_arn
                && !(arn.starts_with("arn:") && arn.contains(":role/"))
            {
                ck.err(
                    &join(&p, "role_arn"),
                    format!("not an IAM role ARN (got \"{arn}\", expected arn:aws:iam::ACCOUNT:role/NAME)"),
                );
            }
            if a.regions.is_empty() {
                if ck.has(&join(&p, "regions")) {
                    ck.err(&join(&p, "regions"), "must list at least one region");
                } else {
                    ck.err(&join(&p, "regions"), "missing required key");
                }
            }
            check_regions(&join(&p, "regions"), &a.regions, ck);
        }
        check_globs(&join(path, "functions"), &self.functions, ck);
        check_globs(
            &join(path, "exclude_functions"),
            &self.exclude_functions,
            ck,
        );
        for (k, v) in &self.tags {
            if let Err(e) = Glob::new(v) {
                ck.err(
                    &join(&join(path, "tags"), k),
                    format!("invalid glob: {}", e.kind()),
                );
            }
        }
        if !self.component_name.contains("{function}") {
            ck.err(
                &join(path, "component_name"),
                format!(
                    "must contain {{function}}, or every function would get the same name (got \"{}\")",
                    self.component_name
                ),
            );
        }
        let int = |ck: &mut Check<'_>, key: &str, v: u32, lo: f64, hi: f64| {
            ck.num(
                &join(path, key),
                f64::from(v),
                &[Bound::Ge(lo), Bound::Le(hi)],
            );
        };
        int(ck, "lookback_days", self.lookback_days, 1.0, 15.0);
        int(ck, "cycle_minutes", self.cycle_minutes, 1.0, 1440.0);
        int(ck, "settle_minutes", self.settle_minutes, 0.0, 60.0);
        int(
            ck,
            "max_concurrent_requests",
            self.max_concurrent_requests,
            1.0,
            50.0,
        );
        int(ck, "max_attempts", self.max_attempts, 1.0, 10.0);
        ck.num(
            &join(path, "max_metrics_per_function_per_day"),
            f64::from(self.max_metrics_per_function_per_day),
            &[Bound::Ge(1.0)],
        );
        ck.num(
            &join(path, "timeout_seconds"),
            self.timeout_seconds,
            &[Bound::Gt(0.0)],
        );
        for (i, p) in self.duration_percentiles.iter().enumerate() {
            let ok = p
                .parse::<adaptd_engine::telemetry::Stat>()
                .is_ok_and(|s| s.probability().is_some());
            if !ok {
                ck.err(
                    &index(&join(path, "duration_percentiles"), i),
                    format!("not a percentile (got \"{p}\", expected e.g. \"p99\" or \"p99.9\")"),
                );
            }
        }
        if let Some(e) = &self.ecs {
            e.validate(&join(path, "ecs"), ck);
        }
    }
}

impl EcsSection {
    fn validate(&self, path: &str, ck: &mut Check<'_>) {
        check_globs(&join(path, "clusters"), &self.clusters, ck);
        check_globs(&join(path, "services"), &self.services, ck);
        check_globs(&join(path, "exclude_services"), &self.exclude_services, ck);
        if !self.component_name.contains("{service}") {
            ck.err(
                &join(path, "component_name"),
                format!(
                    "must contain {{service}}, or every service would get the same name (got \"{}\")",
                    self.component_name
                ),
            );
        }
        ck.num(
            &join(path, "per_task_concurrency"),
            f64::from(self.per_task_concurrency),
            &[Bound::Ge(1.0)],
        );
    }
}

impl PrometheusSection {
    fn validate(&self, path: &str, ck: &mut Check<'_>) {
        if ck.require(&join(path, "url"), !self.url.is_empty(), "") {
            check_url(&join(path, "url"), &self.url, ck);
        }
        if self.bearer_token_env.is_some() && self.bearer_token_file.is_some() {
            ck.err(
                &join(path, "bearer_token_file"),
                "give bearer_token_env or bearer_token_file, not both",
            );
        }
        let bearer = self.bearer_token_env.is_some() || self.bearer_token_file.is_some();
        if bearer && self.username.is_some() {
            ck.err(
                &join(path, "username"),
                "basic auth and a bearer token exclude each other",
            );
        }
        if self.password_env.is_some() && self.username.is_none() {
            ck.err(&join(path, "password_env"), "needs `username`");
        }
        for name in self.headers.keys() {
            let ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if !ok {
                ck.err_key(
                    &join(&join(path, "headers"), name),
                    format!("not a valid HTTP header name (got \"{name}\")"),
                );
            }
        }
        ck.num(
            &join(path, "lookback_days"),
            f64::from(self.lookback_days),
            &[Bound::Ge(1.0)],
        );
        if self.step_seconds == 0 || !self.step_seconds.is_multiple_of(60) {
            ck.err(
                &join(path, "step_seconds"),
                format!(
                    "must be a positive multiple of 60 (got {})",
                    self.step_seconds
                ),
            );
        }
        ck.num(
            &join(path, "settle_minutes"),
            f64::from(self.settle_minutes),
            &[Bound::Ge(0.0), Bound::Le(60.0)],
        );
        ck.num(
            &join(path, "max_points_per_query"),
            f64::from(self.max_points_per_query),
            &[Bound::Ge(1.0), Bound::Le(11_000.0)],
        );
        ck.num(
            &join(path, "max_concurrent_queries"),
            f64::from(self.max_concurrent_queries),
            &[Bound::Ge(1.0), Bound::Le(32.0)],
        );
        ck.num(
            &join(path, "timeout_seconds"),
            self.timeout_seconds,
            &[Bound::Gt(0.0)],
        );
        let sources = join(path, "sources");
        if self.sources.is_empty() {
            ck.err(
                &sources,
                "must list at least one source (`[[collectors.prometheus.sources]]`)",
            );
        }
        for (i, s) in self.sources.iter().enumerate() {
            s.validate(&index(&sources, i), ck);
        }
    }
}

impl PromSource {
    fn validate(&self, path: &str, ck: &mut Check<'_>) {
        if self.preset == PromPreset::Custom {
            ck.require(
                &join(path, "component_label"),
                self.component_label.is_some(),
                " (preset \"custom\" has no default)",
            );
            if self.queries.values().all(|q| q.trim().is_empty()) {
                ck.err(
                    &join(path, "queries"),
                    "preset \"custom\" needs at least one query",
                );
            }
        }
        if let Some(w) = self.rate_window_seconds {
            ck.num(
                &join(path, "rate_window_seconds"),
                f64::from(w),
                &[Bound::Ge(1.0)],
            );
        }
        if let Some(p) = self.cloudwatch_period_seconds
            && (p == 0 || !p.is_multiple_of(60))
        {
            ck.err(
                &join(path, "cloudwatch_period_seconds"),
                format!("must be a positive multiple of 60 (got {p})"),
            );
        }
        if let Some(p) = &self.platform
            && p != "lambda"
            && p != "fargate"
        {
            ck.err(
                &join(path, "platform"),
                format!("must be \"lambda\" or \"fargate\" (got \"{p}\")"),
            );
        }
        for (key, template) in &self.queries {
            let kp = join(&join(path, "queries"), key);
            if let Err(msg) = parse_series_key(key) {
                ck.err_key(&kp, msg);
                continue;
            }
            if let Some(bad) = unknown_placeholder(template) {
                ck.err(
                    &kp,
                    format!(
                        "unknown placeholder `{bad}` (expected {})",
                        PROM_PLACEHOLDERS.join(", ")
                    ),
                );
            }
        }
    }
}

/// Parses a `metric.stat` query key (`"duration_ms.p99"`).
pub fn parse_series_key(
    key: &str,
) -> Result<
    (
        adaptd_engine::telemetry::Metric,
        adaptd_engine::telemetry::Stat,
    ),
    String,
> {
    // Metric names have no dot, stats may (`p99.9`): split at the first one.
    let (m, s) = key
        .split_once('.')
        .ok_or_else(|| format!("expected `metric.stat` such as `duration_ms.p99` (got `{key}`)"))?;
    let metric = m.parse().map_err(|e| format!("{e}"))?;
    let stat = s.parse().map_err(|e| format!("{e}"))?;
    Ok((metric, stat))
}

/// The first `{…}` in `template` that is not a known placeholder. PromQL's own
/// braces (`{job="x"}`, `by (le)`) contain `=` or `"`, so only bare `{word}` counts.
fn unknown_placeholder(template: &str) -> Option<String> {
    for (i, _) in template.match_indices('{') {
        let after = &template[i + 1..];
        let word = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if word > 0 && after[word..].starts_with('}') {
            let p = format!("{{{}}}", &after[..word]);
            if !PROM_PLACEHOLDERS.contains(&p.as_str()) {
                return Some(p);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::Config;

    fn errors(text: &str) -> String {
        match Config::from_str(text, "a.toml") {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_complete_section_is_valid() {
        let text = r#"
[collectors.cloudwatch]
endpoint_url = "http://127.0.0.1:5000"
regions = ["us-east-1"]
functions = ["orders-*"]
exclude_functions = ["*-test"]
tags = { team = "pay*" }
component_name = "{account}-{function}"
duration_percentiles = ["p50", "p99.9"]
provisioned_metrics = "full"

[[collectors.cloudwatch.accounts]]
name = "prod"
role_arn = "arn:aws:iam::111122223333:role/adaptd-read"
regions = ["eu-west-1"]

[collectors.prometheus]
url = "https://prom:9090"
headers = { "X-Scope-OrgID" = "team-a" }

[[collectors.prometheus.sources]]
preset = "custom"
component_label = "app"
queries = { "duration_ms.p99.9" = 'max by ({label}) (lat{{selector}})' }
"#;
        let c = Config::from_str(text, "a.toml").unwrap();
        let cw = c.collectors.cloudwatch.unwrap();
        assert_eq!(cw.lookback_days, 14);
        assert_eq!(cw.accounts[0].regions, ["eu-west-1"]);
        assert_eq!(c.collectors.prometheus.unwrap().sources[0].queries.len(), 1);
    }

    #[test]
    fn every_problem_is_reported_at_its_place() {
        let text = r#"
[collectors.cloudwatch]
endpoint_url = "localhost:5000"
regions = ["us-east"]
functions = ["a[b"]
lookback_days = 30
cycle_minute = 60
component_name = "x"
duration_percentiles = ["p999"]

[[collectors.cloudwatch.accounts]]
name = "prod"
role_arn = "123"

[collectors.prometheus]
step_seconds = 90
bearer_token_env = "T"
username = "u"
headers = { "bad header" = "x" }

[[collectors.prometheus.sources]]
preset = "custom"
queries = { "latency.p99" = "x", "duration_ms.p99" = "y{{selectr}}" }
"#;
        let e = errors(text);
        for want in [
            "a.toml:3:16: collectors.cloudwatch.endpoint_url: must be an http:// or https:// URL",
            "a.toml:4:12: collectors.cloudwatch.regions[0]: not an AWS region name",
            "a.toml:5:14: collectors.cloudwatch.functions[0]: invalid glob",
            "a.toml:6:17: collectors.cloudwatch.lookback_days: must be between 1 and 15 (got 30)",
            "a.toml:7:1: collectors.cloudwatch.cycle_minute: unknown key, did you mean `cycle_minutes`?",
            "collectors.cloudwatch.component_name: must contain {function}",
            "collectors.cloudwatch.duration_percentiles[0]: not a percentile (got \"p999\"",
            "collectors.cloudwatch.accounts[0].role_arn: not an IAM role ARN",
            "collectors.cloudwatch.accounts[0].regions: missing required key",
            "collectors.prometheus.url: missing required key",
            "collectors.prometheus.step_seconds: must be a positive multiple of 60 (got 90)",
            "collectors.prometheus.username: basic auth and a bearer token exclude each other",
            "collectors.prometheus.headers.\"bad header\": not a valid HTTP header name",
            "collectors.prometheus.sources[0].component_label: missing required key (preset \"custom\" has no default)",
            "collectors.prometheus.sources[0].queries.\"latency.p99\": unknown metric `latency`",
            "collectors.prometheus.sources[0].queries.\"duration_ms.p99\": unknown placeholder `{selectr}`",
        ] {
            assert!(e.contains(want), "missing `{want}` in:\n{e}");
        }
    }
}

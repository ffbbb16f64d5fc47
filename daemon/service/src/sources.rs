//! Telemetry sources of a cycle: a local file (`[service] telemetry`), CloudWatch and
//! Prometheus (`[collectors]`). Each collects incrementally from a state the store
//! keeps (JSON per source) and says which components a failure concerns, so the
//! cycle marks exactly those stale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adaptd_collectors::cloudwatch::CloudWatchCollector;
use adaptd_collectors::prometheus::PrometheusCollector;
use adaptd_collectors::shutdown::Shutdown;
use adaptd_collectors::watermarks::Watermarks;
use adaptd_config::Config;
use adaptd_engine::telemetry::{ComponentTelemetry, TelemetrySet};
use serde::{Deserialize, Serialize};

/// A configured source.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a few sources, built once at start; boxing buys nothing"
)]
pub enum Source {
    /// A long-format file, a directory of them or an Azure 2019 trace.
    File {
        /// As written in the config (`azure2019:` prefix kept).
        spec: String,
        /// The path on disk.
        path: PathBuf,
    },
    /// CloudWatch and the Lambda API.
    CloudWatch(CloudWatchCollector),
    /// A Prometheus-compatible server.
    Prometheus(PrometheusCollector),
}

/// Which components a failure concerns.
#[derive(Clone, Debug, PartialEq)]
pub enum Affects {
    /// Every component of the source.
    Source,
    /// Components whose attributes match (`account`, `region`, function name).
    Scope {
        /// Account key.
        account: String,
        /// Region.
        region: Option<String>,
        /// Function name.
        function: Option<String>,
    },
}

/// A failure of a source.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceError {
    /// For a person.
    pub message: String,
    /// A bounded label for metrics (`api`, `settings`, `query`, `read`, …).
    pub kind: &'static str,
    /// What it concerns.
    pub affects: Affects,
}

/// What observing cost, for `/metrics`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// Successful API calls or queries by operation.
    pub calls: BTreeMap<String, u64>,
    /// Billed metrics requested (CloudWatch GetMetricData).
    pub metrics_requested: u64,
    /// Datapoints or samples received.
    pub datapoints: u64,
    /// Estimated price (USD).
    pub usd: f64,
}

/// One collection of one source.
#[derive(Debug)]
pub struct Collected {
    /// `file`, `cloudwatch` or `prometheus`.
    pub source: &'static str,
    /// Components seen, with only the minutes not collected before.
    pub telemetry: TelemetrySet,
    /// State to store (JSON); `None` keeps the stored one.
    pub state: Option<String>,
    /// Failures (the rest went on).
    pub errors: Vec<SourceError>,
    /// Things worth knowing that are not failures.
    pub notes: Vec<String>,
    /// The cost of this collection.
    pub observation: Observation,
    /// Whether shutdown cut it short.
    pub stopped: bool,
}

/// State of the file source: per-component watermarks, and the file's size and
/// modification time when last read, so an unchanged file is not parsed again.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileState {
    marks: Watermarks,
    seen: Option<(u64, u128)>,
}

impl Source {
    /// The sources `config` names; relative paths are relative to `base`.
    pub fn from_config(config: &Config, base: &Path) -> Result<Vec<Source>, String> {
        let mut out = Vec::new();
        if let Some(spec) = &config.service.telemetry {
            let (prefix, rest) = match spec.strip_prefix("azure2019:") {
                Some(r) => ("azure2019:", r),
                None => ("", spec.as_str()),
            };
            let path = base.join(rest);
            out.push(Source::File {
                spec: format!("{prefix}{}", path.display()),
                path,
            });
        }
        if let Some(cw) = &config.collectors.cloudwatch {
            out.push(Source::CloudWatch(
                CloudWatchCollector::new(cw).map_err(|e| format!("collectors.cloudwatch: {e}"))?,
            ));
        }
        if let Some(p) = &config.collectors.prometheus {
            out.push(Source::Prometheus(
                PrometheusCollector::new(p).map_err(|e| format!("collectors.prometheus: {e}"))?,
            ));
        }
        Ok(out)
    }

    /// The source's name, its key in the store.
    pub fn name(&self) -> &'static str {
        match self {
            Source::File { .. } => "file",
            Source::CloudWatch(_) => "cloudwatch",
            Source::Prometheus(_) => "prometheus",
        }
    }

    /// Collects what is new since `state` (the JSON stored last time, if any).
    pub async fn collect(&self, state: Option<&str>, shutdown: Shutdown) -> Collected {
        let name = self.name();
        let failed = |message: String, kind: &'static str| Collected {
            source: name,
            telemetry: TelemetrySet::default(),
            state: None,
            errors: vec![SourceError {
                message,
                kind,
                affects: Affects::Source,
            }],
            notes: Vec::new(),
            observation: Observation::default(),
            stopped: false,
        };
        match self {
            Source::File { spec, path } => {
                let previous: FileState = match state.map(serde_json::from_str).transpose() {
                    Ok(s) => s.unwrap_or_default(),
                    Err(e) => {
                        return failed(
                            format!("stored state of the file source is unreadable ({e})"),
                            "state",
                        );
                    }
                };
                let (spec, path) = (spec.clone(), path.clone());
                match tokio::task::spawn_blocking(move || collect_file(&spec, &path, previous))
                    .await
                {
                    Ok(Ok((telemetry, state))) => Collected {
                        source: name,
                        telemetry,
                        state: serde_json::to_string(&state).ok(),
                        errors: Vec::new(),
                        notes: Vec::new(),
                        observation: Observation::default(),
                        stopped: false,
                    },
                    Ok(Err(e)) => failed(e, "read"),
                    Err(e) => failed(format!("file source task failed: {e}"), "read"),
                }
            }
            Source::CloudWatch(c) => {
                let mut marks = match parse_marks(state) {
                    Ok(m) => m,
                    Err(e) => return failed(e, "state"),
                };
                let r = c.collect(&mut marks, shutdown).await;
                let mut observation = Observation {
                    calls: r
                        .cost
                        .api_calls
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), *v))
                        .collect(),
                    metrics_requested: r.cost.metrics_requested,
                    datapoints: r.cost.datapoints,
                    usd: r.cost.usd(),
                };
                observation.calls.retain(|_, v| *v > 0);
                Collected {
                    source: name,
                    telemetry: r.telemetry,
                    state: serde_json::to_string(&marks).ok(),
                    errors: r.errors.iter().map(cloudwatch_error).collect(),
                    notes: r.notes,
                    observation,
                    stopped: r.stopped,
                }
            }
            Source::Prometheus(p) => {
                let mut marks = match parse_marks(state) {
                    Ok(m) => m,
                    Err(e) => return failed(e, "state"),
                };
                let r = p.collect(&mut marks, shutdown).await;
                Collected {
                    source: name,
                    telemetry: r.telemetry,
                    state: serde_json::to_string(&marks).ok(),
                    errors: r
                        .errors
                        .iter()
                        .map(|e| SourceError {
                            message: e.to_string(),
                            kind: match e {
                                adaptd_collectors::prometheus::Error::Settings(_) => "settings",
                                adaptd_collectors::prometheus::Error::Query { .. } => "query",
                                adaptd_collectors::prometheus::Error::Timeout { .. } => "timeout",
                                adaptd_collectors::prometheus::Error::Shape { .. } => "shape",
                            },
                            affects: Affects::Source,
                        })
                        .collect(),
                    notes: Vec::new(),
                    observation: Observation {
                        calls: [("query_range".to_owned(), r.queries)]
                            .into_iter()
                            .filter(|(_, n)| *n > 0)
                            .collect(),
                        metrics_requested: 0,
                        datapoints: r.samples,
                        usd: 0.0,
                    },
                    stopped: r.stopped,
                }
            }
        }
    }
}

fn parse_marks(state: Option<&str>) -> Result<Watermarks, String> {
    match state {
        None => Ok(Watermarks::new()),
        Some(s) => serde_json::from_str(s)
            .map_err(|e| format!("stored collector state is unreadable ({e})")),
    }
}

fn cloudwatch_error(e: &adaptd_collectors::cloudwatch::Error) -> SourceError {
    use adaptd_collectors::cloudwatch::{ApiErrorKind, Error};
    let kind = match e {
        Error::Settings(_) => "settings",
        Error::Api { kind, .. } => match kind {
            ApiErrorKind::Unsupported => "unsupported",
            ApiErrorKind::Permission => "permission",
            ApiErrorKind::Throttled => "throttled",
            ApiErrorKind::Timeout => "timeout",
            ApiErrorKind::Connection => "connection",
            ApiErrorKind::Server => "server",
            ApiErrorKind::Service => "service",
        },
        Error::NameCollision { .. } => "name_collision",
        Error::Malformed { .. } => "malformed",
    };
    SourceError {
        message: e.to_string(),
        kind,
        affects: match e.scope() {
            Some(s) => Affects::Scope {
                account: s.account.clone(),
                region: s.region.clone(),
                function: s.function.clone(),
            },
            None => Affects::Source,
        },
    }
}

/// Whether a component with `attributes` falls under `affects`.
pub fn affected(affects: &Affects, attributes: &serde_json::Value) -> bool {
    match affects {
        Affects::Source => true,
        Affects::Scope {
            account,
            region,
            function,
        } => {
            let attr = |k: &str| attributes.get(k).and_then(|v| v.as_str());
            attr("account") == Some(account.as_str())
                && region.as_deref().is_none_or(|r| attr("region") == Some(r))
                && function.as_deref().is_none_or(|f| {
                    attr("function_arn").is_some_and(|a| a.ends_with(&format!(":function:{f}")))
                })
        }
    }
}

/// Reads the file source, keeping only minutes not collected before.
fn collect_file(
    spec: &str,
    path: &Path,
    mut state: FileState,
) -> Result<(TelemetrySet, FileState), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let stamp = (
        meta.len(),
        meta.modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos()),
    );
    // A directory's own times do not change when a file in it grows.
    if meta.is_file() && state.seen == Some(stamp) {
        return Ok((TelemetrySet::default(), state));
    }
    let all = adaptd_collectors::load(spec).map_err(|e| e.to_string())?;
    let mut out = TelemetrySet {
        components: BTreeMap::new(),
        sources: all.sources.clone(),
    };
    for (name, t) in all.components {
        let key = format!("file:{name}");
        let fresh = only_after(t, state.marks.get(&key));
        if !fresh.series.is_empty()
            && let Some((_, end)) = fresh.covered()
        {
            state.marks.advance(&key, end);
        }
        out.components.insert(name, fresh);
    }
    state.seen = Some(stamp);
    Ok((out, state))
}

/// `t` without the minutes before `mark` (attributes kept). Whole-period
/// distributions (traces) are kept only when nothing was collected before.
fn only_after(t: ComponentTelemetry, mark: Option<i64>) -> ComponentTelemetry {
    let Some(mark) = mark else { return t };
    let Some((lo, hi)) = t.covered() else {
        return t;
    };
    let mut out = ComponentTelemetry::new(t.name.clone());
    out.attributes = t.attributes;
    if hi <= mark {
        return out;
    }
    let start = lo.max(mark);
    for (key, series) in &t.series {
        for (m, v) in series.observed().filter(|&(m, _)| m >= start) {
            let _ = out.record(m, key.0, key.1, v);
        }
    }
    out.window = Some((start, hi));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use adaptd_engine::telemetry::{Metric, Stat};

    #[test]
    fn only_new_minutes_are_kept() {
        let mut t = ComponentTelemetry::new("a");
        t.attributes.insert("memory_mb".into(), "512".into());
        for m in 100..200 {
            t.record(m, Metric::Invocations, Stat::Sum, 1.0).unwrap();
        }
        t.window = Some((100, 200));
        let fresh = only_after(t.clone(), Some(150));
        assert_eq!(fresh.window, Some((150, 200)));
        assert_eq!(fresh.invocations().unwrap().observed_minutes(), 50);
        assert_eq!(fresh.attributes["memory_mb"], "512");
        let none = only_after(t.clone(), Some(200));
        assert!(none.window.is_none() && none.series.is_empty());
        assert_eq!(only_after(t, None).window, Some((100, 200)));
    }

    #[test]
    fn scopes_select_components_by_their_attributes() {
        let a = serde_json::json!({"account": "prod", "region": "us-east-1",
            "function_arn": "arn:aws:lambda:us-east-1:1:function:checkout"});
        let scope = |region: Option<&str>, function: Option<&str>| Affects::Scope {
            account: "prod".into(),
            region: region.map(Into::into),
            function: function.map(Into::into),
        };
        assert!(affected(&scope(None, None), &a));
        assert!(affected(&scope(Some("us-east-1"), Some("checkout")), &a));
        assert!(!affected(&scope(Some("eu-west-1"), None), &a));
        assert!(!affected(&scope(None, Some("check")), &a));
        assert!(affected(&Affects::Source, &serde_json::json!({})));
    }
}

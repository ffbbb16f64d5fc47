//! The Prometheus collector: PromQL range queries against Prometheus or a compatible
//! server (Thanos, Mimir, VictoriaMetrics), one query per metric for all components
//! of a source, written into the telemetry model.
//!
//! Ranges longer than `max_points_per_query` steps are split (Prometheus refuses more
//! than 11,000 points per series), and every query goes through one semaphore of
//! `max_concurrent_queries` permits, so a collection never floods the server.
//! Collection is incremental per source: a source's watermark moves only when all
//! of its queries over the window succeeded, and a failed source contributes
//! nothing to the report, so nothing is half-written.

mod client;
mod error;
mod templates;

use std::collections::BTreeMap;
use std::sync::Arc;

use adaptd_config::PrometheusSection;
use adaptd_engine::telemetry::{Metric, Minute, Stat, TelemetrySet};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use self::client::{Client, Series};
pub use self::error::Error;
use crate::shutdown::Shutdown;
use crate::watermarks::Watermarks;

/// The outcome of one collection.
#[derive(Debug, Default)]
pub struct PromReport {
    /// Components found, with the minutes fetched this time.
    pub telemetry: TelemetrySet,
    /// Failures; a failed source is absent from `telemetry`.
    pub errors: Vec<Error>,
    /// Range queries sent.
    pub queries: u64,
    /// Samples received.
    pub samples: u64,
    /// Sources with too little new history to query.
    pub sources_not_due: usize,
    /// Whether shutdown interrupted the collection.
    pub stopped: bool,
}

/// The Prometheus collector. One instance serves every cycle.
#[derive(Clone, Debug)]
pub struct PrometheusCollector {
    settings: PrometheusSection,
    client: Client,
    lookback_minutes: i64,
}

/// One range query of a source.
#[derive(Debug)]
struct Task {
    source: usize,
    target: (Metric, Stat),
    query: String,
    /// First and one-past-last minute, and the step in minutes.
    from: Minute,
    to: Minute,
}

impl PrometheusCollector {
    /// A collector for a validated `[collectors.prometheus]` section; reads the
    /// secrets it names.
    pub fn new(section: &PrometheusSection) -> Result<Self, Error> {
        if section.sources.is_empty() {
            return Err(Error::Settings(
                "collectors.prometheus: no sources to query".into(),
            ));
        }
        if section.step_seconds == 0 || !section.step_seconds.is_multiple_of(60) {
            return Err(Error::Settings(format!(
                "collectors.prometheus.step_seconds: must be a positive multiple of 60 (got {})",
                section.step_seconds
            )));
        }
        Ok(Self {
            client: Client::new(section)?,
            settings: section.clone(),
            lookback_minutes: i64::from(section.lookback_days.max(1)) * 1440,
        })
    }

    /// Fetches `minutes` of history for sources queried for the first time (the
    /// CLI's `--since`).
    pub fn with_lookback_minutes(mut self, minutes: i64) -> Self {
        self.lookback_minutes = minutes.max(1);
        self
    }

    /// The watermark key of a source: what it queries, not its position alone, so
    /// that editing a source starts it afresh.
    fn key(&self, i: usize) -> String {
        let s = &self.settings.sources[i];
        format!(
            "prometheus {} #{i} {:?} {}",
            self.settings.url, s.preset, s.selector
        )
    }

    /// Collects up to the current minute.
    pub async fn collect(&self, state: &mut Watermarks, shutdown: Shutdown) -> PromReport {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 60);
        self.collect_at(state, i64::try_from(now).unwrap_or(i64::MAX), shutdown)
            .await
    }

    /// Collects as if the current minute were `now`.
    pub async fn collect_at(
        &self,
        state: &mut Watermarks,
        now: Minute,
        mut shutdown: Shutdown,
    ) -> PromReport {
        let s = &self.settings;
        let step = i64::from(s.step_seconds / 60);
        let end = now - i64::from(s.settle_minutes);
        let chunk = i64::from(s.max_points_per_query.max(1)) * step;
        let mut report = PromReport::default();
        let mut tasks = Vec::new();
        let mut windows = BTreeMap::new();
        for (i, source) in s.sources.iter().enumerate() {
            let start = state
                .get(&self.key(i))
                .unwrap_or(end - self.lookback_minutes);
            if end - start < step {
                report.sources_not_due += 1;
                continue;
            }
            windows.insert(i, (start, end));
            let label = label_of(source);
            let rate = source.rate_window_seconds.unwrap_or(120);
            let period = source.cloudwatch_period_seconds.unwrap_or(60) / 60;
            for (target, template) in templates::templates(source) {
                let query =
                    templates::expand(&template, &source.selector, &label, rate, period.max(1));
                let mut from = start;
                while from < end {
                    let to = (from + chunk).min(end);
                    tasks.push(Task {
                        source: i,
                        target,
                        query: query.clone(),
                        from,
                        to,
                    });
                    from = to;
                }
            }
        }

        let limit = Arc::new(Semaphore::new(s.max_concurrent_queries.max(1) as usize));
        let mut running = JoinSet::new();
        for (n, t) in tasks.iter().enumerate() {
            let (client, limit) = (self.client.clone(), limit.clone());
            let (query, from, to) = (t.query.clone(), t.from, t.to);
            let step_seconds = s.step_seconds;
            running.spawn(async move {
                let _permit = limit.acquire_owned().await;
                // Evaluations at the end of each step: the value at t describes the
                // step before t.
                let r = client
                    .query_range(&query, (from + step) * 60, to * 60, step_seconds)
                    .await;
                (n, r)
            });
        }
        let mut results: Vec<Option<Vec<Series>>> = (0..tasks.len()).map(|_| None).collect();
        let mut failed: BTreeMap<usize, Vec<Error>> = BTreeMap::new();
        loop {
            let joined = tokio::select! {
                j = running.join_next() => j,
                () = shutdown.wait() => { report.stopped = true; running.abort_all(); None }
            };
            let Some(joined) = joined else { break };
            let Ok((n, r)) = joined else { continue };
            report.queries += 1;
            match r {
                Ok(series) => results[n] = Some(series),
                Err(e) => failed.entry(tasks[n].source).or_default().push(e),
            }
        }

        for (&i, &(start, end)) in &windows {
            let mine: Vec<usize> = (0..tasks.len()).filter(|&n| tasks[n].source == i).collect();
            if let Some(errors) = failed.remove(&i) {
                report.errors.extend(errors);
                continue;
            }
            if mine.iter().any(|&n| results[n].is_none()) {
                continue; // interrupted
            }
            match self.assemble(i, &tasks, &mine, &mut results, step, start, end) {
                Ok((set, samples)) => {
                    report.samples += samples;
                    for (name, c) in set.components {
                        let into = report.telemetry.component_mut(&name);
                        into.attributes.extend(c.attributes);
                        into.series.extend(c.series);
                        into.window = c.window;
                    }
                    report
                        .telemetry
                        .sources
                        .push(format!("prometheus:{}", self.key(i)));
                    state.advance(&self.key(i), end);
                }
                Err(e) => report.errors.push(e),
            }
        }
        report
    }

    /// A source's telemetry from its queries' answers.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        &self,
        i: usize,
        tasks: &[Task],
        mine: &[usize],
        results: &mut [Option<Vec<Series>>],
        step: i64,
        start: Minute,
        end: Minute,
    ) -> Result<(TelemetrySet, u64), Error> {
        let source = &self.settings.sources[i];
        let label = label_of(source);
        let platform = source
            .platform
            .clone()
            .or_else(|| templates::default_platform(source.preset).map(str::to_owned));
        let mut set = TelemetrySet::default();
        let mut samples = 0;
        for &n in mine {
            let t = &tasks[n];
            let mut seen: BTreeMap<String, ()> = BTreeMap::new();
            for series in results[n].take().unwrap_or_default() {
                let Some(name) = series.metric.get(&label).filter(|v| !v.is_empty()) else {
                    return Err(Error::Shape {
                        query: t.query.clone(),
                        message: format!(
                            "returned a series without the component label `{label}` ({:?}); aggregate by it, e.g. `sum by ({label}) (…)`",
                            series.metric
                        ),
                    });
                };
                if seen.insert(name.clone(), ()).is_some() {
                    return Err(Error::Shape {
                        query: t.query.clone(),
                        message: format!(
                            "returned several series for component `{name}`; aggregate by `{label}` only"
                        ),
                    });
                }
                let c = set.component_mut(name);
                if let Some(p) = &platform {
                    c.attributes.insert("platform".into(), p.clone());
                }
                c.window = Some((start, end));
                for (ts, v) in &series.values {
                    let Ok(v) = v.parse::<f64>() else { continue };
                    // histogram_quantile gives NaN for a minute without requests: a
                    // missing value, not a number.
                    if !v.is_finite() {
                        continue;
                    }
                    let m = (*ts as i64).div_euclid(60) - step;
                    if m >= start && m < end {
                        let _ = c.record(m, t.target.0, t.target.1, v);
                        samples += 1;
                    }
                }
            }
        }
        Ok((set, samples))
    }
}

/// The component label of a source.
fn label_of(source: &adaptd_config::PromSource) -> String {
    source
        .component_label
        .clone()
        .or_else(|| templates::default_label(source.preset).map(str::to_owned))
        .unwrap_or_else(|| "job".to_owned())
}

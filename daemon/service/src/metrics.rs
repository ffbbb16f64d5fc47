//! `/metrics`: the suggestions as Prometheus metrics, and the service's own health.
//!
//! Suggestion gauges are rebuilt from the store whenever its revision changes (a
//! finished cycle, an approval), on every replica alike, so a follower behind the
//! same load balancer serves the same figures. Labels are bounded: components (at
//! most `metrics_max_components`, largest current cost first), fixed enums
//! (deployment, percentile, status, verdict, stage, source, kind) and nothing else.
//! Cycle and collector counters are the process's own: a leader's, since only the
//! leader cycles.

mod operations;
mod tally;

use std::cmp::Reverse;

use adaptd_store::Lifecycle;
use prometheus::core::Collector;
use prometheus::{
    CounterVec, Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use self::operations::Operations;
pub use self::tally::Tally;
use crate::cycle::{CycleReport, STAGES};
use crate::versions::Gauges;

/// Every metric of the service.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    suggestions: Suggestions,
    cycles: Cycles,
    alerts: IntCounterVec,
    operations: Operations,
    leader: IntGauge,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
}

/// The suggestion gauges: rebuilt from the store, the same on every replica.
#[derive(Debug)]
struct Suggestions {
    cost: GaugeVec,
    saving: GaugeVec,
    savings_available: Gauge,
    latency: GaugeVec,
    worst_hour_p99: GaugeVec,
    cold_start: GaugeVec,
    observed_duration: GaugeVec,
    provisioned: GaugeVec,
    traffic: GaugeVec,
    recommendations: IntGaugeVec,
    components: IntGaugeVec,
}

/// The cycles' and collectors' counters: this process's own (a leader's).
#[derive(Debug)]
struct Cycles {
    cycle_duration: HistogramVec,
    cycles: IntCounterVec,
    cycle_failures: IntCounterVec,
    last_success: Gauge,
    collector_up: IntGaugeVec,
    collector_errors: IntCounterVec,
    collector_last_success: GaugeVec,
    api_calls: IntCounterVec,
    metrics_requested: IntCounterVec,
    datapoints: IntCounterVec,
    observation_usd: CounterVec,
}

const VERDICTS: [&str; 4] = ["change", "keep", "slo_infeasible", "no_data"];

/// Registers `m` and hands it back to be kept: every metric is registered once, at
/// start, under a name no other has.
fn register<M: Collector + Clone + 'static>(r: &Registry, m: M) -> M {
    r.register(Box::new(m.clone())).expect("unique metric");
    m
}

fn gauge(r: &Registry, name: &str, help: &str) -> Gauge {
    register(r, Gauge::new(name, help).expect("valid metric"))
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    register(
        r,
        GaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
    )
}

fn int_gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    register(
        r,
        IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
    )
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(
        r,
        IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
    )
}

fn histogram_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(buckets);
    register(r, HistogramVec::new(opts, labels).expect("valid metric"))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Suggestions {
    fn new(r: &Registry) -> Self {
        Self {
            cost: gauge_vec(
                r,
                "adaptd_component_cost_usd_per_month",
                "Predicted monthly cost of a component, as deployed (current) and as recommended.",
                &["component", "deployment"],
            ),
            saving: gauge_vec(
                r,
                "adaptd_component_saving_usd_per_month",
                "Monthly saving of a component's newest recommendation (current minus recommended; negative when meeting the SLO costs more).",
                &["component"],
            ),
            savings_available: gauge(
                r,
                "adaptd_savings_available_usd_per_month",
                "Sum of the positive savings of recommendations not yet applied, rejected or superseded.",
            ),
            latency: gauge_vec(
                r,
                "adaptd_component_predicted_latency_seconds",
                "Predicted latency quantile over the month, cold starts included.",
                &["component", "deployment", "percentile"],
            ),
            worst_hour_p99: gauge_vec(
                r,
                "adaptd_component_predicted_worst_hour_p99_seconds",
                "Predicted p99 latency of the worst hour of the day, what a p99 SLO is checked against.",
                &["component", "deployment"],
            ),
            cold_start: gauge_vec(
                r,
                "adaptd_component_predicted_cold_start_ratio",
                "Predicted share of invocations that pay a cold start.",
                &["component", "deployment"],
            ),
            observed_duration: gauge_vec(
                r,
                "adaptd_component_observed_duration_seconds",
                "Observed invocation duration quantile over the lookback (execution only, no init).",
                &["component", "percentile"],
            ),
            provisioned: gauge_vec(
                r,
                "adaptd_component_provisioned_concurrency",
                "Provisioned environments (or Fargate tasks) in the current hour of day (the component's time zone, UTC by default), as deployed and as recommended.",
                &["component", "deployment"],
            ),
            traffic: gauge_vec(
                r,
                "adaptd_component_invocations_per_minute",
                "Invocations per minute typical of the current hour of day (the component's time zone) over the lookback: mean and 99th percentile.",
                &["component", "stat"],
            ),
            recommendations: int_gauge_vec(
                r,
                "adaptd_recommendations",
                "Newest recommendation versions by lifecycle status and verdict.",
                &["status", "verdict"],
            ),
            components: int_gauge_vec(
                r,
                "adaptd_components",
                "Known components, by freshness (stale: the last collection of their data failed).",
                &["state"],
            ),
        }
    }
}

impl Cycles {
    /// The counters, each outcome and stage at 0 from the start so that a rate over
    /// them exists before the first failure.
    fn new(r: &Registry) -> Self {
        let c = Self {
            cycle_duration: histogram_vec(
                r,
                "adaptd_cycle_stage_duration_seconds",
                "Duration of the stages of the cycles this process ran.",
                &["stage"],
                vec![
                    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0,
                ],
            ),
            cycles: counter_vec(
                r,
                "adaptd_cycles_total",
                "Cycles this process ran, by outcome.",
                &["outcome"],
            ),
            cycle_failures: counter_vec(
                r,
                "adaptd_cycle_failures_total",
                "Cycles with a failed stage, by stage.",
                &["stage"],
            ),
            last_success: gauge(
                r,
                "adaptd_last_successful_cycle_timestamp_seconds",
                "When the last cycle of this process that stored recommendations ended (Unix time).",
            ),
            collector_up: int_gauge_vec(
                r,
                "adaptd_collector_up",
                "1 when the source's last collection had no error.",
                &["source"],
            ),
            collector_errors: counter_vec(
                r,
                "adaptd_collector_errors_total",
                "Collection failures by source and kind.",
                &["source", "kind"],
            ),
            collector_last_success: gauge_vec(
                r,
                "adaptd_collector_last_success_timestamp_seconds",
                "When the source last collected without error (Unix time).",
                &["source"],
            ),
            api_calls: counter_vec(
                r,
                "adaptd_observation_api_calls_total",
                "Successful calls to the observed system's APIs (AWS operations, PromQL range queries).",
                &["source", "operation"],
            ),
            metrics_requested: counter_vec(
                r,
                "adaptd_observation_metrics_requested_total",
                "CloudWatch metrics requested through GetMetricData, the billed quantity.",
                &["source"],
            ),
            datapoints: counter_vec(
                r,
                "adaptd_observation_datapoints_total",
                "Datapoints or samples received.",
                &["source"],
            ),
            observation_usd: register(
                r,
                CounterVec::new(
                    Opts::new(
                        "adaptd_observation_cost_usd_total",
                        "Estimated price of observing (GetMetricData at the us-east-1 list price).",
                    ),
                    &["source"],
                )
                .expect("valid metric"),
            ),
        };
        for stage in STAGES {
            c.cycle_failures.with_label_values(&[stage]).inc_by(0);
        }
        for outcome in ["ok", "partial", "failed", "interrupted"] {
            c.cycles.with_label_values(&[outcome]).inc_by(0);
        }
        c
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let r = Registry::new();
        let _ = r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        let info = int_gauge_vec(
            &r,
            "adaptd_build_info",
            "Version of the running adaptd; always 1.",
            &["version"],
        );
        info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Self {
            suggestions: Suggestions::new(&r),
            cycles: Cycles::new(&r),
            alerts: counter_vec(
                &r,
                "adaptd_alerts_total",
                "Alerts this process accepted, by source and what became of them on arrival.",
                &["source", "outcome"],
            ),
            operations: Operations::new(&r),
            leader: register(
                &r,
                IntGauge::new(
                    "adaptd_leader",
                    "1 while this replica leads (runs cycles), 0 while it follows.",
                )
                .expect("valid metric"),
            ),
            http_requests: counter_vec(
                &r,
                "adaptd_http_requests_total",
                "HTTP requests served, by route template, method and status code.",
                &["route", "method", "code"],
            ),
            http_duration: histogram_vec(
                &r,
                "adaptd_http_request_duration_seconds",
                "Time to serve HTTP requests, by route template.",
                &["route"],
                vec![0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0],
            ),
            registry: r,
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Records whether this replica leads.
    pub fn set_leader(&self, leads: bool) {
        self.leader.set(i64::from(leads));
    }

    /// Records one HTTP request.
    pub fn observe_http(&self, route: &str, method: &str, code: u16, seconds: f64) {
        self.http_requests
            .with_label_values(&[route, method, &code.to_string()])
            .inc();
        self.http_duration
            .with_label_values(&[route])
            .observe(seconds);
    }

    /// Records an accepted alert (`source`: alertmanager, sns).
    pub fn observe_alert(&self, source: &str, outcome: &str) {
        self.alerts.with_label_values(&[source, outcome]).inc();
    }

    /// Records an alert request refused with `code` (the refusal's `code`).
    pub fn observe_alert_refused(&self, source: &str, code: &str) {
        self.operations.refused(source, code);
    }

    /// Records a verdict on an applied change.
    pub fn observe_apply_verdict(&self, d: &adaptd_actuator::verify::Decision) {
        self.operations.verdict(d);
    }

    /// Records a cycle this process ran.
    pub fn observe_cycle(&self, r: &CycleReport, now_seconds: f64) {
        self.cycles.observe(r, now_seconds);
    }

    /// Rebuilds the suggestion gauges from the components' counts (known, stale) and
    /// what `tally` gathered of the newest versions. `now_minute` (minutes since the
    /// epoch) picks each component's current hour of day in its own zone.
    pub fn refresh(&self, components: (i64, i64), tally: Tally, now_minute: i64) {
        self.suggestions.refresh(components, tally, now_minute);
    }
}

impl Cycles {
    fn observe(&self, r: &CycleReport, now_seconds: f64) {
        self.cycles.with_label_values(&[&r.outcome]).inc();
        for (stage, s) in &r.stage_seconds {
            self.cycle_duration.with_label_values(&[stage]).observe(*s);
        }
        for stage in &r.failed_stages {
            self.cycle_failures.with_label_values(&[stage]).inc();
        }
        if matches!(r.outcome.as_str(), "ok" | "partial") {
            self.last_success.set(now_seconds);
        }
        for c in &r.sources {
            let ok = c.errors.is_empty();
            self.collector_up
                .with_label_values(&[c.source])
                .set(i64::from(ok));
            if ok {
                self.collector_last_success
                    .with_label_values(&[c.source])
                    .set(now_seconds);
            }
            for e in &c.errors {
                self.collector_errors
                    .with_label_values(&[c.source, e.kind])
                    .inc();
            }
            for (op, n) in &c.observation.calls {
                self.api_calls.with_label_values(&[c.source, op]).inc_by(*n);
            }
            self.metrics_requested
                .with_label_values(&[c.source])
                .inc_by(c.observation.metrics_requested);
            self.datapoints
                .with_label_values(&[c.source])
                .inc_by(c.observation.datapoints);
            self.observation_usd
                .with_label_values(&[c.source])
                .inc_by(c.observation.usd);
        }
    }
}

impl Suggestions {
    /// Rebuilds the suggestion gauges from the components' counts (known, stale) and
    /// what `tally` gathered of the newest versions, at `now_minute`.
    fn refresh(&self, (total, stale): (i64, i64), tally: Tally, now_minute: i64) {
        for g in [
            &self.cost,
            &self.saving,
            &self.latency,
            &self.worst_hour_p99,
            &self.cold_start,
            &self.observed_duration,
            &self.provisioned,
            &self.traffic,
        ] {
            g.reset();
        }
        self.recommendations.reset();
        for s in Lifecycle::ALL {
            for v in VERDICTS {
                self.recommendations
                    .with_label_values(&[s.as_str(), v])
                    .set(0);
            }
        }
        self.components.with_label_values(&["stale"]).set(stale);
        self.components
            .with_label_values(&["fresh"])
            .set(total - stale);
        for ((status, verdict), n) in &tally.counts {
            self.recommendations
                .with_label_values(&[*status, verdict.as_str()])
                .set(*n);
        }
        self.savings_available.set(tally.available_usd_per_month);
        for Reverse(r) in tally.top.into_sorted_vec() {
            let Ok(g) = serde_json::from_str::<Gauges>(&r.gauges) else {
                continue;
            };
            let c = r.component.as_str();
            self.saving
                .with_label_values(&[c])
                .set(r.saving_usd_per_month);
            let sides = [("current", &g.current), ("recommended", &g.recommended)];
            for (name, side) in sides {
                let Some(s) = side else { continue };
                self.cost.with_label_values(&[c, name]).set(s.usd_per_month);
                for (q, ms) in [("p50", s.p50_ms), ("p95", s.p95_ms), ("p99", s.p99_ms)] {
                    self.latency
                        .with_label_values(&[c, name, q])
                        .set(ms / 1000.0);
                }
                self.worst_hour_p99
                    .with_label_values(&[c, name])
                    .set(s.worst_hour_p99_ms / 1000.0);
                self.cold_start
                    .with_label_values(&[c, name])
                    .set(s.cold_start_rate);
            }
            if let Some([p50, p95, p99]) = g.observed_duration_ms {
                for (q, ms) in [("p50", p50), ("p95", p95), ("p99", p99)] {
                    self.observed_duration
                        .with_label_values(&[c, q])
                        .set(ms / 1000.0);
                }
            }
            if let Some(h) = g.hours.get(g.timezone.hour_of_day(now_minute)) {
                self.provisioned
                    .with_label_values(&[c, "current"])
                    .set(f64::from(h.current_level));
                self.provisioned
                    .with_label_values(&[c, "recommended"])
                    .set(f64::from(h.recommended_level));
                self.traffic
                    .with_label_values(&[c, "mean"])
                    .set(h.invocations_per_minute);
                self.traffic
                    .with_label_values(&[c, "p99"])
                    .set(h.p99_invocations_per_minute);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use adaptd_store::RecommendationRow;

    use super::*;
    use crate::versions::Side;

    fn row(i: usize, status: Lifecycle, current: Option<f64>) -> RecommendationRow {
        let gauges = Gauges {
            current: current.map(|c| Side {
                usd_per_month: c,
                ..Side::default()
            }),
            ..Gauges::default()
        };
        RecommendationRow {
            id: i as i64,
            component: format!("fn-{i:03}"),
            version: 1,
            status,
            verdict: ["change", "keep", "no_data"][i % 3].into(),
            latest: true,
            saving_usd_per_month: (i % 7) as f64 - 2.0,
            current_usd_per_month: current,
            recommended_usd_per_month: None,
            summary: String::new(),
            inputs: serde_json::json!({}),
            cycle_id: 1,
            created_ms: 0,
            updated_ms: 0,
            status_actor: None,
            status_note: None,
            fingerprint: String::new(),
            document: None,
            gauges: serde_json::to_string(&gauges).unwrap(),
        }
    }

    /// Rows arrive one at a time in any order: the gauges go to the `max` largest by
    /// current cost (ties to the smaller name, no cost counting as 0), as sorting them
    /// all would pick; counts and the available saving cover every row.
    #[test]
    fn the_tally_keeps_the_largest_and_counts_every_row() {
        let statuses = Lifecycle::ALL;
        let rows: Vec<RecommendationRow> = (0..200)
            .map(|i| {
                let current = (i % 13 != 0).then(|| ((i * 37) % 50) as f64);
                row(i, statuses[i % statuses.len()], current)
            })
            .collect();
        let mut sorted: Vec<&RecommendationRow> = rows.iter().collect();
        sorted.sort_by(|a, b| {
            b.current_usd_per_month
                .unwrap_or(0.0)
                .total_cmp(&a.current_usd_per_month.unwrap_or(0.0))
                .then(a.component.cmp(&b.component))
        });
        let expected: Vec<&str> = sorted[..10].iter().map(|r| r.component.as_str()).collect();
        let available: f64 = rows
            .iter()
            .filter(|r| matches!(r.status, Lifecycle::Proposed | Lifecycle::Approved))
            .map(|r| r.saving_usd_per_month.max(0.0))
            .sum();

        let mut tally = Tally::new(10);
        // A scrambled order: 77 is coprime with 200.
        for k in 0..200 {
            tally.add(rows[(k * 77) % 200].clone());
        }
        assert_eq!(tally.counts.values().sum::<i64>(), 200);
        assert_eq!(
            tally.counts[&("proposed", "change".to_owned())],
            rows.iter()
                .filter(|r| r.status == Lifecycle::Proposed && r.verdict == "change")
                .count() as i64
        );
        assert!((tally.available_usd_per_month - available).abs() < 1e-9);
        let kept: Vec<String> = std::mem::take(&mut tally.top)
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(r)| r.component)
            .collect();
        assert_eq!(kept, expected);

        // Through the registry: exactly those ten have a cost gauge.
        let metrics = Metrics::new();
        let mut tally = Tally::new(10);
        for r in &rows {
            tally.add(r.clone());
        }
        metrics.refresh((250, 3), tally, 0);
        let text = metrics.render();
        let costed: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.starts_with("adaptd_component_cost_usd_per_month{")
                    && l.contains("deployment=\"current\"")
            })
            .filter_map(|l| l.split("component=\"").nth(1)?.split('"').next())
            .collect();
        let mut want = expected.clone();
        want.sort_unstable();
        let mut got = costed.clone();
        got.sort_unstable();
        assert_eq!(got, want, "{text}");
        assert!(
            text.contains("adaptd_components{state=\"stale\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("adaptd_components{state=\"fresh\"} 247"),
            "{text}"
        );

        let mut none = Tally::new(0);
        none.add(rows[1].clone());
        assert!(none.top.is_empty());
    }
}

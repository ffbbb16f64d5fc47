//! The cost of observation: what one collection asked AWS for, and its price.
//!
//! Only GetMetricData is billed by volume ($0.01 per 1,000 metrics requested, the
//! us-east-1 price; each MetricStat query of a call is one metric requested,
//! whatever its time range). Lambda's configuration APIs and STS are free but
//! rate-limited, so they are counted too. A NextToken continuation is counted as
//! requesting its metrics again: AWS does not say otherwise, so the estimate stays an
//! upper bound, and batches are sized so continuations do not occur.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Price of GetMetricData per metric requested, in USD.
pub const USD_PER_METRIC_REQUESTED: f64 = 0.01 / 1000.0;

/// Days in AWS's billing month (730 hours).
const DAYS_PER_MONTH: f64 = 730.0 / 24.0;

/// The GetMetricData price of observing one component for a month, in USD, when
/// each fetch requests `metrics_per_fetch` metrics and a fetch happens every
/// `cycle_minutes`: the figure a plan's length turns into (a function or a service
/// at the defaults, 8–10 metrics once a day, is $0.0030 a month).
pub fn usd_per_component_month(metrics_per_fetch: usize, cycle_minutes: i64) -> f64 {
    let cycle = cycle_minutes.clamp(1, adaptd_engine::telemetry::MINUTES_PER_DAY);
    let fetches_per_day = adaptd_engine::telemetry::MINUTES_PER_DAY as f64 / cycle as f64;
    metrics_per_fetch as f64 * fetches_per_day * DAYS_PER_MONTH * USD_PER_METRIC_REQUESTED
}

/// What one collection cost. The service exports these as Prometheus counters.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ObservationCost {
    /// Successful API calls by operation (`GetMetricData`, `ListFunctions`, …);
    /// retries inside a call are not counted.
    pub api_calls: BTreeMap<&'static str, u64>,
    /// Metrics requested from GetMetricData (the billed quantity).
    pub metrics_requested: u64,
    /// Datapoints returned by GetMetricData.
    pub datapoints: u64,
    /// Functions whose metrics were fetched in this collection.
    pub functions_fetched: u64,
    /// Minutes of history fetched, summed over functions.
    pub function_minutes: u64,
    /// ECS services whose metrics were fetched in this collection.
    pub services_fetched: u64,
    /// Minutes of history fetched, summed over ECS services.
    pub service_minutes: u64,
}

impl ObservationCost {
    /// The price of the metrics requested.
    pub fn usd(&self) -> f64 {
        self.metrics_requested as f64 * USD_PER_METRIC_REQUESTED
    }

    /// All API calls.
    pub fn total_calls(&self) -> u64 {
        self.api_calls.values().sum()
    }

    /// Metrics requested per component (function or ECS service) per day of
    /// history fetched: the figure the budget bounds, normalised so a 14-day
    /// backfill and a daily cycle compare.
    pub fn metrics_per_function_day(&self) -> Option<f64> {
        let minutes = self.function_minutes + self.service_minutes;
        (minutes > 0).then(|| {
            self.metrics_requested as f64
                / (minutes as f64 / adaptd_engine::telemetry::MINUTES_PER_DAY as f64)
        })
    }

    /// Adds another collection's cost (a service keeps running totals).
    pub fn add(&mut self, other: &ObservationCost) {
        for (op, n) in &other.api_calls {
            *self.api_calls.entry(op).or_default() += n;
        }
        self.metrics_requested += other.metrics_requested;
        self.datapoints += other.datapoints;
        self.functions_fetched += other.functions_fetched;
        self.function_minutes += other.function_minutes;
        self.services_fetched += other.services_fetched;
        self.service_minutes += other.service_minutes;
    }
}

/// Counts shared by the tasks of one collection.
#[derive(Debug, Default)]
pub(crate) struct Meter(Mutex<ObservationCost>);

impl Meter {
    pub(crate) fn call(&self, operation: &'static str) {
        *self.lock().api_calls.entry(operation).or_default() += 1;
    }

    pub(crate) fn metric_data(&self, metrics: u64, datapoints: u64) {
        let mut c = self.lock();
        *c.api_calls.entry("GetMetricData").or_default() += 1;
        c.metrics_requested += metrics;
        c.datapoints += datapoints;
    }

    /// A function's (or, `service`, an ECS service's) metrics were fetched.
    pub(crate) fn fetched(&self, service: bool, minutes: u64) {
        let mut c = self.lock();
        if service {
            c.services_fetched += 1;
            c.service_minutes += minutes;
        } else {
            c.functions_fetched += 1;
            c.function_minutes += minutes;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ObservationCost> {
        // A panic elsewhere cannot leave a count half-updated; keep counting.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn take(&self) -> ObservationCost {
        std::mem::take(&mut *self.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_metrics_cost_a_cent() {
        let m = Meter::default();
        m.metric_data(500, 10);
        m.metric_data(500, 0);
        m.call("ListFunctions");
        m.fetched(false, 1440);
        let c = m.take();
        assert!((c.usd() - 0.01).abs() < 1e-12);
        assert_eq!(c.total_calls(), 3);
        assert_eq!(c.metrics_per_function_day(), Some(1000.0));
        let mut t = ObservationCost::default();
        t.add(&c);
        t.add(&c);
        assert_eq!(t.api_calls["GetMetricData"], 4);
    }

    #[test]
    fn a_month_of_observation_is_priced_per_component() {
        // 10 metrics a day for 30.42 days at $0.01 per 1,000.
        let usd = usd_per_component_month(10, 1440);
        assert!((usd - 0.003_041_67).abs() < 1e-8, "{usd}");
        // The naive alternative of the docs: 8 metrics every 5 minutes.
        let naive = usd_per_component_month(8, 5);
        assert!((naive - 0.7008).abs() < 1e-9, "{naive}");
    }
}

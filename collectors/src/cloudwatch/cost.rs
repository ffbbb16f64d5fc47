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

    /// Metrics requested per function per day of history fetched: the figure the
    /// budget bounds, normalised so a 14-day backfill and a daily cycle compare.
    pub fn metrics_per_function_day(&self) -> Option<f64> {
        (self.function_minutes > 0).then(|| {
            self.metrics_requested as f64
                / (self.function_minutes as f64 / adaptd_engine::telemetry::MINUTES_PER_DAY as f64)
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

    pub(crate) fn fetched(&self, minutes: u64) {
        let mut c = self.lock();
        c.functions_fetched += 1;
        c.function_minutes += minutes;
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
        m.fetched(1440);
        let c = m.take();
        assert!((c.usd() - 0.01).abs() < 1e-12);
        assert_eq!(c.total_calls(), 3);
        assert_eq!(c.metrics_per_function_day(), Some(1000.0));
        let mut t = ObservationCost::default();
        t.add(&c);
        t.add(&c);
        assert_eq!(t.api_calls["GetMetricData"], 4);
    }
}

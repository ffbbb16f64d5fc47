//! Metrics through GetMetricData: batching, pagination and assembly into telemetry.
//!
//! One call carries up to 500 queries over one time window and returns up to 100,800
//! datapoints per page. Batches are sized so that a page holds every datapoint a
//! batch can return (a 1-day window: 70 queries; 14 days: 5), because a NextToken
//! continuation may bill its metrics again; continuations are still followed when
//! the server sends them. A function's queries are packed together so that one
//! failed call costs as few functions as possible, and a function's telemetry is
//! assembled only once all of its calls succeeded: nothing is half-written.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Minute, Stat};
use aws_sdk_cloudwatch::types::{
    Dimension, Metric as CwMetric, MetricDataQuery, MetricStat, ScanBy, StatusCode,
};
use aws_smithy_types::DateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::client::Clients;
use super::cost::Meter;
use super::error::{Error, Scope, api_error};
use super::plan::{Combine, Query};
use crate::shutdown::Shutdown;

/// Most queries GetMetricData accepts in one call.
pub(crate) const MAX_QUERIES_PER_CALL: usize = 500;
/// Most datapoints GetMetricData returns in one page.
pub(crate) const MAX_DATAPOINTS_PER_PAGE: i64 = 100_800;

/// A function or service to fetch: its queries over `[start, end)`.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub component: String,
    /// Where its failures are reported (the function or the service).
    pub scope: Scope,
    pub queries: Vec<Query>,
    pub start: Minute,
    pub end: Minute,
    /// Allocated provisioned executions, for the derived utilisation.
    pub provisioned_total: u32,
    /// Whether a minute without an invocation datapoint had none (see
    /// [`Facts::counts_requests`](super::plan::Facts::counts_requests)).
    pub counts_requests: bool,
}

/// Queries per call for a window of `minutes`.
pub(crate) fn queries_per_call(minutes: i64) -> usize {
    let n = MAX_DATAPOINTS_PER_PAGE / minutes.max(1);
    usize::try_from(n)
        .unwrap_or(1)
        .clamp(1, MAX_QUERIES_PER_CALL)
}

/// One GetMetricData call's worth: (job, query) pairs sharing a window.
#[derive(Debug)]
struct Batch {
    start: Minute,
    end: Minute,
    items: Vec<(usize, usize)>,
}

/// Packs jobs into batches: jobs grouped by window, whole jobs kept together when
/// they fit in the current batch.
fn batches(jobs: &[Job]) -> Vec<Batch> {
    let mut by_window: BTreeMap<(Minute, Minute), Vec<usize>> = BTreeMap::new();
    for (j, job) in jobs.iter().enumerate() {
        by_window.entry((job.start, job.end)).or_default().push(j);
    }
    let mut out = Vec::new();
    for ((start, end), js) in by_window {
        let cap = queries_per_call(end - start);
        let mut cur: Vec<(usize, usize)> = Vec::new();
        for j in js {
            let n = jobs[j].queries.len();
            if !cur.is_empty() && cur.len() + n > cap {
                out.push(Batch {
                    start,
                    end,
                    items: std::mem::take(&mut cur),
                });
            }
            for q in 0..n {
                if cur.len() == cap {
                    out.push(Batch {
                        start,
                        end,
                        items: std::mem::take(&mut cur),
                    });
                }
                cur.push((j, q));
            }
        }
        if !cur.is_empty() {
            out.push(Batch {
                start,
                end,
                items: cur,
            });
        }
    }
    out
}

fn to_datetime(m: Minute) -> DateTime {
    DateTime::from_secs(m * 60)
}

fn build_query(id: String, q: &Query) -> MetricDataQuery {
    let dims: Vec<Dimension> = q
        .dimensions
        .iter()
        .map(|(n, v)| Dimension::builder().name(*n).value(v).build())
        .collect();
    let metric = CwMetric::builder()
        .namespace(q.namespace)
        .metric_name(q.metric_name)
        .set_dimensions(Some(dims))
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(60)
                .stat(&q.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// A query's datapoints.
type Points = Vec<(Minute, f64)>;

/// Values of each query of a batch: (job, query) → datapoints.
type BatchValues = Vec<((usize, usize), Points)>;

/// Runs one batch, following NextToken.
async fn run_batch(
    clients: &Clients,
    jobs: &[Job],
    batch: &Batch,
    scope: &Scope,
    meter: &Meter,
) -> Result<BatchValues, Error> {
    let queries: Vec<MetricDataQuery> = batch
        .items
        .iter()
        .enumerate()
        .map(|(i, &(j, q))| build_query(format!("q{i}"), &jobs[j].queries[q]))
        .collect();
    let percentiles = batch
        .items
        .iter()
        .any(|&(j, q)| jobs[j].queries[q].stat.starts_with('p'));
    let hint = percentiles.then_some(
        "the batch asked for percentile statistics (p50, p99), which some CloudWatch emulators cannot compute",
    );
    let mut values: Vec<Vec<(Minute, f64)>> = vec![Vec::new(); batch.items.len()];
    let mut token: Option<String> = None;
    loop {
        let out = clients
            .cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(to_datetime(batch.start))
            .end_time(to_datetime(batch.end))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| api_error("GetMetricData", scope, &e, hint))?;
        let mut points = 0u64;
        for r in out.metric_data_results() {
            let Some(i) = r
                .id()
                .and_then(|id| id.strip_prefix('q'))
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            let Some(slot) = values.get_mut(i) else {
                continue;
            };
            if let Some(StatusCode::InternalError | StatusCode::Forbidden) = r.status_code() {
                let (j, q) = batch.items[i];
                let q = &jobs[j].queries[q];
                let detail: Vec<&str> = r.messages().iter().filter_map(|m| m.value()).collect();
                return Err(Error::Malformed {
                    operation: "GetMetricData",
                    scope: Box::new(jobs[j].scope.clone()),
                    what: format!(
                        "{} {} {} answered {:?} {}",
                        q.namespace,
                        q.metric_name,
                        q.stat,
                        r.status_code(),
                        detail.join("; ")
                    ),
                });
            }
            for (t, v) in r.timestamps().iter().zip(r.values()) {
                let m = t.secs().div_euclid(60);
                if m >= batch.start && m < batch.end && v.is_finite() {
                    slot.push((m, *v));
                    points += 1;
                }
            }
        }
        meter.metric_data(queries.len() as u64, points);
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(batch.items.iter().copied().zip(values).collect())
}

/// Progress of the metric stage: batches done of all.
pub(crate) type ProgressFn = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// Fetches every job, at most `concurrency` calls at a time. Returns the telemetry of
/// each job whose calls all succeeded, and the errors of the others. On shutdown the
/// calls in flight are abandoned and only complete jobs are returned.
pub(crate) async fn fetch(
    clients: &Clients,
    jobs: Vec<Job>,
    scope: &Scope,
    concurrency: usize,
    meter: &Arc<Meter>,
    mut shutdown: Shutdown,
    progress: Option<ProgressFn>,
) -> (Vec<(usize, ComponentTelemetry)>, Vec<Error>, bool) {
    let jobs = Arc::new(jobs);
    let all = batches(&jobs);
    let total = all.len();
    let mut pending: HashMap<usize, usize> = HashMap::new();
    for b in &all {
        let mut seen: Vec<usize> = b.items.iter().map(|&(j, _)| j).collect();
        seen.dedup();
        for j in seen {
            *pending.entry(j).or_default() += 1;
        }
    }
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for batch in all {
        let (clients, jobs, scope, meter, limit) = (
            clients.clone(),
            jobs.clone(),
            scope.clone(),
            meter.clone(),
            limit.clone(),
        );
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let r = run_batch(&clients, &jobs, &batch, &scope, &meter).await;
            (batch, r)
        });
    }
    let mut values: HashMap<usize, Vec<(usize, Points)>> = HashMap::new();
    let mut failed: BTreeMap<usize, Error> = BTreeMap::new();
    let mut other_errors = Vec::new();
    let mut done = 0;
    let mut stopped = false;
    loop {
        let joined = tokio::select! {
            j = tasks.join_next() => j,
            () = shutdown.wait() => { stopped = true; tasks.abort_all(); None }
        };
        let Some(joined) = joined else { break };
        done += 1;
        if let Some(p) = &progress {
            p(done, total);
        }
        match joined {
            Ok((batch, Ok(vals))) => {
                for ((j, q), v) in vals {
                    values.entry(j).or_default().push((q, v));
                }
                let mut js: Vec<usize> = batch.items.iter().map(|&(j, _)| j).collect();
                js.dedup();
                for j in js {
                    *pending.get_mut(&j).expect("counted") -= 1;
                }
            }
            Ok((batch, Err(e))) => {
                let mut js: Vec<usize> = batch.items.iter().map(|&(j, _)| j).collect();
                js.dedup();
                let mut e = Some(e);
                for j in js {
                    failed.entry(j).or_insert_with(|| {
                        // The first function gets the error itself, the others a copy
                        // of its text (errors are not Clone: they own SDK details).
                        match e.take() {
                            Some(e) => e,
                            None => Error::Malformed {
                                operation: "GetMetricData",
                                scope: Box::new(jobs[j].scope.clone()),
                                what: "its batch failed; see the previous error".into(),
                            },
                        }
                    });
                }
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => other_errors.push(Error::Settings(format!("metric task failed: {e}"))),
        }
    }
    let mut out = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        if failed.contains_key(&j) || pending.get(&j).copied().unwrap_or(0) > 0 {
            continue;
        }
        let vals = values.remove(&j).unwrap_or_default();
        out.push((j, assemble(job, vals)));
        meter.fetched(
            job.scope.service.is_some(),
            u64::try_from(job.end - job.start).unwrap_or(0),
        );
    }
    let mut errors: Vec<Error> = failed.into_values().collect();
    errors.extend(other_errors);
    (out, errors, stopped)
}

/// The telemetry of a job from its queries' values.
fn assemble(job: &Job, vals: Vec<(usize, Vec<(Minute, f64)>)>) -> ComponentTelemetry {
    let mut sums: BTreeMap<(Metric, Stat), BTreeMap<Minute, f64>> = BTreeMap::new();
    for (q, points) in vals {
        let query = &job.queries[q];
        let series = sums.entry(query.target).or_default();
        let w = match query.combine {
            Combine::Add => 1.0,
            Combine::Weighted(w) => w,
        };
        for (m, v) in points {
            *series.entry(m).or_default() += w * v;
        }
    }
    // Lambda publishes Invocations, and an ALB RequestCount, only for minutes with
    // some: inside the fetched window, a minute without a datapoint had none.
    if job.counts_requests {
        let inv = sums.entry((Metric::Invocations, Stat::Sum)).or_default();
        for m in job.start..job.end {
            inv.entry(m).or_insert(0.0);
        }
    }
    // Utilisation is executions over allocation; its peak follows from the peak of
    // executions without requesting it.
    if job.provisioned_total > 0
        && let Some(pce) = sums.get(&(Metric::ProvisionedConcurrentExecutions, Stat::Maximum))
    {
        let total = f64::from(job.provisioned_total);
        let util: BTreeMap<Minute, f64> = pce.iter().map(|(&m, &v)| (m, v / total)).collect();
        sums.insert(
            (Metric::ProvisionedConcurrencyUtilization, Stat::Maximum),
            util,
        );
    }
    let mut t = ComponentTelemetry::new(job.component.clone());
    for ((metric, stat), series) in sums {
        for (m, v) in series {
            // Values come from f64 sums of finite inputs; a non-finite one would be a
            // server bug, and is dropped as missing rather than failing the function.
            let _ = t.record(m, metric, stat, v);
        }
    }
    t.window = Some((job.start, job.end));
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudwatch::plan::{Facts, FunctionFacts, PlanSettings, plan};

    fn job(name: &str, start: Minute, end: Minute) -> Job {
        let p = plan(
            &Facts::Function(FunctionFacts {
                name: name.into(),
                ..Default::default()
            }),
            &PlanSettings {
                percentiles: vec![500, 900, 990],
                insights: false,
                container_insights: false,
                full_provisioned: false,
                per_fetch_budget: 10,
            },
        );
        Job {
            component: name.into(),
            scope: Scope {
                account: "a".into(),
                region: None,
                function: Some(name.into()),
                service: None,
            },
            queries: p.queries,
            start,
            end,
            provisioned_total: 0,
            counts_requests: true,
        }
    }

    #[test]
    fn batches_fit_a_page_and_keep_functions_together() {
        assert_eq!(queries_per_call(1440), 70);
        assert_eq!(queries_per_call(14 * 1440), 5);
        assert_eq!(queries_per_call(60), 500);
        let jobs: Vec<Job> = (0..20).map(|i| job(&format!("f{i}"), 0, 1440)).collect();
        let b = batches(&jobs);
        // 8 queries each, 70 per call: 8 whole functions (64 queries) per batch.
        assert_eq!(b.len(), 3);
        assert!(b.iter().all(|b| b.items.len() <= 70));
        assert_eq!(b[0].items.len(), 64);
        let long = vec![job("a", 0, 14 * 1440)];
        let b = batches(&long);
        assert_eq!(b.iter().map(|b| b.items.len()).collect::<Vec<_>>(), [5, 3]);
        let mixed = vec![job("a", 0, 1440), job("b", 1440, 2880)];
        assert_eq!(
            batches(&mixed).len(),
            2,
            "different windows never share a call"
        );
    }

    #[test]
    fn assembly_fills_idle_minutes_and_derives_utilisation() {
        let mut j = job("f", 10, 14);
        j.queries.push(Query {
            namespace: "AWS/Lambda",
            metric_name: "ProvisionedConcurrentExecutions",
            dimensions: vec![],
            stat: "Maximum".into(),
            target: (Metric::ProvisionedConcurrentExecutions, Stat::Maximum),
            combine: Combine::Add,
            rank: 7,
        });
        j.provisioned_total = 4;
        let pce = j.queries.len() - 1;
        let t = assemble(&j, vec![(0, vec![(11, 5.0)]), (pce, vec![(11, 2.0)])]);
        let inv = t.invocations().unwrap();
        assert_eq!(
            inv.observed().collect::<Vec<_>>(),
            [(10, 0.0), (11, 5.0), (12, 0.0), (13, 0.0)]
        );
        let u = t
            .get(Metric::ProvisionedConcurrencyUtilization, Stat::Maximum)
            .unwrap();
        assert_eq!(u.get(11), Some(0.5));
        assert_eq!(t.window, Some((10, 14)));
        assert!(
            t.get(Metric::DurationMs, Stat::P99).is_none(),
            "no datapoint, no series"
        );
    }

    #[test]
    fn a_service_without_a_load_balancer_has_no_invocations_series() {
        let mut j = job("svc", 10, 14);
        j.counts_requests = false;
        j.queries.truncate(0);
        j.queries.push(Query {
            namespace: "AWS/ApplicationELB",
            metric_name: "TargetResponseTime",
            dimensions: vec![],
            stat: "p99".into(),
            target: (Metric::DurationMs, Stat::P99),
            combine: Combine::Weighted(1000.0),
            rank: 1,
        });
        let t = assemble(&j, vec![(0, vec![(12, 0.25)])]);
        assert!(t.invocations().is_none(), "unknown, not zero");
        assert_eq!(
            t.get(Metric::DurationMs, Stat::P99).unwrap().get(12),
            Some(250.0),
            "seconds become milliseconds"
        );
    }
}

//! The CloudWatch collector: Lambda functions discovered through the Lambda API and
//! ECS services on Fargate through the ECS API, their deployment read as
//! attributes, their 1-minute metrics fetched incrementally through GetMetricData
//! in one plan, at a bounded cost.
//!
//! A collection runs in two phases. Discovery lists and describes the functions
//! (and, with `[collectors.cloudwatch.ecs]`, the Fargate services) of every account
//! and region (accounts and regions in parallel; one that fails is reported and the
//! others go on). Then each function or service that has at least
//! `cycle_minutes` of new complete history gets its planned queries over
//! `[watermark, now − settle)`; a function seen for the first time gets the lookback.
//! The caller owns the [`Watermarks`] and persists them; a function's watermark moves
//! only when its telemetry is in the report.
//!
//! See `docs/collectors.md` for the IAM permissions and the cost arithmetic.

mod client;
mod config;
mod cost;
mod discover;
mod ecs;
mod error;
mod fetch;
mod plan;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use adaptd_config::CloudWatchSection;
use adaptd_engine::telemetry::{Minute, TelemetrySet};
use tokio::task::JoinSet;
use tracing::Instrument;

use self::client::Clients;
pub use self::config::{AccountTarget, RETENTION_MINUTES, Settings};
use self::cost::Meter;
pub use self::cost::{ObservationCost, USD_PER_METRIC_REQUESTED, usd_per_component_month};
use self::discover::Found;
pub use self::error::{ApiErrorKind, Error, Scope};
use self::fetch::Job;
use crate::shutdown::Shutdown;
use crate::watermarks::Watermarks;

/// Progress of a collection, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Discovery finished: functions and services found, and how many are due for
    /// metrics.
    Discovered {
        /// Functions and ECS services selected in all accounts and regions.
        functions: usize,
        /// Those whose metrics will be fetched now.
        due: usize,
    },
    /// A GetMetricData batch finished.
    Metrics {
        /// Batches done.
        done: usize,
        /// Batches in all (of one account and region).
        total: usize,
    },
}

/// The account limits GetAccountSettings reported for one account and region.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AccountLimits {
    /// Account key.
    pub account: String,
    /// Region.
    pub region: String,
    /// The regional concurrent-executions quota.
    pub concurrency_limit: i32,
    /// What is left unreserved.
    pub unreserved_concurrency: Option<i32>,
}

/// The outcome of one collection.
#[derive(Debug, Default)]
pub struct CollectReport {
    /// Every function discovered (attributes), with the metrics fetched this time.
    pub telemetry: TelemetrySet,
    /// Failures; the rest of the collection went on without the failed scope.
    pub errors: Vec<Error>,
    /// Things a user should know that are not failures (metrics the budget left out,
    /// history lost to retention).
    pub notes: Vec<String>,
    /// What this collection asked AWS for.
    pub cost: ObservationCost,
    /// Functions selected by the filters.
    pub functions_discovered: usize,
    /// Functions whose metrics were fetched and are in `telemetry`.
    pub functions_fetched: usize,
    /// Functions with less than `cycle_minutes` of new history, not fetched.
    pub functions_not_due: usize,
    /// ECS services on Fargate selected by the filters.
    pub services_discovered: usize,
    /// ECS services whose metrics were fetched and are in `telemetry`.
    pub services_fetched: usize,
    /// ECS services with less than `cycle_minutes` of new history, not fetched.
    pub services_not_due: usize,
    /// Account limits, where the endpoint reports them.
    pub accounts: Vec<AccountLimits>,
    /// Whether shutdown interrupted the collection.
    pub stopped: bool,
}

/// The CloudWatch collector. Cheap to clone; one instance serves every cycle.
#[derive(Clone)]
pub struct CloudWatchCollector {
    settings: Arc<Settings>,
    progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
}

impl std::fmt::Debug for CloudWatchCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchCollector")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The current minute.
fn now_minute() -> Minute {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 60).unwrap_or(i64::MAX)
}

/// A fetched component's watermark key (function or service ARN), and whether it
/// is a service.
type WatermarkKey = (String, bool);

/// One account and region after discovery.
struct Target {
    account: String,
    clients: Clients,
    found: Vec<Found>,
}

impl CloudWatchCollector {
    /// A collector for a validated `[collectors.cloudwatch]` section.
    pub fn new(section: &CloudWatchSection) -> Result<Self, Error> {
        Ok(Self::from_settings(Settings::from_section(section)?))
    }

    /// A collector for resolved settings.
    pub fn from_settings(settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
            progress: None,
        }
    }

    /// Reports progress to `f` (called from the collection's tasks).
    pub fn with_progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Collects up to the current minute.
    pub async fn collect(&self, state: &mut Watermarks, shutdown: Shutdown) -> CollectReport {
        self.collect_at(state, now_minute(), shutdown).await
    }

    /// Collects as if the current minute were `now` (tests, replays of a schedule).
    pub async fn collect_at(
        &self,
        state: &mut Watermarks,
        now: Minute,
        shutdown: Shutdown,
    ) -> CollectReport {
        let meter = Arc::new(Meter::default());
        let mut report = CollectReport::default();
        let mut stop = shutdown.clone();
        let discovered = tokio::select! {
            t = self.discover(&meter, &mut report) => Some(t),
            () = stop.wait() => None,
        };
        let Some(mut targets) = discovered else {
            report.stopped = true;
            report.cost = meter.take();
            return report;
        };
        self.check_names(&mut targets, &mut report);

        let end = now - self.settings.settle_minutes;
        // The oldest minute CloudWatch still holds at 1-minute resolution, with a
        // minute's margin for the time the collection takes.
        let floor = now - RETENTION_MINUTES + 1;
        let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
        let mut planned: Vec<(Target, Vec<Job>, Vec<WatermarkKey>)> = Vec::new();
        let mut due = 0;
        for target in targets {
            let mut jobs = Vec::new();
            let mut arns = Vec::new();
            for f in &target.found {
                let component = report.telemetry.component_mut(&f.component);
                component.attributes = f.attributes.clone();
                let first = end - self.settings.lookback_minutes;
                let mark = state.get(&f.arn).unwrap_or(first);
                let start = mark.max(floor);
                if mark < floor {
                    report.notes.push(format!(
                        "{}: {} minutes of history expired in CloudWatch before they were collected",
                        f.component,
                        floor - mark
                    ));
                }
                // A function seen for the first time is fetched whatever the window
                // (a short `--since` included); afterwards, once a cycle's worth of
                // history has accumulated.
                let seen = state.get(&f.arn).is_some();
                if end <= start || (seen && end - start < self.settings.cycle_minutes) {
                    if f.is_service() {
                        report.services_not_due += 1;
                    } else {
                        report.functions_not_due += 1;
                    }
                    continue;
                }
                let plan = plan::plan(&f.facts, &self.settings.plan);
                for d in plan.dropped {
                    *dropped.entry(d).or_default() += 1;
                }
                jobs.push(Job {
                    component: f.component.clone(),
                    scope: f.scope(&target.account, &target.clients.region),
                    queries: plan.queries,
                    start,
                    end,
                    provisioned_total: f.facts.provisioned_total(),
                    counts_requests: f.facts.counts_requests(),
                });
                arns.push((f.arn.clone(), f.is_service()));
            }
            due += jobs.len();
            planned.push((target, jobs, arns));
        }
        for (metric, n) in dropped {
            report.notes.push(format!(
                "{metric} left out for {n} function(s) or service(s) to stay within \
                 max_metrics_per_function_per_day"
            ));
        }
        if let Some(p) = &self.progress {
            p(Progress::Discovered {
                functions: report.functions_discovered + report.services_discovered,
                due,
            });
        }

        let mut tasks = JoinSet::new();
        for (target, jobs, arns) in planned {
            if jobs.is_empty() {
                continue;
            }
            let scope = Scope {
                account: target.account.clone(),
                region: Some(target.clients.region.clone()),
                function: None,
                service: None,
            };
            let progress = self.progress.clone().map(|p| {
                Arc::new(move |done, total| p(Progress::Metrics { done, total }))
                    as fetch::ProgressFn
            });
            let (meter, shutdown) = (meter.clone(), shutdown.clone());
            let concurrency = self.settings.max_concurrent_requests;
            let span = tracing::info_span!(
                "fetch",
                account = %target.account,
                region = %target.clients.region,
                functions = jobs.len()
            );
            tasks.spawn(
                async move {
                    let r = fetch::fetch(
                        &target.clients,
                        jobs,
                        &scope,
                        concurrency,
                        &meter,
                        shutdown,
                        progress,
                    )
                    .await;
                    (arns, r)
                }
                .instrument(span),
            );
        }
        while let Some(joined) = tasks.join_next().await {
            let Ok((arns, (done, errors, stopped))) = joined else {
                continue;
            };
            report.stopped |= stopped;
            report.errors.extend(errors);
            for (j, t) in done {
                let (arn, service) = &arns[j];
                state.advance(arn, t.window.map_or(end, |w| w.1));
                let c = report.telemetry.component_mut(&t.name);
                c.series = t.series;
                c.window = t.window;
                if *service {
                    report.services_fetched += 1;
                } else {
                    report.functions_fetched += 1;
                }
            }
        }
        report.cost = meter.take();
        report
    }

    /// Phase one: every account and region, in parallel.
    async fn discover(&self, meter: &Arc<Meter>, report: &mut CollectReport) -> Vec<Target> {
        let mut tasks = JoinSet::new();
        for account in &self.settings.accounts {
            let regions: Vec<Option<String>> = if account.regions.is_empty() {
                vec![None]
            } else {
                account.regions.iter().cloned().map(Some).collect()
            };
            for region in regions {
                let (settings, meter, account) =
                    (self.settings.clone(), meter.clone(), account.clone());
                // The SDK's own events (credentials, retries) carry the scope.
                let span = tracing::info_span!(
                    "discover",
                    account = %account.name,
                    region = region.as_deref().unwrap_or("(chain)")
                );
                tasks.spawn(
                    async move {
                        let found =
                            discover_target(&settings, &account, region.as_deref(), &meter).await;
                        tracing::debug!(
                            functions = found.target.as_ref().map_or(0, |t| t.found.len()),
                            errors = found.errors.len(),
                            "discovered"
                        );
                        found
                    }
                    .instrument(span),
                );
            }
        }
        let mut targets = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(d) => {
                    report.errors.extend(d.errors);
                    report.notes.extend(d.notes);
                    report.accounts.extend(d.limits);
                    if let Some(t) = d.target {
                        let services = t.found.iter().filter(|f| f.is_service()).count();
                        report.services_discovered += services;
                        report.functions_discovered += t.found.len() - services;
                        report
                            .telemetry
                            .sources
                            .push(format!("cloudwatch:{}/{}", t.account, t.clients.region));
                        targets.push(t);
                    }
                }
                Err(e) => report
                    .errors
                    .push(Error::Settings(format!("discovery task failed: {e}"))),
            }
        }
        targets
            .sort_by(|a, b| (&a.account, &a.clients.region).cmp(&(&b.account, &b.clients.region)));
        report.telemetry.sources.sort();
        report
            .accounts
            .sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        targets
    }

    /// Two functions may not share a component name: the second one is dropped and
    /// reported, rather than mixing two functions' metrics.
    fn check_names(&self, targets: &mut [Target], report: &mut CollectReport) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for t in targets.iter_mut() {
            let mut kept = Vec::with_capacity(t.found.len());
            for f in std::mem::take(&mut t.found) {
                if let Some(other) = seen.get(&f.component) {
                    report.errors.push(Error::NameCollision {
                        scope: Box::new(f.scope(&t.account, &t.clients.region)),
                        name: f.component.clone(),
                        other: other.clone(),
                    });
                    if f.is_service() {
                        report.services_discovered -= 1;
                    } else {
                        report.functions_discovered -= 1;
                    }
                } else {
                    seen.insert(f.component.clone(), f.arn.clone());
                    kept.push(f);
                }
            }
            t.found = kept;
        }
    }
}

/// What discovery found in one account and region.
struct Discovery {
    target: Option<Target>,
    limits: Option<AccountLimits>,
    errors: Vec<Error>,
    notes: Vec<String>,
}

/// Discovery in one account and region: its clients, the functions and services
/// selected and their deployment, the account limits; errors of this scope only.
async fn discover_target(
    settings: &Arc<Settings>,
    account: &AccountTarget,
    region: Option<&str>,
    meter: &Arc<Meter>,
) -> Discovery {
    let clients = Clients::new(settings, account, region).await;
    let mut d = Discovery {
        target: None,
        limits: None,
        errors: Vec::new(),
        notes: Vec::new(),
    };
    let scope = Scope {
        account: account.name.clone(),
        region: Some(clients.region.clone()),
        function: None,
        service: None,
    };
    if region.is_none() && clients.region == client::NO_REGION {
        d.errors.push(Error::Settings(format!(
            "{scope}: no region: set collectors.cloudwatch.regions, or AWS_REGION, or a region in the profile"
        )));
        return d;
    }
    let (functions, listed) = discover_functions(&clients, settings, account, meter, &mut d).await;
    let mut found = functions;
    let mut any = listed;
    if let Some(ecs) = &settings.ecs {
        let e = ecs::discover(&clients, ecs, &account.name, meter).await;
        any |= e.errors.is_empty() || !e.found.is_empty();
        found.extend(e.found);
        d.notes.extend(e.notes);
        d.errors.extend(e.errors);
    }
    if any {
        d.target = Some(Target {
            account: account.name.clone(),
            clients,
            found,
        });
    }
    d
}

/// The functions of one account and region, and whether they could be listed.
async fn discover_functions(
    clients: &Clients,
    settings: &Arc<Settings>,
    account: &AccountTarget,
    meter: &Arc<Meter>,
    d: &mut Discovery,
) -> (Vec<Found>, bool) {
    let scope = Scope {
        account: account.name.clone(),
        region: Some(clients.region.clone()),
        function: None,
        service: None,
    };
    d.limits = match clients.lambda.get_account_settings().send().await {
        Ok(out) => {
            meter.call("GetAccountSettings");
            out.account_limit().map(|l| AccountLimits {
                account: account.name.clone(),
                region: clients.region.clone(),
                concurrency_limit: l.concurrent_executions(),
                unreserved_concurrency: l.unreserved_concurrent_executions(),
            })
        }
        Err(e) => {
            d.errors
                .push(error::api_error("GetAccountSettings", &scope, &e, None));
            None
        }
    };
    let triggers = match discover::triggers(clients, &scope, meter).await {
        Ok(t) => t,
        Err(e) => {
            d.errors.push(e);
            Default::default()
        }
    };
    let listed = match discover::list(clients, settings, &scope, meter).await {
        Ok(l) => l,
        Err(e) => {
            d.errors.push(e);
            return (Vec::new(), false);
        }
    };
    let (found, errs) =
        discover::describe_all(clients, settings, &account.name, listed, &triggers, meter).await;
    d.errors.extend(errs);
    (found, true)
}

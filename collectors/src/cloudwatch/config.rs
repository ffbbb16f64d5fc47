//! The collector's settings, resolved from a validated `[collectors.cloudwatch]`.
//!
//! Resolution compiles the globs and derives what the config states indirectly: the
//! queries a function may get per fetch follow from the daily budget and the cycle
//! length, and a combination that cannot keep the budget is refused up front rather
//! than overspent silently.

use std::collections::BTreeMap;
use std::time::Duration;

use adaptd_config::{CloudWatchSection, DEFAULT_ACCOUNT, EcsSection, ProvisionedMetrics};
use adaptd_engine::telemetry::{MINUTES_PER_DAY, Stat};
use globset::{Glob, GlobSet, GlobSetBuilder};

use super::error::Error;
use super::plan::PlanSettings;

/// CloudWatch keeps 1-minute data for 15 days.
pub const RETENTION_MINUTES: i64 = 15 * MINUTES_PER_DAY;

/// An account and the regions to collect in it.
#[derive(Clone, Debug)]
pub struct AccountTarget {
    /// Account key (the `account` attribute).
    pub name: String,
    /// Role to assume, if not the credentials' own account.
    pub role_arn: Option<String>,
    /// External ID for the role.
    pub external_id: Option<String>,
    /// Regions; empty means the region of the standard chain.
    pub regions: Vec<String>,
}

/// Settings of a [`CloudWatchCollector`](super::CloudWatchCollector).
#[derive(Clone, Debug)]
pub struct Settings {
    pub(crate) endpoint_url: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) accounts: Vec<AccountTarget>,
    include: Option<GlobSet>,
    exclude: GlobSet,
    tags: Vec<(String, globset::GlobMatcher)>,
    pub(crate) component_name: String,
    pub(crate) lookback_minutes: i64,
    pub(crate) cycle_minutes: i64,
    pub(crate) settle_minutes: i64,
    pub(crate) plan: PlanSettings,
    pub(crate) max_concurrent_requests: usize,
    pub(crate) timeout: Duration,
    pub(crate) max_attempts: u32,
    /// Credentials that replace the standard chain (a service's own secret store,
    /// tests); role assumption starts from them.
    pub(crate) credentials: Option<aws_sdk_lambda::config::SharedCredentialsProvider>,
    /// ECS services to collect; `None`: ECS is not looked at.
    pub(crate) ecs: Option<EcsSettings>,
}

/// `[collectors.cloudwatch.ecs]`, resolved.
#[derive(Clone, Debug)]
pub(crate) struct EcsSettings {
    clusters: Option<GlobSet>,
    services: Option<GlobSet>,
    exclude_services: GlobSet,
    component_name: String,
    pub(crate) per_task_concurrency: u32,
}

impl EcsSettings {
    fn from_section(s: &EcsSection) -> Result<Self, Error> {
        let path = "collectors.cloudwatch.ecs";
        let optional = |key: &str, globs: &[String]| {
            (!globs.is_empty())
                .then(|| glob_set(&format!("{path}.{key}"), globs))
                .transpose()
        };
        if s.per_task_concurrency == 0 {
            return Err(Error::Settings(format!(
                "{path}.per_task_concurrency: must be at least 1 (got 0)"
            )));
        }
        Ok(Self {
            clusters: optional("clusters", &s.clusters)?,
            services: optional("services", &s.services)?,
            exclude_services: glob_set(&format!("{path}.exclude_services"), &s.exclude_services)?,
            component_name: s.component_name.clone(),
            per_task_concurrency: s.per_task_concurrency,
        })
    }

    /// Whether a cluster is looked in, by name.
    pub(crate) fn selects_cluster(&self, name: &str) -> bool {
        self.clusters.as_ref().is_none_or(|g| g.is_match(name))
    }

    /// Whether a service is selected, by name.
    pub(crate) fn selects_service(&self, name: &str) -> bool {
        self.services.as_ref().is_none_or(|g| g.is_match(name))
            && !self.exclude_services.is_match(name)
    }

    /// The component name of a service.
    pub(crate) fn component(
        &self,
        service: &str,
        cluster: &str,
        account: &str,
        region: &str,
    ) -> String {
        self.component_name
            .replace("{service}", service)
            .replace("{cluster}", cluster)
            .replace("{account}", account)
            .replace("{region}", region)
    }
}

fn glob_set(path: &str, globs: &[String]) -> Result<GlobSet, Error> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|e| Error::Settings(format!("{path}: {e}")))?);
    }
    b.build()
        .map_err(|e| Error::Settings(format!("{path}: {e}")))
}

impl Settings {
    /// Resolves a section (already validated by `adaptd-config`, but this is a
    /// library entry point too, so every derived value is checked again).
    pub fn from_section(s: &CloudWatchSection) -> Result<Settings, Error> {
        let accounts = if s.accounts.is_empty() {
            vec![AccountTarget {
                name: DEFAULT_ACCOUNT.to_owned(),
                role_arn: None,
                external_id: None,
                regions: s.regions.clone(),
            }]
        } else {
            s.accounts
                .iter()
                .map(|a| AccountTarget {
                    name: a.name.clone(),
                    role_arn: a.role_arn.clone(),
                    external_id: a.external_id.clone(),
                    regions: a.regions.clone(),
                })
                .collect()
        };
        let include = (!s.functions.is_empty())
            .then(|| glob_set("collectors.cloudwatch.functions", &s.functions))
            .transpose()?;
        let exclude = glob_set(
            "collectors.cloudwatch.exclude_functions",
            &s.exclude_functions,
        )?;
        let tags = s
            .tags
            .iter()
            .map(|(k, v)| {
                Glob::new(v)
                    .map(|g| (k.clone(), g.compile_matcher()))
                    .map_err(|e| Error::Settings(format!("collectors.cloudwatch.tags.{k}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let mut percentiles = Vec::new();
        for p in &s.duration_percentiles {
            match p.parse::<Stat>() {
                Ok(Stat::Percentile(t)) => percentiles.push(t),
                _ => {
                    return Err(Error::Settings(format!(
                        "collectors.cloudwatch.duration_percentiles: not a percentile (got \"{p}\")"
                    )));
                }
            }
        }
        let cycle = i64::from(s.cycle_minutes.clamp(1, 1440));
        // A function can be fetched 1440/cycle times a day, each fetch requesting
        // every query of its plan once.
        let fetches_per_day = (MINUTES_PER_DAY + cycle - 1) / cycle;
        let per_fetch = i64::from(s.max_metrics_per_function_per_day) / fetches_per_day;
        if per_fetch < 1 {
            return Err(Error::Settings(format!(
                "collectors.cloudwatch: cycle_minutes = {} allows {fetches_per_day} fetches a day, \
                 which at one metric each already exceeds max_metrics_per_function_per_day = {}; \
                 lengthen the cycle or raise the budget",
                s.cycle_minutes, s.max_metrics_per_function_per_day
            )));
        }
        if !(s.timeout_seconds.is_finite() && s.timeout_seconds > 0.0) {
            return Err(Error::Settings(format!(
                "collectors.cloudwatch.timeout_seconds: must be > 0 (got {})",
                s.timeout_seconds
            )));
        }
        Ok(Settings {
            endpoint_url: s.endpoint_url.clone(),
            profile: s.profile.clone(),
            accounts,
            include,
            exclude,
            tags,
            component_name: s.component_name.clone(),
            lookback_minutes: i64::from(s.lookback_days.clamp(1, 15)) * MINUTES_PER_DAY,
            cycle_minutes: cycle,
            settle_minutes: i64::from(s.settle_minutes),
            plan: PlanSettings {
                percentiles,
                insights: s.lambda_insights,
                container_insights: s.ecs.as_ref().is_some_and(|e| e.container_insights),
                full_provisioned: s.provisioned_metrics == ProvisionedMetrics::Full,
                per_fetch_budget: usize::try_from(per_fetch).unwrap_or(usize::MAX),
            },
            max_concurrent_requests: s.max_concurrent_requests.clamp(1, 50) as usize,
            timeout: Duration::from_secs_f64(s.timeout_seconds),
            max_attempts: s.max_attempts.clamp(1, 10),
            credentials: None,
            ecs: s.ecs.as_ref().map(EcsSettings::from_section).transpose()?,
        })
    }

    /// Uses `provider` instead of the standard credential chain.
    pub fn with_credentials(
        mut self,
        provider: impl aws_sdk_lambda::config::ProvideCredentials + 'static,
    ) -> Self {
        self.credentials = Some(aws_sdk_lambda::config::SharedCredentialsProvider::new(
            provider,
        ));
        self
    }

    /// Fetches `minutes` of history for functions seen for the first time (the
    /// CLI's `--since`), capped by CloudWatch's retention of 1-minute data.
    pub fn with_lookback_minutes(mut self, minutes: i64) -> Self {
        self.lookback_minutes = minutes.clamp(1, RETENTION_MINUTES - 1);
        self
    }

    /// Whether a function is selected by name (tags are checked once known).
    pub(crate) fn selects_name(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(name)) && !self.exclude.is_match(name)
    }

    /// Whether the tag filter needs each function's tags.
    pub(crate) fn filters_tags(&self) -> bool {
        !self.tags.is_empty()
    }

    /// Whether a function's tags satisfy the filter.
    pub(crate) fn selects_tags(&self, tags: &BTreeMap<String, String>) -> bool {
        self.tags
            .iter()
            .all(|(k, g)| tags.get(k).is_some_and(|v| g.is_match(v)))
    }

    /// The component name of a function.
    pub(crate) fn component(&self, function: &str, account: &str, region: &str) -> String {
        self.component_name
            .replace("{function}", function)
            .replace("{account}", account)
            .replace("{region}", region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_and_cycle_set_the_queries_per_fetch() {
        let mut s = CloudWatchSection::default();
        assert_eq!(
            Settings::from_section(&s).unwrap().plan.per_fetch_budget,
            10
        );
        s.cycle_minutes = 720;
        assert_eq!(Settings::from_section(&s).unwrap().plan.per_fetch_budget, 5);
        s.cycle_minutes = 60;
        let err = Settings::from_section(&s).unwrap_err().to_string();
        assert!(err.contains("24 fetches a day"), "{err}");
        s.max_metrics_per_function_per_day = 240;
        assert_eq!(
            Settings::from_section(&s).unwrap().plan.per_fetch_budget,
            10
        );
    }

    #[test]
    fn names_and_tags_filter_functions() {
        let s = CloudWatchSection {
            functions: vec!["orders-*".into()],
            exclude_functions: vec!["*-test".into()],
            tags: [("team".to_owned(), "pay*".to_owned())].into(),
            component_name: "{account}-{function}".into(),
            ..CloudWatchSection::default()
        };
        let s = Settings::from_section(&s).unwrap();
        assert!(s.selects_name("orders-api"));
        assert!(!s.selects_name("orders-test"));
        assert!(!s.selects_name("billing"));
        let tags = |v: &str| [("team".to_owned(), v.to_owned())].into();
        assert!(s.selects_tags(&tags("payments")));
        assert!(!s.selects_tags(&tags("search")));
        assert!(!s.selects_tags(&BTreeMap::new()));
        assert_eq!(s.component("api", "prod", "us-east-1"), "prod-api");
    }

    #[test]
    fn ecs_services_are_selected_by_cluster_and_name() {
        let s = CloudWatchSection {
            ecs: Some(EcsSection {
                clusters: vec!["shop-*".into()],
                exclude_services: vec!["*-canary".into()],
                component_name: "{cluster}-{service}".into(),
                ..EcsSection::default()
            }),
            ..CloudWatchSection::default()
        };
        let s = Settings::from_section(&s).unwrap();
        assert!(s.plan.container_insights);
        let e = s.ecs.unwrap();
        assert!(e.selects_cluster("shop-prod"));
        assert!(!e.selects_cluster("billing"));
        assert!(e.selects_service("api"));
        assert!(!e.selects_service("api-canary"));
        assert_eq!(e.component("api", "shop-prod", "a", "r"), "shop-prod-api");
        assert_eq!(e.per_task_concurrency, 1);
        let none = Settings::from_section(&CloudWatchSection::default()).unwrap();
        assert!(none.ecs.is_none() && !none.plan.container_insights);
    }
}

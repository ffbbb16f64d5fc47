//! `[apply]`: whether and how adaptd changes functions through the AWS API — the
//! mode (globally, per environment, per component), the apply-time guardrails, the
//! verification after an apply, and where each component's changes go.
//!
//! Nothing here makes adaptd change anything by default: the mode is `propose` and
//! execution is a dry run, so a config without `[apply]` behaves as before.

use adaptd_engine::zone::{Zone, ZoneError};
use serde::Deserialize;

use crate::check::{Bound, Check};
use crate::spans::{index, join};

/// What adaptd may do with a recommendation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApplyMode {
    /// Nothing: not even proposed for apply.
    Off,
    /// Recommend only; a person applies (default).
    #[default]
    Propose,
    /// Apply recommendations a person approved (status `approved`).
    ApplyApproved,
    /// Apply every recommendation as soon as it is made.
    Auto,
}

impl ApplyMode {
    /// The name in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyMode::Off => "off",
            ApplyMode::Propose => "propose",
            ApplyMode::ApplyApproved => "apply-approved",
            ApplyMode::Auto => "auto",
        }
    }
}

/// A weekly window in which changes may be made, in local time of a zone.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplyWindow {
    /// Days: `"mon"` … `"sun"`, in `timezone`.
    pub weekdays: Vec<String>,
    /// First hour, local to `timezone` (0–23; default 0).
    pub start_hour: Option<u32>,
    /// One past the last hour, local to `timezone` (1–24, after `start_hour`; required
    /// unless `end_hour_utc` is given).
    pub end_hour: Option<u32>,
    /// IANA time zone of `weekdays`, `start_hour` and `end_hour`, such as
    /// `"Europe/Berlin"`: 08–16 h stays 08–16 h local across daylight-saving changes
    /// (default `[defaults].timezone`, else `"UTC"`).
    pub timezone: Option<String>,
    /// First hour in UTC (0–23): the form from before zones, still read; not together
    /// with `start_hour`, `end_hour` or `timezone`.
    pub start_hour_utc: Option<u32>,
    /// One past the last hour in UTC (1–24): see `start_hour_utc`.
    pub end_hour_utc: Option<u32>,
}

impl ApplyWindow {
    /// Whether the window is written in UTC hours (`start_hour_utc`, `end_hour_utc`).
    fn in_utc_keys(&self) -> bool {
        self.start_hour_utc.is_some() || self.end_hour_utc.is_some()
    }

    /// (first hour, one past the last hour), in [`ApplyWindow::zone`].
    pub fn hours(&self) -> (u32, u32) {
        if self.in_utc_keys() {
            (
                self.start_hour_utc.unwrap_or(0),
                self.end_hour_utc.unwrap_or(0),
            )
        } else {
            (self.start_hour.unwrap_or(0), self.end_hour.unwrap_or(0))
        }
    }

    /// The zone of the window: its `timezone`, else `default` (`[defaults].timezone`),
    /// else UTC; always UTC when written in UTC hours.
    pub fn zone(&self, default: Option<&str>) -> Result<Zone, ZoneError> {
        if self.in_utc_keys() {
            return Ok(Zone::UTC);
        }
        self.timezone
            .as_deref()
            .or(default)
            .map_or(Ok(Zone::UTC), str::parse)
    }

    fn validate(&self, wp: &str, ck: &mut Check<'_>) {
        if self.weekdays.is_empty() {
            ck.err(&join(wp, "weekdays"), "must name at least one day");
        }
        for (j, d) in self.weekdays.iter().enumerate() {
            if !WEEKDAYS.contains(&d.as_str()) {
                ck.err(
                    &index(&join(wp, "weekdays"), j),
                    format!(
                        "not a day (got \"{d}\"; expected one of: {})",
                        WEEKDAYS.join(", ")
                    ),
                );
            }
        }
        let local = self.start_hour.is_some() || self.end_hour.is_some() || self.timezone.is_some();
        let (start_key, end_key) = if self.in_utc_keys() {
            if local {
                let key = if self.start_hour_utc.is_some() {
                    "start_hour_utc"
                } else {
                    "end_hour_utc"
                };
                ck.err(
                    &join(wp, key),
                    "give either start_hour and end_hour (with an optional timezone) or \
                     start_hour_utc and end_hour_utc, not both",
                );
                return;
            }
            ("start_hour_utc", "end_hour_utc")
        } else {
            ck.zone(&join(wp, "timezone"), self.timezone.as_deref());
            ("start_hour", "end_hour")
        };
        let (start, end) = self.hours();
        let end_set = self.end_hour.is_some() || self.end_hour_utc.is_some();
        ck.num(&join(wp, start_key), f64::from(start), &[Bound::Le(23.0)]);
        if ck.require(&join(wp, end_key), end_set, "")
            && ck.num(
                &join(wp, end_key),
                f64::from(end),
                &[Bound::Ge(1.0), Bound::Le(24.0)],
            )
            && end <= start
        {
            ck.err(
                &join(wp, end_key),
                format!("must be after {start_key} (got {end} ≤ {start})"),
            );
        }
    }
}

/// The day names of [`ApplyWindow::weekdays`], Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The mode of one environment.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplyEnvironment {
    /// The environment (as components' `environment`).
    pub name: String,
    /// Its mode.
    pub mode: ApplyMode,
}

/// Where one component's changes go, and its mode.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplyComponent {
    /// The component.
    pub name: String,
    /// Its Lambda function (default: the component's name).
    pub function_name: Option<String>,
    /// The alias or version carrying provisioned concurrency.
    pub qualifier: Option<String>,
    /// For a component on ECS Fargate: its cluster's name (default
    /// `default_cluster`). Without one, ECS changes are left to infrastructure code.
    pub cluster: Option<String>,
    /// For a component on ECS Fargate: its service's name (default: the component's
    /// name).
    pub service: Option<String>,
    /// Its mode, over its environment's and the global one.
    pub mode: Option<ApplyMode>,
}

/// The `[apply]` section. Every key is optional.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplySection {
    /// The global mode (default `propose`).
    pub mode: ApplyMode,
    /// Whether the service makes the calls (`false`: it records and logs the calls it
    /// would make). The CLI decides with `--execute` instead.
    pub execute: bool,
    /// Alias or version for provisioned concurrency of components without their own.
    pub default_qualifier: Option<String>,
    /// ECS cluster of components on Fargate without their own `cluster`.
    pub default_cluster: Option<String>,
    /// AWS endpoint override.
    pub endpoint_url: Option<String>,
    /// AWS region (default: the standard chain's).
    pub region: Option<String>,
    /// AWS named profile.
    pub profile: Option<String>,
    /// Attempts per AWS call (1–10).
    pub max_attempts: u32,
    /// Timeout of one attempt (seconds).
    pub timeout_seconds: f64,
    /// Provisioned concurrency may rise by this percentage per step…
    pub max_step_percent: f64,
    /// …or by this many environments, whichever allows more.
    pub max_step_environments: u32,
    /// Minimum time between two changes of one component (minutes).
    pub cooldown_minutes: u32,
    /// Plans executed per trailing hour, all components together.
    pub max_changes_per_hour: u32,
    /// Sum of predicted monthly cost increases applied per calendar month (USD).
    pub max_cost_increase_usd_per_month: Option<f64>,
    /// When changes may be made, each window in its zone; none: any time.
    pub windows: Vec<ApplyWindow>,
    /// `[defaults].timezone`, set when the config is loaded: the zone of windows
    /// without their own.
    #[serde(skip)]
    pub defaults_timezone: Option<String>,
    /// How long to watch a component after an apply (minutes).
    pub verify_window_minutes: u32,
    /// Roll back when the observed p99 exceeds the prediction by more than this.
    pub latency_tolerance_percent: f64,
    /// Roll back when cold starts exceed the prediction by more than this share.
    pub cold_start_tolerance: f64,
    /// Roll back when the error share rises by more than this.
    pub max_error_rate_increase: f64,
    /// Roll back when the throttle share rises by more than this.
    pub max_throttle_rate_increase: f64,
    /// Fewer invocations in the window decide nothing.
    pub min_invocations: f64,
    /// Per-environment modes.
    pub environments: Vec<ApplyEnvironment>,
    /// Per-component targets and modes.
    pub components: Vec<ApplyComponent>,
}

impl Default for ApplySection {
    fn default() -> Self {
        Self {
            mode: ApplyMode::Propose,
            execute: false,
            default_qualifier: None,
            default_cluster: None,
            endpoint_url: None,
            region: None,
            profile: None,
            max_attempts: 3,
            timeout_seconds: 10.0,
            max_step_percent: 50.0,
            max_step_environments: 2,
            cooldown_minutes: 60,
            max_changes_per_hour: 10,
            max_cost_increase_usd_per_month: None,
            windows: Vec::new(),
            defaults_timezone: None,
            verify_window_minutes: 30,
            latency_tolerance_percent: 20.0,
            cold_start_tolerance: 0.01,
            max_error_rate_increase: 0.01,
            max_throttle_rate_increase: 0.005,
            min_invocations: 100.0,
            environments: Vec::new(),
            components: Vec::new(),
        }
    }
}

impl ApplySection {
    /// The mode of a component: its own, else its environment's, else the global one.
    pub fn mode_for(&self, component: &str, environment: Option<&str>) -> ApplyMode {
        self.components
            .iter()
            .find(|c| c.name == component)
            .and_then(|c| c.mode)
            .or_else(|| {
                environment.and_then(|e| {
                    self.environments
                        .iter()
                        .find(|x| x.name == e)
                        .map(|x| x.mode)
                })
            })
            .unwrap_or(self.mode)
    }

    /// (function name, qualifier) of a component.
    pub fn target_for(&self, component: &str) -> (String, Option<String>) {
        let c = self.components.iter().find(|c| c.name == component);
        (
            c.and_then(|c| c.function_name.clone())
                .unwrap_or_else(|| component.to_owned()),
            c.and_then(|c| c.qualifier.clone())
                .or_else(|| self.default_qualifier.clone()),
        )
    }

    /// (cluster, service) of a component on ECS Fargate, when a cluster is known.
    pub fn service_for(&self, component: &str) -> Option<(String, String)> {
        let c = self.components.iter().find(|c| c.name == component);
        let cluster = c
            .and_then(|c| c.cluster.clone())
            .or_else(|| self.default_cluster.clone())?;
        let service = c
            .and_then(|c| c.service.clone())
            .unwrap_or_else(|| component.to_owned());
        Some((cluster, service))
    }

    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        let p = |k: &str| join(path, k);
        for (k, v) in [
            ("default_qualifier", &self.default_qualifier),
            ("default_cluster", &self.default_cluster),
            ("endpoint_url", &self.endpoint_url),
            ("region", &self.region),
            ("profile", &self.profile),
        ] {
            if v.as_deref() == Some("") {
                ck.err(&p(k), "must not be empty");
            }
        }
        ck.num(
            &p("max_attempts"),
            f64::from(self.max_attempts),
            &[Bound::Ge(1.0), Bound::Le(10.0)],
        );
        ck.num(
            &p("timeout_seconds"),
            self.timeout_seconds,
            &[Bound::Gt(0.0)],
        );
        ck.num(
            &p("max_step_percent"),
            self.max_step_percent,
            &[Bound::Ge(0.0), Bound::Le(1000.0)],
        );
        ck.num(
            &p("max_changes_per_hour"),
            f64::from(self.max_changes_per_hour),
            &[Bound::Ge(1.0)],
        );
        ck.opt_num(
            &p("max_cost_increase_usd_per_month"),
            self.max_cost_increase_usd_per_month,
            &[Bound::Ge(0.0)],
        );
        ck.num(
            &p("verify_window_minutes"),
            f64::from(self.verify_window_minutes),
            &[Bound::Ge(1.0), Bound::Le(1440.0)],
        );
        ck.num(
            &p("latency_tolerance_percent"),
            self.latency_tolerance_percent,
            &[Bound::Ge(0.0)],
        );
        for (k, v) in [
            ("cold_start_tolerance", self.cold_start_tolerance),
            ("max_error_rate_increase", self.max_error_rate_increase),
            (
                "max_throttle_rate_increase",
                self.max_throttle_rate_increase,
            ),
        ] {
            ck.num(&p(k), v, &[Bound::Ge(0.0), Bound::Le(1.0)]);
        }
        ck.num(
            &p("min_invocations"),
            self.min_invocations,
            &[Bound::Ge(0.0)],
        );
        for (i, w) in self.windows.iter().enumerate() {
            w.validate(&index(&p("windows"), i), ck);
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, e) in self.environments.iter().enumerate() {
            let ep = index(&p("environments"), i);
            if e.name.is_empty() {
                ck.err(&join(&ep, "name"), "must not be empty");
            } else if !seen.insert(e.name.as_str()) {
                ck.err(
                    &join(&ep, "name"),
                    format!("duplicate environment \"{}\"", e.name),
                );
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in self.components.iter().enumerate() {
            let cp = index(&p("components"), i);
            if c.name.is_empty() {
                ck.err(&join(&cp, "name"), "must not be empty");
            } else if !seen.insert(c.name.as_str()) {
                ck.err(
                    &join(&cp, "name"),
                    format!("duplicate component \"{}\"", c.name),
                );
            }
            for (k, v) in [
                ("function_name", &c.function_name),
                ("qualifier", &c.qualifier),
                ("cluster", &c.cluster),
                ("service", &c.service),
            ] {
                if v.as_deref() == Some("") {
                    ck.err(&join(&cp, k), "must not be empty");
                }
            }
            if c.qualifier.as_deref() == Some("$LATEST") {
                ck.err(
                    &join(&cp, "qualifier"),
                    "must be an alias or a published version; AWS refuses provisioned concurrency on $LATEST",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ApplyMode;
    use crate::Config;

    #[test]
    fn defaults_propose_and_dry_run() {
        let c = Config::from_str("", "t.toml").unwrap();
        assert_eq!(c.apply.mode, ApplyMode::Propose);
        assert!(!c.apply.execute);
        assert_eq!(c.apply.target_for("x"), ("x".to_owned(), None));
    }

    #[test]
    fn modes_resolve_component_then_environment_then_global() {
        let text = "[apply]\nmode = \"off\"\ndefault_qualifier = \"live\"\n\
            [[apply.environments]]\nname = \"prod\"\nmode = \"apply-approved\"\n\
            [[apply.components]]\nname = \"a\"\nmode = \"auto\"\nfunction_name = \"fa\"\n";
        let c = Config::from_str(text, "t.toml").unwrap();
        assert_eq!(c.apply.mode_for("a", Some("prod")), ApplyMode::Auto);
        assert_eq!(
            c.apply.mode_for("b", Some("prod")),
            ApplyMode::ApplyApproved
        );
        assert_eq!(c.apply.mode_for("b", None), ApplyMode::Off);
        assert_eq!(
            c.apply.target_for("a"),
            ("fa".to_owned(), Some("live".to_owned()))
        );
        assert_eq!(c.apply.service_for("a"), None);
    }

    #[test]
    fn ecs_services_take_the_default_cluster() {
        let text = "[apply]\ndefault_cluster = \"shop\"\n\
            [[apply.components]]\nname = \"a\"\ncluster = \"other\"\nservice = \"a-svc\"\n";
        let c = Config::from_str(text, "t.toml").unwrap();
        assert_eq!(
            c.apply.service_for("a"),
            Some(("other".to_owned(), "a-svc".to_owned()))
        );
        assert_eq!(
            c.apply.service_for("b"),
            Some(("shop".to_owned(), "b".to_owned()))
        );
    }

    #[test]
    fn problems_are_reported_at_their_place() {
        let text = "[apply]\nmode = \"sometimes\"\nmax_changes_per_hour = 0\n\
            [[apply.windows]]\nweekdays = [\"mon\", \"funday\"]\nstart_hour_utc = 18\nend_hour_utc = 8\n\
            [[apply.components]]\nname = \"a\"\nqualifier = \"$LATEST\"\n";
        let e = Config::from_str(text, "t.toml").unwrap_err().to_string();
        for want in [
            "t.toml:2:8: apply.mode: unknown value (expected one of: off, propose, apply-approved, auto)",
            "t.toml:3:24: apply.max_changes_per_hour: must be >= 1 (got 0)",
            "t.toml:5:20: apply.windows[0].weekdays[1]: not a day (got \"funday\"",
            "t.toml:7:16: apply.windows[0].end_hour_utc: must be after start_hour_utc (got 8 ≤ 18)",
            "t.toml:10:13: apply.components[0].qualifier: must be an alias or a published version",
        ] {
            assert!(e.contains(want), "missing `{want}` in:\n{e}");
        }
    }

    #[test]
    fn windows_are_in_their_zone_or_the_defaults_or_utc() {
        use adaptd_engine::zone::Zone;
        let text = "[defaults]\ntimezone = \"America/New_York\"\n[apply]\n\
            [[apply.windows]]\nweekdays = [\"mon\"]\nstart_hour = 8\nend_hour = 16\ntimezone = \"Europe/Berlin\"\n\
            [[apply.windows]]\nweekdays = [\"tue\"]\nend_hour = 12\n\
            [[apply.windows]]\nweekdays = [\"wed\"]\nstart_hour_utc = 8\nend_hour_utc = 9\n";
        let c = Config::from_str(text, "t.toml").unwrap();
        let d = c.defaults.timezone.as_deref();
        let w = &c.apply.windows;
        assert_eq!(
            (w[0].hours(), w[0].zone(d).unwrap().name()),
            ((8, 16), "Europe/Berlin")
        );
        assert_eq!(
            (w[1].hours(), w[1].zone(d).unwrap().name()),
            ((0, 12), "America/New_York")
        );
        assert_eq!((w[2].hours(), w[2].zone(d).unwrap()), ((8, 9), Zone::UTC));

        let text = "[apply]\n[[apply.windows]]\nweekdays = [\"mon\"]\nstart_hour = 8\nend_hour_utc = 9\n\
            [[apply.windows]]\nweekdays = [\"mon\"]\nstart_hour = 9\ntimezone = \"Mars/Olympus\"\n";
        let e = Config::from_str(text, "t.toml").unwrap_err().to_string();
        for want in [
            "apply.windows[0].end_hour_utc: give either start_hour and end_hour",
            "apply.windows[1].timezone: unknown time zone `Mars/Olympus`",
            "apply.windows[1].end_hour: missing required key",
        ] {
            assert!(e.contains(want), "missing `{want}` in:\n{e}");
        }
    }
}

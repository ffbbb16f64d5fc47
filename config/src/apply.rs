//! `[apply]`: whether and how adaptd changes functions through the AWS API — the
//! mode (globally, per environment, per component), the apply-time guardrails, the
//! verification after an apply, and where each component's changes go.
//!
//! Nothing here makes adaptd change anything by default: the mode is `propose` and
//! execution is a dry run, so a config without `[apply]` behaves as before.

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

/// A weekly window (UTC) in which changes may be made.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplyWindow {
    /// Days: `"mon"` … `"sun"`.
    pub weekdays: Vec<String>,
    /// First hour (0–23, UTC).
    pub start_hour_utc: u32,
    /// One past the last hour (1–24, UTC).
    pub end_hour_utc: u32,
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
    /// When changes may be made (UTC); none: any time.
    pub windows: Vec<ApplyWindow>,
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
            let wp = index(&p("windows"), i);
            if w.weekdays.is_empty() {
                ck.err(&join(&wp, "weekdays"), "must name at least one day");
            }
            for (j, d) in w.weekdays.iter().enumerate() {
                if !WEEKDAYS.contains(&d.as_str()) {
                    ck.err(
                        &index(&join(&wp, "weekdays"), j),
                        format!(
                            "not a day (got \"{d}\"; expected one of: {})",
                            WEEKDAYS.join(", ")
                        ),
                    );
                }
            }
            ck.num(
                &join(&wp, "start_hour_utc"),
                f64::from(w.start_hour_utc),
                &[Bound::Le(23.0)],
            );
            if ck.num(
                &join(&wp, "end_hour_utc"),
                f64::from(w.end_hour_utc),
                &[Bound::Ge(1.0), Bound::Le(24.0)],
            ) && w.end_hour_utc <= w.start_hour_utc
            {
                ck.err(
                    &join(&wp, "end_hour_utc"),
                    format!(
                        "must be after start_hour_utc (got {} ≤ {})",
                        w.end_hour_utc, w.start_hour_utc
                    ),
                );
            }
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
}

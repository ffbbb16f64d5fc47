//! What the engine knows about a component besides its telemetry: how it is deployed
//! now, the SLO it must meet, the guardrails it must stay within and the model
//! parameters that apply to it. The config crate builds these; the engine never reads
//! files.

mod deployment;
mod objectives;
mod params;

pub use deployment::*;
pub use objectives::*;
pub use params::*;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The trigger of a function (from config or the trace), used by SLO and guardrail rules.
pub type Trigger = String;

/// A component: one Lambda function or ECS service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentSpec {
    /// Unique name.
    pub name: String,
    /// Account key (from config) whose concurrency limit this component shares.
    pub account: String,
    /// Environment (prod, staging, ...), if known.
    pub environment: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Trigger (http, queue, timer, ...), if known.
    pub trigger: Option<Trigger>,
    /// Runtime (nodejs20.x, python3.12, ...), if known.
    pub runtime: Option<String>,
    /// What is deployed now.
    pub current: Deployment,
    /// Whether `current` was discovered/declared (true) or assumed from defaults.
    pub current_is_known: bool,
    /// The objective.
    pub slo: Slo,
    /// The limits.
    pub guardrails: Guardrails,
    /// Databases this component connects to (names of [`DatabaseSpec`]s).
    pub databases: Vec<String>,
    /// Model parameters.
    pub model: ModelParams,
    /// Whether an Application Load Balancer already routes to it (an ECS service in a
    /// target group, or a Lambda function as an ALB target): a move between platforms
    /// keeps it and pays for no new one.
    #[serde(default)]
    pub load_balancer: bool,
    /// The zone its hour-of-day schedules are in: profiles bucket traffic by this
    /// zone's local hour, so `Provisioned::Hourly` levels are local hours.
    #[serde(default)]
    pub timezone: crate::zone::Zone,
}

/// A relational database that components connect to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatabaseSpec {
    /// Name, referenced by components.
    pub name: String,
    /// Connections the database accepts.
    pub max_connections: u32,
    /// vCPUs of the instance (RDS Proxy is billed per vCPU of its target).
    pub vcpus: u32,
    /// Whether an RDS Proxy already fronts it.
    pub has_proxy: bool,
    /// Connections kept for other clients (admin, migrations, other services).
    pub reserved_connections: u32,
}

/// An AWS account's shared Lambda limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSpec {
    /// Key referenced by components.
    pub name: String,
    /// The account's concurrent-executions quota (1,000 by default on AWS).
    pub concurrency_limit: u32,
}

impl AccountSpec {
    /// AWS keeps 100 executions unreserved; reserved plus provisioned may use the rest.
    pub const UNRESERVED_MINIMUM: u32 = 100;

    /// Concurrency that reserved and provisioned settings may take together.
    pub fn reservable(&self) -> u32 {
        self.concurrency_limit
            .saturating_sub(Self::UNRESERVED_MINIMUM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_describe_their_peaks() {
        let mut h = [2u32; 24];
        for v in &mut h[8..18] {
            *v = 12;
        }
        assert_eq!(describe_schedule(&h), "12 in 08–18 h; 2 otherwise");
        assert_eq!(describe_schedule(&[3; 24]), "3");
        let mut w = [0u32; 24];
        w[22] = 5;
        w[23] = 5;
        w[0] = 5;
        assert_eq!(describe_schedule(&w), "5 in 22–01 h; 0 otherwise");
        let mut g = [0u32; 24];
        for i in [7, 8, 9, 14, 15] {
            g[i] = 1;
        }
        assert_eq!(describe_schedule(&g), "1 in 07–10 h, 14–16 h; 0 otherwise");
        let busy: [u32; 24] = std::array::from_fn(|i| 8 + (i as u32 % 5));
        assert_eq!(
            describe_schedule(&busy),
            "8–12 by hour, peak 12 in 04–05 h, 09–10 h, 14–15 h, 19–20 h"
        );
    }

    #[test]
    fn cold_start_budgets_leave_room_for_chance() {
        let slo = Slo {
            max_cold_start_rate: Some(0.01),
            ..Slo::default()
        };
        // 100,000 invocations a month: 1,000 allowed, planned at about 1000 − 1.28·√1000.
        let b = slo.cold_start_budget_per_month(100_000.0).unwrap();
        assert!((b - (1000.0 - 1.2816 * 1000f64.sqrt())).abs() < 3.0, "{b}");
        // 50 invocations in an 8-hour period: none allowed, so P(N = 0) ≥ 0.9.
        let short = Slo {
            period_hours: Some(8.0),
            ..slo
        };
        let per_month = 50.0 * 730.0 / 8.0;
        let b = short.cold_start_budget_per_month(per_month).unwrap();
        assert!((b * 8.0 / 730.0 - (-(0.9f64).ln())).abs() < 1e-9, "{b}");
        assert_eq!(Slo::default().cold_start_budget_per_month(1e6), None);
    }

    #[test]
    fn the_period_defaults_to_the_history_within_a_day_and_a_month() {
        let slo = Slo {
            max_cold_start_rate: Some(0.01),
            ..Slo::default()
        };
        let period = |s: &Slo, h: f64| s.judged_over_history(h).period_hours;
        assert_eq!(period(&slo, 8.0), Some(MIN_HISTORY_PERIOD_HOURS));
        assert_eq!(period(&slo, 14.0 * 24.0), Some(336.0));
        assert_eq!(period(&slo, 90.0 * 24.0), Some(DEFAULT_SLO_PERIOD_HOURS));
        assert_eq!(
            period(&slo, 0.0),
            None,
            "no history: the month default applies"
        );
        let configured = Slo {
            period_hours: Some(730.0),
            ..slo
        };
        assert_eq!(
            period(&configured, 8.0),
            Some(730.0),
            "a configured period wins"
        );
        // A day judged alone leaves less room than the same traffic judged over a month.
        let per_month = 50.0 * 730.0 / 24.0;
        let day = slo.judged_over_history(8.0);
        assert!(
            day.cold_start_budget_per_month(per_month).unwrap()
                < slo.cold_start_budget_per_month(per_month).unwrap()
        );
    }

    #[test]
    fn quiet_hours_are_exempt_from_p99_up_to_half_a_percent_of_requests() {
        let mut inv = [1000.0; 24];
        inv[2] = 10.0; // 0.04 %
        inv[3] = 50.0; // 0.2 %
        inv[4] = 100.0; // 0.4 %: cumulative 0.64 % > 0.5 %, so checked
        let c = p99_checked_hours(&inv);
        assert!(!c[2] && !c[3] && c[4] && c[0]);
        assert!(p99_checked_hours(&[0.0; 24]).iter().all(|&b| b));
    }

    #[test]
    fn provisioned_step_takes_the_larger_allowance_and_the_cap() {
        let g = Guardrails {
            max_provisioned_step_relative: Some(0.5),
            max_provisioned_step_absolute: Some(5),
            max_provisioned_concurrency: 100,
            ..Guardrails::default()
        };
        assert_eq!(g.provisioned_step_limit(0), 5);
        assert_eq!(g.provisioned_step_limit(20), 30);
        assert_eq!(g.provisioned_step_limit(90), 100);
        assert_eq!(Guardrails::default().provisioned_step_limit(7), 1_000);
    }

    #[test]
    fn provisioned_normalises() {
        assert_eq!(Provisioned::from_hourly([0; 24]), Provisioned::None);
        assert_eq!(Provisioned::from_hourly([4; 24]), Provisioned::Constant(4));
        let mut h = [0; 24];
        h[3] = 1;
        assert_eq!(Provisioned::from_hourly(h).peak(), 1);
    }
}

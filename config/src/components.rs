//! `[defaults]` and `[[components]]`: the components adaptd optimises.

use std::collections::{BTreeMap, BTreeSet};

use adaptd_engine::spec::{AccountSpec, Architecture};
use serde::Deserialize;

use crate::Config;
use crate::check::{Bound, Check};
use crate::current::{Current, LAMBDA_MEMORY_MB};
use crate::error::did_you_mean;
use crate::model::ModelSection;
use crate::resources::{DEFAULT_ACCOUNT, DEFAULT_CONCURRENCY_LIMIT, unique_names};
use crate::rules::SloObjectives;
use crate::spans::{index, join};

/// The Lambda memory assumed for a discovered component whose telemetry has none.
pub const DEFAULT_MEMORY_MB: u32 = 1024;

/// What is assumed of components found in telemetry but not listed in
/// `[[components]]`, and the account of listed components that name none.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefaultsSection {
    /// Account key of components that neither the config nor telemetry places
    /// (default `"default"`, an implicit account with a limit of 1000). Must be
    /// declared in `[[accounts]]` unless it is `"default"`.
    pub account: Option<String>,
    /// Environment of discovered components whose telemetry has none (default: none).
    pub environment: Option<String>,
    /// Lambda memory in MB assumed when telemetry has no `memory_mb` attribute
    /// (128–10240; default 1024). The component is then marked as assumed.
    pub memory_mb: Option<u32>,
    /// Architecture assumed when telemetry has none: `"x86_64"` (default) or
    /// `"arm64"`.
    pub architecture: Option<Architecture>,
    /// IANA time zone (`"Europe/Berlin"`) in which the hour-of-day schedules of
    /// components that set none (themselves or through a `[[guardrails]]` rule) are
    /// planned and applied. Default `"UTC"`.
    pub timezone: Option<String>,
}

impl DefaultsSection {
    /// The default account key.
    pub fn account(&self) -> &str {
        self.account.as_deref().unwrap_or(DEFAULT_ACCOUNT)
    }

    /// The assumed memory.
    pub fn memory_mb(&self) -> u32 {
        self.memory_mb.unwrap_or(DEFAULT_MEMORY_MB)
    }
}

/// A component (Lambda function or ECS service) to optimise. Components found in
/// telemetry need not be listed; listing one adds what telemetry cannot tell.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Component {
    /// Name, as in telemetry: the function or service name (required, unique).
    pub name: String,
    /// Account key (default: `[defaults].account`); must be declared in
    /// `[[accounts]]` unless it is `"default"`.
    pub account: Option<String>,
    /// Environment (`"prod"`, `"staging"`, …), matched by rules. Default: from
    /// telemetry, else `[defaults].environment`.
    pub environment: Option<String>,
    /// Trigger (`"http"`, `"queue"`, `"event"`, `"timer"`, `"stream"`), matched by
    /// rules. Default: from telemetry.
    pub trigger: Option<String>,
    /// Runtime (`"nodejs20.x"`, `"java17"`, `"provided.al2023"`, …); sets the default
    /// initialisation time. Default: from telemetry.
    pub runtime: Option<String>,
    /// Free-form tags, matched by rules (`{ team = "payments" }`).
    pub tags: BTreeMap<String, String>,
    /// Names of the `[[databases]]` it connects to.
    pub databases: Vec<String>,
    /// Whether an Application Load Balancer already routes to it (an ECS service in a
    /// target group, or a function as an ALB target): a move between Lambda and
    /// Fargate then keeps it and pays for no new one. Default: from telemetry (the
    /// `load_balancer` attribute), else false.
    pub load_balancer: Option<bool>,
    /// What is deployed now. Telemetry, when it reports the deployment, takes
    /// precedence (with a warning naming the differences). Default: from telemetry,
    /// else `[defaults]`.
    pub current: Option<Current>,
    /// Objectives that override those of the matching `[[slo]]` rules.
    pub slo: SloObjectives,
    /// Model parameters that override `[model]` for this component.
    pub model: ModelSection,
    /// IANA time zone (`"America/New_York"`) of its hour-of-day schedules: traffic is
    /// bucketed by local hour, levels are planned per local hour, and the scheduled
    /// actions carry the zone, so AWS keeps them at the same local hour across
    /// daylight-saving changes. Default: a matching `[[guardrails]]` rule's, else
    /// `[defaults].timezone`, else UTC.
    pub timezone: Option<String>,
}

impl Config {
    /// Whether `name` is a declared account or the implicit default one.
    pub(crate) fn account_exists(&self, name: &str) -> bool {
        name == DEFAULT_ACCOUNT || self.accounts.iter().any(|a| a.name == name)
    }

    /// Reports a reference to an undeclared account.
    fn check_account_ref(&self, path: &str, name: &str, ck: &mut Check<'_>) {
        if self.account_exists(name) || ck.names_broken("accounts") {
            return;
        }
        let declared: Vec<&str> = self.accounts.iter().map(|a| a.name.as_str()).collect();
        let hint = did_you_mean(name, declared.iter().copied())
            .map(|s| format!(", did you mean `{s}`?"))
            .unwrap_or_default();
        let known = if declared.is_empty() {
            "none are declared in [[accounts]]; only `default` is implicit".to_owned()
        } else {
            format!("declared: {}; `default` is implicit", declared.join(", "))
        };
        ck.err(path, format!("undefined account `{name}`{hint} ({known})"));
    }

    pub(crate) fn validate_defaults(&self, ck: &mut Check<'_>) {
        let d = &self.defaults;
        if let Some(a) = &d.account
            && ck.name("defaults.account", a)
        {
            self.check_account_ref("defaults.account", a, ck);
        }
        if let Some(e) = &d.environment
            && e.trim().is_empty()
        {
            ck.err("defaults.environment", "must not be empty");
        }
        ck.zone("defaults.timezone", d.timezone.as_deref());
        if let Some(m) = d.memory_mb {
            let (lo, hi) = LAMBDA_MEMORY_MB;
            let bounds = [Bound::Ge(f64::from(lo)), Bound::Le(f64::from(hi))];
            ck.num("defaults.memory_mb", f64::from(m), &bounds);
        }
    }

    pub(crate) fn validate_components(&self, ck: &mut Check<'_>) {
        let names = self.components.iter().map(|c| c.name.as_str());
        unique_names("components", "component", names, ck);
        let databases: Vec<&str> = self.databases.iter().map(|d| d.name.as_str()).collect();
        // Concurrency that reserved and provisioned settings take, per account.
        let mut reserved: BTreeMap<&str, u32> = BTreeMap::new();
        for (i, c) in self.components.iter().enumerate() {
            let p = index("components", i);
            if let Some(a) = &c.account
                && ck.name(&join(&p, "account"), a)
            {
                self.check_account_ref(&join(&p, "account"), a, ck);
            }
            for (key, v) in [
                ("environment", &c.environment),
                ("trigger", &c.trigger),
                ("runtime", &c.runtime),
            ] {
                if v.as_deref().is_some_and(|v| v.trim().is_empty()) {
                    ck.err(&join(&p, key), "must not be empty");
                }
            }
            let mut seen = BTreeSet::new();
            for (j, db) in c.databases.iter().enumerate() {
                let dp = index(&join(&p, "databases"), j);
                if !seen.insert(db) {
                    ck.err(&dp, format!("database `{db}` is listed twice"));
                } else if !databases.contains(&db.as_str()) && !ck.names_broken("databases") {
                    let hint = did_you_mean(db, databases.iter().copied())
                        .map(|s| format!(", did you mean `{s}`?"))
                        .unwrap_or_default();
                    let known = if databases.is_empty() {
                        "none are declared in [[databases]]".to_owned()
                    } else {
                        format!("declared: {}", databases.join(", "))
                    };
                    ck.err(&dp, format!("undefined database `{db}`{hint} ({known})"));
                }
            }
            if let Some(cur) = &c.current {
                let cp = join(&p, "current");
                cur.validate(&cp, ck);
                let account = c.account.as_deref().unwrap_or(self.defaults.account());
                let total = reserved.entry(account).or_default();
                let share = cur.reserved_share();
                *total += share;
                let limit = self
                    .accounts
                    .iter()
                    .find(|a| a.name == account)
                    .map_or(DEFAULT_CONCURRENCY_LIMIT, |a| a.spec().concurrency_limit);
                let reservable = limit.saturating_sub(AccountSpec::UNRESERVED_MINIMUM);
                if share > 0 && *total > reservable && *total - share <= reservable {
                    ck.err(
                        &cp,
                        format!(
                            "reserved and provisioned concurrency in account `{account}` reach {total}, more than it can reserve (expected at most {reservable}: limit {limit} minus 100 unreserved)"
                        ),
                    );
                }
            }
            c.slo.validate(&join(&p, "slo"), ck);
            c.model.validate(&join(&p, "model"), ck);
            ck.zone(&join(&p, "timezone"), c.timezone.as_deref());
        }
    }
}

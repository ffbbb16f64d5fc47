//! `[[slo]]` and `[[guardrails]]` rules, and the `match` that selects the components a
//! rule applies to.
//!
//! SLO rules apply in file order: every matching rule sets the objectives it gives,
//! later rules overriding earlier ones, and a component's own `slo` overrides them all.
//! Guardrail rules combine by the most restrictive value, whatever their order.

use std::collections::{BTreeMap, BTreeSet};

use adaptd_engine::spec::{Guardrails, PlatformKind, Slo};
use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use crate::check::{Bound, Check};
use crate::resources::unique_names;
use crate::spans::{index, join};

/// Selects components. Every key given must match; an empty `match` (or none) selects
/// every component.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Match {
    /// Glob on the component name: `*` (any text), `?` (one character), `[a-z]`,
    /// `{a,b}` (`"*-api"`, `"report-*"`).
    pub name: Option<String>,
    /// Environment, exactly (`"prod"`).
    pub environment: Option<String>,
    /// Trigger, exactly (`"http"`, `"queue"`, `"event"`, `"timer"`, `"stream"`).
    pub trigger: Option<String>,
    /// Account key, exactly.
    pub account: Option<String>,
    /// Current platform: `"lambda"` or `"fargate"`.
    pub platform: Option<PlatformKind>,
    /// Tags, each a glob on the tag's value (`{ team = "pay*" }`); a component
    /// without the tag does not match.
    pub tags: BTreeMap<String, String>,
}

/// What rules match against: a component's identity from config and telemetry.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// Component name.
    pub name: &'a str,
    /// Environment, if known.
    pub environment: Option<&'a str>,
    /// Trigger, if known.
    pub trigger: Option<&'a str>,
    /// Account key.
    pub account: &'a str,
    /// Current platform.
    pub platform: PlatformKind,
    /// Tags.
    pub tags: &'a BTreeMap<String, String>,
}

fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Glob::new(pattern).map(|g| g.compile_matcher())
}

impl Match {
    /// Whether the component described by `f` is selected.
    pub fn matches(&self, f: &Facts<'_>) -> bool {
        let glob_ok = |pattern: &str, value: &str| glob(pattern).is_ok_and(|g| g.is_match(value));
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        self.name.as_deref().is_none_or(|p| glob_ok(p, f.name))
            && eq(&self.environment, f.environment)
            && eq(&self.trigger, f.trigger)
            && eq(&self.account, Some(f.account))
            && self.platform.is_none_or(|p| p == f.platform)
            && self
                .tags
                .iter()
                .all(|(k, p)| f.tags.get(k).is_some_and(|v| glob_ok(p, v)))
    }

    fn validate(&self, path: &str, ck: &mut Check<'_>) {
        let mut globs: Vec<(String, &str)> = Vec::new();
        if let Some(n) = &self.name {
            globs.push((join(path, "name"), n));
        }
        let tags = join(path, "tags");
        globs.extend(self.tags.iter().map(|(k, v)| (join(&tags, k), v.as_str())));
        for (p, pattern) in globs {
            if let Err(e) = glob(pattern) {
                let why = e.kind().to_string();
                ck.err(&p, format!("invalid glob ({why}; got \"{pattern}\")"));
            }
        }
        for (key, v) in [
            ("environment", &self.environment),
            ("trigger", &self.trigger),
            ("account", &self.account),
        ] {
            if v.as_deref().is_some_and(|v| v.trim().is_empty()) {
                ck.err(&join(path, key), "must not be empty");
            }
        }
    }
}

/// Service-level objectives. Unset objectives are not constrained.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SloObjectives {
    /// p99 latency in every hour of the day, including cold starts and queueing, in ms
    /// (> 0).
    pub p99_ms: Option<f64>,
    /// Share of invocations that may pay a cold start over the period (0–1).
    pub max_cold_start_rate: Option<f64>,
    /// Share of invocations that may be throttled in any hour (0–1); 0 forbids
    /// throttling.
    pub max_throttle_rate: Option<f64>,
    /// Hours over which the cold-start objective is judged (> 0; default the length of
    /// the telemetry the plan is made from, clamped to 24–730). Shorter periods leave
    /// less room for chance.
    pub period_hours: Option<f64>,
    /// Probability with which adaptd plans to meet the cold-start objective in each
    /// period (0.5–0.999; default 0.9).
    pub confidence: Option<f64>,
}

impl SloObjectives {
    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        ck.opt_num(&join(path, "p99_ms"), self.p99_ms, &[Bound::Gt(0.0)]);
        ck.opt_num(
            &join(path, "period_hours"),
            self.period_hours,
            &[Bound::Gt(0.0)],
        );
        ck.opt_num(
            &join(path, "confidence"),
            self.confidence,
            &[Bound::Ge(0.5), Bound::Le(0.999)],
        );
        for (key, v) in [
            ("max_cold_start_rate", self.max_cold_start_rate),
            ("max_throttle_rate", self.max_throttle_rate),
        ] {
            ck.opt_num(&join(path, key), v, &[Bound::Ge(0.0), Bound::Le(1.0)]);
        }
    }

    /// Sets the objectives given here, keeping the others.
    pub fn apply(&self, slo: &mut Slo) {
        if self.p99_ms.is_some() {
            slo.p99_ms = self.p99_ms;
        }
        if self.max_cold_start_rate.is_some() {
            slo.max_cold_start_rate = self.max_cold_start_rate;
        }
        if self.max_throttle_rate.is_some() {
            slo.max_throttle_rate = self.max_throttle_rate;
        }
        if self.period_hours.is_some() {
            slo.period_hours = self.period_hours;
        }
        if self.confidence.is_some() {
            slo.confidence = self.confidence;
        }
    }
}

/// An SLO rule: the objectives of the components it matches.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SloRule {
    /// Rule name, for explanations (required, unique among SLO rules).
    pub name: String,
    /// The components it applies to (default: all).
    #[serde(rename = "match")]
    pub selector: Match,
    /// p99 latency in every hour of the day, including cold starts and queueing, in ms
    /// (> 0).
    pub p99_ms: Option<f64>,
    /// Share of invocations that may pay a cold start over the period (0–1).
    pub max_cold_start_rate: Option<f64>,
    /// Share of invocations that may be throttled in any hour (0–1); 0 forbids
    /// throttling.
    pub max_throttle_rate: Option<f64>,
    /// Hours over which the cold-start objective is judged (> 0; default the length of
    /// the telemetry the plan is made from, clamped to 24–730). Shorter periods leave
    /// less room for chance.
    pub period_hours: Option<f64>,
    /// Probability with which adaptd plans to meet the cold-start objective in each
    /// period (0.5–0.999; default 0.9).
    pub confidence: Option<f64>,
}

impl SloRule {
    /// The objectives this rule sets.
    pub fn objectives(&self) -> SloObjectives {
        SloObjectives {
            p99_ms: self.p99_ms,
            max_cold_start_rate: self.max_cold_start_rate,
            max_throttle_rate: self.max_throttle_rate,
            period_hours: self.period_hours,
            confidence: self.confidence,
        }
    }
}

/// A guardrail rule: limits for the components it matches. Where several rules match,
/// each limit is the most restrictive of the values they give.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardrailRule {
    /// Rule name, listed in explanations (required, unique among guardrail rules).
    pub name: String,
    /// The components it applies to (default: all).
    #[serde(rename = "match")]
    pub selector: Match,
    /// Platforms the components may run on, `"lambda"` and/or `"fargate"` (not
    /// empty). Combined: the intersection. Default: any.
    pub allowed_platforms: Option<Vec<PlatformKind>>,
    /// Smallest memory adaptd may choose, in MB (128–122880). Combined: the largest.
    /// Default 128.
    pub memory_mb_min: Option<u32>,
    /// Largest memory adaptd may choose, in MB (128–122880, >= `memory_mb_min`).
    /// Combined: the smallest. Default 10240.
    pub memory_mb_max: Option<u32>,
    /// Whether arm64 may be proposed (it needs an arm64 build). Combined: allowed only
    /// if some matching rule sets `true` and none sets `false`. Default false.
    pub allow_arm64: Option<bool>,
    /// Largest provisioned concurrency per function. Combined: the smallest. Default
    /// 1000.
    pub max_provisioned_concurrency: Option<u32>,
    /// Whether hour-of-day schedules may be proposed (else constant settings only).
    /// Combined: true only if no matching rule sets `false`. Default true.
    pub allow_schedules: Option<bool>,
    /// Memory may change by at most this factor per step (> 1; 2.0 = halve or double).
    /// Combined: the smallest. Default: unlimited.
    pub max_memory_step_factor: Option<f64>,
    /// Provisioned concurrency may rise per step by this share of its current value
    /// (>= 0; 0.5 = +50 %) or by `max_provisioned_step_absolute`, whichever allows
    /// more. Combined: the smallest. Default: unlimited.
    pub max_provisioned_step_relative: Option<f64>,
    /// See `max_provisioned_step_relative`. Combined: the smallest. Default:
    /// unlimited.
    pub max_provisioned_step_absolute: Option<u32>,
    /// Smallest reserved concurrency adaptd may set on a Lambda function (>= 1).
    /// Combined: the largest. Default: none (adaptd may also leave it unset).
    pub reserved_concurrency_min: Option<u32>,
    /// Largest reserved concurrency adaptd may set (>= 1): every Lambda option is then
    /// capped at most here. Set both to fix it. Combined: the smallest. Default: none.
    pub reserved_concurrency_max: Option<u32>,
    /// A change is proposed only when it moves the monthly bill by at least this many
    /// USD (>= 0) and by at least `min_change_saving_share` of the deployed cost, as
    /// long as the deployed configuration holds its SLO: below both, churn is not worth
    /// it. Combined: the largest. Default 1.
    pub min_change_saving_usd_per_month: Option<f64>,
    /// See `min_change_saving_usd_per_month` (0 <= share < 1; 0.02 = 2 %). Combined:
    /// the largest. Default 0.02.
    pub min_change_saving_share: Option<f64>,
    /// IANA time zone (`"Europe/Berlin"`) in which the matched components'
    /// hour-of-day schedules are planned and applied, unless a component sets its own.
    /// Matching rules that name different zones are an error. Default:
    /// `[defaults].timezone`, else UTC.
    pub timezone: Option<String>,
}

/// Largest memory (MB) any platform offers: Fargate's 120 GB.
const MEMORY_MB_CEILING: u32 = 122_880;

pub(crate) fn validate_slo_rules(rules: &[SloRule], ck: &mut Check<'_>) {
    unique_names("slo", "SLO rule", rules.iter().map(|r| r.name.as_str()), ck);
    for (i, r) in rules.iter().enumerate() {
        let p = index("slo", i);
        r.selector.validate(&join(&p, "match"), ck);
        r.objectives().validate(&p, ck);
    }
}

pub(crate) fn validate_guardrail_rules(rules: &[GuardrailRule], ck: &mut Check<'_>) {
    let names = rules.iter().map(|r| r.name.as_str());
    unique_names("guardrails", "guardrail rule", names, ck);
    for (i, r) in rules.iter().enumerate() {
        let p = index("guardrails", i);
        r.selector.validate(&join(&p, "match"), ck);
        if r.allowed_platforms.as_ref().is_some_and(Vec::is_empty) {
            ck.err(
                &join(&p, "allowed_platforms"),
                "must list at least one platform (expected \"lambda\" and/or \"fargate\")",
            );
        }
        ck.zone(&join(&p, "timezone"), r.timezone.as_deref());
        let mem = [Bound::Ge(128.0), Bound::Le(f64::from(MEMORY_MB_CEILING))];
        for (key, v) in [
            ("memory_mb_min", r.memory_mb_min),
            ("memory_mb_max", r.memory_mb_max),
        ] {
            ck.opt_num(&join(&p, key), v.map(f64::from), &mem);
        }
        if let (Some(lo), Some(hi)) = (r.memory_mb_min, r.memory_mb_max)
            && lo > hi
        {
            ck.err(
                &join(&p, "memory_mb_max"),
                format!("must be >= memory_mb_min (got {hi}, memory_mb_min {lo})"),
            );
        }
        ck.opt_num(
            &join(&p, "max_memory_step_factor"),
            r.max_memory_step_factor,
            &[Bound::Gt(1.0)],
        );
        ck.opt_num(
            &join(&p, "max_provisioned_step_relative"),
            r.max_provisioned_step_relative,
            &[Bound::Ge(0.0)],
        );
        ck.opt_num(
            &join(&p, "min_change_saving_usd_per_month"),
            r.min_change_saving_usd_per_month,
            &[Bound::Ge(0.0)],
        );
        ck.opt_num(
            &join(&p, "min_change_saving_share"),
            r.min_change_saving_share,
            &[Bound::Ge(0.0), Bound::Lt(1.0)],
        );
        for (key, v) in [
            ("reserved_concurrency_min", r.reserved_concurrency_min),
            ("reserved_concurrency_max", r.reserved_concurrency_max),
        ] {
            ck.opt_num(&join(&p, key), v.map(f64::from), &[Bound::Ge(1.0)]);
        }
        if let (Some(lo), Some(hi)) = (r.reserved_concurrency_min, r.reserved_concurrency_max)
            && lo > hi
        {
            ck.err(
                &join(&p, "reserved_concurrency_max"),
                format!(
                    "must be >= reserved_concurrency_min (got {hi}, reserved_concurrency_min {lo})"
                ),
            );
        }
    }
}

/// A contradiction between matching guardrail rules: the path of the rule field that
/// caused it and the message.
pub(crate) type Conflict = (String, String);

/// The larger of two optional limits; a limit only one side sets is kept.
fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// The smaller of two optional limits (an unset one does not limit).
fn min_opt<T: PartialOrd + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y < x { y } else { x }),
        (x, y) => x.or(y),
    }
}

/// Combines the matching guardrail rules (index, rule) by the most restrictive value.
pub(crate) fn combine_guardrails<'r>(
    component: &str,
    rules: impl IntoIterator<Item = (usize, &'r GuardrailRule)>,
) -> Result<Guardrails, Vec<Conflict>> {
    let mut g = Guardrails::default();
    let mut platforms: Option<(BTreeSet<PlatformKind>, Vec<&str>)> = None;
    let mut mem_min: Option<(u32, usize)> = None;
    let mut mem_max: Option<(u32, usize)> = None;
    let mut arm64: Option<bool> = None;
    let mut reserved_min_at = 0;
    let mut min_saving_usd: Option<f64> = None;
    let mut min_saving_share: Option<f64> = None;
    let mut conflicts = Vec::new();
    for (i, r) in rules {
        g.sources.push(r.name.clone());
        if let Some(allowed) = &r.allowed_platforms {
            let set: BTreeSet<PlatformKind> = allowed.iter().copied().collect();
            let (cur, names) = platforms.get_or_insert_with(|| (set.clone(), Vec::new()));
            names.push(&r.name);
            cur.retain(|p| set.contains(p));
            if cur.is_empty() && conflicts.is_empty() {
                conflicts.push((
                    join(&index("guardrails", i), "allowed_platforms"),
                    format!(
                        "component `{component}`: the matching guardrail rules {} allow no platform in common",
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        if let Some(v) = r.memory_mb_min
            && mem_min.is_none_or(|(m, _)| v > m)
        {
            mem_min = Some((v, i));
        }
        if let Some(v) = r.memory_mb_max
            && mem_max.is_none_or(|(m, _)| v < m)
        {
            mem_max = Some((v, i));
        }
        arm64 = match (arm64, r.allow_arm64) {
            (Some(a), Some(b)) => Some(a && b),
            (a, b) => a.or(b),
        };
        if let Some(s) = r.allow_schedules {
            g.allow_schedules &= s;
        }
        if let Some(v) = r.max_provisioned_concurrency {
            g.max_provisioned_concurrency = g.max_provisioned_concurrency.min(v);
        }
        g.max_memory_step_factor = min_opt(g.max_memory_step_factor, r.max_memory_step_factor);
        g.max_provisioned_step_relative = min_opt(
            g.max_provisioned_step_relative,
            r.max_provisioned_step_relative,
        );
        g.max_provisioned_step_absolute = min_opt(
            g.max_provisioned_step_absolute,
            r.max_provisioned_step_absolute,
        );
        g.reserved_concurrency_max =
            min_opt(g.reserved_concurrency_max, r.reserved_concurrency_max);
        min_saving_usd = max_opt(min_saving_usd, r.min_change_saving_usd_per_month);
        min_saving_share = max_opt(min_saving_share, r.min_change_saving_share);
        if let Some(v) = r.reserved_concurrency_min
            && g.reserved_concurrency_min.is_none_or(|m| v > m)
        {
            g.reserved_concurrency_min = Some(v);
            reserved_min_at = i;
        }
    }
    if let (Some(lo), Some(hi)) = (g.reserved_concurrency_min, g.reserved_concurrency_max)
        && lo > hi
    {
        conflicts.push((
            join(&index("guardrails", reserved_min_at), "reserved_concurrency_min"),
            format!(
                "component `{component}`: the matching guardrail rules leave no reserved concurrency (reserved_concurrency_min {lo} > reserved_concurrency_max {hi})"
            ),
        ));
    }
    if let Some((set, _)) = platforms {
        g.allowed_platforms = set;
    }
    g.allow_arm64 = arm64.unwrap_or(false);
    if let Some((v, _)) = mem_min {
        g.memory_mb_min = v;
    }
    if let Some((v, _)) = mem_max {
        g.memory_mb_max = v;
    }
    if let Some(v) = min_saving_usd {
        g.min_change_saving_usd_per_month = v;
    }
    if let Some(v) = min_saving_share {
        g.min_change_saving_share = v;
    }
    if g.memory_mb_min > g.memory_mb_max {
        let at = mem_max.or(mem_min).map_or(0, |(_, i)| i);
        conflicts.push((
            join(&index("guardrails", at), "memory_mb_max"),
            format!(
                "component `{component}`: the matching guardrail rules leave no memory size (memory_mb_min {} > memory_mb_max {})",
                g.memory_mb_min, g.memory_mb_max
            ),
        ));
    }
    if conflicts.is_empty() {
        Ok(g)
    } else {
        Err(conflicts)
    }
}

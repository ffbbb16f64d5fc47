//! Components found in telemetry, and how what they report combines with the
//! configured `current`.

use std::collections::BTreeMap;

use adaptd_engine::spec::{
    Architecture, Deployment, LambdaConfig, PlatformKind, describe_schedule,
};

use crate::components::DefaultsSection;
use crate::current::{Current, Schedule};
use crate::fargate::smallest_fargate_vcpu_for;

/// A component found in telemetry, with the attributes the collectors report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovered {
    /// Function or service name.
    pub name: String,
    /// Attributes: `trigger`, `runtime`, `memory_mb`, `architecture`, `environment`,
    /// `account`, `reserved_concurrency`, `provisioned_concurrency` (an integer or 24
    /// comma-separated integers), `platform`, and for Fargate services `vcpu`, `tasks`
    /// (like `provisioned_concurrency`) and `per_task_concurrency`; `load_balancer`
    /// (`true`, or a target group ARN: an ALB routes to it) and `image_size_mb` (the
    /// container image, which sets the default task start time). Others are ignored.
    pub attributes: BTreeMap<String, String>,
}

impl Discovered {
    /// A discovered component without attributes.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            attributes: BTreeMap::new(),
        }
    }

    /// Adds an attribute.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// A non-empty attribute.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The deployment telemetry reports, as a partial `current`. Unparsable values are
    /// skipped with a warning.
    pub(crate) fn observed(&self, warnings: &mut Vec<String>) -> Current {
        let mut bad = |key: &str, value: &str, expected: &str| {
            warnings.push(format!(
                "{}: ignoring telemetry attribute {key} = \"{value}\" (expected {expected})",
                self.name
            ));
        };
        macro_rules! parse {
            ($key:literal, $expected:literal, $parse:expr) => {
                self.attr($key).and_then(|v| {
                    let parsed = $parse(v);
                    if parsed.is_none() {
                        bad($key, v, $expected);
                    }
                    parsed
                })
            };
        }
        Current {
            platform: parse!("platform", "lambda or fargate", |v: &str| match v {
                "lambda" => Some(PlatformKind::Lambda),
                "fargate" => Some(PlatformKind::Fargate),
                _ => None,
            }),
            memory_mb: parse!("memory_mb", "a whole number of MB", |v: &str| v
                .parse()
                .ok()),
            architecture: parse!("architecture", "x86_64 or arm64", |v: &str| match v {
                "x86_64" => Some(Architecture::X86_64),
                "arm64" => Some(Architecture::Arm64),
                _ => None,
            }),
            provisioned_concurrency: parse!(
                "provisioned_concurrency",
                "an integer or 24 comma-separated integers",
                Schedule::parse
            ),
            reserved_concurrency: parse!("reserved_concurrency", "an integer", |v: &str| v
                .parse()
                .ok()),
            vcpu: parse!("vcpu", "a number", |v: &str| v
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())),
            tasks: parse!(
                "tasks",
                "an integer or 24 comma-separated integers",
                Schedule::parse
            ),
            per_task_concurrency: parse!("per_task_concurrency", "an integer", |v: &str| v
                .parse()
                .ok()),
        }
    }
}

/// The deployment of a component: the declared `current` overlaid with what telemetry
/// reports, gaps filled from `[defaults]`.
#[derive(Debug)]
pub(crate) struct Merged {
    pub(crate) deployment: Deployment,
    /// False when a setting (the memory, a Fargate size) had to be assumed.
    pub(crate) known: bool,
    /// `key: declared → deployed` for each declared setting telemetry contradicts.
    pub(crate) differences: Vec<String>,
}

fn show_schedule(s: &Schedule) -> String {
    s.hourly()
        .map_or_else(|| format!("{s:?}"), |h| describe_schedule(&h))
}

pub(crate) fn merge(
    declared: Option<&Current>,
    observed: &Current,
    defaults: &DefaultsSection,
) -> Merged {
    let mut cur = declared.cloned().unwrap_or_default();
    let mut differences = Vec::new();
    let mut diff = |key: &str, was: String, now: String| {
        if declared.is_some() && was != now {
            differences.push(format!("{key} {was} → {now}"));
        }
    };
    if let Some(p) = observed.platform
        && p != cur.platform()
    {
        diff("platform", cur.platform().to_string(), p.to_string());
        // The other platform's settings no longer describe anything.
        cur = Current {
            platform: Some(p),
            memory_mb: None,
            architecture: cur.architecture,
            ..Current::default()
        };
    }
    macro_rules! overlay {
        ($field:ident, $show:expr) => {
            if let Some(v) = &observed.$field {
                if let Some(old) = &cur.$field {
                    diff(stringify!($field), $show(old), $show(v));
                }
                cur.$field = Some(v.clone());
            }
        };
    }
    let num = |v: &u32| v.to_string();
    overlay!(memory_mb, num);
    overlay!(architecture, |a: &Architecture| a.to_string());
    overlay!(vcpu, |v: &f64| v.to_string());
    overlay!(per_task_concurrency, num);
    overlay!(tasks, show_schedule);
    if cur.platform() == PlatformKind::Lambda {
        overlay!(provisioned_concurrency, show_schedule);
        overlay!(reserved_concurrency, num);
    }
    let mut known = true;
    if cur.memory_mb.is_none() {
        known = false;
        cur.memory_mb = Some(defaults.memory_mb());
    }
    if cur.architecture.is_none() {
        cur.architecture = defaults.architecture;
    }
    if cur.platform() == PlatformKind::Fargate {
        let memory = cur.memory_mb.unwrap_or(1024);
        if cur.vcpu.is_none() {
            known = false;
            cur.vcpu = Some(smallest_fargate_vcpu_for(memory).unwrap_or(0.25));
        }
        if cur.tasks.as_ref().and_then(Schedule::hourly).is_none() {
            known = false;
            cur.tasks = Some(Schedule::Constant(1));
        }
        if cur.per_task_concurrency.is_none() {
            known = false;
            cur.per_task_concurrency = Some(1);
        }
    }
    let deployment = cur.deployment().unwrap_or_else(|| {
        known = false;
        Deployment::Lambda(LambdaConfig {
            memory_mb: defaults.memory_mb(),
            architecture: defaults.architecture.unwrap_or_default(),
            provisioned: Default::default(),
            reserved_concurrency: None,
        })
    });
    Merged {
        deployment,
        known,
        differences,
    }
}

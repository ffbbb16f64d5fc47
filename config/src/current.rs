//! A component's `current = { … }`: what is deployed now.

use std::fmt;

use adaptd_engine::spec::{
    Architecture, Deployment, FargateConfig, LambdaConfig, PlatformKind, Provisioned,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::check::{Bound, Check};
use crate::fargate::{FARGATE_SIZES, describe_memory_options, is_valid_fargate_size};
use crate::spans::join;

/// Lambda's memory range (MB), in 1 MB steps.
pub const LAMBDA_MEMORY_MB: (u32, u32) = (128, 10_240);

/// A count that is either constant or one value per hour of the day (UTC), written as
/// an integer or an array of exactly 24 integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// The same all day.
    Constant(u32),
    /// Index 0 is 00:00–01:00 UTC. Valid only with 24 values.
    Hourly(Vec<u32>),
}

impl Schedule {
    /// The 24 hourly values, or `None` if an hourly schedule does not have 24.
    pub fn hourly(&self) -> Option<[u32; 24]> {
        match self {
            Schedule::Constant(n) => Some([*n; 24]),
            Schedule::Hourly(v) => v.as_slice().try_into().ok(),
        }
    }

    /// Largest value.
    pub fn peak(&self) -> u32 {
        match self {
            Schedule::Constant(n) => *n,
            Schedule::Hourly(v) => v.iter().copied().max().unwrap_or(0),
        }
    }

    /// Parses `"20"` or 24 comma-separated integers (telemetry attributes).
    pub fn parse(s: &str) -> Option<Schedule> {
        let values: Result<Vec<u32>, _> = s.split(',').map(|v| v.trim().parse()).collect();
        match values.ok()?.as_slice() {
            [n] => Some(Schedule::Constant(*n)),
            v if v.len() == 24 => Some(Schedule::Hourly(v.to_vec())),
            _ => None,
        }
    }

    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        if let Schedule::Hourly(v) = self
            && v.len() != 24
        {
            ck.err(
                path,
                format!(
                    "a schedule needs 24 values, one per hour of the day UTC (got {})",
                    v.len()
                ),
            );
        }
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Schedule;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number >= 0 or an array of 24 of them")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Schedule, E> {
                u32::try_from(v)
                    .map(Schedule::Constant)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Schedule, E> {
                u32::try_from(v)
                    .map(Schedule::Constant)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Schedule, A::Error> {
                let mut values = Vec::with_capacity(24);
                while let Some(v) = seq.next_element::<u32>()? {
                    values.push(v);
                }
                Ok(Schedule::Hourly(values))
            }
        }
        d.deserialize_any(V)
    }
}

/// The deployment of a component now. Lambda keys and Fargate keys may not be mixed.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Current {
    /// `"lambda"` (default) or `"fargate"`.
    pub platform: Option<PlatformKind>,
    /// Memory in MB (required): Lambda 128–10240 in 1 MB steps; Fargate per task, valid
    /// for `vcpu`.
    pub memory_mb: Option<u32>,
    /// `"x86_64"` (default) or `"arm64"`.
    pub architecture: Option<Architecture>,
    /// Lambda: provisioned concurrency, an integer or 24 hourly integers (UTC)
    /// (default 0). At most `reserved_concurrency` when that is set.
    pub provisioned_concurrency: Option<Schedule>,
    /// Lambda: reserved concurrency, if set (a cap and a reservation).
    pub reserved_concurrency: Option<u32>,
    /// Fargate: vCPUs per task (required): 0.25, 0.5, 1, 2, 4, 8 or 16.
    pub vcpu: Option<f64>,
    /// Fargate: running tasks, an integer or 24 hourly integers (UTC) (required, at
    /// least 1 in some hour).
    pub tasks: Option<Schedule>,
    /// Fargate: requests one task serves at once (required, >= 1).
    pub per_task_concurrency: Option<u32>,
}

impl Current {
    /// The platform (`lambda` unless given).
    pub fn platform(&self) -> PlatformKind {
        self.platform.unwrap_or(PlatformKind::Lambda)
    }

    /// Reserved plus provisioned concurrency this Lambda takes from its account.
    pub(crate) fn reserved_share(&self) -> u32 {
        if self.platform() != PlatformKind::Lambda {
            return 0;
        }
        let pc = self
            .provisioned_concurrency
            .as_ref()
            .map_or(0, Schedule::peak);
        self.reserved_concurrency.unwrap_or(0).max(pc)
    }

    /// The engine's view, or `None` if a required key is missing or invalid.
    pub fn deployment(&self) -> Option<Deployment> {
        let architecture = self.architecture.unwrap_or_default();
        let memory_mb = self.memory_mb?;
        Some(match self.platform() {
            PlatformKind::Lambda => Deployment::Lambda(LambdaConfig {
                memory_mb,
                architecture,
                provisioned: match &self.provisioned_concurrency {
                    None => Provisioned::None,
                    Some(s) => Provisioned::from_hourly(s.hourly()?),
                },
                reserved_concurrency: self.reserved_concurrency,
            }),
            PlatformKind::Fargate => Deployment::Fargate(FargateConfig {
                vcpu: self.vcpu?,
                memory_mb,
                architecture,
                tasks: self.tasks.as_ref()?.hourly()?,
                per_task_concurrency: self.per_task_concurrency?,
                ..FargateConfig::default()
            }),
        })
    }

    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        let p = |k: &str| join(path, k);
        let platform = self.platform();
        let other = match platform {
            PlatformKind::Lambda => "fargate",
            PlatformKind::Fargate => "lambda",
        };
        let foreign: &[(&str, bool)] = match platform {
            PlatformKind::Lambda => &[
                ("vcpu", self.vcpu.is_some()),
                ("tasks", self.tasks.is_some()),
                ("per_task_concurrency", self.per_task_concurrency.is_some()),
            ],
            PlatformKind::Fargate => &[
                (
                    "provisioned_concurrency",
                    self.provisioned_concurrency.is_some(),
                ),
                ("reserved_concurrency", self.reserved_concurrency.is_some()),
            ],
        };
        for &(key, set) in foreign {
            if set {
                ck.err(
                    &p(key),
                    format!(
                        "only applies to platform = \"{other}\" (got platform = \"{platform}\")"
                    ),
                );
            }
        }
        let why = format!(" (for platform = \"{platform}\")");
        let has_memory = ck.require(&p("memory_mb"), self.memory_mb.is_some(), &why);
        match platform {
            PlatformKind::Lambda => {
                if let Some(m) = self.memory_mb {
                    let (lo, hi) = LAMBDA_MEMORY_MB;
                    let bounds = [Bound::Ge(f64::from(lo)), Bound::Le(f64::from(hi))];
                    ck.num(&p("memory_mb"), f64::from(m), &bounds);
                }
                if let Some(pc) = &self.provisioned_concurrency {
                    pc.validate(&p("provisioned_concurrency"), ck);
                    if let Some(r) = self.reserved_concurrency
                        && pc.peak() > r
                    {
                        ck.err(
                            &p("provisioned_concurrency"),
                            format!(
                                "exceeds reserved_concurrency (got {}, reserved_concurrency {r})",
                                pc.peak()
                            ),
                        );
                    }
                }
            }
            PlatformKind::Fargate => {
                if ck.require(&p("vcpu"), self.vcpu.is_some(), &why)
                    && let Some(v) = self.vcpu
                {
                    if !FARGATE_SIZES.iter().any(|s| s.0.total_cmp(&v).is_eq()) {
                        let sizes: Vec<String> =
                            FARGATE_SIZES.iter().map(|s| s.0.to_string()).collect();
                        ck.err(
                            &p("vcpu"),
                            format!(
                                "not a Fargate vCPU size (got {v}, expected one of: {})",
                                sizes.join(", ")
                            ),
                        );
                    } else if has_memory
                        && let Some(m) = self.memory_mb
                        && !is_valid_fargate_size(v, m)
                    {
                        ck.err(
                            &p("memory_mb"),
                            format!(
                                "not a valid Fargate memory size for {v} vCPU (got {m}, expected {})",
                                describe_memory_options(v)
                            ),
                        );
                    }
                }
                if ck.require(&p("tasks"), self.tasks.is_some(), &why)
                    && let Some(t) = &self.tasks
                {
                    t.validate(&p("tasks"), ck);
                    if t.peak() == 0 {
                        ck.err(
                            &p("tasks"),
                            "must run at least one task in some hour (got 0)",
                        );
                    }
                }
                if ck.require(
                    &p("per_task_concurrency"),
                    self.per_task_concurrency.is_some(),
                    &why,
                ) && let Some(c) = self.per_task_concurrency
                {
                    ck.num(&p("per_task_concurrency"), f64::from(c), &[Bound::Ge(1.0)]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_from_attributes() {
        assert_eq!(Schedule::parse("20"), Some(Schedule::Constant(20)));
        let day = vec!["3"; 24].join(",");
        assert_eq!(Schedule::parse(&day).unwrap().hourly(), Some([3; 24]));
        assert_eq!(Schedule::parse("1,2"), None);
        assert_eq!(Schedule::parse("x"), None);
        assert_eq!(Schedule::Hourly(vec![1; 23]).hourly(), None);
    }
}

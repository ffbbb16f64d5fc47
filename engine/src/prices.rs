//! The price sheet: AWS list prices with units in every name.
//!
//! us-east-1 is built in (`prices/us-east-1.toml`, with its sources). Other regions and
//! negotiated rates come from the config, either as a whole sheet or as overrides of
//! single keys, so that no price is ever hidden in code.

use serde::{Deserialize, Serialize};

use crate::spec::Architecture;

const US_EAST_1: &str = include_str!("../prices/us-east-1.toml");

/// A tier of Lambda's on-demand duration price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DurationTier {
    /// Monthly GB-seconds (cumulative, per account and architecture) up to which this
    /// tier applies; the last tier has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to_gb_seconds: Option<f64>,
    /// Price of one GB-second in this tier.
    pub usd_per_gb_second: f64,
}

/// Lambda prices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaPrices {
    /// Per million requests.
    pub request_usd_per_million: f64,
    /// On-demand duration tiers, x86_64.
    pub x86_64_duration_tiers: Vec<DurationTier>,
    /// On-demand duration tiers, arm64.
    pub arm64_duration_tiers: Vec<DurationTier>,
    /// Provisioned concurrency, per GB-second allocated, x86_64.
    pub x86_64_provisioned_usd_per_gb_second: f64,
    /// Provisioned concurrency, per GB-second allocated, arm64.
    pub arm64_provisioned_usd_per_gb_second: f64,
    /// Duration of invocations served by provisioned environments, x86_64.
    pub x86_64_provisioned_duration_usd_per_gb_second: f64,
    /// Duration of invocations served by provisioned environments, arm64.
    pub arm64_provisioned_duration_usd_per_gb_second: f64,
    /// Provisioned concurrency is billed in blocks of this many seconds.
    pub provisioned_billing_granularity_seconds: u32,
    /// Billed duration is rounded up to a multiple of this.
    pub duration_rounding_ms: f64,
}

impl LambdaPrices {
    /// Duration tiers of an architecture.
    pub fn duration_tiers(&self, arch: Architecture) -> &[DurationTier] {
        match arch {
            Architecture::X86_64 => &self.x86_64_duration_tiers,
            Architecture::Arm64 => &self.arm64_duration_tiers,
        }
    }

    /// First-tier on-demand price: what a GB-second costs an account that is not yet
    /// past the first tier (almost every account).
    pub fn duration_usd_per_gb_second(&self, arch: Architecture) -> f64 {
        self.duration_tiers(arch)[0].usd_per_gb_second
    }

    /// Provisioned-concurrency price per GB-second allocated.
    pub fn provisioned_usd_per_gb_second(&self, arch: Architecture) -> f64 {
        match arch {
            Architecture::X86_64 => self.x86_64_provisioned_usd_per_gb_second,
            Architecture::Arm64 => self.arm64_provisioned_usd_per_gb_second,
        }
    }

    /// Duration price of invocations served by provisioned environments.
    pub fn provisioned_duration_usd_per_gb_second(&self, arch: Architecture) -> f64 {
        match arch {
            Architecture::X86_64 => self.x86_64_provisioned_duration_usd_per_gb_second,
            Architecture::Arm64 => self.arm64_provisioned_duration_usd_per_gb_second,
        }
    }

    /// Cost of `gb_seconds` of on-demand duration in a month, walking the tiers from
    /// `already_gb_seconds` (what the rest of the account used first).
    pub fn tiered_duration_usd(
        &self,
        arch: Architecture,
        already_gb_seconds: f64,
        gb_seconds: f64,
    ) -> f64 {
        let mut cost = 0.0;
        let mut at = already_gb_seconds.max(0.0);
        let mut left = gb_seconds.max(0.0);
        for tier in self.duration_tiers(arch) {
            if left <= 0.0 {
                break;
            }
            let room = tier
                .up_to_gb_seconds
                .map_or(f64::INFINITY, |u| (u - at).max(0.0));
            let here = left.min(room);
            cost += here * tier.usd_per_gb_second;
            at += here;
            left -= here;
        }
        cost
    }
}

/// Fargate prices (Linux).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FargatePrices {
    /// Per vCPU-hour, x86_64.
    pub x86_64_vcpu_usd_per_hour: f64,
    /// Per GB-hour, x86_64.
    pub x86_64_gb_usd_per_hour: f64,
    /// Per vCPU-hour, arm64.
    pub arm64_vcpu_usd_per_hour: f64,
    /// Per GB-hour, arm64.
    pub arm64_gb_usd_per_hour: f64,
    /// Share off the on-demand price for tasks on `FARGATE_SPOT`. Spot prices move
    /// with supply and demand, "between 50 % and 70 % off" (AWS); set the current
    /// published rate here for exact figures.
    #[serde(default = "default_spot_discount")]
    pub spot_discount: f64,
}

fn default_spot_discount() -> f64 {
    0.7
}

impl FargatePrices {
    /// Hourly price of one task with a share `spot` of it on Fargate Spot (0–1).
    pub fn blended_task_usd_per_hour(
        &self,
        arch: Architecture,
        vcpu: f64,
        memory_mb: u32,
        spot: f64,
    ) -> f64 {
        self.task_usd_per_hour(arch, vcpu, memory_mb)
            * (1.0 - spot.clamp(0.0, 1.0) * self.spot_discount.clamp(0.0, 1.0))
    }

    /// Hourly price of one task.
    pub fn task_usd_per_hour(&self, arch: Architecture, vcpu: f64, memory_mb: u32) -> f64 {
        let gb = f64::from(memory_mb) / 1024.0;
        match arch {
            Architecture::X86_64 => {
                vcpu * self.x86_64_vcpu_usd_per_hour + gb * self.x86_64_gb_usd_per_hour
            }
            Architecture::Arm64 => {
                vcpu * self.arm64_vcpu_usd_per_hour + gb * self.arm64_gb_usd_per_hour
            }
        }
    }
}

/// RDS Proxy prices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RdsProxyPrices {
    /// Per vCPU-hour of the target database instance.
    pub usd_per_vcpu_hour: f64,
    /// Smallest number of vCPUs billed.
    pub minimum_vcpus: u32,
}

/// Application Load Balancer prices (for a Lambda-to-Fargate move that needs one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbPrices {
    /// Per load balancer hour.
    pub usd_per_hour: f64,
    /// Per load-balancer capacity unit hour.
    pub usd_per_lcu_hour: f64,
}

/// CloudWatch prices adaptd's own collection pays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchPrices {
    /// GetMetricData, per 1,000 metrics requested.
    pub get_metric_data_usd_per_1000_metrics: f64,
}

/// All prices of one region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSheet {
    /// AWS region code.
    pub region: String,
    /// Hours in a billing month (AWS uses 730).
    pub hours_per_month: f64,
    /// Lambda.
    pub lambda: LambdaPrices,
    /// Fargate.
    pub fargate: FargatePrices,
    /// RDS Proxy.
    pub rds_proxy: RdsProxyPrices,
    /// Application Load Balancer.
    pub alb: AlbPrices,
    /// CloudWatch.
    pub cloudwatch: CloudWatchPrices,
}

/// Why a price sheet or override was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    /// No sheet is built in for this region.
    #[error(
        "no built-in price sheet for region `{0}` (built in: us-east-1); give a whole sheet with `[prices] sheet = \"FILE\"`"
    )]
    UnknownRegion(String),
    /// The TOML does not describe a price sheet.
    #[error("invalid price sheet: {0}")]
    Invalid(String),
    /// An override names a key the sheet does not have.
    #[error("unknown price `{0}` (keys look like `lambda.request_usd_per_million`)")]
    UnknownKey(String),
    /// A price is negative or not finite.
    #[error("price `{key}` = {value} must be a finite number ≥ 0")]
    OutOfRange {
        /// Dotted key.
        key: String,
        /// Offending value.
        value: f64,
    },
}

impl PriceSheet {
    /// The built-in sheet of `region`.
    pub fn builtin(region: &str) -> Result<Self, PriceError> {
        match region {
            "us-east-1" => Self::from_toml_str(US_EAST_1),
            other => Err(PriceError::UnknownRegion(other.to_owned())),
        }
    }

    /// us-east-1, the default.
    pub fn us_east_1() -> Self {
        Self::builtin("us-east-1").expect("built-in sheet parses (tested)")
    }

    /// Parses a whole sheet and checks every price.
    pub fn from_toml_str(s: &str) -> Result<Self, PriceError> {
        let sheet: PriceSheet =
            toml::from_str(s).map_err(|e| PriceError::Invalid(e.to_string()))?;
        sheet.check()?;
        Ok(sheet)
    }

    /// Replaces the prices named by dotted keys (`lambda.request_usd_per_million`) or
    /// nested tables. Unknown keys are refused, so a typo never silently keeps a price.
    pub fn with_overrides(&self, overrides: &toml::Table) -> Result<Self, PriceError> {
        let mut value =
            toml::Table::try_from(self).map_err(|e| PriceError::Invalid(e.to_string()))?;
        merge(&mut value, overrides, "")?;
        let sheet: PriceSheet = toml::Value::Table(value)
            .try_into()
            .map_err(|e: toml::de::Error| PriceError::Invalid(e.to_string()))?;
        sheet.check()?;
        Ok(sheet)
    }

    fn check(&self) -> Result<(), PriceError> {
        let table = toml::Table::try_from(self).map_err(|e| PriceError::Invalid(e.to_string()))?;
        check_numbers(&toml::Value::Table(table), "")?;
        for (arch, tiers) in [
            ("x86_64", &self.lambda.x86_64_duration_tiers),
            ("arm64", &self.lambda.arm64_duration_tiers),
        ] {
            let ok = !tiers.is_empty()
                && tiers[..tiers.len() - 1]
                    .iter()
                    .all(|t| t.up_to_gb_seconds.is_some())
                && tiers.last().is_some_and(|t| t.up_to_gb_seconds.is_none())
                && tiers.windows(2).all(|w| {
                    w[0].up_to_gb_seconds < w[1].up_to_gb_seconds || w[1].up_to_gb_seconds.is_none()
                });
            if !ok {
                return Err(PriceError::Invalid(format!(
                    "lambda.{arch}_duration_tiers: tiers must have increasing `up_to_gb_seconds` and the last tier none"
                )));
            }
        }
        if self.hours_per_month <= 0.0 {
            return Err(PriceError::OutOfRange {
                key: "hours_per_month".into(),
                value: self.hours_per_month,
            });
        }
        Ok(())
    }

    /// Occurrences of one hour of the day in a billing month (730 / 24).
    pub fn hour_buckets_per_month(&self) -> f64 {
        self.hours_per_month / 24.0
    }
}

fn merge(base: &mut toml::Table, over: &toml::Table, prefix: &str) -> Result<(), PriceError> {
    for (k, v) in over {
        // Dotted keys given as strings ("lambda.request_usd_per_million") are split.
        if let Some((head, tail)) = k.split_once('.') {
            let mut nested = toml::Table::new();
            nested.insert(tail.to_owned(), v.clone());
            let mut outer = toml::Table::new();
            outer.insert(head.to_owned(), toml::Value::Table(nested));
            merge(base, &outer, prefix)?;
            continue;
        }
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let Some(slot) = base.get_mut(k) else {
            return Err(PriceError::UnknownKey(path));
        };
        match (slot, v) {
            (toml::Value::Table(b), toml::Value::Table(o)) => merge(b, o, &path)?,
            (toml::Value::Float(b), toml::Value::Integer(i)) => *b = *i as f64,
            (slot, v) => *slot = v.clone(),
        }
    }
    Ok(())
}

fn check_numbers(v: &toml::Value, path: &str) -> Result<(), PriceError> {
    match v {
        toml::Value::Float(f) if !f.is_finite() || *f < 0.0 => Err(PriceError::OutOfRange {
            key: path.to_owned(),
            value: *f,
        }),
        toml::Value::Integer(i) if *i < 0 => Err(PriceError::OutOfRange {
            key: path.to_owned(),
            value: *i as f64,
        }),
        toml::Value::Table(t) => {
            for (k, v) in t {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                check_numbers(v, &p)?;
            }
            Ok(())
        }
        toml::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                check_numbers(v, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_sheet_has_the_published_us_east_1_prices() {
        let p = PriceSheet::us_east_1();
        assert_eq!(p.lambda.request_usd_per_million, 0.20);
        assert_eq!(
            p.lambda.duration_usd_per_gb_second(Architecture::X86_64),
            0.0000166667
        );
        assert_eq!(
            p.lambda.duration_usd_per_gb_second(Architecture::Arm64),
            0.0000133334
        );
        assert_eq!(
            p.lambda.provisioned_usd_per_gb_second(Architecture::X86_64),
            0.0000041667
        );
        assert_eq!(
            p.lambda
                .provisioned_duration_usd_per_gb_second(Architecture::Arm64),
            0.0000077778
        );
        assert_eq!(p.fargate.x86_64_vcpu_usd_per_hour, 0.04048);
        assert_eq!(p.rds_proxy.usd_per_vcpu_hour, 0.015);
        assert_eq!(p.hours_per_month, 730.0);
    }

    #[test]
    fn tiers_walk_from_the_accounts_earlier_usage() {
        let l = PriceSheet::us_east_1().lambda;
        // 1 B GB-s entirely in the first x86 tier.
        let first = l.tiered_duration_usd(Architecture::X86_64, 0.0, 1e9);
        assert!((first - 16_666.7).abs() < 1e-6, "{first}");
        // 2 B GB-s starting at 5 B: 1 B at tier 1, 1 B at tier 2.
        let split = l.tiered_duration_usd(Architecture::X86_64, 5e9, 2e9);
        assert!((split - (16_666.7 + 15_000.0)).abs() < 1e-6, "{split}");
        // Beyond 15 B: the last tier.
        let last = l.tiered_duration_usd(Architecture::X86_64, 20e9, 1e9);
        assert!((last - 13_333.4).abs() < 1e-6, "{last}");
    }

    #[test]
    fn fargate_prices_reproduce_aws_worked_examples() {
        // AWS's Fargate pricing example: 5 tasks of 1 vCPU and 2 GB (Linux/x86) for
        // 10 minutes a day over a 30-day month: 5 × 1 × $0.04048/3600 × 600 s × 30 =
        // $1.0120 of vCPU and 5 × 2 × $0.004445/3600 × 600 s × 30 = $0.2223 of
        // memory, $1.23 in all.
        let f = PriceSheet::us_east_1().fargate;
        let task_seconds = 5.0 * 600.0 * 30.0;
        let x86 = f.task_usd_per_hour(Architecture::X86_64, 1.0, 2048) * task_seconds / 3600.0;
        assert!((x86 - (1.0120 + 0.22225)).abs() < 1e-4, "{x86}");
        // The same on Linux/ARM (Graviton): about 20 % less for the same task.
        let arm = f.task_usd_per_hour(Architecture::Arm64, 1.0, 2048) * task_seconds / 3600.0;
        assert!((arm - (0.80950 + 0.17800)).abs() < 1e-4, "{arm}");
        assert!(
            (1.0 - arm / x86 - 0.20).abs() < 0.005,
            "{}",
            1.0 - arm / x86
        );
        // Fargate Spot: up to 70 % off the on-demand rate; a task half on Spot pays 65 %.
        let od = f.task_usd_per_hour(Architecture::X86_64, 1.0, 2048);
        let spot = f.blended_task_usd_per_hour(Architecture::X86_64, 1.0, 2048, 1.0);
        assert!((spot / od - 0.30).abs() < 1e-12);
        let half = f.blended_task_usd_per_hour(Architecture::X86_64, 1.0, 2048, 0.5);
        assert!((half / od - 0.65).abs() < 1e-12);
    }

    #[test]
    fn fargate_task_price_is_vcpu_plus_memory() {
        let f = PriceSheet::us_east_1().fargate;
        // 0.5 vCPU, 1 GB, x86: 0.5 × 0.04048 + 1 × 0.004445 = 0.024685 per hour.
        assert!((f.task_usd_per_hour(Architecture::X86_64, 0.5, 1024) - 0.024685).abs() < 1e-12);
        assert!(
            (f.task_usd_per_hour(Architecture::Arm64, 1.0, 2048) - (0.03238 + 2.0 * 0.00356)).abs()
                < 1e-12
        );
    }

    #[test]
    fn overrides_replace_known_keys_and_refuse_unknown_ones() {
        let base = PriceSheet::us_east_1();
        let over: toml::Table = toml::from_str(
            r#"
            "lambda.request_usd_per_million" = 0.25
            [fargate]
            x86_64_vcpu_usd_per_hour = 0.05
            "#,
        )
        .unwrap();
        let p = base.with_overrides(&over).unwrap();
        assert_eq!(p.lambda.request_usd_per_million, 0.25);
        assert_eq!(p.fargate.x86_64_vcpu_usd_per_hour, 0.05);
        assert_eq!(
            p.fargate.arm64_vcpu_usd_per_hour,
            base.fargate.arm64_vcpu_usd_per_hour
        );

        let bad: toml::Table = toml::from_str(r#""lambda.request_usd_per_milion" = 0.25"#).unwrap();
        assert_eq!(
            base.with_overrides(&bad).unwrap_err(),
            PriceError::UnknownKey("lambda.request_usd_per_milion".into())
        );
        let neg: toml::Table = toml::from_str(r#""alb.usd_per_hour" = -1.0"#).unwrap();
        assert!(matches!(
            base.with_overrides(&neg),
            Err(PriceError::OutOfRange { .. })
        ));
        assert!(matches!(
            PriceSheet::builtin("eu-west-1"),
            Err(PriceError::UnknownRegion(_))
        ));
    }
}

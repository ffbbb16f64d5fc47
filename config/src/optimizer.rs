//! `[optimizer]`: settings of the portfolio optimisation.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::check::{Bound, Check};
use crate::spans::join;

/// How the optimiser solves the portfolio problem.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerMethod {
    /// Decomposed when no constraint couples the components, else monolithic.
    #[default]
    Auto,
    /// One small problem per component; shared limits are reconciled afterwards.
    Decomposed,
    /// One mixed-integer program over every component.
    Monolithic,
}

impl OptimizerMethod {
    /// The name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            OptimizerMethod::Auto => "auto",
            OptimizerMethod::Decomposed => "decomposed",
            OptimizerMethod::Monolithic => "monolithic",
        }
    }
}

impl fmt::Display for OptimizerMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Optimiser settings, the `[optimizer]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerSettings {
    /// Relative MIP gap at which the solver may stop (0 <= gap < 1; default 0.005 =
    /// within 0.5 % of the optimum).
    pub mip_gap: f64,
    /// Wall-clock limit of one solve, in seconds (> 0; default 30). The best solution
    /// found by then is used.
    pub time_limit_seconds: f64,
    /// Monthly spending cap over all components, in USD (> 0; default none).
    pub budget_usd_per_month: Option<f64>,
    /// `"auto"` (default), `"decomposed"` or `"monolithic"`.
    pub method: OptimizerMethod,
}

impl Default for OptimizerSettings {
    fn default() -> Self {
        Self {
            mip_gap: 0.005,
            time_limit_seconds: 30.0,
            budget_usd_per_month: None,
            method: OptimizerMethod::Auto,
        }
    }
}

impl OptimizerSettings {
    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        ck.num(
            &join(path, "mip_gap"),
            self.mip_gap,
            &[Bound::Ge(0.0), Bound::Lt(1.0)],
        );
        ck.num(
            &join(path, "time_limit_seconds"),
            self.time_limit_seconds,
            &[Bound::Gt(0.0)],
        );
        ck.opt_num(
            &join(path, "budget_usd_per_month"),
            self.budget_usd_per_month,
            &[Bound::Gt(0.0)],
        );
    }
}

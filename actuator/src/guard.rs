//! Apply-time guardrails, re-checked just before a plan is executed, whatever the
//! optimiser said when it made the recommendation: the world (other changes, the
//! clock, the month's spend) may have moved since.
//!
//! Pure: the caller passes the clock and the history (from the audit log).
//!
//! One guardrail clamps instead of refusing: a provisioned-concurrency (or ECS task
//! count) increase larger than the maximum step is cut to the step, and the clamped
//! plan is executed. The next cycle plans again from the live configuration and takes the next step, so a
//! large increase is reached in bounded steps instead of never. Every other guardrail
//! (cooldown, changes per hour, budget, windows) refuses the whole plan, naming the
//! guardrail and the numbers.

use serde::{Deserialize, Serialize};

use adaptd_engine::zone::Zone;

use crate::plan::{Plan, Settings, between};

/// Milliseconds in a minute.
const MINUTE_MS: i64 = 60_000;

/// A weekly window in which changes are allowed, in local time of its zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Days, 0 = Monday … 6 = Sunday, in `timezone`.
    pub weekdays: Vec<u8>,
    /// First hour (0–23), local to `timezone`.
    #[serde(alias = "start_hour_utc")]
    pub start_hour: u8,
    /// One past the last hour (1–24), local to `timezone`.
    #[serde(alias = "end_hour_utc")]
    pub end_hour: u8,
    /// The zone of the days and hours (UTC in records from before zones).
    #[serde(default)]
    pub timezone: Zone,
}

impl Window {
    /// Whether the window holds the instant `ms` (since the epoch).
    pub fn contains(&self, ms: i64) -> bool {
        let (weekday, hour) = weekday_hour(self.local_ms(ms));
        self.weekdays.contains(&weekday) && hour >= self.start_hour && hour < self.end_hour
    }

    /// `ms` moved by the zone's offset then: its weekday and hour are local ones.
    fn local_ms(&self, ms: i64) -> i64 {
        ms + self.timezone.offset_minutes(ms.div_euclid(MINUTE_MS)) * MINUTE_MS
    }
}

/// (weekday with Monday = 0, hour) of an instant, UTC. 1970-01-01 was a Thursday.
pub fn weekday_hour(ms: i64) -> (u8, u8) {
    let minutes = ms.div_euclid(MINUTE_MS);
    let days = minutes.div_euclid(1440);
    let weekday = (days + 3).rem_euclid(7) as u8;
    let hour = (minutes.rem_euclid(1440) / 60) as u8;
    (weekday, hour)
}

/// The limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrails {
    /// A provisioned-concurrency level (or a fixed or scheduled ECS task count) may rise
    /// by this share per step (percent)…
    pub max_step_percent: f64,
    /// …or by this many environments (tasks), whichever allows more.
    pub max_step_environments: u32,
    /// Minimum time between two changes of one component (minutes).
    pub cooldown_minutes: u32,
    /// Plans executed in any trailing hour, all components together.
    pub max_changes_per_hour: u32,
    /// Sum of predicted monthly cost increases applied in a calendar month (USD);
    /// `None`: no budget.
    pub max_cost_increase_usd_per_month: Option<f64>,
    /// When changes may be made; empty: any time.
    pub windows: Vec<Window>,
}

/// What the audit log says happened before, for the guardrails that need history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Now (ms since the epoch).
    pub now_ms: i64,
    /// The last change to this component (ms), if any.
    pub last_change_ms: Option<i64>,
    /// Plans executed (any component) in the hour before `now_ms`.
    pub changes_last_hour: u32,
    /// Predicted cost increases applied this calendar month (USD per month).
    pub cost_increase_this_month_usd: f64,
}

/// The guardrail that refused a plan, and the numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("refused by guardrail {guardrail}: {detail}")]
pub struct Refusal {
    /// `cooldown_minutes`, `max_changes_per_hour`, `max_cost_increase_usd_per_month`,
    /// `windows`.
    pub guardrail: String,
    /// What was found against the limit.
    pub detail: String,
}

/// A plan the guardrails allow, possibly clamped.
#[derive(Clone, Debug, PartialEq)]
pub struct Allowed {
    /// What to execute.
    pub plan: Plan,
    /// What was clamped, for the audit log and the operator.
    pub clamped: Vec<String>,
}

impl Guardrails {
    /// The most provisioned concurrency a level of `old` may step up to.
    pub fn max_level(&self, old: u32) -> u32 {
        let relative = (f64::from(old) * self.max_step_percent / 100.0).floor();
        let relative = if relative.is_finite() && relative >= 0.0 {
            relative.min(f64::from(u32::MAX)) as u32
        } else {
            0
        };
        old.saturating_add(relative.max(self.max_step_environments))
    }

    /// Checks `plan` against the guardrails at `history.now_ms`: refuses it, or allows
    /// it with provisioned-concurrency steps clamped to the maximum step.
    pub fn check(&self, plan: &Plan, history: &History) -> Result<Allowed, Refusal> {
        if plan.is_empty() {
            return Ok(Allowed {
                plan: plan.clone(),
                clamped: Vec::new(),
            });
        }
        if !self.windows.is_empty() && !self.windows.iter().any(|w| w.contains(history.now_ms)) {
            const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
            return Err(Refusal {
                guardrail: "windows".to_owned(),
                detail: format!(
                    "now is outside every allowed window ({})",
                    self.windows
                        .iter()
                        .map(|w| {
                            let (d, h) = weekday_hour(w.local_ms(history.now_ms));
                            format!(
                                "days {:?} {:02}–{:02} h {} (now {} {h:02}:xx there)",
                                w.weekdays,
                                w.start_hour,
                                w.end_hour,
                                w.timezone.name(),
                                DAYS[usize::from(d)]
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        if let Some(last) = history.last_change_ms {
            let since = history.now_ms.saturating_sub(last);
            let cooldown = i64::from(self.cooldown_minutes) * MINUTE_MS;
            if since < cooldown {
                return Err(Refusal {
                    guardrail: "cooldown_minutes".to_owned(),
                    detail: format!(
                        "{} changed {} min ago; cooldown is {} min",
                        plan.target.component,
                        since / MINUTE_MS,
                        self.cooldown_minutes
                    ),
                });
            }
        }
        if history.changes_last_hour >= self.max_changes_per_hour {
            return Err(Refusal {
                guardrail: "max_changes_per_hour".to_owned(),
                detail: format!(
                    "{} changes in the last hour; at most {} allowed",
                    history.changes_last_hour, self.max_changes_per_hour
                ),
            });
        }
        if let Some(budget) = self.max_cost_increase_usd_per_month {
            let delta = plan.cost_delta_usd_per_month;
            if delta > 0.0 && history.cost_increase_this_month_usd + delta > budget {
                return Err(Refusal {
                    guardrail: "max_cost_increase_usd_per_month".to_owned(),
                    detail: format!(
                        "+${delta:.2}/month on top of +${:.2}/month applied this month exceeds the budget of ${budget:.2}/month",
                        history.cost_increase_this_month_usd
                    ),
                });
            }
        }
        let (to, clamped) = self.clamp(&plan.from, &plan.to);
        if clamped.is_empty() {
            return Ok(Allowed {
                plan: plan.clone(),
                clamped,
            });
        }
        let mut p = between(&plan.target, &plan.from, &to);
        p.iac_only.clone_from(&plan.iac_only);
        // The predicted cost is the unclamped plan's: an upper bound, since clamping
        // only lowers provisioned concurrency or task counts.
        p.cost_delta_usd_per_month = plan.cost_delta_usd_per_month;
        Ok(Allowed { plan: p, clamped })
    }

    /// `to` with each level (provisioned concurrency, or a fixed or scheduled task
    /// count) cut to the maximum step from the level of `from` at the same hour.
    fn clamp(&self, from: &Settings, to: &Settings) -> (Settings, Vec<String>) {
        let (Some(old), Some(new)) = (from.levels(), to.levels()) else {
            return (to.clone(), Vec::new());
        };
        let what = to.levels_name();
        let mut notes = Vec::new();
        let limited: [u32; 24] = std::array::from_fn(|h| {
            let max = self.max_level(old[h]);
            if new[h] > max {
                notes.push(format!(
                    "{what} at {h:02} h: {} → {} clamped to {max} (max step +{}% or +{} from {})",
                    old[h], new[h], self.max_step_percent, self.max_step_environments, old[h]
                ));
                max
            } else {
                new[h]
            }
        });
        if notes.is_empty() {
            return (to.clone(), notes);
        }
        // A constant level clamps the same at every hour: report it once.
        let constant = |l: &[u32; 24]| l.iter().all(|&v| v == l[0]);
        if constant(&new) && constant(&old) {
            notes.truncate(1);
            notes[0] = notes[0].replacen(" at 00 h", "", 1);
        }
        (to.with_levels(limited), notes)
    }
}

#[cfg(test)]
mod tests;

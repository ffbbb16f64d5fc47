//! An hour-of-day schedule ([`Hourly`]) as scheduled actions, and back: one action at
//! each hour whose level differs from the hour before (around midnight too), so a
//! schedule with a daytime plateau costs two actions, not 24.
//!
//! Applying through the API (the actuator) and writing the change into code (IaC) must
//! produce the same actions, or the next `terraform apply` would undo an apply: this is
//! the one encoding both use.

use serde::Serialize;

use crate::spec::Hourly;

/// One scheduled action: from `hour` (UTC) on, `value` until the next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduledStep {
    /// Hour of day, 0–23, UTC.
    pub hour: u32,
    /// Capacity from that hour on.
    pub value: u32,
}

impl ScheduledStep {
    /// Application Auto Scaling's cron: minute 0 of `hour`, every day.
    pub fn cron(&self) -> String {
        format!("cron(0 {} * * ? *)", self.hour)
    }
}

/// The hours at which `hourly` changes level, with the new level; every level of a
/// schedule is reached at one of them, since the day wraps around. A constant schedule
/// has none.
pub fn change_points(hourly: &Hourly<u32>) -> Vec<ScheduledStep> {
    (0..24u32)
        .filter(|&h| hourly[h as usize] != hourly[((h + 23) % 24) as usize])
        .map(|hour| ScheduledStep {
            hour,
            value: hourly[hour as usize],
        })
        .collect()
}

/// The schedule that actions at `steps` produce (the inverse of [`change_points`]);
/// `None` without steps.
pub fn schedule_of(steps: &[ScheduledStep]) -> Option<Hourly<u32>> {
    let last = steps.iter().max_by_key(|s| s.hour)?;
    let mut level = last.value;
    Some(std::array::from_fn(|h| {
        if let Some(s) = steps.iter().find(|s| s.hour as usize == h) {
            level = s.value;
        }
        level
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(steps: &[ScheduledStep]) -> Vec<(u32, u32)> {
        steps.iter().map(|s| (s.hour, s.value)).collect()
    }

    #[test]
    fn steps_mark_changes_including_across_midnight() {
        let mut h = [1u32; 24];
        h[7] = 3;
        (8..18).for_each(|i| h[i] = 0);
        h[18] = 3;
        let s = change_points(&h);
        assert_eq!(pairs(&s), vec![(7, 3), (8, 0), (18, 3), (19, 1)]);
        assert_eq!(s[0].cron(), "cron(0 7 * * ? *)");
        assert_eq!(schedule_of(&s), Some(h));
    }

    #[test]
    fn a_schedule_that_wraps_midnight_starts_where_it_changes() {
        let mut h = [0u32; 24];
        h[22] = 2;
        h[23] = 2;
        h[0] = 2;
        assert_eq!(pairs(&change_points(&h)), vec![(1, 0), (22, 2)]);
        assert_eq!(schedule_of(&change_points(&h)), Some(h));
    }

    #[test]
    fn a_constant_schedule_has_no_change_point() {
        assert!(change_points(&[4; 24]).is_empty());
        assert_eq!(schedule_of(&[]), None);
    }
}

//! Hour-of-day schedules as scheduled actions: one action at each hour whose value
//! differs from the hour before (around midnight too), so a schedule with a daytime
//! plateau costs two actions, not 24.

use adaptd_engine::spec::Hourly;
use serde::Serialize;

/// One scheduled action: from `hour` (UTC) on, `value` until the next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduledStep {
    /// Hour of day, 0–23, UTC.
    pub hour: usize,
    /// Capacity from that hour on.
    pub value: u32,
}

impl ScheduledStep {
    /// Application Auto Scaling's cron: minute 0 of `hour`, every day.
    pub fn cron(&self) -> String {
        format!("cron(0 {} * * ? *)", self.hour)
    }
}

/// The steps of `hourly`. A constant schedule is one step at 00:00, so that it still
/// says what to set.
pub fn schedule_steps(hourly: &Hourly<u32>) -> Vec<ScheduledStep> {
    let steps: Vec<ScheduledStep> = (0..24)
        .filter(|&h| hourly[h] != hourly[(h + 23) % 24])
        .map(|hour| ScheduledStep {
            hour,
            value: hourly[hour],
        })
        .collect();
    if steps.is_empty() {
        vec![ScheduledStep {
            hour: 0,
            value: hourly[0],
        }]
    } else {
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_mark_changes_including_across_midnight() {
        let mut h = [1u32; 24];
        h[7] = 3;
        (8..18).for_each(|i| h[i] = 0);
        h[18] = 3;
        let s = schedule_steps(&h);
        let got: Vec<(usize, u32)> = s.iter().map(|s| (s.hour, s.value)).collect();
        assert_eq!(got, vec![(7, 3), (8, 0), (18, 3), (19, 1)]);
        assert_eq!(s[0].cron(), "cron(0 7 * * ? *)");
    }

    #[test]
    fn a_schedule_that_wraps_midnight_starts_where_it_changes() {
        let mut h = [0u32; 24];
        h[22] = 2;
        h[23] = 2;
        h[0] = 2;
        let got: Vec<(usize, u32)> = schedule_steps(&h)
            .iter()
            .map(|s| (s.hour, s.value))
            .collect();
        assert_eq!(got, vec![(1, 0), (22, 2)]);
    }

    #[test]
    fn a_constant_schedule_is_one_step() {
        assert_eq!(
            schedule_steps(&[4; 24]),
            vec![ScheduledStep { hour: 0, value: 4 }]
        );
    }
}

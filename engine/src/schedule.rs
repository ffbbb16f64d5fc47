//! An hour-of-day schedule ([`Hourly`]) as scheduled actions, and back: one action at
//! each hour whose level differs from the hour before (around midnight too), so a
//! schedule with a daytime plateau costs two actions, not 24.
//!
//! Applying through the API (the actuator) and writing the change into code (IaC) must
//! produce the same actions, or the next `terraform apply` would undo an apply: this is
//! the one encoding both use.

use std::collections::BTreeMap;

use serde::Serialize;

/// An hour-of-day schedule: 24 values, index 0 is 00:00–01:00 in the component's time
/// zone (UTC unless one is set; see [`crate::zone`]).
pub type Hourly<T> = [T; 24];

/// One scheduled action: from `hour` (in the schedule's time zone) on, `value` until
/// the next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduledStep {
    /// Hour of day, 0–23, in the schedule's time zone.
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

/// "12 in 08–18 h, 2 otherwise" style text for a 24-hour schedule. Runs of the same
/// value are grouped ("1 in 07–12 h, 14–18 h"); schedules with more than three values
/// besides the most common one are summarised by their range ("8–11 by hour, peak
/// 11 in 12–14 h").
pub fn describe_schedule(h: &Hourly<u32>) -> String {
    if h.iter().all(|&v| v == h[0]) {
        return h[0].to_string();
    }
    // Runs of equal values, wrapping around midnight.
    let mut runs: Vec<(usize, usize, u32)> = Vec::new();
    let mut start = 0;
    for i in 1..=24 {
        if i == 24 || h[i] != h[start] {
            runs.push((start, i, h[start]));
            start = i;
        }
    }
    if runs.len() > 1 && runs[0].2 == runs[runs.len() - 1].2 {
        let last = runs.pop().expect("len > 1");
        runs[0].0 = last.0;
    }
    // The most common value (by hours) is "otherwise".
    let mut hours_by_value: BTreeMap<u32, usize> = BTreeMap::new();
    for &v in h {
        *hours_by_value.entry(v).or_default() += 1;
    }
    let base = hours_by_value
        .iter()
        .max_by_key(|&(v, n)| (*n, std::cmp::Reverse(*v)))
        .map(|(v, _)| *v)
        .unwrap_or(0);
    let span = |&(a, b, _): &(usize, usize, u32)| format!("{:02}–{:02} h", a % 24, b % 24);
    if hours_by_value.len() > 4 {
        let (lo, hi) = (
            h.iter().min().copied().unwrap_or(0),
            h.iter().max().copied().unwrap_or(0),
        );
        let peaks: Vec<String> = runs.iter().filter(|r| r.2 == hi).map(span).collect();
        return format!("{lo}–{hi} by hour, peak {hi} in {}", peaks.join(", "));
    }
    let mut values: Vec<u32> = hours_by_value
        .keys()
        .copied()
        .filter(|&v| v != base)
        .collect();
    values.sort_unstable_by(|a, b| b.cmp(a));
    let parts: Vec<String> = values
        .iter()
        .map(|&v| {
            let spans: Vec<String> = runs.iter().filter(|r| r.2 == v).map(span).collect();
            format!("{v} in {}", spans.join(", "))
        })
        .collect();
    format!("{}; {base} otherwise", parts.join("; "))
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

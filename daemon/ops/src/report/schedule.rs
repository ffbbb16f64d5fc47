//! Running a job on the report's cron schedule.
//!
//! The long-lived service calls [`run`] on a thread of its own with the config's
//! `[report] schedule`. Time comes from a [`Clock`] so that tests drive a week of
//! schedule in milliseconds and the service uses the wall clock.

use std::time::SystemTime;

use adaptd_config::{Cron, next_run_after};

/// Where "now" comes from and how to wait.
pub trait Clock {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// Returns at or after `t`.
    fn sleep_until(&self, t: SystemTime);
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, t: SystemTime) {
        // Sleep in slices so that a suspended machine or a clock step does not push the
        // run far past its time.
        loop {
            let Ok(left) = t.duration_since(SystemTime::now()) else {
                return;
            };
            std::thread::sleep(left.min(std::time::Duration::from_secs(60)));
        }
    }
}

/// Why the schedule stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The expression has no next time (a date that does not exist).
    #[error("the schedule `{0}` never fires")]
    Never(String),
}

/// Runs `job` each time `cron` fires, `runs` times (forever when `None`). A failing
/// job is logged and the schedule goes on: next week's report must not depend on this
/// week's webhook. The job gets the scheduled time, not the time it woke up.
pub fn run<E: std::fmt::Display>(
    cron: &Cron,
    clock: &dyn Clock,
    runs: Option<usize>,
    mut job: impl FnMut(SystemTime) -> Result<(), E>,
) -> Result<(), ScheduleError> {
    let mut done = 0;
    while runs.is_none_or(|r| done < r) {
        let next = next_run_after(cron, clock.now())
            .ok_or_else(|| ScheduleError::Never(cron.to_string()))?;
        clock.sleep_until(next);
        if let Err(e) = job(next) {
            tracing::warn!("scheduled report run failed: {e}");
        }
        done += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::{Duration, UNIX_EPOCH};

    /// A clock that jumps to wherever it is asked to sleep until.
    struct Jumping(Cell<SystemTime>);

    impl Clock for Jumping {
        fn now(&self) -> SystemTime {
            self.0.get()
        }
        fn sleep_until(&self, t: SystemTime) {
            self.0.set(t.max(self.0.get()));
        }
    }

    #[test]
    fn jobs_run_at_each_firing_and_failures_do_not_stop_the_schedule() {
        // 2026-11-20T13:07Z, a Friday.
        let start = UNIX_EPOCH + Duration::from_secs(1_795_180_020);
        let clock = Jumping(Cell::new(start));
        let cron: Cron = "0 8 * * MON".parse().unwrap();
        let mut seen = Vec::new();
        run(&cron, &clock, Some(3), |t| {
            seen.push(t);
            if seen.len() == 1 {
                Err("webhook down")
            } else {
                Ok(())
            }
        })
        .unwrap();
        let week = Duration::from_secs(7 * 86_400);
        // 2026-11-23T08:00Z.
        let first = UNIX_EPOCH + Duration::from_secs(1_795_420_800);
        assert_eq!(seen, [first, first + week, first + week * 2]);
    }

    #[test]
    fn an_impossible_schedule_is_an_error() {
        let clock = Jumping(Cell::new(UNIX_EPOCH));
        let cron: Cron = "0 0 30 2 *".parse().unwrap();
        let r = run(&cron, &clock, Some(1), |_| Ok::<(), String>(()));
        assert_eq!(
            r.unwrap_err().to_string(),
            "the schedule `0 0 30 2 *` never fires"
        );
    }
}

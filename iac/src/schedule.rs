//! Hour-of-day schedules as the scheduled actions a file declares: the engine's
//! encoding ([`adaptd_engine::schedule`], the same the actuator applies), except that
//! a constant schedule is one step at 00:00, so that the file still says what to set.

pub use adaptd_engine::schedule::ScheduledStep;
use adaptd_engine::schedule::change_points;
use adaptd_engine::spec::Hourly;

/// The steps of `hourly`.
pub fn schedule_steps(hourly: &Hourly<u32>) -> Vec<ScheduledStep> {
    let steps = change_points(hourly);
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
    fn a_constant_schedule_is_one_step() {
        assert_eq!(
            schedule_steps(&[4; 24]),
            vec![ScheduledStep { hour: 0, value: 4 }]
        );
    }

    #[test]
    fn a_changing_schedule_is_its_change_points() {
        let mut h = [1u32; 24];
        h[7] = 3;
        assert_eq!(schedule_steps(&h), change_points(&h));
    }
}

//! Applying a provisioned-concurrency schedule through the API (the actuator) and
//! writing it into code (IaC) must declare the same scheduled actions, or the next
//! `terraform apply` would undo what was applied.

use adaptd_actuator::plan::{Call, LambdaSettings, Target, between};
use adaptd_engine::spec::{Hourly, Provisioned};
use adaptd_iac::schedule_steps;

/// (hour, capacity, cron) of every scheduled action the actuator puts, starting from
/// no provisioned concurrency.
fn applied(h: Hourly<u32>) -> Vec<(u32, u32, String)> {
    let target = Target {
        component: "c".into(),
        function_name: "f".into(),
        qualifier: Some("live".into()),
        service: None,
        timezone: Default::default(),
    };
    let settings = |provisioned| LambdaSettings {
        memory_mb: 512,
        provisioned,
        reserved_concurrency: None,
        schedule_timezone: None,
    };
    let plan = between(
        &target,
        &settings(Provisioned::None),
        &settings(Provisioned::Hourly(h)),
    );
    plan.calls
        .into_iter()
        .filter_map(|c| match c {
            Call::PutScheduledAction {
                hour,
                capacity,
                schedule,
                ..
            } => Some((hour, capacity, schedule)),
            _ => None,
        })
        .collect()
}

fn declared(h: &Hourly<u32>) -> Vec<(u32, u32, String)> {
    schedule_steps(h)
        .into_iter()
        .map(|s| (s.hour, s.value, s.cron()))
        .collect()
}

#[test]
fn api_and_iac_declare_the_same_scheduled_actions() {
    let mut day = [1u32; 24];
    day[7] = 3;
    (8..18).for_each(|i| day[i] = 6);
    day[18] = 3;
    let mut midnight = [0u32; 24];
    (22..24).for_each(|i| midnight[i] = 2);
    midnight[0] = 2;
    let mut every_hour = [0u32; 24];
    (0..24).for_each(|i| every_hour[i] = i as u32 % 5 + 1);
    for h in [day, midnight, every_hour] {
        let applied = applied(h);
        assert!(!applied.is_empty());
        assert_eq!(applied, declared(&h), "{h:?}");
    }
}

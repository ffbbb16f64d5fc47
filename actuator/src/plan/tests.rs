//! Plan examples: the calls, their order and text, ids and inverses.

use adaptd_engine::spec::Provisioned;

use super::*;

fn target(q: Option<&str>) -> Target {
    Target {
        component: "c".into(),
        function_name: "f".into(),
        qualifier: q.map(str::to_owned),
        service: None,
        timezone: Default::default(),
    }
}

fn d(a: &LambdaSettings, b: &LambdaSettings, c: &LambdaSettings) -> Vec<String> {
    drift(&a.clone().into(), &b.clone().into(), &c.clone().into())
}

fn s(mem: u32, pc: Provisioned, r: Option<u32>) -> LambdaSettings {
    LambdaSettings {
        schedule_timezone: None,
        memory_mb: mem,
        provisioned: pc,
        reserved_concurrency: r,
    }
}

#[test]
fn memory_and_constant_pc() {
    let p = between(
        &target(Some("live")),
        &s(1024, Provisioned::None, None),
        &s(512, Provisioned::Constant(2), None),
    );
    let text: Vec<String> = p.calls.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "lambda:UpdateFunctionConfiguration FunctionName=f MemorySize=512",
            "lambda:PutProvisionedConcurrencyConfig FunctionName=f Qualifier=live ProvisionedConcurrentExecutions=2",
        ]
    );
    assert_eq!(p.inverse().calls.len(), 2);
    assert!(matches!(
        p.inverse().calls[1],
        Call::DeleteProvisionedConcurrencyConfig { .. }
    ));
}

#[test]
fn schedule_becomes_an_action_per_change() {
    let mut h = [2u32; 24];
    for v in &mut h[8..18] {
        *v = 5;
    }
    let p = between(
        &target(Some("live")),
        &s(512, Provisioned::Constant(2), None),
        &s(512, Provisioned::Hourly(h), None),
    );
    assert_eq!(p.calls.len(), 4, "{:#?}", p.calls);
    assert!(
        p.calls[0]
            .to_string()
            .contains("ProvisionedConcurrentExecutions=5")
    );
    assert!(
        p.calls[1]
            .to_string()
            .contains("MinCapacity=2 MaxCapacity=5")
    );
    assert!(
        p.calls[2]
            .to_string()
            .contains("Schedule=\"cron(0 8 * * ? *)\"")
    );
    assert!(p.calls[3].to_string().contains("MaxCapacity=2"));
    assert_eq!(schedule_of(&change_points(&h)), Some(h));
    // Back to constant: both actions deleted, target deregistered, config put.
    let back = p.inverse();
    assert_eq!(back.calls.len(), 4, "{:#?}", back.calls);
    assert!(matches!(
        back.calls[2],
        Call::DeregisterScalableTarget { .. }
    ));
}

#[test]
fn a_new_zone_alone_puts_the_actions_again_and_back() {
    let mut h = [2u32; 24];
    for v in &mut h[8..18] {
        *v = 5;
    }
    let berlin: Zone = "Europe/Berlin".parse().unwrap();
    let t = Target {
        timezone: berlin,
        ..target(Some("live"))
    };
    let live = LambdaSettings {
        schedule_timezone: Some(Zone::UTC),
        ..s(512, Provisioned::Hourly(h), None)
    };
    let p = between(&t, &live, &s(512, Provisioned::Hourly(h), None));
    let text: Vec<String> = p.calls.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 2, "{text:#?}");
    assert!(
        text.iter()
            .all(|c| c.contains("PutScheduledAction") && c.contains("Timezone=Europe/Berlin ")),
        "{text:#?}"
    );
    // The plan back puts them in UTC again.
    let back: Vec<String> = p.inverse().calls.iter().map(ToString::to_string).collect();
    assert_eq!(back.len(), 2, "{back:#?}");
    assert!(
        back.iter().all(|c| c.contains("Timezone=UTC ")),
        "{back:#?}"
    );
    // Already in the target's zone: nothing.
    assert!(
        between(
            &t,
            &s(512, Provisioned::Hourly(h), None),
            &s(512, Provisioned::Hourly(h), None)
        )
        .is_empty()
    );
}

#[test]
fn reservation_order_keeps_room_for_pc() {
    let up = between(
        &target(Some("live")),
        &s(512, Provisioned::Constant(2), Some(2)),
        &s(512, Provisioned::Constant(8), Some(10)),
    );
    assert!(matches!(up.calls[0], Call::PutFunctionConcurrency { .. }));
    let down = up.inverse();
    assert!(matches!(down.calls[1], Call::PutFunctionConcurrency { .. }));
}

#[test]
fn same_move_same_id_and_no_alias_is_iac_only() {
    let a = between(
        &target(None),
        &s(512, Provisioned::None, None),
        &s(256, Provisioned::Constant(1), None),
    );
    let b = between(
        &target(None),
        &s(512, Provisioned::None, None),
        &s(256, Provisioned::Constant(1), None),
    );
    assert_eq!(a.id, b.id);
    assert_eq!(a.calls.len(), 1);
    assert_eq!(a.iac_only[0].field, "provisioned_concurrency");
    assert!(between(&target(None), &a.to, &a.to).is_empty());
    assert_ne!(a.id, between(&target(None), &a.from, &a.from).id);
}

#[test]
fn drift_is_a_kept_setting_changed_live() {
    let cur = s(1024, Provisioned::Constant(2), None);
    let rec = s(512, Provisioned::Constant(2), None);
    // Memory is being changed: a live value elsewhere is not drift.
    assert!(d(&cur, &rec, &s(768, Provisioned::Constant(2), None)).is_empty());
    assert_eq!(
        d(&cur, &rec, &s(1024, Provisioned::Constant(5), None)),
        ["provisioned concurrency 2 → 5"]
    );
    let keep = d(&cur, &cur, &s(512, Provisioned::Constant(2), Some(10)));
    assert_eq!(
        keep,
        ["memory 1024 → 512 MB", "reserved concurrency none → 10"]
    );
}

//! A schedule in a time zone applied against moto: the scheduled actions are put with
//! Application Auto Scaling's `Timezone` (read back through the AWS SDK), so AWS keeps
//! 08:00 local at 08:00 local across daylight-saving changes; re-applying changes
//! nothing, and the dry run shows the zone. A schedule whose zone alone changes has
//! its actions put again in the new zone, for Lambda's provisioned concurrency and
//! an ECS service's task count alike, and a rollback puts them back in the old one.

mod apply_support;
mod service_support;

use apply_support::*;
use service_support::{Scratch, moto, moto_seeded, serial};

#[test]
fn actions_carry_the_zone_and_reapply_does_nothing() {
    let _g = serial();
    for zone in ["Europe/Berlin", "America/New_York"] {
        let dir = Scratch::new("apply-zone");
        let (m, _) = moto(&dir, 1);
        let recs = recommendation_in(&dir, &seeded(), &lambda(128, &business_hours(), None), zone);
        let cfg = config(&dir, &m, "");

        let dry = apply(&cfg, &recs, false);
        let t = text(&dry);
        assert!(dry.status.success(), "{t}");
        assert!(
            t.contains(&format!(
                "ScheduledActionName=adaptd-pc-08 Schedule=\"cron(0 8 * * ? *)\" Timezone={zone} "
            )),
            "{t}"
        );
        assert!(action_zones(&m).is_empty(), "a dry run put actions");

        start_recording(&m);
        let out = apply(&cfg, &recs, true);
        let t = text(&out);
        assert!(out.status.success(), "{t}");
        assert!(t.contains(": applied"), "{t}");
        // The hours stay local (08 and 18); the zone travels with them.
        assert_eq!(
            action_zones(&m),
            vec![
                (
                    "adaptd-pc-08".to_owned(),
                    "cron(0 8 * * ? *)".to_owned(),
                    Some(zone.to_owned())
                ),
                (
                    "adaptd-pc-18".to_owned(),
                    "cron(0 18 * * ? *)".to_owned(),
                    Some(zone.to_owned())
                ),
            ]
        );
        reapply_does_nothing(&m, &cfg, &recs);
    }
}

#[test]
fn without_a_zone_the_actions_are_in_utc() {
    let _g = serial();
    let dir = Scratch::new("apply-zone-utc");
    let (m, _) = moto(&dir, 1);
    let recs = recommendation(&dir, &seeded(), &lambda(128, &business_hours(), None));
    let out = apply(&config(&dir, &m, ""), &recs, true);
    assert!(out.status.success(), "{}", text(&out));
    let zones: Vec<Option<String>> = action_zones(&m).into_iter().map(|a| a.2).collect();
    assert_eq!(zones, vec![Some("UTC".to_owned()); 2]);
}

/// A schedule whose local hours stay while its zone changes (the component's
/// `timezone` set after its schedule was applied in UTC): every action is put again
/// with the new zone, and nothing else is called; applying again changes nothing.
#[test]
fn a_new_zone_alone_puts_the_actions_again_in_it() {
    let _g = serial();
    let dir = Scratch::new("apply-rezone");
    let (m, _) = moto(&dir, 1);
    let cfg = config(&dir, &m, "");
    let hours = lambda(128, &business_hours(), None);
    let utc = recommendation(&dir, &seeded(), &hours);
    let out = apply(&cfg, &utc, true);
    assert!(out.status.success(), "{}", text(&out));
    let zones = |m| -> Vec<Option<String>> { action_zones(m).into_iter().map(|a| a.2).collect() };
    assert_eq!(zones(&m), vec![Some("UTC".to_owned()); 2]);

    let berlin = recommendation_in(&dir, &hours, &hours, "Europe/Berlin");
    let dry = apply(&cfg, &berlin, false);
    let t = text(&dry);
    assert!(dry.status.success(), "{t}");
    assert!(
        t.contains("ScheduledActionName=adaptd-pc-08 Schedule=\"cron(0 8 * * ? *)\" Timezone=Europe/Berlin "),
        "{t}"
    );
    start_recording(&m);
    let out = apply(&cfg, &berlin, true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert_eq!(
        writes(&m),
        vec!["PutScheduledAction".to_owned(); 2],
        "only the actions, again: {t}"
    );
    let actions = action_zones(&m);
    assert_eq!(
        actions
            .iter()
            .map(|a| (a.1.as_str(), a.2.as_deref()))
            .collect::<Vec<_>>(),
        vec![
            ("cron(0 8 * * ? *)", Some("Europe/Berlin")),
            ("cron(0 18 * * ? *)", Some("Europe/Berlin"))
        ],
        "the same local hours, in the new zone"
    );
    reapply_does_nothing(&m, &cfg, &berlin);
}

/// The same for an ECS service's task count (its schedule applied in UTC, then the
/// component's `timezone` set): only the scheduled actions are put again, in the new
/// zone; applying again changes nothing; the re-zone judged worse is rolled back, its
/// actions put back in UTC.
#[test]
fn a_new_zone_alone_puts_the_task_actions_again_and_a_rollback_restores_it() {
    let _g = serial();
    let dir = Scratch::new("apply-rezone-ecs");
    let (m, _) = moto_seeded(&dir, 1, &[], &["--ecs"]);
    let cfg = config(
        &dir,
        &m,
        &format!("verify_window_minutes = 5\n{ECS_TARGET}"),
    );
    let hours = fargate(0.5, 1024, &business_hours_tasks(), None);
    let out = apply(&cfg, &recommendation(&dir, &seeded_api(), &hours), true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    // That run verified and kept, so that only the re-zone is judged below.
    let run = t
        .lines()
        .find_map(|l| l.trim().strip_prefix("run ")?.strip_suffix(": applied"))
        .expect("the run's id");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (config, store, aws) = rt.block_on(library(&dir, &cfg));
    let minute = execution_started_minute(run);
    let steady = telemetry_around(&dir, minute, 0);
    let kept = rt
        .block_on(adaptd::apply::verify_due(
            &store,
            &config.apply,
            &aws,
            &steady,
            minute * 60_000 + 600_000,
        ))
        .unwrap();
    assert!(
        matches!(&kept[..], [(_, adaptd_actuator::verify::Decision::Keep)]),
        "{kept:?}"
    );
    let zones = |m| -> Vec<(String, Option<String>)> {
        ecs_action_zones(m)
            .into_iter()
            .map(|a| (a.1, a.2))
            .collect()
    };
    let in_zone = |z: &str| {
        vec![
            ("cron(0 8 * * ? *)".to_owned(), Some(z.to_owned())),
            ("cron(0 18 * * ? *)".to_owned(), Some(z.to_owned())),
        ]
    };
    assert_eq!(zones(&m), in_zone("UTC"));

    let berlin = recommendation_in(&dir, &hours, &hours, "Europe/Berlin");
    let dry = apply(&cfg, &berlin, false);
    let t = text(&dry);
    assert!(dry.status.success(), "{t}");
    assert!(
        t.contains("ScheduledActionName=adaptd-tasks-08 Schedule=\"cron(0 8 * * ? *)\" Timezone=Europe/Berlin "),
        "{t}"
    );
    assert_eq!(zones(&m), in_zone("UTC"), "a dry run put actions");
    start_recording(&m);
    let execution = rt.block_on(execute_as_cycle(
        &store,
        &config,
        &aws,
        &first_recommendation(&berlin),
    ));
    assert_eq!(
        writes(&m),
        vec!["PutScheduledAction".to_owned(); 2],
        "only the actions, again: {execution:?}"
    );
    assert_eq!(
        zones(&m),
        in_zone("Europe/Berlin"),
        "the same local hours, in the new zone"
    );
    assert_eq!(reapply_does_nothing(&m, &cfg, &berlin).len(), 2);

    rt.block_on(roll_back_worse(&dir, &store, &config, &aws, &execution));
    assert_eq!(
        zones(&m),
        in_zone("UTC"),
        "the rollback puts the old zone back"
    );
    assert_eq!(
        writes(&m),
        vec!["PutScheduledAction".to_owned(); 4],
        "and nothing else"
    );
    rt.block_on(store.close());
}

//! Guarded apply end to end against moto (tests/moto/launcher.py, which adds Lambda's
//! provisioned-concurrency APIs): `adaptd apply` as a child process for dry runs,
//! execution, re-apply, guardrail refusals and a kill -9 in the middle of a plan; the
//! library (`adaptd::apply`) for verification and rollback. What changed is read back
//! through the AWS SDK itself, and moto's request recording counts the write calls.
//! The service's verification (and across a restart) is in `apply/verify.rs`; ECS
//! services on Fargate in `apply/ecs.rs`.

mod apply_support;
#[path = "apply/ecs.rs"]
mod ecs;
mod service_support;
#[path = "apply/verify.rs"]
mod verify;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use apply_support::*;
use serde_json::{Value, json};
use service_support::{Scratch, moto, serial};

#[test]
fn dry_run_prints_the_calls_and_changes_nothing() {
    let _g = serial();
    let dir = Scratch::new("apply-dry");
    let (m, _) = moto(&dir, 1);
    let before = live(&m);
    let recs = recommendation(
        &dir,
        &seeded(),
        &lambda(512, &json!({"kind": "constant", "value": 4}), None),
    );
    let out = apply(&config(&dir, &m, ""), &recs, false);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for want in [
        "shop-0000: plan ",
        "dry run (no --execute); would call:",
        "  lambda:UpdateFunctionConfiguration FunctionName=shop-0000 MemorySize=512\n",
        "  lambda:PutProvisionedConcurrencyConfig FunctionName=shop-0000 Qualifier=live ProvisionedConcurrentExecutions=4\n",
    ] {
        assert!(t.contains(want), "missing `{want}` in:\n{t}");
    }
    assert_eq!(live(&m), before, "a dry run changed moto");
    // A recommendation made when the function had 256 MB keeps its memory: the live
    // 128 MB is someone's later change, not reverted.
    let stale = recommendation(
        &dir,
        &lambda(256, &json!({"kind": "constant", "value": 2}), None),
        &lambda(256, &json!({"kind": "constant", "value": 4}), None),
    );
    let out = apply(&config(&dir, &m, ""), &stale, true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("shop-0000: skipped (the live configuration changed since the recommendation (memory 256 → 128 MB); not reverted)"),
        "{t}"
    );
    assert_eq!(live(&m), before, "a stale recommendation was applied");
    assert_eq!(before.memory_mb, 128);
    assert_eq!(before.provisioned, Some(2));
}

#[test]
fn execute_changes_memory_reservation_and_schedule_and_reapply_does_nothing() {
    let _g = serial();
    let dir = Scratch::new("apply-exec");
    let (m, _) = moto(&dir, 1);
    let recs = recommendation(&dir, &seeded(), &lambda(512, &business_hours(), Some(20)));
    let cfg = config(&dir, &m, "");
    start_recording(&m);
    let out = apply(&cfg, &recs, true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains(": applied"), "{t}");
    let after = live(&m);
    assert_eq!(after.memory_mb, 512, "{t}");
    assert_eq!(after.reserved, Some(20));
    // The alias holds the schedule's peak until the first action fires.
    assert_eq!(after.provisioned, Some(4));
    assert_eq!(after.target, Some((2, 4)));
    assert_eq!(
        after.actions,
        vec![
            (
                "adaptd-pc-08".to_owned(),
                "cron(0 8 * * ? *)".to_owned(),
                Some(4),
                Some(4)
            ),
            (
                "adaptd-pc-18".to_owned(),
                "cron(0 18 * * ? *)".to_owned(),
                Some(2),
                Some(2)
            ),
        ]
    );
    assert_eq!(writes(&m).len(), 6, "{:?}", writes(&m));

    assert_eq!(reapply_does_nothing(&m, &cfg, &recs).len(), 6);
    assert_eq!(live(&m), after);
}

#[test]
fn a_guardrail_refusal_is_reported_and_nothing_changes() {
    let _g = serial();
    let dir = Scratch::new("apply-refuse");
    let (m, _) = moto(&dir, 1);
    let before = live(&m);
    let hour = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 3600
        + 2)
        % 24;
    let window = format!(
        "\n[[apply.windows]]\nweekdays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n\
         start_hour_utc = {hour}\nend_hour_utc = {}\n",
        hour + 1
    );
    let recs = recommendation(
        &dir,
        &seeded(),
        &lambda(512, &json!({"kind": "constant", "value": 3}), None),
    );
    let out = apply(&config(&dir, &m, &window), &recs, true);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains("refused: refused by guardrail windows: now is "),
        "{t}"
    );
    assert!(t.contains(&format!("{hour:02}–{:02} h", hour + 1)), "{t}");
    assert_eq!(live(&m), before);
}

#[test]
fn kill_9_during_an_apply_then_reconcile_loses_nothing_and_repeats_nothing() {
    let _g = serial();
    let dir = Scratch::new("apply-kill");
    let (m, _) = moto(&dir, 1);
    let recs = recommendation(&dir, &seeded(), &lambda(512, &business_hours(), Some(20)));
    let cfg = config(&dir, &m, "");
    start_recording(&m);
    kill_mid_apply(&cfg, &recs);
    let made = writes(&m);
    assert_eq!(made.len(), 3, "{made:?}");
    // The log holds the plan and the outcomes of the first two calls only.
    let (open, calls) = audit(&dir, &cfg);
    assert_eq!(open, 1);
    assert_eq!(calls, ["executed", "executed"]);

    let out = apply(&cfg, &recs, true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("reconciled an interrupted run:"), "{t}");
    assert!(
        t.contains("MinCapacity=2 MaxCapacity=4: already effective, not called"),
        "{t}"
    );
    assert!(t.contains("shop-0000: nothing to do"), "{t}");
    // Exactly the plan's six writes, each once (the two scheduled actions are two
    // calls of one operation).
    let mut all = writes(&m);
    all.sort();
    assert_eq!(all, six_writes(), "a call lost or made twice");
    let (open, calls) = audit(&dir, &cfg);
    assert_eq!(open, 0);
    assert_eq!(
        calls,
        [
            "executed",
            "executed",
            "already_effective",
            "executed",
            "executed",
            "executed"
        ]
    );
    let after = live(&m);
    assert_eq!(after.memory_mb, 512);
    assert_eq!(after.reserved, Some(20));
    assert_eq!(after.provisioned, Some(4));
    assert_eq!(after.actions.len(), 2);
    assert_eq!(after.target, Some((2, 4)));
}

#[test]
fn a_worse_apply_is_rolled_back_to_the_previous_configuration() {
    use adaptd::apply::verify_due;
    use adaptd::store::Store;
    use adaptd_actuator::verify::Decision;

    let _g = serial();
    let dir = Scratch::new("apply-rollback");
    let (m, _) = moto(&dir, 1);
    let before = live(&m);
    let recs = recommendation(
        &dir,
        &seeded(),
        &lambda(512, &json!({"kind": "constant", "value": 3}), None),
    );
    let cfg_path = config(&dir, &m, "verify_window_minutes = 5\n");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (config, store, aws) = library(&dir, &cfg_path).await;
        let execution = execute_as_cycle(&store, &config, &aws, &first_recommendation(&recs)).await;
        assert_eq!(execution.executed(), 2);
        let applied = live_async(&m).await;
        assert_eq!((applied.memory_mb, applied.provisioned), (512, Some(3)));

        // No errors before the run, a fifth failing after it.
        let start_minute = execution_started_minute(&execution.run_id);
        let telemetry = worse_after(&dir, start_minute);
        // Before the window has passed, nothing is judged.
        let now = start_minute * 60_000;
        let early = verify_due(&store, &config.apply, &aws, &telemetry, now + 60_000)
            .await
            .unwrap();
        assert!(early.is_empty(), "{early:?}");
        let judged = verify_due(&store, &config.apply, &aws, &telemetry, now + 600_000)
            .await
            .unwrap();
        assert_eq!(judged.len(), 1, "{judged:?}");
        let (run, decision) = &judged[0];
        assert_eq!(run, &execution.run_id);
        assert!(
            matches!(decision, Decision::Rollback(r) if r.starts_with("error rate rose from 0.00 % to 20.00 %")),
            "{decision:?}"
        );
        let log = store.audit_log(50, None).await.unwrap();
        let rolled = log
            .iter()
            .find(|e| e.action == "apply.finish" && e.payload["trigger"] == "rollback")
            .expect("the rollback's finish entry");
        assert_eq!(rolled.outcome, "applied");
        assert_eq!(rolled.payload["rollback_of"], json!(execution.run_id));
        assert!(log.iter().any(|e| e.action == "apply.verify" && e.outcome == "rollback"));
        let calls = log
            .iter()
            .filter(|e| e.action == "apply.call" && e.subject != format!("apply/{}", execution.run_id))
            .count();
        assert_eq!(calls, 2, "the inverse plan's two calls");
        // Judged once: a second pass finds nothing due.
        let again = verify_due(&store, &config.apply, &aws, &telemetry, now + 600_000)
            .await
            .unwrap();
        assert!(again.is_empty(), "{again:?}");
    });
    assert_eq!(live(&m), before, "not back to the previous configuration");
}

#[test]
fn from_store_in_apply_approved_mode_executes_only_what_was_approved() {
    use adaptd::store::{
        CycleFinish, Lifecycle, NewVersion, SqlStore, Store, Transition, VersionAction,
    };

    let _g = serial();
    let dir = Scratch::new("apply-store");
    let (m, _) = moto(&dir, 1);
    let before = live(&m);
    let recs = recommendation(
        &dir,
        &seeded(),
        &lambda(512, &json!({"kind": "constant", "value": 3}), None),
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&recs).unwrap()).unwrap();
    let cfg = config(
        &dir,
        &m,
        "\n[[apply.components]]\nname = \"shop-0000\"\nmode = \"apply-approved\"\n",
    );
    let config = adaptd_config::Config::load(&cfg).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let open = || async {
        let s = SqlStore::open(
            &config.store,
            &dir.0,
            "test".to_owned(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        s.migrate().await.unwrap();
        s
    };
    // A cycle stores the recommendation as proposed.
    let id = rt.block_on(async {
        let store = open().await;
        assert!(store.lead().await.unwrap());
        let cycle = store.begin_cycle("test", 1).await.unwrap();
        store
            .finish_cycle(&CycleFinish {
                cycle_id: cycle,
                finished_ms: 2,
                outcome: "ok".to_owned(),
                failed_stage: None,
                error: None,
                report: "{}".to_owned(),
                actions: vec![VersionAction::Insert {
                    new: NewVersion {
                        component: FUNCTION.to_owned(),
                        verdict: "change".to_owned(),
                        saving_usd_per_month: -1.0,
                        current_usd_per_month: Some(1.0),
                        recommended_usd_per_month: Some(2.0),
                        summary: "memory 128 → 512 MB".to_owned(),
                        fingerprint: "f".to_owned(),
                        document: doc["components"][0].to_string().as_str().into(),
                        inputs: "{}".to_owned(),
                        gauges: "{}".into(),
                    },
                    supersede: None,
                }],
                stale: Vec::new(),
                fresh: Vec::new(),
            })
            .await
            .unwrap();
        let id = store.latest_recommendations().await.unwrap()[0].id;
        store.resign().await.unwrap();
        store.close().await;
        id
    });
    let run = |execute: bool| {
        let mut args = vec!["apply", "--config", cfg.to_str().unwrap(), "--from-store"];
        if execute {
            args.push("--execute");
        }
        adaptd(&args, &[]).output().unwrap()
    };
    let out = run(true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("mode apply-approved: the recommendation is not approved; would call:"),
        "{t}"
    );
    assert_eq!(live(&m), before, "a proposal was executed");

    rt.block_on(async {
        let store = open().await;
        store
            .transition(&Transition {
                id,
                from: vec![Lifecycle::Proposed],
                to: Lifecycle::Approved,
                actor: "api:test".to_owned(),
                note: None,
                at_ms: 3,
                verdicts: Vec::new(),
            })
            .await
            .unwrap();
        store.close().await;
    });
    let out = run(true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains(": applied"), "{t}");
    let after = live(&m);
    assert_eq!((after.memory_mb, after.provisioned), (512, Some(3)));
    let status = rt.block_on(async {
        let store = open().await;
        let row = store.recommendation(id).await.unwrap().unwrap();
        store.close().await;
        row.status
    });
    assert_eq!(status, Lifecycle::Applied);
    // Applied recommendations are not offered again.
    let out = run(true);
    let t = text(&out);
    assert!(out.status.success() && !t.contains("shop-0000"), "{t}");
}

/// Runs `adaptd apply --execute` until it has made its third call (before recording
/// the call's outcome), then kills it with SIGKILL.
fn kill_mid_apply(cfg: &std::path::Path, recs: &std::path::Path) {
    let (c, r) = (cfg.to_str().unwrap(), recs.to_str().unwrap());
    let args = ["apply", "--config", c, "--recommendations", r, "--execute"];
    // Calls: memory, provisioned concurrency (the schedule's peak), scalable target,
    // two scheduled actions, then the reservation (it tightens, so it goes last). The
    // third call is made; the process stops before recording its outcome and is
    // killed there.
    let mut child = adaptd(&args, &[("ADAPTD_APPLY_PAUSE_AFTER_CALLS", "3")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut line = String::new();
    while !line.contains("paused after call 2") {
        assert!(Instant::now() < deadline, "no pause; stderr so far: {line}");
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("adaptd exited before the crashpoint: {:?}", child.wait());
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// The plan's six writes, sorted, as [`writes`] names them.
fn six_writes() -> Vec<&'static str> {
    let mut expected = vec![
        "PUT /2015-03-31/functions/shop-0000/configuration",
        "PUT /2019-09-30/functions/shop-0000/provisioned-concurrency?Qualifier=live",
        "RegisterScalableTarget",
        "PutScheduledAction",
        "PutScheduledAction",
        "PUT /2017-10-31/functions/shop-0000/concurrency",
    ];
    expected.sort_unstable();
    expected
}

#[test]
fn the_service_reconciles_a_killed_apply_when_it_leads() {
    let _g = serial();
    let dir = Scratch::new("apply-serve");
    let (m, _) = moto(&dir, 1);
    let recs = recommendation(&dir, &seeded(), &lambda(512, &business_hours(), Some(20)));
    let port = service_support::free_port();
    let cfg = config(
        &dir,
        &m,
        &format!(
            "execute = true\n\n[service]\nbind = \"127.0.0.1:{port}\"\ninterval_seconds = 3600\n"
        ),
    );
    start_recording(&m);
    kill_mid_apply(&cfg, &recs);
    assert_eq!(audit(&dir, &cfg).0, 1);
    let served =
        service_support::serve(&cfg, port, &service_support::AWS_ENV, dir.path("serve.log"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while audit(&dir, &cfg).0 != 0 {
        assert!(
            Instant::now() < deadline,
            "not reconciled:\n{}",
            served.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut all = writes(&m);
    all.sort();
    assert_eq!(all, six_writes(), "a call lost or made twice");
    assert_eq!(
        audit(&dir, &cfg).1,
        [
            "executed",
            "executed",
            "already_effective",
            "executed",
            "executed",
            "executed"
        ]
    );
    assert!(
        served.log_text().contains("apply: reconciled run"),
        "{}",
        served.log_text()
    );
}

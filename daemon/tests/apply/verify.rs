//! The service's verification of applies against moto: `adaptd serve` with the file
//! source judges a run from the telemetry its cycles collected and rolls it back; and
//! a run whose window before the change was collected by one service process is
//! judged from the stored window by the next one, after a restart (SQLite and
//! PostgreSQL).
//!
//! The tests wait on what the service reports (its verdict line, printed once the
//! verdict and any rollback are done), never on a fixed time.

use std::time::Duration;

use adaptd::store::{SqlStore, Store};
use serde_json::json;

use super::apply_support::*;
use super::service_support::{self, Proc, Scratch, StoreKind, moto, serial, wait_for};

/// `adaptd serve` on `cfg` (the file source, `[apply] execute`).
fn serve(dir: &Scratch, cfg: &std::path::Path, port: u16, log: &str) -> Proc {
    service_support::serve(cfg, port, &service_support::AWS_ENV, dir.path(log))
}

/// The file source's lines for `minutes`: 100 invocations a minute, `errors` errors.
fn minutes(range: std::ops::Range<i64>, errors: u32) -> String {
    range
        .map(|m| {
            format!(
                "{t},{FUNCTION},invocations,sum,100\n{t},{FUNCTION},errors,sum,{errors}\n",
                t = m * 60
            )
        })
        .collect()
}

/// Executes the recommendation (memory 128 → 512 MB, provisioned 2 → 3) through
/// `adaptd apply`; returns the run's id.
fn apply_run(dir: &Scratch, cfg: &std::path::Path) -> String {
    let recs = recommendation(
        dir,
        &seeded(),
        &lambda(512, &json!({"kind": "constant", "value": 3}), None),
    );
    let out = apply(cfg, &recs, true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    t.lines()
        .find_map(|l| l.trim().strip_prefix("run ")?.strip_suffix(": applied"))
        .expect("the run's id")
        .to_owned()
}

/// Waits for the service's verdict on `run` (logged after the verdict is recorded and
/// any rollback has finished); returns the line.
fn verdict(served: &Proc, run: &str) -> String {
    let prefix = format!("apply: verified run {run}: ");
    wait_for(
        "the verdict",
        Duration::from_secs(300),
        || served.log_text(),
        || {
            served
                .log_text()
                .lines()
                .find(|l| l.contains(&prefix))
                .map(str::to_owned)
        },
    )
}

#[test]
fn the_service_verifies_an_apply_from_its_collected_telemetry_and_rolls_it_back() {
    let _g = serial();
    let dir = Scratch::new("apply-verify");
    let (m, _) = moto(&dir, 1);
    let before = live(&m);
    let port = service_support::free_port();
    let cfg = config(
        &dir,
        &m,
        &format!(
            "execute = true\nverify_window_minutes = 1\n\n[service]\nbind = \"127.0.0.1:{port}\"\n\
             interval_seconds = 2\njitter_seconds = 0\nlookback_days = 3650\n\
             telemetry = \"telemetry.csv\"\nleader_poll_seconds = 0.5\n"
        ),
    );
    let run = apply_run(&dir, &cfg);
    assert_eq!(live(&m).memory_mb, 512);
    // The file source's telemetry: no errors before the run, a fifth failing after.
    let start = execution_started_minute(&run);
    let csv = format!(
        "timestamp,component,metric,stat,value\n{}{}",
        minutes(start - 10..start, 0),
        minutes(start..start + 5, 20)
    );
    std::fs::write(dir.path("telemetry.csv"), csv).unwrap();
    let served = serve(&dir, &cfg, port, "serve.log");
    // The window is a minute after the run finished; cycles run every 2 s. The line
    // comes after the rollback's last call, so the whole configuration is back by then.
    let line = verdict(&served, &run);
    assert!(
        line.contains("Rollback(\"error rate rose from 0.00 % to 20.00 %"),
        "{line}\n{}",
        served.log_text()
    );
    assert_eq!(live(&m), before, "not back to the previous configuration");
}

#[test]
fn a_verification_due_after_a_restart_is_judged_from_the_stored_window_on_sqlite() {
    judged_after_restart(&StoreKind::Sqlite);
}

#[test]
fn a_verification_due_after_a_restart_is_judged_from_the_stored_window_on_postgres() {
    judged_after_restart(&StoreKind::Postgres(service_support::PgDb::new("verify")));
}

/// Applies; a first service collects the window before the run and stops before the
/// verification is due; then the minutes after the run arrive and a second service
/// judges the run. The file source never delivers a minute twice, so the second
/// service has the window before the run only from the store: without it the verdict
/// would be "0 invocations before the change" (inconclusive), and no rollback.
fn judged_after_restart(store: &StoreKind) {
    let _g = serial();
    let dir = Scratch::new("apply-verify-restart");
    let (m, _) = moto(&dir, 1);
    let before = live(&m);
    let port = service_support::free_port();
    // Two minutes: the first service has that long to collect and stop before the
    // verification would be due, however slow the machine.
    let cfg = config_on(
        &dir,
        &m,
        &store.toml(),
        &format!(
            "execute = true\nverify_window_minutes = 2\n\n[service]\nbind = \"127.0.0.1:{port}\"\n\
             interval_seconds = 2\njitter_seconds = 0\nlookback_days = 3650\n\
             telemetry = \"telemetry.csv\"\nleader_poll_seconds = 0.5\n"
        ),
    );
    let run = apply_run(&dir, &cfg);
    let start = execution_started_minute(&run);
    let header = "timestamp,component,metric,stat,value\n";
    std::fs::write(
        dir.path("telemetry.csv"),
        format!("{header}{}", minutes(start - 10..start, 0)),
    )
    .unwrap();

    let config = adaptd_config::Config::load(&cfg).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reader = rt.block_on(async {
        SqlStore::open(
            &config.store,
            &dir.0,
            "test".to_owned(),
            Duration::from_secs(30),
        )
        .await
        .unwrap()
    });
    // Whether the store holds the window before the run (two minutes).
    let stored = || {
        rt.block_on(reader.recent_telemetry(&[FUNCTION.to_owned()], start - 2))
            .ok()
            .and_then(|t| {
                let s = t.components.get(FUNCTION)?.invocations()?;
                Some(s.get(start - 2).is_some() && s.get(start - 1).is_some())
            })
            .unwrap_or(false)
    };

    let mut first = serve(&dir, &cfg, port, "serve-1.log");
    wait_for(
        "the first service to store the window before the run",
        Duration::from_secs(120),
        || first.log_text(),
        || stored().then_some(()),
    );
    assert_eq!(first.terminate(Duration::from_secs(30)), Some(0));
    let judged_early = rt.block_on(reader.audit_since("apply.verify", 0)).unwrap();
    assert!(
        judged_early.is_empty(),
        "judged before the restart: {judged_early:?}\n{}",
        first.log_text()
    );

    // After the run: a fifth of the invocations fail.
    std::fs::write(
        dir.path("telemetry.csv"),
        format!(
            "{header}{}{}",
            minutes(start - 10..start, 0),
            minutes(start..start + 6, 20)
        ),
    )
    .unwrap();
    let second = serve(&dir, &cfg, port, "serve-2.log");
    let line = verdict(&second, &run);
    assert!(
        line.contains("Rollback(\"error rate rose from 0.00 % to 20.00 %"),
        "{line}\n{}",
        second.log_text()
    );
    assert_eq!(live(&m), before, "not back to the previous configuration");
    // The window before the run, as stored by the first service: two minutes of 100.
    let verdicts = rt.block_on(reader.audit_since("apply.verify", 0)).unwrap();
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert_eq!(verdicts[0].payload["before"]["invocations"], json!(200.0));
    assert_eq!(verdicts[0].payload["after"]["errors"], json!(40.0));
    rt.block_on(reader.close());
}

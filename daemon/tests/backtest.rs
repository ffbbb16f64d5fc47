//! `adaptd backtest` on the demo replays what adaptd chose, Fargate included, as the
//! engine predicted it: a plan the engine calls SLO-meeting does not replay as mass
//! timeouts (search-api's CPU target tracking once did: the replay shared a task's
//! vCPU by a fixed share per slot, so a full task never reached the 70 % target,
//! never scaled out, and 119.9M of its 120.6M requests waited past the load
//! balancer's timeout).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn the_demos_choices_replay_as_predicted_on_both_platforms() {
    let o = Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .args([
            "backtest",
            "--config",
            "examples/adaptd.toml",
            "--telemetry",
            "examples/telemetry.csv.gz",
            "--policy",
            "adaptd",
            "--output",
            "json",
        ])
        .current_dir(repo())
        .output()
        .expect("adaptd runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let outcomes = r["outcomes"].as_array().expect("outcomes");
    let search = outcomes
        .iter()
        .find(|x| x["component"] == "search-api")
        .expect("search-api replayed");
    assert_eq!(search["platform"], "fargate", "{search}");
    assert!(
        search["deployment"]
            .as_str()
            .unwrap()
            .contains("target tracking CPU"),
        "{search}"
    );
    // Every component adaptd put on either platform: no mass timeouts, and the cold
    // starts (Fargate's: waits over a second) within a point of the prediction.
    for x in outcomes {
        let name = &x["component"];
        let n = f(&x["invocations"]).max(1.0);
        assert!(f(&x["throttles"]) / n < 0.01, "{name}: {x}");
        let replayed = f(&x["cold_starts"]) / n;
        let predicted = f(&x["predicted_cold_start_rate"]);
        assert!((replayed - predicted).abs() < 0.01, "{name}: {x}");
    }
    // The model-vs-replay error is reported for Fargate options as for Lambda's.
    let v = &r["validation_fargate"];
    assert_eq!(v["components"], 1, "{v}");
    assert!(f(&v["cost_relative_error_median"]) < 0.10, "{v}");
    assert!(f(&v["cold_start_rate_abs_error_median"]) < 0.01, "{v}");
    assert!(
        f(&r["validation"]["cost_relative_error_median"]) < 0.05,
        "{r}"
    );
}

//! The demo shows the Lambda–Fargate trade-off both ways and a reserved-concurrency cap
//! against an RDS Proxy (issue 14, point 6), and the README's "What the demo prints"
//! block is what the demo prints, so the README cannot go stale.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Runs `adaptd demo` with `args`; its stdout.
fn demo(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .arg("demo")
        .args(args)
        .current_dir(repo())
        .output()
        .expect("adaptd runs");
    assert!(
        o.status.success(),
        "adaptd demo {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 output")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The peak provisioned concurrency of a Lambda deployment (0 for none or Fargate).
fn provisioned_peak(d: &Value) -> u64 {
    let p = &d["provisioned"];
    match p["kind"].as_str() {
        Some("constant") => p["value"].as_u64().unwrap(),
        Some("hourly") => p["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .max()
            .unwrap(),
        _ => 0,
    }
}

/// The other platform's figures stand in the explanation beside the recommendation's.
fn assert_side_by_side(c: &Value, other_platform: &str) {
    let name = c["component"].as_str().unwrap();
    let o = &c["explanation"]["other_platform"];
    assert_eq!(o["platform"], other_platform, "{name}: {o}");
    assert!(
        o["excluded_by"].is_null(),
        "{name}: the other platform is allowed: {o}"
    );
    let rec = &c["recommended"];
    assert_eq!(
        f(&o["recommended_usd_per_month"]),
        f(&rec["usd_per_month"]),
        "{name}"
    );
    let why = o["why"].as_str().unwrap();
    // Explanations print whole dollars from $100 up, cents below.
    let usd = |x: f64| {
        if x.abs() >= 100.0 {
            format!("${x:.0}/month")
        } else {
            format!("${x:.2}/month")
        }
    };
    let mine = usd(f(&rec["usd_per_month"]));
    for figure in [
        usd(f(&o["usd_per_month"])),
        mine,
        format!("{:.0} ms", f(&o["worst_hour_p99_ms"])),
        format!("{:.0} ms", f(&rec["worst_hour_p99_ms"])),
    ] {
        assert!(why.contains(&figure), "{name}: `{figure}` not in `{why}`");
    }
}

#[test]
fn the_demo_shows_both_directions_and_a_reserved_cap_against_a_proxy() {
    let doc: Value = serde_json::from_str(&demo(&["--output", "json"])).expect("JSON");
    let components = doc["components"].as_array().unwrap();

    // (a) Lambda with more provisioned concurrency beats an allowed Fargate service.
    let pc_wins: Vec<&Value> = components
        .iter()
        .filter(|c| {
            let (now, rec) = (&c["current"]["deployment"], &c["recommended"]["deployment"]);
            rec["platform"] == "lambda"
                && provisioned_peak(rec) > provisioned_peak(now)
                && c["explanation"]["other_platform"]["platform"] == "fargate"
                && c["explanation"]["other_platform"]["excluded_by"].is_null()
        })
        .collect();
    assert!(
        !pc_wins.is_empty(),
        "no component where provisioned concurrency beats an allowed Fargate"
    );
    for c in &pc_wins {
        assert_side_by_side(c, "fargate");
        let o = &c["explanation"]["other_platform"];
        assert!(
            f(&o["usd_per_month"]) > f(&c["recommended"]["usd_per_month"])
                || o["meets_slo"] == false,
            "Fargate lost on cost or the SLO: {o}"
        );
        assert_eq!(c["recommended"]["meets_slo"], true, "{}", c["component"]);
    }

    // (b) A move between the platforms wins, Lambda → Fargate or Fargate → Lambda, with
    // the platform it leaves beside it, dearer.
    let moves: Vec<&Value> = components
        .iter()
        .filter(|c| {
            c["current"]["deployment"]["platform"] != c["recommended"]["deployment"]["platform"]
        })
        .collect();
    assert!(!moves.is_empty(), "no component changes platform");
    for c in &moves {
        let from = c["current"]["deployment"]["platform"].as_str().unwrap();
        assert_side_by_side(c, from);
        let o = &c["explanation"]["other_platform"];
        assert!(
            f(&o["usd_per_month"]) > f(&c["recommended"]["usd_per_month"]),
            "{}: {o}",
            c["component"]
        );
        assert!(
            c["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|ch| ch["field"] == "platform"),
            "{}",
            c["component"]
        );
    }
    // The sample's ECS service is among the components, and is decided.
    assert!(
        components
            .iter()
            .any(|c| c["current"]["deployment"]["platform"] == "fargate"),
        "the sample has an ECS service on Fargate"
    );

    // (c) A reserved-concurrency cap holds a database's connections instead of an RDS
    // Proxy, explained against the proxy's price.
    let proxied: Vec<&str> = doc["companions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["database"].as_str().unwrap())
        .collect();
    let capped: Vec<(&Value, &str)> = components
        .iter()
        .filter_map(|c| {
            let line = c["explanation"]["binding"]
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .find(|b| b.contains("cheaper than an RDS Proxy"))?;
            Some((c, line))
        })
        .collect();
    assert!(!capped.is_empty(), "no reserved cap instead of a proxy");
    for (c, line) in capped {
        let name = c["component"].as_str().unwrap();
        let cap = c["recommended"]["deployment"]["reserved_concurrency"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: a cap"));
        assert!(
            line.starts_with(&format!("reserved concurrency {cap} caps ")),
            "{line}"
        );
        assert!(line.contains("uncapped it would open"), "{line}");
        let db = line.split(' ').nth(4).unwrap();
        assert!(!proxied.contains(&db), "{db} gets no proxy: {proxied:?}");
        assert!(
            c["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|ch| ch["field"] == "reserved_concurrency"
                    && ch["to"].as_str().and_then(|t| t.parse::<u64>().ok()) == Some(cap)),
            "{name}"
        );
        let throttles = f(&c["recommended"]["throttle_rate"]);
        assert!(throttles > 0.0, "{name}: the cap throttles some");
        assert_eq!(c["recommended"]["meets_slo"], true, "{name}");
    }
}

/// The fenced block after `## What the demo prints` in the README.
fn readme_block() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let after = readme
        .split_once("## What the demo prints")
        .expect("the README has the section")
        .1;
    let body = after.split_once("```\n").expect("a fenced block").1;
    let block = body.split_once("```").expect("the block ends").0;
    block.lines().map(str::to_owned).collect()
}

/// Where `line` of the README matches one of `out`'s lines at or after `from`: equal,
/// or, when it elides with `…`, its pieces in order (the first a prefix).
fn find(out: &[&str], from: usize, line: &str) -> Option<usize> {
    let matches = |o: &str| {
        if !line.contains('…') {
            return o == line;
        }
        let mut rest = o;
        for (i, piece) in line.split('…').enumerate() {
            if piece.is_empty() {
                continue;
            }
            let Some(at) = rest.find(piece) else {
                return false;
            };
            if i == 0 && at != 0 {
                return false;
            }
            rest = &rest[at + piece.len()..];
        }
        line.ends_with('…') || rest.is_empty()
    };
    (from..out.len()).find(|&i| matches(out[i]))
}

#[test]
fn the_readme_shows_what_the_demo_prints() {
    let printed = demo(&[]);
    let out: Vec<&str> = printed.lines().collect();
    let block = readme_block();
    assert!(block.len() > 10, "{block:?}");
    // The headline, the table's header and every row the README shows are the demo's
    // lines exactly, in order; elided lines match piece by piece.
    let header = out
        .iter()
        .position(|l| l.starts_with("COMPONENT "))
        .expect("the table");
    let table_end = header
        + out[header..]
            .iter()
            .position(|l| l.is_empty())
            .expect("the table ends");
    let mut at = 0;
    let mut rows = 0;
    for line in block
        .iter()
        .filter(|l| !l.trim().is_empty() && l.trim() != "…")
    {
        let found = find(&out, at, line).unwrap_or_else(|| {
            panic!("README line not printed by the demo (in order):\n{line}\n\ndemo:\n{printed}")
        });
        at = found + 1;
        if found <= header || (header + 1..table_end).contains(&found) {
            assert!(
                !line.contains('…'),
                "the headline and the table's rows are shown whole: {line}"
            );
        }
        if (header + 1..table_end).contains(&found) {
            rows += 1;
        }
    }
    assert_eq!(block[0], out[0], "the headline comes first");
    assert!(rows >= 3, "the README shows component rows: {block:?}");
}

//! The operator's command line against a running `adaptd serve` (SQLite): `adaptd
//! recommendations list|show|approve|reject` with named tokens, the actor taken
//! from the token (a self-declared `X-Adaptd-Actor` refused), the server's refusals
//! shown with a non-zero exit; and `adaptd --version` naming the commit.

mod service_support;

use std::process::Command;

use serde_json::Value;
use service_support::*;

fn adaptd(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .args(args)
        .env_remove("ADAPTD_SERVER")
        .env_remove("ADAPTD_TOKEN_FILE")
        .output()
        .expect("adaptd runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn recommendations_are_listed_shown_approved_and_rejected_by_named_token_holders() {
    let _serial = serial();
    let dir = Scratch::new("operate");
    let port = free_port();
    let cfg = config(&dir, port, &StoreKind::Sqlite, None, 3600, 1.0);
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(
        "\n[[service.tokens]]\nname = \"alice\"\ntoken_file = \"alice.token\"\n\n[[service.tokens]]\nname = \"bob\"\ntoken_env = \"ADAPTD_TEST_BOB_TOKEN\"\n",
    );
    std::fs::write(&cfg, text).unwrap();
    std::fs::write(dir.path("alice.token"), "alice-0123456789\n").unwrap();
    std::fs::write(dir.path("bob.token"), "bob-9876543210").unwrap();
    std::fs::write(dir.path("wrong.token"), "alice-012345678").unwrap();
    let p = serve(
        &cfg,
        port,
        &[("ADAPTD_TEST_BOB_TOKEN", "bob-9876543210")],
        dir.path("serve.log"),
    );
    next_cycle(&p, 0);
    let server = p.url("");
    let token = |name: &str| dir.path(name).to_str().unwrap().to_owned();

    // list: a table, and the API's JSON.
    let (code, out, err) = adaptd(&[
        "recommendations",
        "list",
        "--server",
        &server,
        "--verdict",
        "change",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ID "), "{out}");
    assert!(out.contains("search-api"), "{out}");
    let (code, out, err) = adaptd(&[
        "recommendations",
        "list",
        "--server",
        &server,
        "--verdict",
        "change",
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    let first = &list["items"][0];
    assert_eq!(first["component"], "search-api", "{list:#}");
    let id = first["id"].as_i64().unwrap().to_string();

    // show: the explanation.
    let (code, out, err) = adaptd(&["recommendations", "show", &id, "--server", &server]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "recommendation {id} · search-api v1 · proposed · change"
        )),
        "{out}"
    );
    assert!(out.contains("saving $"), "{out}");

    // approve: needs a token file; a wrong token is the server's 401, said as such.
    let (code, _, err) = adaptd(&["recommendations", "approve", &id, "--server", &server]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--token-file"), "{err}");
    let (code, _, err) = adaptd(&[
        "recommendations",
        "approve",
        &id,
        "--server",
        &server,
        "--token-file",
        &token("nope"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--token-file: ") && err.contains("nope"),
        "{err}"
    );
    let (code, _, err) = adaptd(&[
        "recommendations",
        "approve",
        &id,
        "--server",
        &server,
        "--token-file",
        &token("wrong.token"),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("401 Unauthorized unauthorized: the bearer token is not valid"),
        "{err}"
    );
    let (code, out, err) = adaptd(&[
        "recommendations",
        "approve",
        &id,
        "--server",
        &server,
        "--token-file",
        &token("alice.token"),
        "--note",
        "go",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!("recommendation {id} (search-api v1) is approved by api:alice\n")
    );
    let (_, out, _) = adaptd(&["recommendations", "show", &id, "--server", &server]);
    assert!(out.contains("last changed by api:alice: go"), "{out}");

    // Approving twice: the server's 409 and its message, exit 1.
    let (code, _, err) = adaptd(&[
        "recommendations",
        "approve",
        &id,
        "--server",
        &server,
        "--token-file",
        &token("alice.token"),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("409 Conflict conflict: ") && err.contains("approved"),
        "{err}"
    );

    // A self-declared actor is refused, even with a valid token.
    let (s, e) = post_with(
        &p.url(&format!("/api/v1/recommendations/{id}/reject")),
        &[
            ("Authorization", "Bearer bob-9876543210"),
            ("X-Adaptd-Actor", "alice"),
        ],
        r#"{"reason": "pretending"}"#,
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("invalid_header")),
        "{e}"
    );

    // reject: bob's token from the environment; the reason is required by clap.
    let (code, _, err) = adaptd(&[
        "recommendations",
        "reject",
        &id,
        "--server",
        &server,
        "--token-file",
        &token("bob.token"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--reason"), "{err}");
    let (code, out, err) = adaptd(&[
        "recommendations",
        "reject",
        &id,
        "--server",
        &server,
        "--token-file",
        &token("bob.token"),
        "--reason",
        "too risky",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is rejected by api:bob"), "{out}");
    // The shared token of service.token_file still works, as `api`.
    let (code, out, err) = adaptd(&[
        "recommendations",
        "list",
        "--server",
        &server,
        "--status",
        "proposed",
        "--verdict",
        "change",
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let other = serde_json::from_str::<Value>(&out).unwrap()["items"][0]["id"]
        .as_i64()
        .expect("another proposed change")
        .to_string();
    let (code, out, err) = adaptd(&[
        "recommendations",
        "approve",
        &other,
        "--server",
        &server,
        "--token-file",
        &token("token"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is approved by api\n"), "{out}");

    // The audit log names who did what.
    let (_, audit) = get(&p.url("/api/v1/audit"));
    let actors: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["actor"].as_str().unwrap()))
        .filter(|(a, _)| a.starts_with("recommendation."))
        .collect();
    assert_eq!(
        actors,
        vec![
            ("recommendation.approve", "api"),
            ("recommendation.reject", "api:bob"),
            ("recommendation.approve", "api:alice"),
        ],
        "{audit:#}"
    );

    // A bad filter: the server names the parameter.
    let (code, _, err) = adaptd(&[
        "recommendations",
        "list",
        "--server",
        &server,
        "--status",
        "sideways",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("400 Bad Request invalid_parameter") && err.contains("(parameter `status`)"),
        "{err}"
    );
    // No service there.
    let gone = format!("http://127.0.0.1:{}", free_port());
    let (code, _, err) = adaptd(&["recommendations", "list", "--server", &gone]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("cannot reach {gone}/api/v1/recommendations")),
        "{err}"
    );
    let (code, _, err) = adaptd(&["recommendations", "list", "--server", "127.0.0.1:8080"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--server: expected an http:// or https:// URL"),
        "{err}"
    );
    // The tokens never reach the log.
    let log = p.log_text();
    for secret in ["alice-0123456789", "bob-9876543210", "s3cret"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[test]
fn version_names_the_release_and_the_commit() {
    let (code, out, err) = adaptd(&["--version"]);
    assert_eq!(code, 0, "{err}");
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(repo())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        );
    assert_eq!(
        out,
        format!("adaptd {} (commit {head})\n", env!("CARGO_PKG_VERSION"))
    );
}

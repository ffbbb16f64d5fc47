//! `adaptd recommendations list|show|approve|reject`: a client of a running
//! service's HTTP API (docs/service.md), so approving is a command rather than curl
//! with a hand-written header. Who approves is the name of the token in
//! `--token-file` (`[[service.tokens]]` on the server), not something this command
//! declares.
//!
//! A refusal prints the server's own message (with the parameter or JSON pointer it
//! names) and exits 1; input this command cannot send (an unreadable token file, a
//! server URL without a scheme) exits 2.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::{invalid, print};
use crate::output::usd;

/// Arguments of `adaptd recommendations`.
#[derive(Debug, clap::Args)]
pub struct RecommendationsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
    /// The service's base URL, e.g. `http://adaptd.adaptd.svc:8080`.
    #[arg(long, global = true, env = "ADAPTD_SERVER")]
    pub server: Option<String>,
    /// File holding the bearer token (approve and reject need one).
    #[arg(long, global = true, env = "ADAPTD_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Seconds to wait for the service.
    #[arg(long, global = true, default_value_t = 30)]
    pub timeout_seconds: u64,
}

/// What `adaptd recommendations` does.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// The newest version of each component's recommendation, largest saving first.
    List(ListArgs),
    /// One recommendation version, with its explanation.
    Show {
        /// Its id (as `list` prints).
        id: i64,
        /// Output format.
        #[arg(long, short, value_enum, default_value = "text")]
        output: ShowFormat,
    },
    /// Approve a proposed recommendation, so that the service may apply it.
    Approve {
        /// Its id.
        id: i64,
        /// A note for the audit log.
        #[arg(long)]
        note: Option<String>,
    },
    /// Reject a proposed or approved recommendation.
    Reject {
        /// Its id.
        id: i64,
        /// Why (required; kept in the audit log).
        #[arg(long)]
        reason: String,
    },
}

/// Filters of `list`, as the API's query parameters.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Statuses, comma-separated (proposed, approved, applied, rejected, …).
    #[arg(long)]
    pub status: Option<String>,
    /// Verdicts, comma-separated (change, keep, slo_infeasible, no_data).
    #[arg(long)]
    pub verdict: Option<String>,
    /// Only this component.
    #[arg(long)]
    pub component: Option<String>,
    /// Only savings of at least this much (USD per month).
    #[arg(long)]
    pub min_saving_usd_per_month: Option<f64>,
    /// Every version, not only the newest of each component.
    #[arg(long)]
    pub all_versions: bool,
    /// Most to list (1–1000).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: ListFormat,
}

/// Output formats of `list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// Aligned text.
    Table,
    /// The API's JSON.
    Json,
}

/// Output formats of `show`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    /// Readable text.
    Text,
    /// The API's JSON.
    Json,
}

/// `adaptd recommendations`.
pub fn recommendations(args: &RecommendationsArgs) -> anyhow::Result<ExitCode> {
    let Some(server) = args.server.as_deref() else {
        return Ok(invalid(
            &"adaptd recommendations: --server URL (or ADAPTD_SERVER) is required",
        ));
    };
    let server = server.trim_end_matches('/');
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return Ok(invalid(&format!(
            "--server: expected an http:// or https:// URL (got `{server}`)"
        )));
    }
    let client = Client {
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(args.timeout_seconds))
            .build()
            .context("building the HTTP client")?,
        server: server.to_owned(),
    };
    let token = match &args.action {
        Action::Approve { .. } | Action::Reject { .. } => match token(args.token_file.as_deref()) {
            Ok(t) => Some(t),
            Err(e) => return Ok(invalid(&e)),
        },
        _ => None,
    };
    let reply = match &args.action {
        Action::List(l) => client.get("/api/v1/recommendations", &query(l)),
        Action::Show { id, .. } => client.get(&format!("/api/v1/recommendations/{id}"), &[]),
        Action::Approve { id, note } => client.post(
            &format!("/api/v1/recommendations/{id}/approve"),
            token.as_deref().unwrap_or_default(),
            &note
                .as_ref()
                .map_or_else(|| json!({}), |n| json!({ "note": n })),
        ),
        Action::Reject { id, reason } => client.post(
            &format!("/api/v1/recommendations/{id}/reject"),
            token.as_deref().unwrap_or_default(),
            &json!({ "reason": reason }),
        ),
    }?;
    let v = match reply {
        Ok(v) => v,
        Err(refusal) => {
            eprintln!("adaptd: {refusal}");
            return Ok(ExitCode::from(1));
        }
    };
    let text = match &args.action {
        Action::List(ListArgs {
            output: ListFormat::Json,
            ..
        })
        | Action::Show {
            output: ShowFormat::Json,
            ..
        } => format!("{}\n", serde_json::to_string_pretty(&v)?),
        Action::List(_) => table(&v),
        Action::Show { .. } => show(&v),
        Action::Approve { .. } | Action::Reject { .. } => format!(
            "recommendation {} ({} v{}) is {} by {}\n",
            v["id"],
            text_of(&v["component"]),
            v["version"],
            text_of(&v["status"]),
            text_of(&v["status_actor"])
        ),
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The token in `file`, trimmed; errors name the flag and the file.
fn token(file: Option<&Path>) -> Result<String, String> {
    let f = file.ok_or("--token-file (or ADAPTD_TOKEN_FILE) is required to approve or reject")?;
    let t =
        std::fs::read_to_string(f).map_err(|e| format!("--token-file: {}: {e}", f.display()))?;
    let t = t.trim();
    if t.is_empty() {
        return Err(format!("--token-file: {} is empty", f.display()));
    }
    Ok(t.to_owned())
}

fn query(l: &ListArgs) -> Vec<(&'static str, String)> {
    let mut q = vec![("limit", l.limit.to_string())];
    let opts = [
        ("status", l.status.clone()),
        ("verdict", l.verdict.clone()),
        ("component", l.component.clone()),
        (
            "min_saving_usd_per_month",
            l.min_saving_usd_per_month.map(|x| x.to_string()),
        ),
        ("all_versions", l.all_versions.then(|| "true".to_owned())),
    ];
    q.extend(opts.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    q
}

/// The service, over HTTP.
struct Client {
    http: reqwest::blocking::Client,
    server: String,
}

impl Client {
    fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Result<Value, String>> {
        let url = format!("{}{path}", self.server);
        let r = self.http.get(&url).query(query).send();
        reply(&url, r)
    }

    fn post(&self, path: &str, token: &str, body: &Value) -> anyhow::Result<Result<Value, String>> {
        let url = format!("{}{path}", self.server);
        let r = self.http.post(&url).bearer_auth(token).json(body).send();
        reply(&url, r)
    }
}

/// The JSON of a 2xx answer, or the server's refusal as a sentence: its status, code,
/// message, and the parameter or pointer it names.
fn reply(
    url: &str,
    r: reqwest::Result<reqwest::blocking::Response>,
) -> anyhow::Result<Result<Value, String>> {
    let r = r.with_context(|| format!("cannot reach {url}"))?;
    let status = r.status();
    let text = r
        .text()
        .with_context(|| format!("reading the answer of {url}"))?;
    let v: Option<Value> = serde_json::from_str(&text).ok();
    if status.is_success() {
        return match v {
            Some(v) => Ok(Ok(v)),
            None => bail!("{url} answered {status} with no JSON (is --server an adaptd service?)"),
        };
    }
    let e = v.as_ref().map(|v| &v["error"]);
    let Some(message) = e.and_then(|e| e["message"].as_str()) else {
        let head: String = text.chars().take(200).collect();
        return Ok(Err(format!("{url}: {status}: {head}")));
    };
    let mut s = format!("{url}: {status}");
    if let Some(code) = e.and_then(|e| e["code"].as_str()) {
        let _ = write!(s, " {code}");
    }
    let _ = write!(s, ": {message}");
    for k in ["parameter", "pointer"] {
        if let Some(p) = e.and_then(|e| e[k].as_str()) {
            let _ = write!(s, " ({k} `{p}`)");
        }
    }
    Ok(Err(s))
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        v => v.to_string(),
    }
}

fn money(v: &Value) -> String {
    v.as_f64().map_or_else(|| "-".to_owned(), usd)
}

/// `list` as aligned text.
fn table(v: &Value) -> String {
    let items = v["items"].as_array().cloned().unwrap_or_default();
    let rows: Vec<[String; 7]> = items
        .iter()
        .map(|r| {
            [
                text_of(&r["id"]),
                text_of(&r["component"]),
                text_of(&r["version"]),
                text_of(&r["status"]),
                text_of(&r["verdict"]),
                money(&r["saving_usd_per_month"]),
                text_of(&r["summary"]),
            ]
        })
        .collect();
    let head = [
        "ID",
        "COMPONENT",
        "V",
        "STATUS",
        "VERDICT",
        "SAVING/MONTH",
        "SUMMARY",
    ];
    let mut widths = head.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let last = cells.len() - 1;
        for (i, c) in cells.iter().enumerate() {
            if i == last {
                let _ = writeln!(out, "{c}");
            } else {
                let _ = write!(out, "{c:<w$}  ", w = widths[i]);
            }
        }
    };
    line(&mut out, &head);
    for r in &rows {
        line(&mut out, &r.each_ref().map(String::as_str));
    }
    let _ = writeln!(
        out,
        "{} of {} shown",
        rows.len(),
        v["total"].as_i64().unwrap_or(rows.len() as i64)
    );
    out
}

/// `show` as text.
fn show(v: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "recommendation {} · {} v{} · {} · {}",
        text_of(&v["id"]),
        text_of(&v["component"]),
        text_of(&v["version"]),
        text_of(&v["status"]),
        text_of(&v["verdict"])
    );
    let _ = writeln!(
        out,
        "cost {}/month → {}/month · saving {}/month",
        money(&v["current_usd_per_month"]),
        money(&v["recommended_usd_per_month"]),
        money(&v["saving_usd_per_month"])
    );
    if !v["status_actor"].is_null() {
        let _ = writeln!(
            out,
            "last changed by {}{}",
            text_of(&v["status_actor"]),
            v["status_note"]
                .as_str()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(out, "{}", text_of(&v["summary"]));
    let rec = &v["recommendation"];
    for (label, side) in [
        ("current", &rec["current"]),
        ("recommended", &rec["recommended"]),
    ] {
        if let Some(d) = side["description"].as_str() {
            let _ = writeln!(out, "{label}: {d}");
        }
    }
    let e = &rec["explanation"];
    if let Some(s) = e["summary"].as_str() {
        let _ = writeln!(out, "{s}");
    }
    for (label, key) in [("binding", "binding"), ("warning", "warnings")] {
        for r in e[key].as_array().into_iter().flatten() {
            let _ = writeln!(out, "  {label}: {}", text_of(r));
        }
    }
    out
}

//! `[service]`: how `adaptd serve` runs — where it listens, how often it cycles, how
//! it authenticates mutations and how long it may take to stop.
//!
//! A bearer token is never a value in this file (configs get committed): it is named
//! by an environment variable or a file, like the collectors' secrets. Each token has
//! a name, which is who the audit log says approved or rejected: a person cannot
//! claim to be someone else without that person's token.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::check::{Bound, Check};
use crate::spans::{index, join};

/// One `[[service.tokens]]` entry: a name and where its secret is.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceToken {
    /// Who holds the token (a person or a system, e.g. `alice` or `alertmanager`):
    /// recorded as the actor `api:NAME` of what the token does. 1–64 of letters,
    /// digits and `. _ @ -`; unique.
    pub name: String,
    /// Environment variable holding the token (read once, at start).
    pub token_env: Option<String>,
    /// File holding the token (trailing whitespace ignored), read at each request so
    /// it can rotate. Exactly one of `token_env` and `token_file`.
    pub token_file: Option<String>,
}

/// Whether `name` may name a token: short, and safe in logs and audit entries.
fn valid_token_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

/// Checks a `token_env` value (at `path`).
fn check_env_name(path: &str, v: &str, ck: &mut Check<'_>) {
    if v.is_empty() || v.contains(['=', '\0']) {
        ck.err(
            path,
            format!("not an environment variable name (got \"{v}\")"),
        );
    }
}

/// The `[service]` section. Every key is optional.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceSection {
    /// Address the HTTP API and `/metrics` listen on (default `"127.0.0.1:8080"`:
    /// loopback only, so exposing the API is a deliberate choice).
    pub bind: String,
    /// Time between the starts of two cycles, in seconds (>= 1; default 3600).
    pub interval_seconds: u64,
    /// Random delay added to each interval, in seconds (0 to `interval_seconds`;
    /// default 60), so that replicas and fleets do not call AWS in lockstep.
    pub jitter_seconds: u64,
    /// Days of telemetry summaries the optimiser reads, ending now (1–3650;
    /// default 14). Older summaries are deleted.
    pub lookback_days: u32,
    /// Time allowed for a graceful stop after SIGTERM/SIGINT, in seconds (> 0;
    /// default 30): a running cycle is asked to stop, requests in flight finish, then
    /// the process exits whatever is left.
    pub shutdown_deadline_seconds: f64,
    /// Environment variable holding a shared bearer token for the mutating
    /// endpoints (approve, reject) and the Alertmanager webhook; the audit log names
    /// its holder `api`. Prefer `[[service.tokens]]`, which name who acted.
    pub token_env: Option<String>,
    /// File holding the shared token (read at each mutating request, so it may
    /// rotate). Without `token_env`, `token_file` and `[[service.tokens]]`,
    /// mutations are refused.
    pub token_file: Option<String>,
    /// Named bearer tokens: each request's actor in the audit log is the name of the
    /// token it carried (`api:NAME`).
    pub tokens: Vec<ServiceToken>,
    /// Local telemetry read each cycle, besides `[collectors]`: a long-format file or
    /// directory, or `azure2019:DIR` (relative paths are relative to the config file).
    /// Only minutes newer than what was already read are taken.
    pub telemetry: Option<String>,
    /// Most components exported with per-component series on `/metrics`, largest
    /// current cost first (0–100000; default 1000), so a large fleet cannot flood
    /// Prometheus. Totals always cover every component.
    pub metrics_max_components: u32,
    /// How often a replica that does not lead tries to take over, and the leader
    /// checks it still leads, in seconds (> 0; default 5).
    pub leader_poll_seconds: f64,
}

impl Default for ServiceSection {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".to_owned(),
            interval_seconds: 3600,
            jitter_seconds: 60,
            lookback_days: 14,
            shutdown_deadline_seconds: 30.0,
            token_env: None,
            token_file: None,
            tokens: Vec::new(),
            telemetry: None,
            metrics_max_components: 1000,
            leader_poll_seconds: 5.0,
        }
    }
}

impl ServiceSection {
    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        let p = |k: &str| join(path, k);
        if self.bind.parse::<SocketAddr>().is_err() {
            ck.err(
                &p("bind"),
                format!(
                    "not an IP address and port (got \"{}\", expected e.g. \"127.0.0.1:8080\" or \"[::]:8080\")",
                    self.bind
                ),
            );
        }
        let interval_ok = ck.num(
            &p("interval_seconds"),
            self.interval_seconds as f64,
            &[Bound::Ge(1.0)],
        );
        if interval_ok && self.jitter_seconds > self.interval_seconds {
            ck.err(
                &p("jitter_seconds"),
                format!(
                    "must be <= interval_seconds ({}) (got {})",
                    self.interval_seconds, self.jitter_seconds
                ),
            );
        }
        ck.num(
            &p("lookback_days"),
            f64::from(self.lookback_days),
            &[Bound::Ge(1.0), Bound::Le(3650.0)],
        );
        ck.num(
            &p("shutdown_deadline_seconds"),
            self.shutdown_deadline_seconds,
            &[Bound::Gt(0.0)],
        );
        if let Some(v) = &self.token_env {
            check_env_name(&p("token_env"), v, ck);
        }
        if self.token_file.as_deref() == Some("") {
            ck.err(&p("token_file"), "must not be empty");
        }
        self.validate_tokens(&p("tokens"), ck);
        if self.telemetry.as_deref() == Some("") {
            ck.err(&p("telemetry"), "must not be empty");
        }
        ck.num(
            &p("metrics_max_components"),
            f64::from(self.metrics_max_components),
            &[Bound::Ge(0.0), Bound::Le(100_000.0)],
        );
        ck.num(
            &p("leader_poll_seconds"),
            self.leader_poll_seconds,
            &[Bound::Gt(0.0)],
        );
    }

    fn validate_tokens(&self, path: &str, ck: &mut Check<'_>) {
        let mut seen = std::collections::BTreeSet::new();
        for (i, t) in self.tokens.iter().enumerate() {
            let tp = index(path, i);
            let name = join(&tp, "name");
            let named = ck.name(&name, &t.name);
            if named && !valid_token_name(&t.name) {
                ck.err(
                    &name,
                    format!(
                        "1–64 letters, digits, `.`, `_`, `@` or `-` (got \"{}\")",
                        t.name
                    ),
                );
            } else if named && !seen.insert(t.name.as_str()) {
                ck.err(&name, format!("duplicate token name \"{}\"", t.name));
            }
            match (&t.token_env, &t.token_file) {
                (Some(_), Some(_)) => ck.err(
                    &join(&tp, "token_file"),
                    "give token_env or token_file, not both",
                ),
                (None, None) => ck.err(
                    &join(&tp, "token_env"),
                    "missing required key (token_env or token_file)",
                ),
                (Some(v), None) => check_env_name(&join(&tp, "token_env"), v, ck),
                (None, Some(f)) if f.is_empty() => {
                    ck.err(&join(&tp, "token_file"), "must not be empty");
                }
                (None, Some(_)) => {}
            }
        }
    }

    /// The listen address (validated).
    pub fn bind_addr(&self) -> SocketAddr {
        self.bind
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn defaults_listen_on_loopback() {
        let c = Config::from_str("", "t.toml").unwrap();
        assert_eq!(c.service.bind_addr().to_string(), "127.0.0.1:8080");
        assert_eq!(c.service.interval_seconds, 3600);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_position() {
        let text = "[service]\nbind = \"localhost\"\ninterval_seconds = 10\njitter_seconds = 20\nlookback_days = 0\nshutdown_deadline_seconds = -1\ntoken_env = \"\"\nleader_poll_seconds = 0\n";
        let e = Config::from_str(text, "t.toml").unwrap_err().to_string();
        for want in [
            "t.toml:2:8: service.bind: not an IP address and port",
            "t.toml:4:18: service.jitter_seconds: must be <= interval_seconds (10) (got 20)",
            "t.toml:5:17: service.lookback_days: must be between 1 and 3650 (got 0)",
            "t.toml:6:29: service.shutdown_deadline_seconds: must be > 0 (got -1)",
            "t.toml:7:13: service.token_env: not an environment variable name",
            "t.toml:8:23: service.leader_poll_seconds: must be > 0 (got 0)",
        ] {
            assert!(e.contains(want), "missing `{want}` in:\n{e}");
        }
        let e = Config::from_str("[service]\nbnid = 1\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `bind`?"), "{e}");
    }
}

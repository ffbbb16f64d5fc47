//! `[alerts]`: alerts that trigger a focused cycle — Alertmanager webhooks and
//! CloudWatch alarms delivered by SNS.
//!
//! Off by default: an endpoint that makes adaptd act must be switched on on purpose.
//! Secrets (the HMAC key) are never values in this file; they are named by an
//! environment variable or a file, like the service's bearer token.

use serde::Deserialize;

use crate::check::{Bound, Check};
use crate::spans::join;

/// The `[alerts]` section. Every key is optional.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsSection {
    /// Whether `POST /api/v1/alerts/…` accept alerts (default false: they answer 403,
    /// so a service that was never meant to act on alerts cannot be made to).
    pub enabled: bool,
    /// The Alertmanager label that names the component (default `"function"`).
    pub component_label: String,
    /// A template built from labels that names the component, e.g.
    /// `"{service}-{env}"`; wins over `component_label` when set. A label the
    /// template names but the alert lacks leaves the alert unmapped.
    pub component_template: Option<String>,
    /// CloudWatch alarm dimensions that name the component, first found wins
    /// (default `["FunctionName", "ServiceName"]`: Lambda, then ECS).
    pub sns_component_dimensions: Vec<String>,
    /// Environment variable holding the shared secret of `X-Adaptd-Signature`
    /// (HMAC-SHA256 of the body), for senders that cannot send a bearer token.
    pub hmac_secret_env: Option<String>,
    /// File holding that secret (read at each request, so it may rotate).
    pub hmac_secret_file: Option<String>,
    /// The same alert again (Alertmanager fingerprint and status; SNS alarm name and
    /// state) within this many seconds is recorded as a duplicate and starts nothing
    /// (1–604800; default 3600). Alertmanager re-sends firing alerts at each
    /// `repeat_interval`; SNS retries deliveries.
    pub dedup_window_seconds: u64,
    /// Most focused cycles one component may start within `rate_limit_window_seconds`
    /// (1–1000; default 2): a flapping alert must not make adaptd retune a function
    /// over and over. Alerts beyond are recorded as rate-limited.
    pub max_focused_cycles_per_component: u32,
    /// The window of `max_focused_cycles_per_component`, in seconds (1–604800;
    /// default 3600).
    pub rate_limit_window_seconds: u64,
    /// How long a firing alert keeps its component's objectives tightened in later
    /// cycles, unless it resolves first, in seconds (0–2592000; default 86400).
    /// Without it the next scheduled cycle would undo what the alert asked for.
    pub context_hold_seconds: u64,
    /// While an alert holds, the component's cold-start budget is multiplied by this
    /// (> 0 and <= 1; default 0.5): a latency alert makes adaptd willing to buy more
    /// provisioned concurrency.
    pub cold_start_budget_factor: f64,
    /// The cold-start budget used while an alert holds for a component that has
    /// none (0–1; default 0.01).
    pub cold_start_rate_when_unset: f64,
    /// While an alert holds, the component's p99 objective (if any) is multiplied by
    /// this (> 0 and <= 1; default 1: unchanged).
    pub p99_factor: f64,
    /// SNS topics whose notifications are accepted (empty, the default: any topic
    /// whose message signature verifies). Set it: anyone with an AWS account can
    /// subscribe a topic of theirs to a public endpoint.
    pub sns_topic_arns: Vec<String>,
    /// Hosts `SigningCertURL` may name, `*` standing for one DNS label (default
    /// `["sns.*.amazonaws.com"]`). The certificate is fetched only from these.
    pub sns_cert_hosts: Vec<String>,
    /// Hosts `SubscribeURL` may name, same form (default `["sns.*.amazonaws.com"]`).
    /// A subscription is confirmed only by a GET to such a host.
    pub sns_subscribe_hosts: Vec<String>,
    /// Whether certificate and subscription URLs may be `http://` (default false:
    /// HTTPS only, whose server authentication is what makes the certificate
    /// trustworthy). For local test servers only.
    pub sns_allow_http: bool,
    /// SNS messages whose `Timestamp` is older than this are refused as replays, in
    /// seconds (60–86400; default 3600).
    pub sns_max_age_seconds: u64,
}

impl Default for AlertsSection {
    fn default() -> Self {
        Self {
            enabled: false,
            component_label: "function".to_owned(),
            component_template: None,
            sns_component_dimensions: vec!["FunctionName".to_owned(), "ServiceName".to_owned()],
            hmac_secret_env: None,
            hmac_secret_file: None,
            dedup_window_seconds: 3600,
            max_focused_cycles_per_component: 2,
            rate_limit_window_seconds: 3600,
            context_hold_seconds: 86_400,
            cold_start_budget_factor: 0.5,
            cold_start_rate_when_unset: 0.01,
            p99_factor: 1.0,
            sns_topic_arns: Vec::new(),
            sns_cert_hosts: vec!["sns.*.amazonaws.com".to_owned()],
            sns_subscribe_hosts: vec!["sns.*.amazonaws.com".to_owned()],
            sns_allow_http: false,
            sns_max_age_seconds: 3600,
        }
    }
}

/// Whether `host` matches `pattern`, where `*` stands for one whole DNS label
/// (`sns.*.amazonaws.com` matches `sns.us-east-1.amazonaws.com`, not
/// `sns.evil.com.amazonaws.com` nor `sns.us-east-1.amazonaws.com.evil.com`).
/// Case-insensitive.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let h: Vec<&str> = host.split('.').collect();
    p.len() == h.len()
        && p.iter().zip(&h).all(|(p, h)| {
            !h.is_empty() && (*p == "*" || p.eq_ignore_ascii_case(h)) && !h.contains(['/', ':'])
        })
}

/// The labels a component template names (`{name}`), or why it is malformed.
pub fn template_labels(template: &str) -> Result<Vec<&str>, String> {
    let mut labels = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(format!(
                "unmatched `}}` at byte {}",
                template.len() - rest.len() + open
            ));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a `{` is not closed".to_owned())?;
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "`{{{name}}}` is not a label name (letters, digits and _)"
            ));
        }
        labels.push(name);
        rest = &after[close + 1..];
    }
    if labels.is_empty() {
        return Err("names no label (expected e.g. \"{service}-{env}\")".to_owned());
    }
    Ok(labels)
}

impl AlertsSection {
    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        let p = |k: &str| join(path, k);
        if self.component_label.trim().is_empty() {
            ck.err(&p("component_label"), "must not be empty");
        }
        if let Some(t) = &self.component_template
            && let Err(e) = template_labels(t)
        {
            ck.err(&p("component_template"), e);
        }
        if self
            .sns_component_dimensions
            .iter()
            .any(|d| d.trim().is_empty())
        {
            ck.err(&p("sns_component_dimensions"), "a dimension name is empty");
        }
        if let Some(v) = &self.hmac_secret_env
            && (v.is_empty() || v.contains(['=', '\0']))
        {
            ck.err(
                &p("hmac_secret_env"),
                format!("not an environment variable name (got \"{v}\")"),
            );
        }
        if self.hmac_secret_env.is_some() && self.hmac_secret_file.is_some() {
            ck.err(
                &p("hmac_secret_file"),
                "give hmac_secret_env or hmac_secret_file, not both",
            );
        }
        if self.hmac_secret_file.as_deref() == Some("") {
            ck.err(&p("hmac_secret_file"), "must not be empty");
        }
        let week = 604_800.0;
        ck.num(
            &p("dedup_window_seconds"),
            self.dedup_window_seconds as f64,
            &[Bound::Ge(1.0), Bound::Le(week)],
        );
        ck.num(
            &p("max_focused_cycles_per_component"),
            f64::from(self.max_focused_cycles_per_component),
            &[Bound::Ge(1.0), Bound::Le(1000.0)],
        );
        ck.num(
            &p("rate_limit_window_seconds"),
            self.rate_limit_window_seconds as f64,
            &[Bound::Ge(1.0), Bound::Le(week)],
        );
        ck.num(
            &p("context_hold_seconds"),
            self.context_hold_seconds as f64,
            &[Bound::Ge(0.0), Bound::Le(2_592_000.0)],
        );
        for (k, v) in [
            ("cold_start_budget_factor", self.cold_start_budget_factor),
            ("p99_factor", self.p99_factor),
        ] {
            ck.num(&p(k), v, &[Bound::Gt(0.0), Bound::Le(1.0)]);
        }
        ck.num(
            &p("cold_start_rate_when_unset"),
            self.cold_start_rate_when_unset,
            &[Bound::Ge(0.0), Bound::Le(1.0)],
        );
        for (i, arn) in self.sns_topic_arns.iter().enumerate() {
            if !arn.starts_with("arn:") || arn.split(':').count() != 6 {
                ck.err(
                    &format!("{}[{i}]", p("sns_topic_arns")),
                    format!("not an SNS topic ARN (got \"{arn}\", expected arn:aws:sns:REGION:ACCOUNT:NAME)"),
                );
            }
        }
        for key in ["sns_cert_hosts", "sns_subscribe_hosts"] {
            let list = if key == "sns_cert_hosts" {
                &self.sns_cert_hosts
            } else {
                &self.sns_subscribe_hosts
            };
            for (i, h) in list.iter().enumerate() {
                let ok = !h.is_empty()
                    && h.split('.').all(|l| {
                        l == "*"
                            || (!l.is_empty()
                                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                    })
                    && h.split('.').any(|l| l != "*");
                if !ok {
                    ck.err(
                        &format!("{}[{i}]", p(key)),
                        format!(
                            "not a host pattern (got \"{h}\"; DNS labels or `*` for one label, e.g. \"sns.*.amazonaws.com\")"
                        ),
                    );
                }
            }
        }
        ck.num(
            &p("sns_max_age_seconds"),
            self.sns_max_age_seconds as f64,
            &[Bound::Ge(60.0), Bound::Le(86_400.0)],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn defaults_are_off_and_https_only() {
        let c = Config::from_str("", "t.toml").unwrap();
        assert!(!c.alerts.enabled);
        assert!(!c.alerts.sns_allow_http);
        assert_eq!(c.alerts.component_label, "function");
    }

    #[test]
    fn host_patterns_match_one_label_per_star() {
        assert!(host_matches(
            "sns.*.amazonaws.com",
            "sns.us-east-1.amazonaws.com"
        ));
        assert!(host_matches(
            "sns.*.amazonaws.com",
            "SNS.eu-west-1.AmazonAWS.com"
        ));
        assert!(!host_matches(
            "sns.*.amazonaws.com",
            "sns.a.b.amazonaws.com"
        ));
        assert!(!host_matches(
            "sns.*.amazonaws.com",
            "sns.us-east-1.amazonaws.com.evil.com"
        ));
        assert!(!host_matches("sns.*.amazonaws.com", "sns..amazonaws.com"));
        assert!(host_matches("127.0.0.1", "127.0.0.1"));
        assert!(!host_matches("127.0.0.1", "127.0.0.2"));
    }

    #[test]
    fn templates_name_labels() {
        assert_eq!(
            template_labels("{service}-{env}").unwrap(),
            ["service", "env"]
        );
        assert!(template_labels("plain").is_err());
        assert!(template_labels("{a").is_err());
        assert!(template_labels("a}").is_err());
        assert!(template_labels("{a b}").is_err());
    }

    #[test]
    fn every_bad_value_is_reported_with_its_position() {
        let text = "[alerts]\ncomponent_label = \"\"\ncomponent_template = \"{svc\"\ndedup_window_seconds = 0\nmax_focused_cycles_per_component = 0\ncold_start_budget_factor = 1.5\np99_factor = 0\nsns_topic_arns = [\"topic\"]\nsns_cert_hosts = [\"*\", \"sns.*.amazonaws.com/x\"]\nsns_max_age_seconds = 5\nhmac_secret_env = \"\"\n";
        let e = Config::from_str(text, "t.toml").unwrap_err().to_string();
        for want in [
            "t.toml:2:19: alerts.component_label: must not be empty",
            "t.toml:3:22: alerts.component_template: a `{` is not closed",
            "t.toml:4:24: alerts.dedup_window_seconds: must be between 1 and 604800 (got 0)",
            "t.toml:5:36: alerts.max_focused_cycles_per_component: must be between 1 and 1000 (got 0)",
            "t.toml:6:28: alerts.cold_start_budget_factor: must be > 0 and <= 1 (got 1.5)",
            "t.toml:7:14: alerts.p99_factor: must be > 0 and <= 1 (got 0)",
            "t.toml:8:19: alerts.sns_topic_arns[0]: not an SNS topic ARN",
            "t.toml:9:19: alerts.sns_cert_hosts[0]: not a host pattern",
            "t.toml:9:24: alerts.sns_cert_hosts[1]: not a host pattern",
            "t.toml:10:23: alerts.sns_max_age_seconds: must be between 60 and 86400 (got 5)",
            "t.toml:11:19: alerts.hmac_secret_env: not an environment variable name",
        ] {
            assert!(e.contains(want), "missing `{want}` in:\n{e}");
        }
        let e = Config::from_str("[alerts]\nenabeld = true\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `enabled`?"), "{e}");
    }
}

//! `timezone`: where a component's schedule zone comes from, and bad names reported
//! at their positions.

use adaptd_config::{Config, Discovered};

fn zones(text: &str, names: &[&str]) -> Vec<String> {
    let discovered: Vec<Discovered> = names.iter().map(|n| Discovered::new(*n)).collect();
    let r = Config::from_str(text, "adaptd.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .resolve(&discovered)
        .unwrap_or_else(|e| panic!("{e}"));
    names
        .iter()
        .map(|n| {
            let c = r.components.iter().find(|c| c.name == *n).unwrap();
            c.timezone.name().to_owned()
        })
        .collect()
}

#[test]
fn the_component_then_its_rules_then_the_defaults_then_utc() {
    assert_eq!(zones("", &["a"]), ["UTC"]);
    let text = r#"
[defaults]
timezone = "Europe/Berlin"

[[guardrails]]
name = "us"
match = { name = "us-*" }
timezone = "America/New_York"

[[guardrails]]
name = "limits"
max_provisioned_concurrency = 50

[[components]]
name = "us-own"
timezone = "Asia/Tokyo"
"#;
    assert_eq!(
        zones(text, &["eu", "us-api", "us-own"]),
        ["Europe/Berlin", "America/New_York", "Asia/Tokyo"]
    );
}

#[test]
fn rules_that_name_different_zones_are_an_error_at_the_second() {
    let text = "[[guardrails]]\nname = \"a\"\ntimezone = \"Europe/Berlin\"\n\n\
                [[guardrails]]\nname = \"b\"\nmatch = { name = \"svc\" }\ntimezone = \"America/New_York\"\n";
    let c = Config::from_str(text, "adaptd.toml").unwrap();
    assert!(c.resolve(&[Discovered::new("other")]).is_ok());
    let e = c
        .resolve(&[Discovered::new("svc")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "adaptd.toml:8:12: guardrails[1].timezone: component `svc`: the matching guardrail rules name different time zones (`America/New_York` here, `Europe/Berlin` in rule `a`); set `timezone` on the component or make the rules agree"
    );
    // Agreeing rules are fine, and a component's own zone settles a disagreement.
    let agree = text.replace("America/New_York", "Europe/Berlin");
    assert_eq!(zones(&agree, &["svc"]), ["Europe/Berlin"]);
    let own = format!("{text}\n[[components]]\nname = \"svc\"\ntimezone = \"UTC\"\n");
    assert_eq!(zones(&own, &["svc"]), ["UTC"]);
}

#[test]
fn unknown_zones_are_reported_where_they_are_written() {
    let text = r#"[defaults]
timezone = "Europe/Berlinn"

[[guardrails]]
name = "g"
timezone = "EST5EDTX"

[[components]]
name = "c"
timezone = "Mars/Olympus_Mons"
"#;
    let errors: Vec<String> = match Config::from_str(text, "adaptd.toml") {
        Ok(_) => panic!("expected errors"),
        Err(e) => e
            .iter()
            .map(|e| format!("{}:{}: {}", e.line, e.col, e.path))
            .collect(),
    };
    assert_eq!(
        errors,
        [
            "2:12: defaults.timezone",
            "6:12: guardrails[0].timezone",
            "10:12: components[0].timezone",
        ]
    );
    let message = Config::from_str(text, "adaptd.toml")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("adaptd.toml:2:12: defaults.timezone: unknown time zone `Europe/Berlinn` (expected an IANA name such as \"Europe/Berlin\""),
        "{message}"
    );
}

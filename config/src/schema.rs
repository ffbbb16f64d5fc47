//! The schema's field names, read from the serde derives themselves, so that the
//! reference (`docs/configuration.md`) can be checked against them.

use serde::de::{self, Deserialize, Deserializer, Visitor};

#[derive(Debug)]
struct Found(&'static [&'static str]);

#[derive(Debug)]
struct Stop(Option<Found>);

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("introspection")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop(None)
    }
}

/// A deserializer that records the fields serde asks for, then stops.
struct Introspect;

impl<'de> Deserializer<'de> for Introspect {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop(None))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        Err(Stop(Some(Found(fields))))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

/// The TOML keys of a schema struct, as serde reads them.
pub(crate) fn fields<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(Introspect) {
        Err(Stop(Some(Found(fields)))) => fields,
        _ => panic!("{} is not a struct", std::any::type_name::<T>()),
    }
}

/// Every struct of the schema, with the heading of its section in the reference.
/// A struct added to the schema belongs here; a key added to a struct is picked up by
/// itself.
fn sections() -> Vec<(&'static str, &'static [&'static str])> {
    use crate::*;
    vec![
        ("## `[model]`", fields::<ModelSection>()),
        ("## `[prices]`", fields::<PricesSection>()),
        ("## `[optimizer]`", fields::<OptimizerSettings>()),
        ("## `[defaults]`", fields::<DefaultsSection>()),
        ("## `[[accounts]]`", fields::<Account>()),
        ("## `[[databases]]`", fields::<Database>()),
        ("## `[[slo]]`", fields::<SloRule>()),
        ("### `match`", fields::<Match>()),
        ("## `[[guardrails]]`", fields::<GuardrailRule>()),
        ("## `[[components]]`", fields::<Component>()),
        ("### `current`", fields::<Current>()),
        ("### `slo` (per component)", fields::<SloObjectives>()),
        (
            "### `[collectors.cloudwatch]`",
            fields::<CloudWatchSection>(),
        ),
        (
            "### `[[collectors.cloudwatch.accounts]]`",
            fields::<CloudWatchAccount>(),
        ),
        (
            "### `[collectors.prometheus]`",
            fields::<PrometheusSection>(),
        ),
        (
            "### `[[collectors.prometheus.sources]]`",
            fields::<PromSource>(),
        ),
        ("## `[report]`", fields::<ReportSection>()),
        ("### `[report.webhook]`", fields::<WebhookSection>()),
        ("### `[report.s3]`", fields::<S3Section>()),
        ("## `[iac]`", fields::<IacSection>()),
        ("### `[[iac.components]]`", fields::<IacComponent>()),
        ("## `[service]`", fields::<ServiceSection>()),
        ("### `[[service.tokens]]`", fields::<ServiceToken>()),
        ("## `[store]`", fields::<StoreSection>()),
        ("## `[alerts]`", fields::<AlertsSection>()),
        ("## `[apply]`", fields::<ApplySection>()),
        ("### `[[apply.windows]]`", fields::<ApplyWindow>()),
        ("### `[[apply.environments]]`", fields::<ApplyEnvironment>()),
        ("### `[[apply.components]]`", fields::<ApplyComponent>()),
    ]
}

const REFERENCE: &str = include_str!("../../docs/configuration.md");

/// The text under `heading`, up to the next heading of level 2 or 3.
fn section(heading: &str) -> Option<&'static str> {
    let start = REFERENCE.lines().position(|l| l == heading)?;
    let body: Vec<&str> = REFERENCE
        .lines()
        .skip(start + 1)
        .take_while(|l| !l.starts_with("## ") && !l.starts_with("### "))
        .collect();
    let first = body.first()?;
    let offset = first.as_ptr() as usize - REFERENCE.as_ptr() as usize;
    let len: usize = body.iter().map(|l| l.len() + 1).sum();
    REFERENCE.get(offset..(offset + len).min(REFERENCE.len()))
}

#[test]
fn every_key_of_the_schema_is_in_the_reference() {
    let mut missing = Vec::new();
    for key in fields::<crate::Config>() {
        let table = format!("## `[{key}]`");
        let array = format!("## `[[{key}]]`");
        if !REFERENCE.lines().any(|l| l == table || l == array) {
            missing.push(format!(
                "section `{key}` (a `{table}` or `{array}` heading)"
            ));
        }
    }
    for (heading, keys) in sections() {
        let Some(text) = section(heading) else {
            missing.push(format!("heading `{heading}`"));
            continue;
        };
        for key in keys {
            if !text.contains(&format!("| `{key}` |")) {
                missing.push(format!("`{key}` (a table row under `{heading}`)"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/configuration.md lacks:\n{}",
        missing.join("\n")
    );
}

#[test]
fn introspection_reads_the_serde_names() {
    assert_eq!(fields::<crate::SloRule>()[1], "match");
    assert!(fields::<crate::Config>().contains(&"components"));
    assert!(!fields::<crate::Config>().contains(&"source"));
}

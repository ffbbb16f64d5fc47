//! `[prices]`: which price sheet to use and which prices to override.

use adaptd_engine::prices::{PriceError, PriceSheet};
use serde::Deserialize;

use crate::check::Check;
use crate::de::rewrite;
use crate::error::did_you_mean;
use crate::spans::join;

/// The region whose built-in sheet is used when none is given.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Prices. The default is the built-in us-east-1 list-price sheet.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricesSection {
    /// AWS region of the built-in sheet to use (default `"us-east-1"`, the only one
    /// built in). With `sheet`, if given, it must equal the sheet's `region`.
    pub region: Option<String>,
    /// A whole price sheet (a TOML file with the same keys as the built-in one),
    /// relative to the directory of the config file. Replaces the built-in sheet.
    pub sheet: Option<String>,
    /// Prices to replace (negotiated rates, Savings Plans), keyed as in the sheet:
    /// dotted (`"lambda.request_usd_per_million" = 0.2`) or nested
    /// (`[prices.overrides.lambda]`). Unknown keys are errors. Values must be >= 0.
    pub overrides: toml::Table,
}

impl PricesSection {
    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        match &self.sheet {
            Some(s) if s.trim().is_empty() => ck.err(&join(path, "sheet"), "must not be empty"),
            Some(_) => {}
            None => {
                let region = self.region.as_deref().unwrap_or(DEFAULT_REGION);
                if let Err(e) = PriceSheet::builtin(region) {
                    ck.err(&join(path, "region"), e.to_string());
                }
            }
        }
        // Every sheet has the same keys, so the built-in one checks the override keys.
        check_overrides(&PriceSheet::us_east_1(), &self.overrides, path, ck);
    }

    /// The sheet to price with: `loaded` (the `sheet` file) or the built-in one of
    /// `region`, with the overrides applied.
    pub fn price_sheet(&self, loaded: Option<&PriceSheet>) -> Result<PriceSheet, PriceError> {
        let base = match loaded {
            Some(s) => s.clone(),
            None => PriceSheet::builtin(self.region.as_deref().unwrap_or(DEFAULT_REGION))?,
        };
        if self.overrides.is_empty() {
            Ok(base)
        } else {
            base.with_overrides(&self.overrides)
        }
    }
}

/// Applies each override alone, so that every bad key is reported with its position.
pub(crate) fn check_overrides(
    base: &PriceSheet,
    overrides: &toml::Table,
    section: &str,
    ck: &mut Check<'_>,
) {
    let mut leaves = Vec::new();
    flatten(overrides, &join(section, "overrides"), "", &mut leaves);
    let known = price_keys(base);
    for (path, key, value) in leaves {
        let mut single = toml::Table::new();
        single.insert(key.clone(), value.clone());
        let Err(e) = base.with_overrides(&single) else {
            continue;
        };
        let msg = match e {
            PriceError::UnknownKey(k) => {
                let msg = match did_you_mean(&k, known.iter().map(String::as_str)) {
                    Some(s) => format!("unknown price `{k}`, did you mean `{s}`?"),
                    None => format!(
                        "unknown price `{k}` (expected a key of the sheet, like `lambda.request_usd_per_million`)"
                    ),
                };
                ck.err_key(&path, msg);
                continue;
            }
            PriceError::OutOfRange { value, .. } => {
                format!("must be a finite number >= 0 (got {value})")
            }
            PriceError::Invalid(m) => {
                let first = m.lines().next().unwrap_or_default();
                format!("invalid price ({})", rewrite(first))
            }
            other => other.to_string(),
        };
        ck.err(&path, msg);
    }
}

/// Leaves of an override table: (document path, dotted price key, value).
fn flatten(t: &toml::Table, path: &str, key: &str, out: &mut Vec<(String, String, toml::Value)>) {
    for (k, v) in t {
        let p = join(path, k);
        let dotted = if key.is_empty() {
            k.clone()
        } else {
            format!("{key}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten(inner, &p, &dotted, out),
            v => out.push((p, dotted, v.clone())),
        }
    }
}

/// Every dotted key of a sheet, for suggestions.
fn price_keys(sheet: &PriceSheet) -> Vec<String> {
    fn walk(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(inner) => walk(inner, &key, out),
                _ => out.push(key),
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(t) = toml::Table::try_from(sheet) {
        walk(&t, "", &mut out);
    }
    out
}

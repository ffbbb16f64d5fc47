//! Rendering a [`RecommendationSet`] for people (table, Markdown) and programs (JSON,
//! CSV). The JSON is the versioned document itself; see `docs/recommendations.md`.

mod csv;
mod markdown;
mod table;

use adaptd_optimizer::recommend::RecommendationSet;

/// Output formats of `adaptd recommend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for a terminal.
    Table,
    /// The versioned JSON document.
    Json,
    /// One row per component.
    Csv,
    /// A Markdown report.
    Markdown,
}

/// Renders `set` as `format`.
pub fn render(set: &RecommendationSet, format: Format) -> Result<String, serde_json::Error> {
    Ok(match format {
        Format::Table => table::render(set),
        Format::Json => serde_json::to_string_pretty(set)? + "\n",
        Format::Csv => csv::render(set),
        Format::Markdown => markdown::render(set),
    })
}

/// Dollars with thousands separators: `$1,234.56`.
pub fn usd(x: f64) -> String {
    let neg = x < 0.0;
    let cents = (x.abs() * 100.0).round() as u64;
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}${grouped}.{frac:02}", if neg { "-" } else { "" })
}

/// A share as a percentage with sensible precision.
pub fn pct(x: f64) -> String {
    if x > 0.0 && x < 0.001 {
        format!("{:.3}%", 100.0 * x)
    } else {
        format!("{:.1}%", 100.0 * x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_grouped_and_rounded() {
        assert_eq!(usd(1234.567), "$1,234.57");
        assert_eq!(usd(0.004), "$0.00");
        assert_eq!(usd(-41.0), "-$41.00");
        assert_eq!(usd(1_000_000.0), "$1,000,000.00");
        assert_eq!(pct(0.0123), "1.2%");
        assert_eq!(pct(0.00012), "0.012%");
    }
}

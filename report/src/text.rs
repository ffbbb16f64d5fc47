//! Numbers and dates as people read them, shared by every format so that the HTML,
//! Markdown and Slack message never disagree on a figure.

use adaptd_engine::calendar::civil_from_days;

/// Dollars with thousands separators and cents: `$1,234.56`, `-$41.00`.
pub fn usd(x: f64) -> String {
    let neg = x < 0.0 && (x.abs() * 100.0).round() > 0.0;
    let cents = (x.abs() * 100.0).round() as u64;
    format!(
        "{}${}.{:02}",
        if neg { "-" } else { "" },
        group(cents / 100),
        cents % 100
    )
}

/// Whole dollars for headlines: `$3,798`.
pub fn usd0(x: f64) -> String {
    let neg = x < 0.0 && x.abs().round() > 0.0;
    format!(
        "{}${}",
        if neg { "-" } else { "" },
        group(x.abs().round() as u64)
    )
}

/// A signed amount: `+$12.00`, `-$3.50`.
pub fn usd_signed(x: f64) -> String {
    if (x * 100.0).round() > 0.0 {
        format!("+{}", usd(x))
    } else {
        usd(x)
    }
}

fn group(whole: u64) -> String {
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A share as a percentage, with more digits when it is small: `1.2%`, `0.012%`.
pub fn pct(x: f64) -> String {
    if x > 0.0 && x < 0.001 {
        format!("{:.3}%", 100.0 * x)
    } else {
        format!("{:.1}%", 100.0 * x)
    }
}

/// A signed relative change: `+12%`, `-3%`.
pub fn pct_signed(x: f64) -> String {
    format!("{:+.0}%", 100.0 * x)
}

/// Milliseconds: `842 ms`, `1.25 s`.
pub fn ms(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.1} s", x / 1000.0)
    } else if x >= 1000.0 {
        format!("{:.2} s", x / 1000.0)
    } else if x >= 10.0 {
        format!("{x:.0} ms")
    } else {
        format!("{x:.1} ms")
    }
}

/// A number of days: `7`, `6.5`.
pub fn days(d: f64) -> String {
    if (d - d.round()).abs() < 0.05 {
        format!("{}", d.round() as i64)
    } else {
        format!("{d:.1}")
    }
}

/// `2026-11-23T08:00:00Z` for a minute since the Unix epoch.
pub fn rfc3339(minute: i64) -> String {
    let (y, mo, d) = civil_from_days(minute.div_euclid(1440));
    let m = minute.rem_euclid(1440);
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:00Z", m / 60, m % 60)
}

/// `2026-11-23`.
pub fn date(minute: i64) -> String {
    let (y, mo, d) = civil_from_days(minute.div_euclid(1440));
    format!("{y:04}-{mo:02}-{d:02}")
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `16 Nov 2026`.
pub fn human_date(minute: i64) -> String {
    let (y, mo, d) = civil_from_days(minute.div_euclid(1440));
    format!("{d} {} {y}", MONTHS[(mo - 1) as usize])
}

/// `16 Nov – 23 Nov 2026` for a half-open period (the end is exclusive, so a period
/// ending at midnight shows the last day it covers).
pub fn human_range(start_minute: i64, end_minute: i64) -> String {
    let last = (end_minute - 1).max(start_minute);
    let (ys, ms_, ds) = civil_from_days(start_minute.div_euclid(1440));
    let (ye, me, de) = civil_from_days(last.div_euclid(1440));
    if ys == ye {
        format!(
            "{ds} {} – {de} {} {ye}",
            MONTHS[(ms_ - 1) as usize],
            MONTHS[(me - 1) as usize]
        )
    } else {
        format!("{} – {}", human_date(start_minute), human_date(last))
    }
}

/// `text` cut to `max` characters with an ellipsis, for descriptions that list 24
/// hourly task counts.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end_matches([',', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_shares() {
        assert_eq!(usd(1234.567), "$1,234.57");
        assert_eq!(usd(-41.0), "-$41.00");
        assert_eq!(usd(-0.001), "$0.00");
        assert_eq!(usd0(3797.96), "$3,798");
        assert_eq!(usd_signed(12.0), "+$12.00");
        assert_eq!(usd_signed(-3.5), "-$3.50");
        assert_eq!(pct(0.0123), "1.2%");
        assert_eq!(pct(0.00012), "0.012%");
        assert_eq!(pct_signed(-0.031), "-3%");
        assert_eq!(ms(842.4), "842 ms");
        assert_eq!(ms(1250.0), "1.25 s");
        assert_eq!(ms(3.21), "3.2 ms");
    }

    #[test]
    fn dates() {
        // 2026-11-16T00:00Z.
        let m = 29_913_120;
        assert_eq!(rfc3339(m), "2026-11-16T00:00:00Z");
        assert_eq!(rfc3339(m + 61), "2026-11-16T01:01:00Z");
        assert_eq!(date(m), "2026-11-16");
        assert_eq!(human_range(m, m + 7 * 1440), "16 Nov – 22 Nov 2026");
        assert_eq!(
            human_range(m + 40 * 1440, m + 50 * 1440),
            "26 Dec 2026 – 4 Jan 2027"
        );
    }

    #[test]
    fn long_descriptions_are_cut() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(
            shorten("lambda 512 MB, provisioned 3", 14),
            "lambda 512 MB…"
        );
    }
}

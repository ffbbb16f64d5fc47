//! The one way the command line takes a duration: a whole number and a unit, `90m`,
//! `36h`, `14d`, `2w`. Every flag that takes one parses it here, so that `--since` and
//! `--period` accept the same words and refuse them with the same message (clap puts
//! the flag and the value in front of it).

/// Minutes in each unit.
const UNITS: [(&str, i64); 4] = [("m", 1), ("h", 60), ("d", 1440), ("w", 7 * 1440)];

/// `90m`, `36h`, `14d`, `2w` → minutes (> 0).
pub fn minutes(text: &str) -> Result<i64, String> {
    let s = text.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let Some(&(_, per)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!(
            "unknown unit `{unit}` in `{s}` (expected m, h, d or w, like 14d or 36h)"
        ));
    };
    num.parse::<i64>()
        .ok()
        .filter(|&n| n > 0)
        .and_then(|n| n.checked_mul(per))
        .ok_or_else(|| format!("expected a whole number > 0 before the unit, like 14d (got `{s}`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_parses_to_minutes() {
        assert_eq!(minutes("90m"), Ok(90));
        assert_eq!(minutes("36h"), Ok(36 * 60));
        assert_eq!(minutes("14d"), Ok(14 * 1440));
        assert_eq!(minutes("2w"), Ok(14 * 1440));
        assert_eq!(minutes(" 7d "), Ok(7 * 1440));
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        assert_eq!(
            minutes("7x"),
            Err("unknown unit `x` in `7x` (expected m, h, d or w, like 14d or 36h)".into())
        );
        assert_eq!(
            minutes("14"),
            Err("unknown unit `` in `14` (expected m, h, d or w, like 14d or 36h)".into())
        );
        for bad in ["0d", "d", "-1d", "1.5d", "99999999999999999w"] {
            let e = minutes(bad).unwrap_err();
            assert!(
                e.contains("whole number > 0") || e.contains("unknown unit"),
                "{bad}: {e}"
            );
            assert!(e.contains(bad.trim()), "{bad}: {e}");
        }
        assert!(minutes("").is_err());
    }
}

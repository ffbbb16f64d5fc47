//! Configuration errors: every problem of a file, each with its position and the dotted
//! path of the field it concerns.

use std::fmt;

/// One problem of a configuration file.
///
/// Displayed as `FILE:LINE:COL: PATH: MESSAGE`, for example
/// `adaptd.toml:12:11: components[2].slo.p99_ms: must be > 0 (got -5)`. Syntax errors
/// have an empty `path`; an error without a position (an unreadable file) has line 0.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// File name (or other origin) given when the text was parsed.
    pub origin: String,
    /// 1-based line; 0 when the error has no position.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Dotted path of the field (`components[2].slo.p99_ms`); empty for syntax errors.
    pub path: String,
    /// What is wrong, ending in `(got …)` or `(expected …)` where that helps.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.origin)?;
        if self.line > 0 {
            write!(f, "{}:{}:", self.line, self.col)?;
        }
        if !self.path.is_empty() {
            write!(f, " {}:", self.path)?;
        }
        write!(f, " {}", self.message)
    }
}

/// All problems found in a configuration, sorted by position. Never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The problems, in file order.
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// Wraps a list, sorting it by position and dropping exact duplicates.
    pub fn new(mut errors: Vec<ConfigError>) -> Self {
        errors.sort_by(|a, b| {
            (&a.origin, a.line, a.col, &a.path, &a.message)
                .cmp(&(&b.origin, b.line, b.col, &b.path, &b.message))
        });
        errors.dedup();
        Self { errors }
    }

    /// The problems, in file order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there are none (never true for a returned `ConfigErrors`).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Iterates the problems.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }
}

impl fmt::Display for ConfigErrors {
    /// One error per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word_lc = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| {
            let c_lc = c.to_ascii_lowercase();
            let d = edit_distance(&word_lc, &c_lc);
            // A truncated name ("arm" for "arm64") is a likely slip too.
            let prefix = word_lc.len() >= 3 && c_lc.starts_with(&word_lc);
            (if prefix { d.min(1) } else { d }, c)
        })
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

/// `one of: a, b, c` for messages.
pub(crate) fn one_of<S: AsRef<str>>(items: &[S]) -> String {
    let names: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    match names.len() {
        0 => "nothing".to_owned(),
        1 => names[0].to_owned(),
        _ => format!("one of: {}", names.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_need_a_close_match() {
        let fields = ["memory_mb", "architecture", "name"];
        assert_eq!(did_you_mean("memroy_mb", fields), Some("memory_mb"));
        assert_eq!(did_you_mean("nmae", fields), Some("name"));
        assert_eq!(did_you_mean("Name", fields), Some("name"));
        assert_eq!(did_you_mean("colour", fields), None);
        assert_eq!(did_you_mean("arm", ["x86_64", "arm64"]), Some("arm64"));
        assert_eq!(did_you_mean("ar", ["x86_64", "arm64"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn display_is_one_error_per_line() {
        let e = |line, path: &str| ConfigError {
            origin: "a.toml".into(),
            line,
            col: 3,
            path: path.into(),
            message: "bad".into(),
        };
        let errs = ConfigErrors::new(vec![e(9, "x"), e(2, ""), e(0, "")]);
        assert_eq!(
            errs.to_string(),
            "a.toml: bad\na.toml:2:3: bad\na.toml:9:3: x: bad"
        );
    }
}

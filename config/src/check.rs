//! The semantic validation context: collects `(path, message)` pairs and knows which
//! paths exist in the document and which already failed to deserialize.

use crate::spans::{SpanIndex, is_within};

/// A bound of a numeric range.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Bound {
    /// Greater than.
    Gt(f64),
    /// Greater than or equal.
    Ge(f64),
    /// Less than.
    Lt(f64),
    /// Less than or equal.
    Le(f64),
}

impl Bound {
    fn holds(self, v: f64) -> bool {
        match self {
            Bound::Gt(b) => v > b,
            Bound::Ge(b) => v >= b,
            Bound::Lt(b) => v < b,
            Bound::Le(b) => v <= b,
        }
    }

    fn text(self) -> String {
        match self {
            Bound::Gt(b) => format!("> {b}"),
            Bound::Ge(b) => format!(">= {b}"),
            Bound::Lt(b) => format!("< {b}"),
            Bound::Le(b) => format!("<= {b}"),
        }
    }
}

/// Collects semantic errors.
#[derive(Debug)]
pub(crate) struct Check<'a> {
    index: &'a SpanIndex,
    /// Paths whose values failed to deserialize (and were dropped).
    broken: Vec<String>,
    pub(crate) errors: Vec<Problem>,
}

/// A semantic error: path, message and whether it points at the key (else the value).
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    pub(crate) path: String,
    pub(crate) message: String,
    pub(crate) at_key: bool,
}

impl Problem {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            at_key: false,
        }
    }
}

impl<'a> Check<'a> {
    pub(crate) fn new(index: &'a SpanIndex, broken: Vec<String>) -> Self {
        Self {
            index,
            broken,
            errors: Vec::new(),
        }
    }

    /// Records an error, unless the value at `path` already failed to deserialize
    /// (its default would only produce a second, misleading error).
    pub(crate) fn err(&mut self, path: &str, message: impl Into<String>) {
        self.push(path, message.into(), false);
    }

    /// Records an error about a key itself (an unknown name), positioned at the key.
    pub(crate) fn err_key(&mut self, path: &str, message: impl Into<String>) {
        self.push(path, message.into(), true);
    }

    fn push(&mut self, path: &str, message: String, at_key: bool) {
        if self.broken.iter().any(|b| is_within(path, b)) {
            return;
        }
        self.errors.push(Problem {
            path: path.to_owned(),
            message,
            at_key,
        });
    }

    /// Whether the document has a value at `path`.
    pub(crate) fn has(&self, path: &str) -> bool {
        self.index.has(path)
    }

    /// The line of the value at `path`.
    pub(crate) fn line(&self, path: &str) -> usize {
        self.index.value_pos(path).line
    }

    /// Whether a list (`accounts`), one of its elements or an element's `name` failed
    /// to deserialize: references into it are not checked then, since the names it
    /// defines are unknown.
    pub(crate) fn names_broken(&self, list: &str) -> bool {
        self.broken
            .iter()
            .any(|b| is_within(b, list) && (b == list || b.ends_with(']') || b.ends_with(".name")))
    }

    /// Reports a required key that is neither `set` nor in the document; returns
    /// whether it is there.
    pub(crate) fn require(&mut self, path: &str, set: bool, why: &str) -> bool {
        if set || self.has(path) {
            return true;
        }
        self.err(path, format!("missing required key{why}"));
        false
    }

    /// Reports a required, non-empty name.
    pub(crate) fn name(&mut self, path: &str, name: &str) -> bool {
        if name.trim().is_empty() {
            if self.has(path) {
                self.err(path, "must not be empty");
            } else {
                self.err(path, "missing required key");
            }
            return false;
        }
        true
    }

    /// Checks that `v` is finite and within all `bounds`.
    pub(crate) fn num(&mut self, path: &str, v: f64, bounds: &[Bound]) -> bool {
        if !v.is_finite() {
            self.err(path, format!("must be a finite number (got {v})"));
            return false;
        }
        if bounds.iter().all(|b| b.holds(v)) {
            return true;
        }
        let msg = match bounds {
            [Bound::Ge(lo), Bound::Le(hi)] => format!("must be between {lo} and {hi}"),
            _ => {
                let parts: Vec<String> = bounds.iter().map(|b| b.text()).collect();
                format!("must be {}", parts.join(" and "))
            }
        };
        self.err(path, format!("{msg} (got {v})"));
        false
    }

    /// [`Check::num`] for an optional value.
    pub(crate) fn opt_num(&mut self, path: &str, v: Option<f64>, bounds: &[Bound]) {
        if let Some(v) = v {
            self.num(path, v, bounds);
        }
    }

    /// Checks an optional IANA time zone name.
    pub(crate) fn zone(&mut self, path: &str, name: Option<&str>) {
        if let Some(Err(e)) = name.map(str::parse::<adaptd_engine::zone::Zone>) {
            self.err(path, e.to_string());
        }
    }
}

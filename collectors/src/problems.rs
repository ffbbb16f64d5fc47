//! Bounded lists of input problems.
//!
//! A malformed file rarely has a single mistake, and fixing them one run at a time is
//! tedious, so readers keep going after a bad row and report up to [`MAX_PROBLEMS`]
//! at once. Past that the rest is usually the same mistake repeated, so they stop.

use std::fmt;

/// How many problems a reader collects before it gives up on an input.
pub const MAX_PROBLEMS: usize = 20;

/// The problems found in an input, in the order they were found.
#[derive(Debug, Clone, PartialEq)]
pub struct Problems<P> {
    /// The problems, at most [`MAX_PROBLEMS`].
    pub list: Vec<P>,
    /// Whether reading stopped at the limit, so that more problems may exist.
    pub stopped_early: bool,
}

impl<P: fmt::Display> fmt::Display for Problems<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.list.len();
        let s = if n == 1 { "" } else { "s" };
        if self.stopped_early {
            write!(f, "{n} problem{s} (stopped there; there may be more):")?;
        } else {
            write!(f, "{n} problem{s}:")?;
        }
        for p in &self.list {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl<P: fmt::Debug + fmt::Display> std::error::Error for Problems<P> {}

/// Collects problems up to the limit.
#[derive(Debug)]
pub(crate) struct Collector<P> {
    list: Vec<P>,
}

impl<P> Default for Collector<P> {
    fn default() -> Self {
        Self { list: Vec::new() }
    }
}

impl<P> Collector<P> {
    /// Records a problem. Returns `true` once the limit is reached, telling the caller
    /// to stop reading.
    pub(crate) fn push(&mut self, problem: P) -> bool {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(problem);
        }
        self.is_full()
    }

    /// Whether the limit is reached.
    pub(crate) fn is_full(&self) -> bool {
        self.list.len() >= MAX_PROBLEMS
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The list as an error value.
    pub(crate) fn into_problems(self) -> Problems<P> {
        let stopped_early = self.list.len() >= MAX_PROBLEMS;
        Problems {
            list: self.list,
            stopped_early,
        }
    }

    /// `Ok` when nothing was recorded, else the list.
    pub(crate) fn into_result(self) -> Result<(), Problems<P>> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(self.into_problems())
        }
    }
}

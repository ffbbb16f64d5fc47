//! Byte-range edits of a file's text: the unit of a plan. Every edit replaces one span
//! that a parser reported, so the bytes around it are untouched by construction.

use std::ops::Range;

use serde::Serialize;

use crate::IacError;

/// One replacement in one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edit {
    /// Relative path.
    pub file: String,
    /// Bytes replaced (empty for an insertion).
    pub range: Range<usize>,
    /// New text.
    pub replacement: String,
    /// Component the edit is for.
    pub component: String,
    /// Recommendation field (`memory_mb`, `architecture`, `provisioned_concurrency`, …).
    pub field: String,
    /// What changes and through which indirection ("memory_size 1024 → 768 via
    /// var.checkout_memory in terraform.tfvars").
    pub description: String,
}

/// Applies `edits` (all of one file) to `text`. Identical edits (two components sharing
/// one value that both want changed the same way) apply once; overlapping different
/// ones are refused.
pub fn apply_edits(file: &str, text: &str, edits: &[&Edit]) -> Result<String, IacError> {
    let mut sorted: Vec<&Edit> = edits.to_vec();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    sorted.dedup_by(|a, b| a.range == b.range && a.replacement == b.replacement);
    let mut out = String::with_capacity(text.len() + 256);
    let mut at = 0;
    for e in sorted {
        if e.range.start < at || e.range.end > text.len() {
            return Err(IacError::Overlap {
                file: file.to_owned(),
                at: e.range.start,
            });
        }
        out.push_str(&text[at..e.range.start]);
        out.push_str(&e.replacement);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// 1-based line and column of byte `offset`.
pub fn line_of(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// Byte offset of the start of the line holding `offset`.
pub(crate) fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// Byte offset just past the newline ending the line holding `offset` (or the end).
pub(crate) fn line_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

/// The whitespace that starts the line holding `offset`.
pub(crate) fn indent_at(text: &str, offset: usize) -> &str {
    let start = line_start(text, offset);
    let line = &text[start..];
    let n = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(range: Range<usize>, to: &str) -> Edit {
        Edit {
            file: "f".into(),
            range,
            replacement: to.into(),
            component: "c".into(),
            field: "memory_mb".into(),
            description: String::new(),
        }
    }

    #[test]
    fn edits_apply_in_offset_order_and_duplicates_once() {
        let a = edit(5..9, "768");
        let b = edit(0..1, "y");
        let text = "x = [1024]";
        assert_eq!(apply_edits("f", text, &[&a, &b, &a]).unwrap(), "y = [768]");
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let a = edit(0..5, "a");
        let b = edit(3..6, "b");
        assert!(matches!(
            apply_edits("f", "0123456789", &[&a, &b]),
            Err(IacError::Overlap { at: 3, .. })
        ));
    }

    #[test]
    fn positions_are_one_based() {
        assert_eq!(line_of("ab\ncd", 4), (2, 2));
        assert_eq!(indent_at("a\n    b = 1\n", 8), "    ");
        assert_eq!(line_end("a\nb\n", 2), 4);
    }
}

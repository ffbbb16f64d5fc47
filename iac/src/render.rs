//! Plans as text: a unified diff of every file the plan touches (what `adaptd iac
//! diff` prints and what a reviewer reads) and a summary of what was left to a person.

use std::collections::BTreeMap;
use std::fmt::Write;

use similar::TextDiff;

use crate::model::{FileChange, Plan, SuggestionKind};

/// A unified diff of `changes` in git's format (`diff --git`, `--- a/PATH`, `+++
/// b/PATH`, three lines of context), which `git apply` and `patch -p1` accept; created
/// files come from `/dev/null`, deleted ones go to it.
pub fn unified_diff(changes: &BTreeMap<String, FileChange>) -> String {
    let mut out = String::new();
    for (path, c) in changes {
        let before = c.before.as_deref().unwrap_or("");
        let after = c.after.as_deref().unwrap_or("");
        if before == after && c.before.is_some() == c.after.is_some() {
            continue;
        }
        let old = if c.before.is_some() {
            format!("a/{path}")
        } else {
            "/dev/null".to_owned()
        };
        let new = if c.after.is_some() {
            format!("b/{path}")
        } else {
            "/dev/null".to_owned()
        };
        let diff = TextDiff::from_lines(before, after);
        // git's extended headers, so that `git apply` creates and deletes files.
        let _ = writeln!(out, "diff --git a/{path} b/{path}");
        match (&c.before, &c.after) {
            (None, Some(_)) => out.push_str("new file mode 100644\n"),
            (Some(_), None) => out.push_str("deleted file mode 100644\n"),
            _ => {}
        }
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&old, &new)
                .to_string(),
        );
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// What the plan does, per component, and every suggestion with its reason.
pub fn summary(plan: &Plan) -> String {
    let mut out = String::new();
    for c in &plan.components {
        let _ = writeln!(
            out,
            "{}: {} (saves {:.2} USD/month); {} edit(s), {} suggestion(s); found: {}",
            c.component,
            c.recommended,
            c.saving_usd_per_month,
            c.edits,
            c.suggestions,
            if c.located.is_empty() {
                "nothing".to_owned()
            } else {
                c.located.join(", ")
            }
        );
    }
    for e in &plan.edits {
        let _ = writeln!(out, "  edit {}: {}", e.component, e.description);
    }
    for g in &plan.generated {
        let _ = writeln!(out, "  write {}: {}", g.path, g.description);
    }
    for d in &plan.deleted {
        let _ = writeln!(out, "  delete {d}");
    }
    for s in &plan.suggestions {
        let kind = match s.kind {
            SuggestionKind::Manual => "manual",
            SuggestionKind::NotFound => "not found",
            SuggestionKind::Migration => "migration",
            SuggestionKind::Stateful => "stateful",
        };
        let _ = writeln!(
            out,
            "  suggest ({kind}) {} {}: {} → {}: {}",
            s.component, s.field, s.from, s.to, s.reason
        );
    }
    for n in &plan.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    out
}

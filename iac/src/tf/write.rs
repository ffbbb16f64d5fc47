//! Turning a resolved [`Origin`] into a text edit: replacing a literal, adding an
//! argument to a module call or an attribute to a resource, removing a block. Each
//! refuses, with the reason, what would change more than the one value (a shared
//! variable, a `for_each` resource, a stateful resource).

use std::ops::Range;

use hcl_edit::Span;
use hcl_edit::structure::{Block, Body};

use super::eval::{Evaled, Origin, Site, Val};
use super::{Instance, Tf};
use crate::edit::{indent_at, line_end, line_start};

/// Resource types that hold data. Their settings are never patched: changing an engine,
/// a storage size or a data setting needs a migration plan, not a diff.
pub(crate) const STATEFUL_TYPES: &[&str] = &[
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_rds_cluster_instance",
    "aws_db_parameter_group",
    "aws_rds_cluster_parameter_group",
    "aws_dynamodb_table",
    "aws_s3_bucket",
    "aws_efs_file_system",
    "aws_elasticache_cluster",
    "aws_elasticache_replication_group",
    "aws_ebs_volume",
    "aws_opensearch_domain",
    "aws_elasticsearch_domain",
    "aws_docdb_cluster",
    "aws_neptune_cluster",
    "aws_redshift_cluster",
    "aws_msk_cluster",
    "aws_sqs_queue",
];

/// A planned text change in Terraform, before it is attributed to a component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TextChange {
    pub(crate) file: usize,
    pub(crate) range: Range<usize>,
    pub(crate) text: String,
    /// How the value was reached ("var.memory set in terraform.tfvars:3").
    pub(crate) via: Vec<String>,
    /// What the code says now.
    pub(crate) was: String,
}

/// A new value for an attribute.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NewValue {
    Num(i64),
    /// A string; written as a number if the code writes this attribute as a number.
    Str(String),
}

impl NewValue {
    /// The literal, in the kind (string or number) the code already uses.
    fn literal(&self, like: Option<&Val<'_>>) -> String {
        match (self, like) {
            (NewValue::Num(n), Some(Val::Str(_))) => format!("\"{n}\""),
            (NewValue::Num(n), _) => n.to_string(),
            (NewValue::Str(s), Some(Val::Num(_))) if s.parse::<f64>().is_ok() => s.clone(),
            (NewValue::Str(s), _) => format!("\"{s}\""),
        }
    }

    pub(crate) fn text(&self) -> String {
        self.literal(None)
    }
}

impl Tf {
    /// The top-level block of `file` that contains `span`.
    fn enclosing(&self, file: usize, span: &Range<usize>) -> Option<&Block> {
        self.files[file].body.blocks().find(|b| {
            b.span()
                .is_some_and(|s| s.start <= span.start && span.end <= s.end)
        })
    }

    /// Refuses origins inside stateful resources.
    fn check_stateful(&self, file: usize, span: &Range<usize>) -> Result<(), String> {
        if let Some(b) = self.enclosing(file, span)
            && b.ident.as_str() == "resource"
            && let Some(t) = b.labels.first()
            && STATEFUL_TYPES.contains(&t.as_str())
        {
            return Err(format!(
                "the value is written in {} {}, a stateful resource; adaptd never patches \
                 databases, storage or data settings",
                t.as_str(),
                self.at(file, span.start)
            ));
        }
        Ok(())
    }

    /// The change that sets `key` of `block` (evaluated in `inst`'s scope) to `value`.
    /// `inst` tells how many instances share the block.
    pub(crate) fn set_attr(
        &self,
        inst: &Instance<'_>,
        block: &Block,
        key: &str,
        value: &NewValue,
        siblings: usize,
    ) -> Result<TextChange, String> {
        let Some(attr) = block.body.get_attribute(key) else {
            return self.insert_attr(inst, block, key, &value.text(), siblings);
        };
        let site = Site {
            file: inst.file,
            expr: &attr.value,
            scope: inst.scope.clone(),
        };
        let e = self.eval(&site);
        self.change_at(&e, value, &format!("{key} of {}", inst.address))
    }

    /// The change that writes `value` where `e` comes from.
    pub(crate) fn change_at(
        &self,
        e: &Evaled<'_>,
        value: &NewValue,
        what: &str,
    ) -> Result<TextChange, String> {
        let via = if e.via.is_empty() {
            String::new()
        } else {
            format!(" (via {})", e.via.join(", "))
        };
        if let Some(shared) = &e.shared {
            return Err(format!("{what}{via}: {shared}"));
        }
        match &e.origin {
            Origin::Literal { file, span } => {
                self.check_stateful(*file, span)?;
                match &e.val {
                    Val::Str(_) | Val::Num(_) | Val::Null => {}
                    other => {
                        return Err(format!(
                            "{what}{via} is {}, not a single value",
                            other.describe()
                        ));
                    }
                }
                Ok(TextChange {
                    file: *file,
                    range: span.clone(),
                    text: value.literal(Some(&e.val)),
                    via: e.via.clone(),
                    was: e.val.describe(),
                })
            }
            Origin::Argument { file, call, key } => {
                let text = &self.files[*file].text;
                let block = self.files[*file]
                    .body
                    .get_blocks("module")
                    .find(|b| b.span().as_ref() == Some(call))
                    .ok_or_else(|| format!("{what}: module call not found"))?;
                let at = insertion(text, block).ok_or_else(|| {
                    format!("{what}{via}: the module call is written on one line")
                })?;
                Ok(TextChange {
                    file: *file,
                    range: at.offset..at.offset,
                    text: at.line(key, &value.literal(Some(&e.val))),
                    via: e.via.clone(),
                    was: e.val.describe(),
                })
            }
            Origin::Computed => Err(match &e.val {
                Val::Unknown(why) => format!("{what}{via}: {why}"),
                v => format!(
                    "{what}{via} is computed ({}), not written as one literal",
                    v.describe()
                ),
            }),
        }
    }

    /// Adds `key = value` to a block that does not set it.
    fn insert_attr(
        &self,
        inst: &Instance<'_>,
        block: &Block,
        key: &str,
        value: &str,
        siblings: usize,
    ) -> Result<TextChange, String> {
        if siblings > 1 {
            return Err(format!(
                "{} does not set {key}, and adding it would change all {siblings} instances of \
                 its block",
                inst.address
            ));
        }
        let text = &self.files[inst.file].text;
        let at = insertion(text, block).ok_or_else(|| {
            format!(
                "{} is written on one line; adaptd does not reflow it",
                inst.address
            )
        })?;
        Ok(TextChange {
            file: inst.file,
            range: at.offset..at.offset,
            text: at.line(key, value),
            via: Vec::new(),
            was: "not set".to_owned(),
        })
    }

    /// Adds a nested block (its `lines`, unindented) at the end of a resource's body.
    pub(crate) fn append_block(
        &self,
        inst: &Instance<'_>,
        lines: &[&str],
    ) -> Result<TextChange, String> {
        let text = &self.files[inst.file].text;
        let span = inst.block.span().ok_or("no span")?;
        let close = span.end.saturating_sub(1);
        let start = line_start(text, close);
        if !text[start..close].trim().is_empty() {
            return Err(format!(
                "{} does not end with `}}` on a line of its own; adaptd does not reflow it",
                inst.address
            ));
        }
        let indent = format!("{}  ", &text[start..close]);
        let mut block = String::from("\n");
        for l in lines {
            block.push_str(&format!("{indent}{l}\n"));
        }
        Ok(TextChange {
            file: inst.file,
            range: start..start,
            text: block,
            via: Vec::new(),
            was: "not set".to_owned(),
        })
    }

    /// Removes a whole top-level block (with the comment lines right above it).
    pub(crate) fn remove_block(
        &self,
        inst: &Instance<'_>,
        siblings: usize,
    ) -> Result<TextChange, String> {
        if siblings > 1 {
            return Err(format!(
                "{} is one of {siblings} instances of its block; removing the block would \
                 remove them all",
                inst.address
            ));
        }
        let text = &self.files[inst.file].text;
        let span = inst.block.span().ok_or("no span")?;
        let mut start = line_start(text, span.start);
        // Comments directly above belong to the block.
        while start > 0 {
            let prev = line_start(text, start - 1);
            let line = text[prev..start].trim();
            if line.starts_with('#') || line.starts_with("//") {
                start = prev;
            } else {
                break;
            }
        }
        let mut end = line_end(text, span.end.saturating_sub(1));
        // Drop one of the blank lines that separated it from its neighbours.
        if text[end..].starts_with('\n') && (start == 0 || text[..start].ends_with("\n\n")) {
            end += 1;
        }
        Ok(TextChange {
            file: inst.file,
            range: start..end,
            text: String::new(),
            via: Vec::new(),
            was: format!("{}, now removed", inst.address),
        })
    }
}

/// Where a new attribute line goes in a block, and how to indent and align it.
struct Insertion {
    offset: usize,
    indent: String,
    /// Width the keys of the attribute group above are padded to (`terraform fmt`).
    key_width: usize,
}

impl Insertion {
    fn line(&self, key: &str, value: &str) -> String {
        let pad = self.key_width.saturating_sub(key.len());
        format!("{}{key}{} = {value}\n", self.indent, " ".repeat(pad))
    }
}

/// After the last attribute of `block`'s body (attributes come before nested blocks in
/// Terraform's style), or after the opening brace.
fn insertion(text: &str, block: &Block) -> Option<Insertion> {
    let span = block.span()?;
    let open = span.start + text[span.clone()].find('{')?;
    let close = span.end.checked_sub(1)?;
    if !text[open..close].contains('\n') {
        return None;
    }
    let body: &Body = &block.body;
    let last = body
        .attributes()
        .filter_map(|a| a.span())
        .max_by_key(|s| s.end);
    let (offset, indent) = match &last {
        Some(s) => (
            line_end(text, s.end.saturating_sub(1)),
            indent_at(text, s.start).to_owned(),
        ),
        None => {
            let first = body.iter().find_map(|s| s.span());
            let indent = match first {
                Some(s) => indent_at(text, s.start).to_owned(),
                None => format!("{}  ", indent_at(text, span.start)),
            };
            (line_end(text, open), indent)
        }
    };
    let key_width = last
        .and_then(|s| {
            let line = &text[line_start(text, s.start)..line_end(text, s.start)];
            let eq = line.find('=')?;
            let key_part = line[..eq].strip_suffix(' ')?;
            key_part.len().checked_sub(indent.len())
        })
        .unwrap_or(0);
    Some(Insertion {
        offset,
        indent,
        key_width,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_attribute_is_aligned_with_the_group_above() {
        let text = "resource \"a\" \"b\" {\n  name   = \"x\"\n  memory = 1\n\n  tags {\n  }\n}\n";
        let body = hcl_edit::parser::parse_body(text).unwrap();
        let block = body.blocks().next().unwrap();
        let at = insertion(text, block).unwrap();
        assert_eq!(at.line("arch", "2"), "  arch   = 2\n");
        assert_eq!(&text[at.offset..at.offset + 1], "\n");
    }

    #[test]
    fn spans_are_bytes_after_multibyte_comments() {
        let text = "# Grüße → ☃\nresource \"a\" \"b\" {\n  memory_size = 1024 # ≥ 1 GB\n}\n";
        let body = hcl_edit::parser::parse_body(text).unwrap();
        let block = body.blocks().next().unwrap();
        let span = block
            .body
            .get_attribute("memory_size")
            .unwrap()
            .value
            .span()
            .unwrap();
        assert_eq!(&text[span], "1024");
    }

    #[test]
    fn one_line_blocks_are_not_reflowed() {
        let text = "module \"m\" { source = \"./m\" }\n";
        let body = hcl_edit::parser::parse_body(text).unwrap();
        assert!(insertion(text, body.blocks().next().unwrap()).is_none());
    }
}

//! Text changes in YAML and JSON at node spans: replace a scalar, add or remove a
//! mapping entry, in the style (block or flow, quoted or not) the document uses.

use std::ops::Range;

use super::tree::Node;
use crate::edit::{indent_at, line_end, line_start};

/// A replacement of `range` by `text`; `via` says how it was reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) range: Range<usize>,
    pub(crate) text: String,
    pub(crate) via: String,
}

/// A value to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A number or a bare word.
    Plain(String),
    /// A string.
    Str(String),
    /// A list of strings.
    List(Vec<String>),
    /// A mapping of plain values.
    Map(Vec<(String, String)>),
}

impl Value {
    fn json(&self) -> String {
        match self {
            Value::Plain(v) => v.clone(),
            Value::Str(s) => format!("\"{s}\""),
            Value::List(items) => {
                let parts: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
                format!("[{}]", parts.join(", "))
            }
            Value::Map(entries) => {
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("\"{k}\": {v}"))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
        }
    }

    fn yaml_flow(&self) -> String {
        match self {
            Value::Plain(v) | Value::Str(v) => v.clone(),
            Value::List(items) => format!("[{}]", items.join(", ")),
            Value::Map(entries) => {
                let parts: Vec<String> = entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", parts.join(", "))
            }
        }
    }

    /// Block YAML lines for `key` at `indent`.
    fn yaml_block(&self, key: &str, indent: &str) -> String {
        match self {
            Value::Map(entries) => {
                let mut s = format!("{indent}{key}:\n");
                for (k, v) in entries {
                    s.push_str(&format!("{indent}  {k}: {v}\n"));
                }
                s
            }
            Value::List(items) => {
                let mut s = format!("{indent}{key}:\n");
                for i in items {
                    s.push_str(&format!("{indent}  - {i}\n"));
                }
                s
            }
            v => format!("{indent}{key}: {}\n", v.yaml_flow()),
        }
    }
}

/// Replaces a scalar, keeping its quotes if it had them.
pub(crate) fn replace_scalar(
    text: &str,
    node: &Node,
    value: &str,
    quoted: bool,
) -> Result<Change, String> {
    let span = node.span.clone();
    let original = &text[span.clone()];
    let q = original
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')
        .unwrap_or('"');
    let new = if quoted {
        format!("{q}{value}{q}")
    } else {
        value.to_owned()
    };
    Ok(Change {
        range: span,
        text: new,
        via: String::new(),
    })
}

/// Adds `key: value` to `map` (after its last entry in block style, first in flow style).
pub(crate) fn insert_entry(
    text: &str,
    map: &Node,
    key: &str,
    v: &Value,
    json: bool,
) -> Result<Change, String> {
    let entries = map.entries();
    if map.flow || json {
        let rendered = if json {
            format!("\"{key}\": {}", v.json())
        } else {
            format!("{key}: {}", v.yaml_flow())
        };
        let Some((first, _)) = entries.first() else {
            let open = map.span.start + 1;
            return Ok(Change {
                range: open..open,
                text: rendered,
                via: String::new(),
            });
        };
        let at = first.span.start;
        let multiline = text[map.span.start..at].contains('\n');
        let sep = if multiline {
            format!(",\n{}", indent_at(text, at))
        } else {
            ", ".to_owned()
        };
        return Ok(Change {
            range: at..at,
            text: format!("{rendered}{sep}"),
            via: String::new(),
        });
    }
    let Some((first, _)) = entries.first() else {
        return Err("the mapping is empty; adaptd does not guess its indentation".to_owned());
    };
    let (_, last) = entries.last().ok_or("empty mapping")?;
    let indent = indent_at(text, first.span.start).to_owned();
    let at = line_end(text, last.span.end.saturating_sub(1));
    let mut lines = v.yaml_block(key, &indent);
    if at == text.len() && !text.ends_with('\n') {
        lines.insert(0, '\n');
    }
    Ok(Change {
        range: at..at,
        text: lines,
        via: String::new(),
    })
}

/// Removes `key` and its value from `map`.
pub(crate) fn remove_entry(
    text: &str,
    map: &Node,
    key: &str,
    json: bool,
) -> Result<Change, String> {
    let entries = map.entries();
    let i = entries
        .iter()
        .position(|(k, _)| k.scalar() == Some(key))
        .ok_or_else(|| format!("{key} is not set"))?;
    let (k, v) = &entries[i];
    let range = if map.flow || json {
        match (entries.get(i + 1), i.checked_sub(1).map(|p| &entries[p])) {
            (Some((next, _)), _) => k.span.start..next.span.start,
            (None, Some((_, prev))) => prev.span.end..v.span.end,
            (None, None) => k.span.start..v.span.end,
        }
    } else {
        line_start(text, k.span.start)..line_end(text, v.span.end.saturating_sub(1))
    };
    Ok(Change {
        range,
        text: String::new(),
        via: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tree::parse;
    use super::*;

    fn apply(text: &str, c: &Change) -> String {
        format!(
            "{}{}{}",
            &text[..c.range.start],
            c.text,
            &text[c.range.end..]
        )
    }

    #[test]
    fn block_yaml_gets_a_nested_entry_at_the_mapping_indent() {
        let text = "P:\n  A: 1 # keep\n  B: x\nQ: 2\n";
        let root = parse(text).unwrap().unwrap();
        let v = Value::Map(vec![("N".into(), "3".into())]);
        let c = insert_entry(text, root.get("P").unwrap(), "C", &v, false).unwrap();
        assert_eq!(
            apply(text, &c),
            "P:\n  A: 1 # keep\n  B: x\n  C:\n    N: 3\nQ: 2\n"
        );
    }

    #[test]
    fn json_gets_an_entry_before_the_first_key_with_its_indent() {
        let text = "{\n  \"P\": {\n    \"A\": 1\n  }\n}\n";
        let root = parse(text).unwrap().unwrap();
        let c = insert_entry(
            text,
            root.get("P").unwrap(),
            "C",
            &Value::List(vec!["arm64".into()]),
            true,
        )
        .unwrap();
        assert_eq!(
            apply(text, &c),
            "{\n  \"P\": {\n    \"C\": [\"arm64\"],\n    \"A\": 1\n  }\n}\n"
        );
    }

    #[test]
    fn removal_takes_the_lines_or_the_comma() {
        let text = "P:\n  A: 1\n  C:\n    N: 3\n  B: 2\n";
        let root = parse(text).unwrap().unwrap();
        let c = remove_entry(text, root.get("P").unwrap(), "C", false).unwrap();
        assert_eq!(apply(text, &c), "P:\n  A: 1\n  B: 2\n");
        let json = r#"{"P": {"A": 1, "C": {"N": 3}}}"#;
        let root = parse(json).unwrap().unwrap();
        let c = remove_entry(json, root.get("P").unwrap(), "C", true).unwrap();
        assert_eq!(apply(json, &c), r#"{"P": {"A": 1}}"#);
    }

    #[test]
    fn quoted_scalars_keep_their_quotes() {
        let text = "A: '1024'\n";
        let root = parse(text).unwrap().unwrap();
        let c = replace_scalar(text, root.get("A").unwrap(), "768", true).unwrap();
        assert_eq!(apply(text, &c), "A: '768'\n");
    }
}

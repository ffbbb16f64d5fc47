//! A YAML or JSON document as a tree of nodes that know their byte spans, so that a
//! value can be replaced in the text without re-serialising the document (which would
//! lose YAML comments and the author's layout).

use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A node and where it is written.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    /// Bytes of the node, tag included (`!Ref X`).
    pub(crate) span: Range<usize>,
    /// Whether a mapping or sequence is written in flow style (`{…}`, `[…]`).
    pub(crate) flow: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Scalar {
        value: String,
        /// The tag's suffix (`Ref` for `!Ref`), if any.
        tag: Option<String>,
        quoted: bool,
    },
    Map(Vec<(Node, Node)>),
    Seq(Vec<Node>),
}

impl Node {
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    pub(crate) fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    pub(crate) fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            Kind::Map(e) => e,
            _ => &[],
        }
    }

    /// The value of an untagged scalar.
    pub(crate) fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar {
                value, tag: None, ..
            } => Some(value),
            _ => None,
        }
    }

    /// `(tag, value)` of a tagged scalar (`!Ref Memory` → `("Ref", "Memory")`), or of the
    /// JSON form `{"Ref": "Memory"}`.
    pub(crate) fn intrinsic(&self) -> Option<(&str, &Node)> {
        match &self.kind {
            Kind::Scalar { tag: Some(t), .. } => Some((t, self)),
            Kind::Map(e) if e.len() == 1 => {
                let k = e[0].0.scalar()?;
                let name = k.strip_prefix("Fn::").unwrap_or(k);
                (k == "Ref" || k.starts_with("Fn::")).then_some((name, &e[0].1))
            }
            _ => None,
        }
    }

    pub(crate) fn is_quoted(&self) -> bool {
        matches!(self.kind, Kind::Scalar { quoted: true, .. })
    }
}

/// Parses `text`; `Err((byte offset, message))` on a syntax error.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, (usize, String)> {
    // saphyr counts characters; edits need bytes.
    let bytes: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let at = |chars: usize| bytes.get(chars).copied().unwrap_or(text.len());
    let mut events = Vec::new();
    for ev in Parser::new_from_str(text) {
        match ev {
            Ok((e, span)) => events.push((e, at(span.start.index())..at(span.end.index()))),
            Err(e) => return Err((at(e.marker().index()), e.info().to_owned())),
        }
    }
    let mut it = events.into_iter().peekable();
    while let Some((e, _)) = it.peek() {
        if matches!(e, Event::StreamStart | Event::DocumentStart(_)) {
            it.next();
        } else {
            break;
        }
    }
    if matches!(
        it.peek(),
        None | Some((Event::StreamEnd | Event::DocumentEnd, _))
    ) {
        return Ok(None);
    }
    node(&mut it, text).map(Some)
}

type Events<'t> = std::iter::Peekable<std::vec::IntoIter<(Event<'t>, Range<usize>)>>;

fn node(it: &mut Events<'_>, text: &str) -> Result<Node, (usize, String)> {
    let Some((ev, span)) = it.next() else {
        return Err((text.len(), "unexpected end of document".to_owned()));
    };
    match ev {
        Event::Scalar(value, style, _, tag) => Ok(Node {
            kind: Kind::Scalar {
                value: value.into_owned(),
                tag: tag.map(|t| t.suffix.clone()),
                quoted: !matches!(style, ScalarStyle::Plain),
            },
            span,
            flow: false,
        }),
        Event::MappingStart(..) => {
            let flow = text[span.clone()].starts_with('{');
            let mut entries = Vec::new();
            let mut end = span.end;
            loop {
                if let Some((Event::MappingEnd, s)) = it.peek() {
                    if flow {
                        end = s.end;
                    }
                    it.next();
                    break;
                }
                let k = node(it, text)?;
                let v = node(it, text)?;
                end = end.max(v.span.end);
                entries.push((k, v));
            }
            let start = entries
                .first()
                .map_or(span.start, |(k, _)| k.span.start.min(span.start));
            Ok(Node {
                kind: Kind::Map(entries),
                span: start..end,
                flow,
            })
        }
        Event::SequenceStart(..) => {
            let flow = text[span.clone()].starts_with('[');
            let mut items = Vec::new();
            let mut end = span.end;
            loop {
                if let Some((Event::SequenceEnd, s)) = it.peek() {
                    if flow {
                        end = s.end;
                    }
                    it.next();
                    break;
                }
                let n = node(it, text)?;
                end = end.max(n.span.end);
                items.push(n);
            }
            Ok(Node {
                kind: Kind::Seq(items),
                span: span.start..end,
                flow,
            })
        }
        Event::Alias(_) => Ok(Node {
            kind: Kind::Scalar {
                value: String::new(),
                tag: Some("alias".to_owned()),
                quoted: false,
            },
            span,
            flow: false,
        }),
        other => Err((span.start, format!("unexpected {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_values_and_tags_in_yaml() {
        let text = "R:\n  F:\n    Size: 1024 # c\n    Name: !Ref N\n    L: [a, b]\n";
        let root = parse(text).unwrap().unwrap();
        let f = root.get("R").unwrap().get("F").unwrap();
        assert_eq!(&text[f.get("Size").unwrap().span.clone()], "1024");
        let name = f.get("Name").unwrap();
        assert_eq!(&text[name.span.clone()], "!Ref N");
        assert_eq!(name.intrinsic().map(|(t, _)| t), Some("Ref"));
        assert_eq!(&text[f.get("L").unwrap().span.clone()], "[a, b]");
    }

    #[test]
    fn spans_are_bytes_even_after_multibyte_text() {
        let text = "# Grüße\nA: \"é\"\nB: 1\n";
        let root = parse(text).unwrap().unwrap();
        assert_eq!(&text[root.get("B").unwrap().span.clone()], "1");
    }

    #[test]
    fn json_documents_parse_with_intrinsics() {
        let text = r#"{"A": {"Ref": "M"}, "B": 2}"#;
        let root = parse(text).unwrap().unwrap();
        let (t, v) = root.get("A").unwrap().intrinsic().unwrap();
        assert_eq!((t, v.scalar()), ("Ref", Some("M")));
        assert!(root.flow);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let (at, _) = parse("A: [1, 2\nB: 3\n").unwrap_err();
        assert!(at > 0);
    }
}

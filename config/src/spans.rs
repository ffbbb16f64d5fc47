//! Positions: dotted field paths, the index from a path to its line and column, and
//! the search from a byte span (of a serde error) back to the path it falls in.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A 1-based line and column (in characters).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub col: usize,
}

/// Converts byte offsets of one text to line and column.
#[derive(Clone, Debug)]
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    pub(crate) fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Pos {
            line: line + 1,
            col: col + 1,
        }
    }
}

/// One step of a path into a TOML document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// `parent.key`, quoting keys that are not bare TOML keys.
pub(crate) fn join(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_owned()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[i]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// The path of `segs` as text.
pub(crate) fn render(segs: &[Seg]) -> String {
    segs.iter().fold(String::new(), |p, s| match s {
        Seg::Key(k) => join(&p, k),
        Seg::Index(i) => index(&p, *i),
    })
}

/// The path without its last step (`a.b[2]` → `a.b` → `a`), or `None` at the root.
pub(crate) fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let bytes = path.as_bytes();
    let mut in_quotes = false;
    let mut cut = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            b'.' | b'[' if !in_quotes => cut = i,
            _ => {}
        }
        i += 1;
    }
    Some(&path[..cut])
}

/// Whether `path` is `ancestor` or lies under it.
pub(crate) fn is_within(path: &str, ancestor: &str) -> bool {
    ancestor.is_empty()
        || path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// Where every key and value of a document is.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpanIndex {
    /// Path → positions of the key and of the value (both of the header, for a
    /// `[[array]]` element; of the element, for an inline array's).
    entries: BTreeMap<String, (Pos, Pos)>,
}

impl SpanIndex {
    pub(crate) fn build(root: &DeTable<'_>, lines: &Lines<'_>) -> Self {
        let mut index = Self::default();
        index.walk_table(root, "", lines);
        index
    }

    fn walk_table(&mut self, table: &DeTable<'_>, path: &str, lines: &Lines<'_>) {
        for (k, v) in table {
            let p = join(path, k.get_ref());
            let key = lines.pos(k.span().start);
            self.entries
                .insert(p.clone(), (key, lines.pos(v.span().start)));
            self.walk_value(v, &p, lines);
        }
    }

    fn walk_value(&mut self, v: &Spanned<DeValue<'_>>, path: &str, lines: &Lines<'_>) {
        match v.get_ref() {
            DeValue::Table(t) => self.walk_table(t, path, lines),
            DeValue::Array(a) => {
                for (i, e) in a.iter().enumerate() {
                    let p = index(path, i);
                    let pos = lines.pos(e.span().start);
                    self.entries.insert(p.clone(), (pos, pos));
                    self.walk_value(e, &p, lines);
                }
            }
            _ => {}
        }
    }

    /// Whether the document has this exact path.
    pub(crate) fn has(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// Position of the value at `path`, or of its nearest present ancestor.
    pub(crate) fn value_pos(&self, path: &str) -> Pos {
        self.lookup(path).1
    }

    /// Position of the key at `path`, or of its nearest present ancestor's value.
    pub(crate) fn key_pos(&self, path: &str) -> Pos {
        match self.entries.get(path) {
            Some(&(key, _)) => key,
            None => self.value_pos(path),
        }
    }

    fn lookup(&self, mut path: &str) -> (Pos, Pos) {
        loop {
            if let Some(&e) = self.entries.get(path) {
                return e;
            }
            match parent(path) {
                Some(p) => path = p,
                None => return (Pos { line: 1, col: 1 }, Pos { line: 1, col: 1 }),
            }
        }
    }
}

/// The deepest key, value or array element of `root` whose span contains `span`.
pub(crate) fn locate(root: &DeTable<'_>, span: &Range<usize>) -> Option<Vec<Seg>> {
    let mut best: Option<Vec<Seg>> = None;
    let mut segs = Vec::new();
    locate_table(root, span, &mut segs, &mut best);
    best
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer.start < outer.end
}

fn consider(segs: &[Seg], best: &mut Option<Vec<Seg>>) {
    if best.as_ref().is_none_or(|b| segs.len() > b.len()) {
        *best = Some(segs.to_vec());
    }
}

fn locate_table(
    t: &DeTable<'_>,
    span: &Range<usize>,
    segs: &mut Vec<Seg>,
    best: &mut Option<Vec<Seg>>,
) {
    for (k, v) in t {
        segs.push(Seg::Key(k.get_ref().to_string()));
        if contains(&k.span(), span) || contains(&v.span(), span) {
            consider(segs, best);
        }
        locate_value(v, span, segs, best);
        segs.pop();
    }
}

fn locate_value(
    v: &Spanned<DeValue<'_>>,
    span: &Range<usize>,
    segs: &mut Vec<Seg>,
    best: &mut Option<Vec<Seg>>,
) {
    match v.get_ref() {
        DeValue::Table(t) => locate_table(t, span, segs, best),
        DeValue::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                segs.push(Seg::Index(i));
                if contains(&e.span(), span) {
                    consider(segs, best);
                }
                locate_value(e, span, segs, best);
                segs.pop();
            }
        }
        _ => {}
    }
}

/// Removes the entry at `segs`, or the array that holds it: array elements are never
/// removed, so that the indices of later errors stay those of the file.
pub(crate) fn remove(root: &mut DeTable<'_>, segs: &[Seg]) -> bool {
    let end = segs
        .iter()
        .rposition(|s| matches!(s, Seg::Key(_)))
        .map_or(0, |i| i + 1);
    remove_in_table(root, &segs[..end])
}

fn remove_in_table(t: &mut DeTable<'_>, segs: &[Seg]) -> bool {
    match segs {
        [Seg::Key(k)] => {
            let key = t.keys().find(|key| key.get_ref() == k).cloned();
            key.is_some_and(|key| t.remove(&key).is_some())
        }
        [Seg::Key(k), rest @ ..] => table_get(t, k).is_some_and(|v| remove_in_value(v, rest)),
        _ => false,
    }
}

fn remove_in_value(v: &mut Spanned<DeValue<'_>>, segs: &[Seg]) -> bool {
    match (v.get_mut(), segs.first()) {
        (DeValue::Table(t), _) => remove_in_table(t, segs),
        (DeValue::Array(a), Some(Seg::Index(i))) => a
            .get_mut(*i)
            .is_some_and(|e| remove_in_value(e, &segs[1..])),
        _ => false,
    }
}

/// The value at `segs`, if there is one.
pub(crate) fn value_at<'d, 'i>(root: &'d DeTable<'i>, segs: &[Seg]) -> Option<&'d DeValue<'i>> {
    let (first, rest) = segs.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut v = root.iter().find(|(key, _)| key.get_ref() == k)?.1.get_ref();
    for s in rest {
        v = match (v, s) {
            (DeValue::Table(t), Seg::Key(k)) => t.iter().find(|(key, _)| key.get_ref() == k)?.1,
            (DeValue::Array(a), Seg::Index(i)) => a.get(*i)?,
            _ => return None,
        }
        .get_ref();
    }
    Some(v)
}

fn table_get<'t, 'i>(t: &'t mut DeTable<'i>, key: &str) -> Option<&'t mut Spanned<DeValue<'i>>> {
    t.iter_mut()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_and_split() {
        let p = join(&index("components", 2), "slo");
        assert_eq!(join(&p, "p99_ms"), "components[2].slo.p99_ms");
        let q = join("prices.overrides", "lambda.x");
        assert_eq!(q, "prices.overrides.\"lambda.x\"");
        assert_eq!(parent(&q), Some("prices.overrides"));
        assert_eq!(parent("components[2].slo"), Some("components[2]"));
        assert_eq!(parent("components[2]"), Some("components"));
        assert_eq!(parent("components"), Some(""));
        assert_eq!(parent(""), None);
        assert!(is_within("components[2].slo", "components[2]"));
        assert!(!is_within("components[20]", "components[2]"));
    }

    #[test]
    fn lines_count_characters() {
        let l = Lines::new("a = 1\n# é\nbé = 2\n");
        assert_eq!(l.pos(0), Pos { line: 1, col: 1 });
        assert_eq!(l.pos(6), Pos { line: 2, col: 1 });
        let b = "a = 1\n# é\nbé = 2\n".find('=').unwrap();
        assert_eq!(l.pos(b), Pos { line: 1, col: 3 });
        let second = "a = 1\n# é\nbé = 2\n".rfind('=').unwrap();
        assert_eq!(l.pos(second), Pos { line: 3, col: 4 });
    }

    #[test]
    fn spans_locate_the_deepest_entry_and_remove_it() {
        let text = "[[c]]\nname = \"a\"\ncur = { m = 1, s = [1, 2] }\n[[c]]\nname = 2\n";
        let mut doc = DeTable::parse(text).unwrap().into_inner();
        let s = text.find("2]").unwrap();
        let segs = locate(&doc, &(s..s + 1)).unwrap();
        assert_eq!(render(&segs), "c[0].cur.s[1]");
        assert!(remove(&mut doc, &segs));
        let cur = doc.get("c").unwrap().get_ref().get(0).unwrap();
        let cur = cur.get_ref().get("cur").unwrap().get_ref();
        assert!(cur.get("s").is_none() && cur.get("m").is_some());
        let s = text.rfind('2').unwrap();
        assert_eq!(render(&locate(&doc, &(s..s + 1)).unwrap()), "c[1].name");
        let index = SpanIndex::build(&doc, &Lines::new(text));
        assert_eq!(index.value_pos("c[1].name"), Pos { line: 5, col: 8 });
        assert_eq!(index.value_pos("c[1].missing"), Pos { line: 4, col: 1 });
    }
}

//! CSV records with exact line numbers.
//!
//! Error messages point at `file:line`, so the line must be the one a text editor
//! shows. The `csv` crate reports where it *started* reading a record, which is off
//! after comment lines, blank lines and CRLF line ends; this reader is small, counts
//! lines itself and follows RFC 4180 otherwise: `,` separates fields, `"` quotes a
//! field (`""` inside is a quote) that may then contain commas and line breaks.
//! Whitespace around a field is ignored; inside quotes it is kept, so a writer can
//! preserve it by quoting.

use std::io::{self, BufRead};

/// A reader of records from buffered text.
#[derive(Debug)]
pub(crate) struct Records<R> {
    input: R,
    /// Skip lines starting with `#` (outside quoted fields).
    comments: bool,
    line: u64,
    raw: Vec<u8>,
    fields: Vec<u8>,
    bounds: Vec<(usize, usize)>,
}

/// One record, borrowed from the reader until the next call.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// Line the record starts on, 1-based.
    pub line: u64,
    /// What makes the record unreadable, if anything.
    pub malformed: Option<&'static str>,
    fields: &'a [u8],
    bounds: &'a [(usize, usize)],
}

impl Record<'_> {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Field `i`'s bytes (unquoted, trimmed).
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        let (a, b) = self.bounds[i];
        &self.fields[a..b]
    }

    /// All fields as text, replacing invalid UTF-8.
    pub(crate) fn to_strings(&self) -> Vec<String> {
        (0..self.len())
            .map(|i| String::from_utf8_lossy(self.get(i)).into_owned())
            .collect()
    }
}

const BOM: &[u8] = "\u{feff}".as_bytes();

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

impl<R: BufRead> Records<R> {
    pub(crate) fn new(input: R, comments: bool) -> Self {
        Self {
            input,
            comments,
            line: 0,
            raw: Vec::with_capacity(256),
            fields: Vec::with_capacity(256),
            bounds: Vec::with_capacity(8),
        }
    }

    /// The next record, skipping blank lines (and comments if enabled).
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Record<'_>>> {
        let start = loop {
            self.raw.clear();
            if self.input.read_until(b'\n', &mut self.raw)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            // Spreadsheets often start a UTF-8 file with a byte-order mark.
            if self.line == 1 && self.raw.starts_with(BOM) {
                self.raw.drain(..BOM.len());
            }
            let skip = self
                .raw
                .iter()
                .all(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                || (self.comments && self.raw.first() == Some(&b'#'));
            if !skip {
                break self.line;
            }
        };
        let mut malformed = None;
        let bad_quote = loop {
            match self.split() {
                Split::Done(problem) => break problem,
                // A quoted field runs on: its line break is part of the value.
                Split::OpenQuote => {
                    if self.input.read_until(b'\n', &mut self.raw)? == 0 {
                        malformed = Some("a quoted field is not closed before the end of the file");
                        break None;
                    }
                    self.line += 1;
                }
            }
        };
        Ok(Some(Record {
            line: start,
            malformed: malformed.or(bad_quote),
            fields: &self.fields,
            bounds: &self.bounds,
        }))
    }

    /// Splits `raw` (one or more lines, line break included) into fields.
    fn split(&mut self) -> Split {
        self.fields.clear();
        self.bounds.clear();
        let raw = &self.raw;
        let mut body_end = raw.len();
        while body_end > 0 && matches!(raw[body_end - 1], b'\n' | b'\r') {
            body_end -= 1;
        }
        let mut problem = None;
        let mut i = 0;
        loop {
            while i < body_end && is_blank(raw[i]) {
                i += 1;
            }
            let begin = self.fields.len();
            if i < body_end && raw[i] == b'"' {
                i += 1;
                loop {
                    match raw.get(i) {
                        None => return Split::OpenQuote,
                        Some(b'"') if raw.get(i + 1) == Some(&b'"') => {
                            self.fields.push(b'"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&b) => {
                            self.fields.push(b);
                            i += 1;
                        }
                    }
                }
                while i < body_end && is_blank(raw[i]) {
                    i += 1;
                }
                if i < body_end && raw[i] != b',' {
                    problem = Some("unexpected text after a closing quote");
                    while i < body_end && raw[i] != b',' {
                        i += 1;
                    }
                }
            } else {
                let end = raw[i..body_end]
                    .iter()
                    .position(|&b| b == b',')
                    .map_or(body_end, |p| i + p);
                let mut field = &raw[i..end];
                while let [rest @ .., last] = field
                    && is_blank(*last)
                {
                    field = rest;
                }
                self.fields.extend_from_slice(field);
                i = end;
            }
            self.bounds.push((begin, self.fields.len()));
            if i >= body_end {
                return Split::Done(problem);
            }
            i += 1; // the comma
        }
    }
}

enum Split {
    Done(Option<&'static str>),
    OpenQuote,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str, comments: bool) -> Vec<(u64, Vec<String>, Option<&'static str>)> {
        let mut r = Records::new(text.as_bytes(), comments);
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push((rec.line, rec.to_strings(), rec.malformed));
        }
        out
    }

    #[test]
    fn lines_count_comments_blanks_crlf_and_quoted_breaks() {
        let text = "\u{feff}h1, h2 \r\n# c\r\n\r\na,b\r\n\"x\r\ny\",z\r\n# c2\r\nc,\"d \"\"q\"\" \"\r\n,\n";
        let got = all(text, true);
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (1, s(&["h1", "h2"]), None),
                (4, s(&["a", "b"]), None),
                (5, s(&["x\r\ny", "z"]), None),
                (8, s(&["c", "d \"q\" "]), None),
                (9, s(&["", ""]), None),
            ]
        );
    }

    #[test]
    fn comments_only_when_asked_and_broken_quotes_are_flagged() {
        assert_eq!(all("#a,b\n", false)[0].1, ["#a", "b"]);
        assert!(all("#a,b\n", true).is_empty());
        let got = all("a,\"b\"c,d\n", false);
        assert_eq!(got[0].2, Some("unexpected text after a closing quote"));
        assert_eq!(
            all("a\"b,c\nd\n", false)[1].1,
            ["d"],
            "a stray quote is literal"
        );
        let got = all("a,\"b\nc\n", false);
        assert_eq!(got[0].0, 1);
        assert!(got[0].2.unwrap().contains("not closed"));
    }
}

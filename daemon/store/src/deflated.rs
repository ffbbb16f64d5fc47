//! Text held deflated in memory: a cycle over thousands of components holds the
//! document of every new version until it commits them in one transaction, and a
//! document (~12 KB of JSON, most of it the 24 hourly predictions) deflates about
//! fivefold. The database still gets plain text.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

/// Deflates `bytes` (the default level: a tenth smaller than the fastest on
/// recommendation documents, for well under a millisecond each).
pub fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut z = DeflateEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(bytes);
    z.finish().unwrap_or_default()
}

/// Inflates what [`deflate`] made.
pub fn inflate(deflated: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(deflated.len() * 6);
    DeflateDecoder::new(deflated).read_to_end(&mut out)?;
    Ok(out)
}

/// UTF-8 text, deflated.
#[derive(Clone, PartialEq, Eq)]
pub struct Deflated(Vec<u8>);

impl Deflated {
    /// Deflates `text`.
    pub fn new(text: &str) -> Self {
        Self(deflate(text.as_bytes()))
    }

    /// The text again.
    pub fn text(&self) -> String {
        // Only `new` makes one, from a `str`: it inflates, and to UTF-8.
        inflate(&self.0)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Bytes held.
    pub fn deflated_len(&self) -> usize {
        self.0.len()
    }
}

impl From<&str> for Deflated {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl std::fmt::Debug for Deflated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Deflated({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_comes_back_whole_and_smaller() {
        let text = serde_json::json!({
            "hours": (0..24).map(|h| serde_json::json!({"hour": h, "p99_ms": 120.5, "provisioned": 3}))
                .collect::<Vec<_>>()
        })
        .to_string();
        let d = Deflated::new(&text);
        assert_eq!(d.text(), text);
        assert!(
            d.deflated_len() * 4 < text.len(),
            "{} of {}",
            d.deflated_len(),
            text.len()
        );
        assert_eq!(Deflated::new("").text(), "");
    }
}

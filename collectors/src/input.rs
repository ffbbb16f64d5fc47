//! Opening input files, compressed or not.
//!
//! Exports are often gzipped, and whether a file is compressed is decided by its first
//! two bytes rather than its name, so a `.csv` that is really gzip (or a `.gz` that is
//! not) still reads correctly. The name only decides the *format* (see
//! [`strip_gz`]).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` for buffered reading, decompressing gzip (including multi-member files
/// as written by `cat a.gz b.gz`) when the content starts with the gzip magic number.
pub(crate) fn open(path: &Path) -> io::Result<Box<dyn BufRead>> {
    let mut file = BufReader::with_capacity(1 << 16, File::open(path)?);
    let is_gzip = file.fill_buf()?.starts_with(&GZIP_MAGIC);
    Ok(if is_gzip {
        Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    })
}

/// `bytes`, decompressed when they are gzip.
pub(crate) fn from_bytes(bytes: &[u8]) -> Box<dyn BufRead + '_> {
    if bytes.starts_with(&GZIP_MAGIC) {
        Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(bytes),
        ))
    } else {
        Box::new(bytes)
    }
}

/// Reads all of `path` (decompressed) as UTF-8 text.
pub(crate) fn read_to_string(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    open(path)?.read_to_string(&mut text)?;
    Ok(text)
}

/// The file name without a trailing `.gz`, lower-cased, for format detection.
pub(crate) fn strip_gz(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    Some(match name.strip_suffix(".gz") {
        Some(inner) => inner.to_owned(),
        None => name,
    })
}

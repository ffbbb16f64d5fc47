//! How a telemetry summary is kept in the store: its JSON, deflated, in base64.
//!
//! A day of a busy component's [`Profile`] is about 200 KB of JSON, nearly all of it
//! the per-hour active-minute cells with their field names repeated 1,440 times; a
//! store of 10,000 components × 14 days would weigh tens of gigabytes and every cycle
//! would read all of it. Deflate removes the repetition (about 11× for a busy day) without
//! losing a bit of the profile, and base64 keeps the column text, so SQLite and
//! PostgreSQL store it alike and older rows (plain JSON) still read.

use adaptd_engine::profile::Profile;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use adaptd_store::{deflate, inflate};

/// Marks a packed summary; plain JSON starts with `{`.
const PREFIX: &str = "deflate+base64:";

/// Why a stored summary cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// Not base64, or not a deflate stream.
    #[error("packed summary is damaged ({0})")]
    Damaged(String),
    /// The JSON inside is not a profile.
    #[error("summary is not a valid profile ({0})")]
    Json(#[from] serde_json::Error),
}

/// The stored form of `profile`.
pub fn pack(profile: &Profile) -> String {
    let deflated = deflate(&serde_json::to_vec(profile).unwrap_or_default());
    let mut out = String::with_capacity(PREFIX.len() + deflated.len() * 4 / 3 + 4);
    out.push_str(PREFIX);
    STANDARD.encode_string(&deflated, &mut out);
    out
}

/// A profile from its stored form (packed, or plain JSON as older versions wrote it).
pub fn unpack(stored: &str) -> Result<Profile, UnpackError> {
    let Some(b64) = stored.strip_prefix(PREFIX) else {
        return Ok(serde_json::from_str(stored)?);
    };
    let deflated = STANDARD
        .decode(b64)
        .map_err(|e| UnpackError::Damaged(e.to_string()))?;
    let json = inflate(&deflated).map_err(|e| UnpackError::Damaged(e.to_string()))?;
    Ok(serde_json::from_slice(&json)?)
}

#[cfg(test)]
mod tests {
    use adaptd_engine::profile::summarize_with;

    use super::*;

    fn shop_profiles() -> Vec<Profile> {
        let set = adaptd_collectors::file::read_bytes(
            adaptd_ops::embedded::TELEMETRY_CSV_GZ,
            "examples/telemetry.csv.gz",
        )
        .expect("the example telemetry loads");
        set.components
            .values()
            .map(|t| summarize_with(t, 10, 1.0, false))
            .collect()
    }

    #[test]
    fn packing_loses_nothing_and_saves_most() {
        let (mut json, mut packed) = (0, 0);
        for p in shop_profiles() {
            let stored = pack(&p);
            let plain = serde_json::to_string(&p).expect("it serialises");
            // Exactly what the plain JSON reads back as.
            let via_json: Profile = serde_json::from_str(&plain).expect("it parses");
            assert_eq!(
                unpack(&stored).expect("it unpacks"),
                via_json,
                "{}",
                p.component
            );
            json += plain.len();
            packed += stored.len();
        }
        assert!(
            packed * 4 < json,
            "packed {packed} bytes vs {json} bytes of JSON"
        );
    }

    #[test]
    fn plain_json_still_reads_and_damage_is_named() {
        let p = &shop_profiles()[0];
        let plain = serde_json::to_string(p).expect("it serialises");
        let via_json: Profile = serde_json::from_str(&plain).expect("it parses");
        assert_eq!(unpack(&plain).expect("plain JSON reads"), via_json);
        let err = unpack("deflate+base64:!!!").expect_err("not base64");
        assert!(err.to_string().contains("damaged"), "{err}");
        let err = unpack(&format!("{PREFIX}{}", STANDARD.encode(b"not deflate")))
            .expect_err("not deflate");
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}

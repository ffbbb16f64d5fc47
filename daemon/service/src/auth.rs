//! The bearer token of mutating endpoints, from an environment variable (read once)
//! or a file (read at each check, so a mounted secret can rotate without a
//! restart).

use std::path::PathBuf;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// Where the token comes from.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No token configured: mutations are refused.
    Disabled,
    /// A fixed token.
    Token(String),
    /// A file holding it.
    File(PathBuf),
}

/// Why a request may not mutate.
#[derive(Debug)]
pub enum Denied {
    /// No token is configured.
    NoToken,
    /// The request has no bearer token.
    Missing,
    /// The request's token is not the configured one.
    Wrong,
    /// The token file cannot be read.
    Unreadable(std::io::Error),
}

impl Auth {
    /// From `[service]`: `token_env` wins over `token_file`. An empty variable is an
    /// error rather than "no token", since it is almost always a deployment mistake.
    pub fn from_config(
        s: &adaptd_config::ServiceSection,
        base: &std::path::Path,
    ) -> Result<Auth, String> {
        if let Some(var) = &s.token_env {
            return match std::env::var(var) {
                Ok(t) if !t.trim().is_empty() => Ok(Auth::Token(t.trim().to_owned())),
                Ok(_) => Err(format!("service.token_env: ${var} is empty")),
                Err(_) => Err(format!("service.token_env: ${var} is not set")),
            };
        }
        if let Some(f) = &s.token_file {
            let path = base.join(f);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("service.token_file: {}: {e}", path.display()))?;
            return Ok(Auth::File(path));
        }
        Ok(Auth::Disabled)
    }

    /// Whether `headers` carry the token.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Denied> {
        let expected = match self {
            Auth::Disabled => return Err(Denied::NoToken),
            Auth::Token(t) => t.clone(),
            Auth::File(p) => std::fs::read_to_string(p)
                .map_err(Denied::Unreadable)?
                .trim()
                .to_owned(),
        };
        let given = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(Denied::Missing)?;
        if expected.is_empty() || !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(Denied::Wrong);
        }
        Ok(())
    }
}

/// Compares without an early exit, so response times do not reveal how much of a
/// guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn only_the_configured_token_passes() {
        let a = Auth::Token("s3cret".into());
        assert!(a.check(&headers("Bearer s3cret")).is_ok());
        assert!(matches!(
            a.check(&headers("Bearer s3cre")),
            Err(Denied::Wrong)
        ));
        assert!(matches!(
            a.check(&headers("Bearer s3cretx")),
            Err(Denied::Wrong)
        ));
        assert!(matches!(
            a.check(&headers("Basic s3cret")),
            Err(Denied::Missing)
        ));
        assert!(matches!(a.check(&HeaderMap::new()), Err(Denied::Missing)));
        assert!(matches!(
            Auth::Disabled.check(&headers("Bearer s3cret")),
            Err(Denied::NoToken)
        ));
    }

    #[test]
    fn a_token_file_is_read_at_each_check() {
        let dir = std::env::temp_dir().join(format!("adaptd-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("token");
        std::fs::write(&f, "one\n").unwrap();
        let a = Auth::File(f.clone());
        assert!(a.check(&headers("Bearer one")).is_ok());
        std::fs::write(&f, "two").unwrap();
        assert!(a.check(&headers("Bearer one")).is_err());
        assert!(a.check(&headers("Bearer two")).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

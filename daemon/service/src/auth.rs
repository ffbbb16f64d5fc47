//! The bearer tokens of mutating endpoints, each with a name: who carried it is the
//! actor of what it does. A token comes from an environment variable (read once) or
//! a file (read at each check, so a mounted secret can rotate without a restart).
//!
//! Tokens are compared in constant time: both sides are hashed (SHA-256) so that
//! their lengths do not matter, the digests compared with `subtle`, and every
//! configured token is compared, so neither the time to answer nor its variation
//! says how much of a guess was right or which token came close.

use std::path::{Path, PathBuf};

use adaptd_config::ServiceSection;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use ring::digest::{SHA256, digest};
use subtle::ConstantTimeEq;

/// The configured tokens; none means mutations are refused.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    tokens: Vec<Named>,
}

/// One token and the actor it stands for.
#[derive(Clone)]
struct Named {
    actor: String,
    secret: Secret,
}

/// Where a token's value is.
#[derive(Clone)]
enum Secret {
    Value(String),
    File(PathBuf),
}

/// Neither the value nor the file's contents: tokens stay out of logs and panics.
impl std::fmt::Debug for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from = match &self.secret {
            Secret::Value(_) => "environment".to_owned(),
            Secret::File(p) => p.display().to_string(),
        };
        f.debug_struct("Named")
            .field("actor", &self.actor)
            .field("from", &from)
            .finish()
    }
}

/// Why a request may not mutate.
#[derive(Debug)]
pub enum Denied {
    /// No token is configured.
    NoToken,
    /// The request has no bearer token.
    Missing,
    /// The request's token is none of the configured ones.
    Wrong,
    /// A token file cannot be read (and no readable token matched).
    Unreadable(std::io::Error),
}

/// The actor of the shared token (`service.token_env`, `service.token_file`), as
/// before tokens had names.
const SHARED_ACTOR: &str = "api";

impl Auth {
    /// From `[service]`: the named tokens, and the shared one (`token_env` winning
    /// over `token_file`). A variable that is unset or empty is an error rather than
    /// "no token", since it is almost always a deployment mistake; so are two tokens
    /// with one value, whose actor would be ambiguous.
    pub fn from_config(s: &ServiceSection, base: &Path) -> Result<Auth, String> {
        let mut tokens = Vec::new();
        let shared = match (&s.token_env, &s.token_file) {
            (Some(var), _) => Some(from_env(var, "service.token_env")?),
            (None, Some(f)) => Some(from_file(base, f, "service.token_file")?),
            (None, None) => None,
        };
        if let Some(secret) = shared {
            tokens.push(Named {
                actor: SHARED_ACTOR.to_owned(),
                secret,
            });
        }
        for (i, t) in s.tokens.iter().enumerate() {
            let key = format!("service.tokens[{i}]");
            let secret = match (&t.token_env, &t.token_file) {
                (Some(var), _) => from_env(var, &format!("{key}.token_env"))?,
                (None, Some(f)) => from_file(base, f, &format!("{key}.token_file"))?,
                (None, None) => return Err(format!("{key}: no token_env or token_file")),
            };
            tokens.push(Named {
                actor: format!("api:{}", t.name),
                secret,
            });
        }
        let auth = Auth { tokens };
        auth.refuse_shared_values()?;
        Ok(auth)
    }

    /// Whether any token is configured.
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    fn refuse_shared_values(&self) -> Result<(), String> {
        let mut seen: Vec<(Vec<u8>, &str)> = Vec::new();
        for t in &self.tokens {
            let Ok(v) = t.secret.read() else { continue };
            let h = digest(&SHA256, v.as_bytes()).as_ref().to_vec();
            if let Some((_, other)) = seen.iter().find(|(x, _)| *x == h) {
                return Err(format!(
                    "service: the tokens of {other} and {} have the same value; give each holder its own",
                    t.actor
                ));
            }
            seen.push((h, &t.actor));
        }
        Ok(())
    }

    /// The actor whose token `headers` carry (`api` for the shared token,
    /// `api:NAME` for a named one).
    pub fn check(&self, headers: &HeaderMap) -> Result<String, Denied> {
        if self.tokens.is_empty() {
            return Err(Denied::NoToken);
        }
        let given = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(Denied::Missing)?;
        let given = digest(&SHA256, given.as_bytes());
        let mut found: Option<&str> = None;
        let mut unreadable = None;
        for t in &self.tokens {
            let expected = match t.secret.read() {
                Ok(v) => v,
                Err(e) => {
                    unreadable = Some(e);
                    continue;
                }
            };
            if expected.is_empty() {
                continue;
            }
            let expected = digest(&SHA256, expected.as_bytes());
            if bool::from(given.as_ref().ct_eq(expected.as_ref())) && found.is_none() {
                found = Some(&t.actor);
            }
        }
        match (found, unreadable) {
            (Some(actor), _) => Ok(actor.to_owned()),
            (None, Some(e)) => Err(Denied::Unreadable(e)),
            (None, None) => Err(Denied::Wrong),
        }
    }
}

impl Secret {
    fn read(&self) -> std::io::Result<String> {
        match self {
            Secret::Value(v) => Ok(v.clone()),
            Secret::File(p) => Ok(std::fs::read_to_string(p)?.trim().to_owned()),
        }
    }
}

fn from_env(var: &str, key: &str) -> Result<Secret, String> {
    match std::env::var(var) {
        Ok(t) if !t.trim().is_empty() => Ok(Secret::Value(t.trim().to_owned())),
        Ok(_) => Err(format!("{key}: ${var} is empty")),
        Err(_) => Err(format!("{key}: ${var} is not set")),
    }
}

/// A token file, checked readable now so that a wrong path fails the start.
fn from_file(base: &Path, f: &str, key: &str) -> Result<Secret, String> {
    let path = base.join(f);
    std::fs::read_to_string(&path).map_err(|e| format!("{key}: {}: {e}", path.display()))?;
    Ok(Secret::File(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, v.parse().unwrap());
        h
    }

    fn named(actor: &str, v: &str) -> Named {
        Named {
            actor: actor.into(),
            secret: Secret::Value(v.into()),
        }
    }

    #[test]
    fn only_a_configured_token_passes_and_names_its_holder() {
        let a = Auth {
            tokens: vec![named("api", "s3cret"), named("api:alice", "alice-token")],
        };
        assert_eq!(a.check(&headers("Bearer s3cret")).unwrap(), "api");
        assert_eq!(
            a.check(&headers("Bearer alice-token")).unwrap(),
            "api:alice"
        );
        assert_eq!(
            a.check(&headers("bearer  alice-token ")).unwrap(),
            "api:alice"
        );
        for wrong in ["Bearer s3cre", "Bearer s3cretx", "Bearer alice", "Bearer "] {
            assert!(
                matches!(a.check(&headers(wrong)), Err(Denied::Wrong)),
                "{wrong}"
            );
        }
        assert!(matches!(
            a.check(&headers("Basic s3cret")),
            Err(Denied::Missing)
        ));
        assert!(matches!(a.check(&HeaderMap::new()), Err(Denied::Missing)));
        assert!(matches!(
            Auth::default().check(&headers("Bearer s3cret")),
            Err(Denied::NoToken)
        ));
    }

    #[test]
    fn a_token_file_is_read_at_each_check_and_an_unreadable_one_is_said() {
        let dir = std::env::temp_dir().join(format!("adaptd-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("token");
        std::fs::write(&f, "one\n").unwrap();
        let a = Auth {
            tokens: vec![
                Named {
                    actor: "api:bob".into(),
                    secret: Secret::File(f.clone()),
                },
                named("api:carol", "carol"),
            ],
        };
        assert_eq!(a.check(&headers("Bearer one")).unwrap(), "api:bob");
        std::fs::write(&f, "two").unwrap();
        assert!(a.check(&headers("Bearer one")).is_err());
        assert_eq!(a.check(&headers("Bearer two")).unwrap(), "api:bob");
        std::fs::remove_file(&f).unwrap();
        // Another holder still gets in; a failed match says the file is the problem.
        assert_eq!(a.check(&headers("Bearer carol")).unwrap(), "api:carol");
        assert!(matches!(
            a.check(&headers("Bearer two")),
            Err(Denied::Unreadable(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tokens_come_from_the_config_and_never_show_in_debug_output() {
        let dir = std::env::temp_dir().join(format!("adaptd-auth-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("alice"), "alice-secret-value\n").unwrap();
        std::fs::write(dir.join("dup"), "alice-secret-value").unwrap();
        let text = "[service]\n[[service.tokens]]\nname = \"alice\"\ntoken_file = \"alice\"\n";
        let c = adaptd_config::Config::from_str(text, "t.toml").unwrap();
        let a = Auth::from_config(&c.service, &dir).unwrap();
        assert_eq!(
            a.check(&headers("Bearer alice-secret-value")).unwrap(),
            "api:alice"
        );
        assert!(!format!("{a:?}").contains("alice-secret-value"), "{a:?}");

        let text = format!("{text}[[service.tokens]]\nname = \"mallory\"\ntoken_file = \"dup\"\n");
        let c = adaptd_config::Config::from_str(&text, "t.toml").unwrap();
        let e = Auth::from_config(&c.service, &dir).unwrap_err();
        assert!(
            e.contains("api:alice and api:mallory have the same value"),
            "{e}"
        );
        assert!(!e.contains("alice-secret-value"), "{e}");

        let text = "[service]\n[[service.tokens]]\nname = \"x\"\ntoken_file = \"missing\"\n";
        let c = adaptd_config::Config::from_str(text, "t.toml").unwrap();
        let e = Auth::from_config(&c.service, &dir).unwrap_err();
        assert!(e.starts_with("service.tokens[0].token_file: "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Database URLs as they may be shown: in log lines, in `Debug` output.

/// `url` with its password, and any query parameter that may carry one
/// (`password`, `sslpassword`), replaced by `***`: a database URL as it may be logged
/// or shown.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        // The userinfo ends at the last `@`, wherever the authority seems to end: a
        // password with an unencoded `/` or `@` is still hidden whole.
        Some((scheme, rest)) if !scheme.starts_with("sqlite") => match rest.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => base.to_owned(),
            },
            None => base.to_owned(),
        },
        _ => base.to_owned(),
    };
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.to_ascii_lowercase().contains("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_hidden_and_the_rest_kept() {
        assert_eq!(
            redact_url("postgres://adaptd:hunter2@db.internal:5432/adaptd?sslmode=require"),
            "postgres://adaptd:***@db.internal:5432/adaptd?sslmode=require"
        );
        // A password with `@` and `/` in it (percent-encoding forgotten).
        assert_eq!(
            redact_url("postgres://u:p@ss@host/db"),
            "postgres://u:***@host/db"
        );
        assert_eq!(
            redact_url("postgres://host/db?user=u&password=hunter2"),
            "postgres://host/db?user=u&password=***"
        );
        assert_eq!(
            redact_url("postgresql://u:a/b@host/db"),
            "postgresql://u:***@host/db"
        );
        assert_eq!(redact_url("postgres://u@host/db"), "postgres://u@host/db");
        assert_eq!(
            redact_url("sqlite:///var/lib/adaptd/adaptd.db?mode=rwc"),
            "sqlite:///var/lib/adaptd/adaptd.db?mode=rwc"
        );
    }
}

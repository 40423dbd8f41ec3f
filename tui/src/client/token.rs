//! What the front end reads from its own token: whether it may change anything.
//!
//! The gateway checks every request; this only lets the front end say `read-only` and hide what
//! would be refused, instead of letting each key fail.

use base64::Engine;

/// Whether `token` is a scoped token minted with `--read-only` (`scope: "read"` in its claims).
/// The owner token and anything that does not parse as a scoped token count as writable.
pub fn is_read_only(token: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Claims {
        scope: Option<String>,
    }
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|json| serde_json::from_slice::<Claims>(&json).ok())
        .is_some_and(|c| c.scope.as_deref() == Some("read"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"HS256","typ":"JWT"}"#), b64(claims))
    }

    #[test]
    fn only_a_read_scope_is_read_only() {
        assert!(is_read_only(&token(r#"{"exp":1,"iat":0,"scope":"read"}"#)));
        assert!(!is_read_only(&token(r#"{"exp":1,"iat":0,"scope":"write","sid":"s"}"#)));
        assert!(!is_read_only("0123456789abcdef"), "the owner token");
        assert!(!is_read_only("a.!!!.c"));
    }
}

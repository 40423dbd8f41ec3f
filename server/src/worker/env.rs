//! What may go into a worker's environment: the gateway's own secrets are scrubbed from what
//! workers inherit, worker specs' keys are checked, and dynamic-loader variables are reserved for
//! the owner token. Plain functions on names, no I/O, so the API and the PTY backend share them.

/// Prefix of every variable the gateway reads.
const GATEWAY_PREFIX: &str = "CONTROLROOM_";

/// Words that make a `CONTROLROOM_*` variable a secret (matched anywhere in the name, ignoring
/// case): `CONTROLROOM_TOKEN`, and any future `CONTROLROOM_*_SECRET`, `*_KEY`, `*_PASSWORD`.
/// `CONTROLROOM_TLS_KEY` (a path) is removed too: a false positive costs nothing.
pub const SECRET_WORDS: [&str; 4] = ["TOKEN", "SECRET", "KEY", "PASSWORD"];

/// Whether an inherited variable is one of the gateway's secrets, removed from every worker's
/// environment (a read-only viewer could otherwise watch `env` print the owner token).
pub fn is_gateway_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with(GATEWAY_PREFIX) && SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// Exact names of dynamic-loader variables that inject code into every program a worker starts.
pub const LOADER_VARIABLES: [&str; 7] = [
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "LD_DEBUG_OUTPUT",
    "LD_PROFILE",
    "LD_ORIGIN_PATH",
    "GCONV_PATH",
];

/// Name prefixes of dynamic-loader variables: every `DYLD_*` (macOS) and glibc's tunables.
pub const LOADER_PREFIXES: [&str; 2] = ["DYLD_", "GLIBC_TUNABLES"];

/// Whether `name` steers the dynamic loader; only the owner token may set one in a worker spec.
pub fn is_loader_variable(name: &str) -> bool {
    LOADER_VARIABLES.contains(&name) || LOADER_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Why a worker spec's environment was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvRefusal {
    /// An empty key, or one containing `=` or NUL (or a value containing NUL): answered 400.
    Malformed(String),
    /// A loader variable from a credential other than the owner token: answered 403.
    Loader(String),
}

/// Checks a worker spec's `env`: malformed keys and values are refused for everyone; loader
/// variables unless `owner`.
pub fn check_spec_env<'a>(
    env: impl IntoIterator<Item = (&'a String, &'a String)>,
    owner: bool,
) -> Result<(), EnvRefusal> {
    for (key, value) in env {
        if key.is_empty() {
            return Err(EnvRefusal::Malformed("env keys must not be empty".into()));
        }
        if key.contains('=') || key.contains('\0') {
            return Err(EnvRefusal::Malformed(format!(
                "env key {:?} must not contain '=' or NUL",
                key.chars().take(64).collect::<String>()
            )));
        }
        if value.contains('\0') {
            return Err(EnvRefusal::Malformed(format!("env value of {key} must not contain NUL")));
        }
        if !owner && is_loader_variable(key) {
            return Err(EnvRefusal::Loader(format!(
                "{key} steers the dynamic loader; only the owner token may set it"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn gateway_secrets_are_named_by_prefix_and_word() {
        for name in [
            "CONTROLROOM_TOKEN",
            "controlroom_token",
            "CONTROLROOM_WEBHOOK_SECRET",
            "CONTROLROOM_TLS_KEY",
            "CONTROLROOM_DB_PASSWORD",
        ] {
            assert!(is_gateway_secret(name), "{name}");
        }
        for name in ["CONTROLROOM_DATA_DIR", "CONTROLROOM_LOG", "GITHUB_TOKEN", "TOKEN", "PATH"] {
            assert!(!is_gateway_secret(name), "{name}");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
    }

    #[test]
    fn malformed_keys_are_refused_for_everyone() {
        for bad in [env(&[("", "x")]), env(&[("A=B", "x")]), env(&[("A\0B", "x")]), env(&[("A", "x\0y")])] {
            assert!(matches!(check_spec_env(&bad, true), Err(EnvRefusal::Malformed(_))), "{bad:?}");
            assert!(matches!(check_spec_env(&bad, false), Err(EnvRefusal::Malformed(_))), "{bad:?}");
        }
        assert_eq!(check_spec_env(&env(&[("FOO", "bar=baz"), ("_X1", "")]), false), Ok(()));
    }

    #[test]
    fn loader_variables_need_the_owner() {
        for name in ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "GLIBC_TUNABLES"] {
            let e = env(&[(name, "/tmp/x.so")]);
            assert!(matches!(check_spec_env(&e, false), Err(EnvRefusal::Loader(_))), "{name}");
            assert_eq!(check_spec_env(&e, true), Ok(()), "{name}");
        }
        assert_eq!(check_spec_env(&env(&[("LD_FOO_OK", "1"), ("LDPRELOAD", "1")]), false), Ok(()));
    }
}

//! Unit tests of scoped tokens: signing, the pinned algorithm, expiry, scope rules, rotation.

use super::*;

const SECRET: &[u8] = b"test-secret-0123456789";

fn claims(exp: u64, scope: Scope, sid: Option<&str>) -> Claims {
    Claims { exp, iat: 1, scope, sid: sid.map(SessionId::new) }
}

fn forge(header: &str, payload: &str, sig: &[u8]) -> String {
    format!("{}.{}.{}", B64.encode(header), B64.encode(payload), B64.encode(sig))
}

#[test]
fn a_minted_token_verifies_with_its_claims() {
    let c = claims(2_000, Scope::Read, Some("sabc"));
    let t = mint(SECRET, &c);
    assert_eq!(t.split('.').count(), 3);
    assert_eq!(verify(&t, SECRET, 1_000), Ok(c));
}

#[test]
fn wrong_secret_and_tampered_payload_are_refused() {
    let t = mint(SECRET, &claims(2_000, Scope::Read, None));
    assert_eq!(verify(&t, b"another-secret", 1_000), Err(ScopedError::Signature));
    let parts: Vec<&str> = t.split('.').collect();
    let upgraded = B64.encode(br#"{"exp":2000,"iat":1,"scope":"write"}"#);
    let tampered = format!("{}.{}.{}", parts[0], upgraded, parts[2]);
    assert_eq!(verify(&tampered, SECRET, 1_000), Err(ScopedError::Signature));
}

#[test]
fn alg_none_and_other_algorithms_are_refused_before_the_signature() {
    let payload = r#"{"exp":2000,"iat":1,"scope":"write"}"#;
    let none = forge(r#"{"alg":"none","typ":"JWT"}"#, payload, b"");
    assert_eq!(verify(&none, SECRET, 1_000), Err(ScopedError::Algorithm("none".into())));
    let none_unsigned = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode(payload));
    assert!(matches!(verify(&none_unsigned, SECRET, 1_000), Err(ScopedError::Algorithm(_))));
    for alg in ["HS512", "RS256", "hs256", "ES256"] {
        let t = forge(&format!(r#"{{"alg":"{alg}"}}"#), payload, b"x");
        assert!(matches!(verify(&t, SECRET, 1_000), Err(ScopedError::Algorithm(_))), "{alg}");
    }
}

#[test]
fn expiry_has_at_most_the_leeway() {
    let t = mint(SECRET, &claims(1_000, Scope::Write, None));
    let leeway = EXPIRY_LEEWAY.as_secs();
    assert!(leeway <= 5, "the issue allows at most 5 s");
    assert!(verify(&t, SECRET, 1_000 + leeway - 1).is_ok());
    assert_eq!(verify(&t, SECRET, 1_000 + leeway), Err(ScopedError::Expired));
}

#[test]
fn malformed_tokens_are_refused_without_panicking() {
    let good = mint(SECRET, &claims(2_000, Scope::Read, None));
    let cases = [
        String::new(),
        ".".into(),
        "..".into(),
        "a.b.c".into(),
        format!("{good}.extra"),
        good.replace('.', ""),
        format!("{}.{}.{}", B64.encode("{}"), B64.encode("{}"), "!!"),
        forge(r#"{"alg":"HS256","kid":"x"}"#, "{}", b""),
        "é.é.é".into(),
    ];
    for c in cases {
        assert!(verify(&c, SECRET, 1_000).is_err(), "{c:?}");
    }
    // A validly signed token with an unknown scope or extra claim is malformed.
    let p = r#"{"exp":2000,"iat":1,"scope":"admin"}"#;
    let input = format!("{}.{}", B64.encode(r#"{"alg":"HS256"}"#), B64.encode(p));
    let sig = B64.encode(sign(SECRET, &input).finalize().into_bytes());
    assert_eq!(verify(&format!("{input}.{sig}"), SECRET, 1_000), Err(ScopedError::Malformed));
}

#[test]
fn grant_rules_for_read_only_and_session_restriction() {
    use http::Method;
    let owner = Grant::owner(None);
    assert!(owner.permits(&Method::DELETE, "/api/sessions/sx").is_ok());
    let read = Grant { scope: Scope::Read, session: None, ends_at: None, revoked: None, owner: false };
    assert!(read.permits(&Method::GET, "/api/sessions").is_ok());
    assert!(read.permits(&Method::GET, "/ws/session/sa/worker/wb").is_ok());
    for m in [Method::POST, Method::PATCH, Method::DELETE, Method::PUT] {
        assert!(read.permits(&m, "/api/sessions/sa").is_err(), "{m}");
    }
    let one = Grant {
        scope: Scope::Write,
        session: Some(SessionId::new("sa")),
        ends_at: None,
        revoked: None,
        owner: false,
    };
    assert!(one.permits(&Method::GET, "/api/sessions/sa").is_ok());
    assert!(one.permits(&Method::POST, "/api/sessions/sa/workers").is_ok());
    assert!(one.permits(&Method::GET, "/ws/session/sa/worker/w").is_ok());
    assert!(one.permits(&Method::GET, "/api/sessions/sb").is_err());
    assert!(one.permits(&Method::GET, "/ws/session/sb/worker/w").is_err());
    assert!(one.permits(&Method::GET, "/ws/session/s%61/worker/w").is_err());
    assert!(one.permits(&Method::POST, "/api/sessions").is_err());
    assert!(one.permits(&Method::GET, "/api/sessions").is_ok(), "listing is filtered, not refused");
    assert!(one.permits(&Method::GET, "/metrics").is_err(), "gateway-wide numbers are not one session's");
    assert!(read.permits(&Method::GET, "/metrics").is_ok());
    // `/ws/new` is a GET that creates a session: a write and a create, not a read.
    assert_eq!(read.permits(&Method::GET, "/ws/new"), Err(Refusal::ReadOnly));
    assert_eq!(one.permits(&Method::GET, "/ws/new"), Err(Refusal::CreateSession));
    assert!(owner.permits(&Method::GET, "/ws/new").is_ok());
    let writer = Grant { scope: Scope::Write, session: None, ends_at: None, revoked: None, owner: false };
    assert!(writer.permits(&Method::GET, "/ws/new").is_ok());
}

#[test]
fn secret_file_is_private_and_rotation_changes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s1 = load_or_create_secret(dir.path()).expect("create");
    let mode = fs::metadata(dir.path().join(SECRET_FILE)).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(load_or_create_secret(dir.path()).expect("reread"), s1);
    rotate_secret(dir.path()).expect("rotate");
    let s2 = load_or_create_secret(dir.path()).expect("reread");
    assert_ne!(s1, s2);
    let mode = fs::metadata(dir.path().join(SECRET_FILE)).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    fs::set_permissions(dir.path().join(SECRET_FILE), fs::Permissions::from_mode(0o640)).expect("chmod");
    assert!(matches!(load_or_create_secret(dir.path()), Err(TokenError::Exposed { .. })));
}

#[tokio::test]
async fn keeper_revokes_the_old_generation_on_rotation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keeper = SecretKeeper::open(dir.path()).expect("open");
    let (old, _) = mint_in(dir.path(), Scope::Read, None, Duration::from_secs(60)).expect("mint");
    let grant = keeper.verify(&old).await.expect("valid");
    let revoked = grant.revoked.expect("scoped grants can be revoked");
    assert!(!revoked.is_cancelled());
    rotate_secret(dir.path()).expect("rotate");
    assert_eq!(keeper.verify(&old).await.err(), Some(ScopedError::Signature));
    assert!(revoked.is_cancelled());
    let (new, _) = mint_in(dir.path(), Scope::Read, None, Duration::from_secs(60)).expect("mint");
    assert!(keeper.verify(&new).await.is_ok());
}

#[test]
fn without_inotify_a_rotation_is_seen_through_the_files_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Made outside a runtime: no reactor for the inotify watch, so the keeper compares stamps.
    let keeper = SecretKeeper::open(dir.path()).expect("open");
    assert!(keeper.watch.is_none());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let (old, _) = mint_in(dir.path(), Scope::Read, None, Duration::from_secs(60)).expect("mint");
        let revoked = keeper.verify(&old).await.expect("valid").revoked.expect("revocable");
        rotate_secret(dir.path()).expect("rotate");
        assert_eq!(keeper.verify(&old).await.err(), Some(ScopedError::Signature));
        assert!(revoked.is_cancelled());
    });
}

#[tokio::test]
async fn a_watched_keeper_revokes_open_grants_with_nobody_authenticating() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keeper = SecretKeeper::open(dir.path()).expect("open");
    assert!(keeper.watch.is_some(), "inotify on Linux");
    let (old, _) = mint_in(dir.path(), Scope::Read, None, Duration::from_secs(60)).expect("mint");
    let revoked = keeper.verify(&old).await.expect("valid").revoked.expect("revocable");
    let stop = CancellationToken::new();
    // A poll interval no test would wait out: only the change itself can wake the watch.
    keeper.clone().watch(stop.clone(), Duration::from_secs(3600));
    rotate_secret(dir.path()).expect("rotate");
    tokio::time::timeout(Duration::from_secs(10), revoked.cancelled()).await.expect("revoked by the watch");
    stop.cancel();
}

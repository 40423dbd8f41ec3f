//! The owner token and the webhook secret: files in the data dir (0600 in a 0700 dir), created on
//! first start, refused when readable by others. The data dir itself is made 0700 (an existing
//! one too), and the other files the gateway writes there 0600.

use base64::Engine as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// File name of the owner token inside the data dir.
pub const TOKEN_FILE: &str = "token";
/// File name of the webhook signing secret inside the data dir.
pub const WEBHOOK_SECRET_FILE: &str = "webhook-secret";
/// Random bytes in a new token.
const TOKEN_BYTES: usize = 32;

/// Token file problems; none of them ever includes the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The token file is readable by others.
    #[error("{path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}` and start again")]
    Exposed {
        /// The token file.
        path: String,
        /// Its mode bits.
        mode: u32,
    },
    /// The data dir is open to others and could not be made private.
    #[error(
        "the data dir {path} is open to group or others (mode {mode:o}) and could not be made private ({source}); run `chmod 700 {path}` and start again"
    )]
    ExposedDir {
        /// The data dir.
        path: String,
        /// Its mode bits.
        mode: u32,
        /// Why `chmod` failed.
        source: std::io::Error,
    },
    /// The token file is empty.
    #[error("{path} is empty; delete it to have a new token made")]
    Empty {
        /// The token file.
        path: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TokenError + '_ {
    move |source| TokenError::Io { path: path.display().to_string(), source }
}

/// Creates the data dir (0700) if needed; an existing one open to group or others is made 0700
/// (it holds the database with every worker's screen), or refused naming the fix.
pub fn ensure_data_dir(dir: &Path) -> Result<(), TokenError> {
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
        return Ok(());
    }
    let mode = fs::metadata(dir).map_err(io_err(dir))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|source| TokenError::ExposedDir { path: dir.display().to_string(), mode, source })?;
        tracing::info!(data_dir = %dir.display(), old_mode = format!("{mode:o}"), "made the data dir private (0700)");
    }
    Ok(())
}

/// Makes `path` private (0600): created empty if missing and `create`, its mode narrowed if it
/// is readable by others (an existing database from before, or a file made under a wide umask).
pub fn private_file(path: &Path, create: bool) -> Result<(), TokenError> {
    if create {
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io_err(path))?;
    }
    match fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => {
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io_err(path))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Writes `DATA_DIR/name` anew with `contents` (0600, a temporary file renamed into place, so a
/// reader sees the old file or the new one, never half of one).
pub fn write_private_atomically(data_dir: &Path, name: &str, contents: &[u8]) -> Result<(), TokenError> {
    let path = data_dir.join(name);
    let tmp = data_dir.join(format!("{name}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut f =
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp).map_err(io_err(&tmp))?;
    f.write_all(contents).and_then(|()| f.sync_all()).map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))
}

/// Replaces `DATA_DIR/name` with 32 new random bytes (base64url); returns them.
pub(super) fn replace_secret_file(data_dir: &Path, name: &str) -> Result<String, TokenError> {
    ensure_data_dir(data_dir)?;
    let token = new_token();
    write_private_atomically(data_dir, name, token.as_bytes())?;
    Ok(token)
}

fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads `DATA_DIR/token`, creating it on first start; refuses a file readable by others.
pub fn load_or_create_token(data_dir: &Path) -> Result<String, TokenError> {
    load_or_create_secret(data_dir, TOKEN_FILE)
}

/// Reads `DATA_DIR/webhook-secret` (the HMAC key of webhook signatures), creating it if needed.
pub fn load_or_create_webhook_secret(data_dir: &Path) -> Result<String, TokenError> {
    load_or_create_secret(data_dir, WEBHOOK_SECRET_FILE)
}

/// Reads `DATA_DIR/name`, creating it with 32 random bytes (base64url, 0600) if missing.
fn load_or_create_secret(data_dir: &Path, name: &str) -> Result<String, TokenError> {
    ensure_data_dir(data_dir)?;
    let path = data_dir.join(name);
    if !path.exists() {
        let token = new_token();
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        f.write_all(token.as_bytes()).map_err(io_err(&path))?;
        f.sync_all().map_err(io_err(&path))?;
        return Ok(token);
    }
    read_secret(data_dir, name)
}

/// Reads the owner token from `data_dir` (refusing a file others can read).
pub fn read_token(data_dir: &Path) -> Result<String, TokenError> {
    read_secret(data_dir, TOKEN_FILE)
}

fn read_secret(data_dir: &Path, name: &str) -> Result<String, TokenError> {
    let path = data_dir.join(name);
    let mode = fs::metadata(&path).map_err(io_err(&path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(TokenError::Exposed { path: path.display().to_string(), mode });
    }
    let token = fs::read_to_string(&path).map_err(io_err(&path))?.trim().to_string();
    if token.is_empty() {
        return Err(TokenError::Empty { path: path.display().to_string() });
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_created_private_and_reread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let t1 = load_or_create_token(&data).expect("create");
        assert_eq!(t1.len(), 43, "32 bytes in unpadded base64url");
        let mode = fs::metadata(data.join(TOKEN_FILE)).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = fs::metadata(&data).expect("meta").permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700);
        assert_eq!(load_or_create_token(&data).expect("reread"), t1);
    }

    #[test]
    fn an_existing_open_data_dir_is_made_private_and_files_narrowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        fs::create_dir(&data).expect("mkdir");
        fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).expect("chmod");
        ensure_data_dir(&data).expect("made private");
        assert_eq!(fs::metadata(&data).expect("meta").permissions().mode() & 0o777, 0o700);
        let db = data.join("x.db");
        fs::write(&db, b"").expect("write");
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).expect("chmod");
        private_file(&db, false).expect("narrowed");
        assert_eq!(fs::metadata(&db).expect("meta").permissions().mode() & 0o777, 0o600);
        private_file(&data.join("new.db"), true).expect("created");
        assert_eq!(fs::metadata(data.join("new.db")).expect("meta").permissions().mode() & 0o777, 0o600);
        private_file(&data.join("absent-wal"), false).expect("a missing file is fine");
        assert!(!data.join("absent-wal").exists());
    }

    #[test]
    fn exposed_token_is_refused_without_printing_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = load_or_create_token(dir.path()).expect("create");
        fs::set_permissions(dir.path().join(TOKEN_FILE), fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = load_or_create_token(dir.path()).expect_err("must refuse");
        let text = err.to_string();
        assert!(text.contains("readable by group or others"), "{text}");
        assert!(!text.contains(&token));
    }
}

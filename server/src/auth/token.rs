//! The owner token and the webhook secret: files in the data dir (0600 in a 0700 dir), created on
//! first start, refused when readable by others.

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

/// Creates the data dir (0700) if needed.
pub fn ensure_data_dir(dir: &Path) -> Result<(), TokenError> {
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
    }
    Ok(())
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
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::fill(&mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
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

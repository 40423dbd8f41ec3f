//! The token the front end authenticates with, and the file it came from, so that a refused
//! token is re-read once instead of ending the session: after `controlroom token --rotate
//! --owner` the gateway refuses the old owner token (closing open sockets with 4001, answering
//! new ones 401) and the new one is in the same file.

use std::path::PathBuf;
use tokio::sync::watch;

/// The current token, shared by the socket tasks and the requests (a watch channel: whichever
/// task re-reads the file first, the others and every later request use what it read).
#[derive(Clone)]
pub struct Credential {
    token: watch::Sender<String>,
    /// Where the token was read; `None` when it came from `CONTROLROOM_TOKEN` (nothing to
    /// re-read: a refusal is final).
    file: Option<PathBuf>,
}

impl std::fmt::Debug for Credential {
    // The token stays out of every log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential").field("file", &self.file).finish_non_exhaustive()
    }
}

impl Credential {
    /// `token`, read from `file` (`None`: from the environment).
    pub fn new(token: String, file: Option<PathBuf>) -> Self {
        Self { token: watch::Sender::new(token), file }
    }

    /// The token to use now.
    pub fn token(&self) -> String {
        self.token.borrow().clone()
    }

    /// After `refused` was refused: whether there is another token to try. Another task may
    /// have re-read the file already; otherwise the file is read again, and a token in it that
    /// differs from the refused one becomes the current one.
    pub fn reread(&self, refused: &str) -> bool {
        if *self.token.borrow() != refused {
            return true;
        }
        let Some(path) = &self.file else { return false };
        let Ok(text) = std::fs::read_to_string(path) else { return false };
        let fresh = text.trim();
        if fresh.is_empty() || fresh == refused {
            return false;
        }
        tracing::info!(file = %path.display(), "the token was refused; using the one now in its file");
        self.token.send_replace(fresh.to_owned());
        true
    }

    /// After `refused` was refused: whether to retry at once with the token now in its file.
    /// Once in a row: `fresh` is set while a re-read token is on trial and cleared by the caller
    /// once a connection with it works, so a fresh token that is refused too ends with the error.
    pub fn retry_fresh(&self, refused: &str, fresh: &mut bool) -> bool {
        if *fresh || !self.reread(refused) {
            return false;
        }
        *fresh = true;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_gives_one_new_token_and_the_environment_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "old-secret\n").expect("write");
        let c = Credential::new("old-secret".into(), Some(path.clone()));
        assert!(!c.reread("old-secret"), "the file still holds the refused token");
        std::fs::write(&path, "new-secret\n").expect("write");
        let other = c.clone();
        assert!(c.reread("old-secret"));
        assert_eq!(other.token(), "new-secret", "every holder sees the new token");
        assert!(other.reread("old-secret"), "a task that used the old one retries with the new");
        assert!(!c.reread("new-secret"), "the new one refused too: nothing more to try");
        assert!(!format!("{c:?}").contains("new-secret"), "the token stays out of Debug");
        let env = Credential::new("t".into(), None);
        assert!(!env.reread("t"));
    }
}

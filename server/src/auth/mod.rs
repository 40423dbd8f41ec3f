//! Credentials: the owner token and webhook secret (`token`), scoped tokens and their signing
//! secret (`scoped`), the owner token as the running gateway follows it (`owner`), the inotify
//! watch both follow their file with (`file_watch`), and the failed-authentication limit
//! (`ratelimit`). No HTTP here: the guards that use them are `api::middleware`.

pub(crate) mod file_watch;
pub mod owner;
pub(crate) mod ratelimit;
pub mod scoped;
pub(crate) mod token;

pub use token::{
    TokenError, ensure_data_dir, load_or_create_token, load_or_create_webhook_secret, private_file,
    read_token,
};

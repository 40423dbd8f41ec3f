//! The controlroom terminal front end: a live dashboard of sessions and attach to any worker.
//!
//! Layers, as in helix: [`state`] is plain data changed by `update(msg)`, [`ui`] draws it as a pure
//! function, and the runtime owns the terminal, the sockets and the clock, turning everything that
//! happens into messages.

pub mod client;
pub mod config;
pub mod conns;
pub mod defaults;
pub mod error;
pub mod input;
pub mod keymap;
pub mod mouse;
pub mod names;
pub mod pacer;
pub mod painter;
pub mod paths;
pub mod remembered;
pub mod runtime;
pub mod state;
pub mod terminal_events;
pub mod theme;
pub mod ui;

pub use error::{Error, Result};

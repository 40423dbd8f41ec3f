//! A tmux pane driven as the reference terminal for the corpus suite: its own server socket, no
//! config file, `xterm-256color`, a fixed size and a clean environment; input sent exactly as
//! given, the screen read back with `capture-pane -e` and the cursor with `display -p`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Whether `tmux` can be run here.
pub fn installed() -> bool {
    Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success())
}

/// One tmux server (a socket of its own) with one detached session running one program.
pub struct Tmux {
    socket: PathBuf,
}

/// What `capture-pane -p -e` and `display -p` say about the pane.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The visible screen, one line per row, with SGR sequences relative to the previous cell.
    pub lines: Vec<String>,
    /// Zero-based cursor column, row.
    pub cursor: (u16, u16),
    /// Whether the cursor is shown.
    pub cursor_visible: bool,
    /// Pane size (cols, rows).
    pub size: (u16, u16),
    /// Whether the alternate screen is on.
    pub alternate: bool,
    /// Whether the program asked for SGR mouse reports (1006).
    pub mouse_sgr: bool,
    /// Whether the program asked for button reports (1000).
    pub mouse_standard: bool,
}

impl Tmux {
    /// Starts `argv` in `cwd` in a new server whose socket is `socket` (in the test's temp dir,
    /// so nothing is left behind), `cols`×`rows`, with exactly `env` (TERM comes from
    /// `default-terminal`).
    pub fn start(
        socket: &Path,
        argv: &[&str],
        env: &[(&str, &str)],
        cols: u16,
        rows: u16,
        cwd: &Path,
    ) -> Tmux {
        let tmux = Tmux { socket: socket.to_path_buf() };
        let (cols, rows) = (cols.to_string(), rows.to_string());
        let mut args = vec![
            "set",
            "-g",
            "default-terminal",
            "xterm-256color",
            ";",
            "set",
            "-g",
            "status",
            "off",
            ";",
            "set",
            "-g",
            "escape-time",
            "0",
            ";",
            "new-session",
            "-d",
            "-s",
            "c",
            "-x",
            &cols,
            "-y",
            &rows,
            "--",
        ];
        args.extend_from_slice(argv);
        let out = tmux.command(&args, Some((env, cwd)));
        assert!(out.status.success(), "tmux new-session failed: {}", String::from_utf8_lossy(&out.stderr));
        tmux
    }

    fn command(&self, args: &[&str], env: Option<(&[(&str, &str)], &Path)>) -> Output {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket).args(["-f", "/dev/null"]).args(args);
        if let Some((env, cwd)) = env {
            // The server inherits this environment, and the pane the server's: nothing from the
            // test's own environment leaks into the program.
            cmd.env_clear().envs(env.iter().copied()).current_dir(cwd);
        }
        cmd.output().expect("run tmux")
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.command(args, None);
        assert!(out.status.success(), "tmux {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `bytes` into the pane exactly: text runs with `send-keys -l`, control bytes (and
    /// `;`, which tmux would read as a command separator at an argument's end) with `-H`.
    pub fn send(&self, bytes: &[u8]) {
        let text = std::str::from_utf8(bytes).expect("corpus input is UTF-8");
        let mut run = String::new();
        let flush = |run: &mut String| {
            if !run.is_empty() {
                self.run(&["send-keys", "-t", "c", "-l", "--", run]);
                run.clear();
            }
        };
        for ch in text.chars() {
            if (ch.is_ascii() && ch.is_control()) || ch == ';' {
                flush(&mut run);
                self.run(&["send-keys", "-t", "c", "-H", &format!("{:02x}", ch as u32)]);
            } else {
                run.push(ch);
            }
        }
        flush(&mut run);
    }

    /// Pastes the file's bytes as tmux's `paste-buffer` does: inside `ESC[200~ … ESC[201~` when
    /// the program asked for bracketed paste, line feeds sent as carriage returns.
    pub fn paste_file(&self, file: &Path) {
        let path = file.to_str().expect("utf-8 path");
        self.run(&["load-buffer", "-b", "corpus", path]);
        self.run(&["paste-buffer", "-p", "-d", "-b", "corpus", "-t", "c"]);
    }

    /// Resizes the window (and so the pane) to `cols`×`rows`.
    pub fn resize(&self, cols: u16, rows: u16) {
        self.run(&["resize-window", "-t", "c", "-x", &cols.to_string(), "-y", &rows.to_string()]);
    }

    /// The pane as it is now.
    pub fn capture(&self) -> Capture {
        let text = self.run(&["capture-pane", "-p", "-e", "-t", "c"]);
        let lines = text.split('\n').map(str::to_string).collect::<Vec<_>>();
        let format = "#{cursor_x},#{cursor_y},#{cursor_flag},#{pane_width},#{pane_height},#{alternate_on},\
                      #{mouse_sgr_flag},#{mouse_standard_flag}";
        let info = self.run(&["display", "-p", "-t", "c", format]);
        let n: Vec<u16> = info.trim().split(',').map(|v| v.parse().unwrap_or(0)).collect();
        assert_eq!(n.len(), 8, "display -p said {info:?}");
        let (cols, rows) = (n[3], n[4]);
        let mut lines = lines;
        lines.truncate(usize::from(rows));
        Capture {
            lines,
            // tmux reports a cursor parked past the last column as `cols`; a cell grid has no such
            // column.
            cursor: (n[0].min(cols.saturating_sub(1)), n[1]),
            cursor_visible: n[2] == 1,
            size: (cols, rows),
            alternate: n[5] == 1,
            mouse_sgr: n[6] == 1,
            mouse_standard: n[7] == 1,
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"], None);
    }
}

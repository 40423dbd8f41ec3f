//! Proof by a corpus of real programs: each runs in a worker of a real `controlroom serve` and in a
//! tmux pane of the same size, TERM and environment, gets the same input, and the gateway's screen
//! (a fresh client's `history`, replayed through vt100) must match tmux's (`capture-pane -e`) cell
//! by cell — text, wide characters, colours, attributes and cursor. Programs that ask the terminal
//! something get their answer from the gateway (under tmux, from tmux). A program that is not
//! installed is skipped with a message.

#[path = "support/pair.rs"]
mod pair;
#[path = "support/screens.rs"]
mod screens;
mod support;
#[path = "support/tmux.rs"]
mod tmux;

use pair::{Pair, available};
use screens::Grid;
use serde_json::json;
use sha2::{Digest, Sha256};

const BASH: &[&str] = &["bash", "--norc", "--noprofile"];

/// A bash prompt (`PS1='$ '`) on the cursor's row (the text is trimmed: an empty one is `$`).
fn prompt(g: &Grid) -> bool {
    g.text().get(usize::from(g.cursor.0)).is_some_and(|l| l == "$" || l.starts_with("$ "))
}

/// How many rows hold a bash prompt: a predicate that typed text cannot satisfy early.
fn prompts(g: &Grid) -> usize {
    g.text().iter().filter(|l| *l == "$" || l.starts_with("$ ")).count()
}

/// Starts bash in both and waits for its first prompt.
async fn bash(name: &str) -> Option<Pair> {
    if !available("bash") {
        return None;
    }
    let pair = Pair::start(name, BASH, 80, 24, &[]).await;
    pair.settle("the first prompt", prompt).await;
    Some(pair)
}

/// Runs `line` at the prompt and waits until its output satisfies `done` in both.
async fn run(pair: &Pair, line: &str, done: impl Fn(&Grid) -> bool) -> Grid {
    pair.send(&format!("{line}\r")).await;
    pair.settle(line, done).await
}

/// The real interpreter behind `python3` (a version manager's shim would look for its files in
/// the test's temp HOME), when it can import every module in `modules`.
fn python_with(modules: &[&str]) -> Option<String> {
    if !pair::installed("python3") {
        println!("skipped: python3 not installed");
        return None;
    }
    let script = format!(
        "import sys\n{}\nprint(sys.executable)",
        modules.iter().map(|m| format!("import {m}")).collect::<Vec<_>>().join("\n")
    );
    let out = std::process::Command::new("python3").args(["-c", &script]).output().ok()?;
    if !out.status.success() {
        println!("skipped: python3 module {modules:?} not installed");
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[tokio::test]
async fn bash_readline_editing_history_and_colours() {
    let Some(pair) = bash("readline").await else { return };
    // Type, jump to the start, insert, and run: readline redraws the line in place.
    pair.send("echo one two three").await;
    pair.settle("typed", |g| g.contains("echo one two three")).await;
    pair.send("\x01: ").await;
    pair.settle("Ctrl-A and an insert", |g| g.contains("$ : echo one two three")).await;
    pair.send("\r").await;
    pair.settle("a no-op command", |g| prompt(g) && prompts(g) == 2).await;
    // History: Up brings it back, Ctrl-A Ctrl-K empties the line.
    pair.send("\x1b[A").await;
    pair.settle("history Up", |g| g.text()[usize::from(g.cursor.0)] == "$ : echo one two three").await;
    pair.send("\x01\x0b").await;
    pair.settle("Ctrl-A Ctrl-K", |g| g.text()[usize::from(g.cursor.0)] == "$").await;
    // Colours: 16, 256 and RGB, bold, italic, underline, inverse, and an erase with a background.
    let line = r"printf '\e[1;31mred\e[0m \e[3;38;5;200mpink\e[0m \e[4;48;2;10;20;30mrgb\e[0m \e[7minv\e[0m \e[44mbg\e[K\e[0m\n'";
    run(&pair, line, |g| g.contains("red pink rgb inv bg") && prompt(g)).await;
    // Typed wide characters: readline's redisplay must put the cursor where tmux does.
    pair.send("echo 漢字テスト é").await;
    pair.settle("typed wide characters", |g| g.contains("echo 漢字テスト é")).await;
    pair.send("\x01\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C").await;
    pair.settle("the cursor moved over wide characters", |g| g.cursor.1 == 9).await;
    pair.send("\x05\r").await;
    pair.settle("echoed", |g| g.text().iter().any(|l| l == "漢字テスト é") && prompt(g)).await;
    // The REST view agrees with the snapshot.
    let ours = pair.ours().await;
    let (lines, cursor) = pair.rest_screen().await;
    assert_eq!(lines, ours.text(), "/screen's text");
    assert_eq!(cursor, ours.cursor, "/screen's cursor");
}

#[tokio::test]
async fn wide_and_combining_characters() {
    let Some(pair) = bash("wide").await else { return };
    // CJK, an emoji, combining accents; a wide character that does not fit in the last column
    // wraps; a wide character overwritten through its right half loses its left half.
    let line = r"printf '\u6f22\u5b57 e\u0301 a\u0308\u0304 \U0001F600 end\n%79s\u6f22|\nab\u6f22cd\r\e[3C\u5b57\n' x";
    run(&pair, line, |g| prompt(g) && prompts(g) == 2).await;
    let line = r"printf 'x\u0301\u0302\u0303 \u0e01\u0e34\u0e4a \uff21\uff22 \u2764 \u00e9\n'";
    run(&pair, line, |g| prompt(g) && prompts(g) == 3).await;
}

#[tokio::test]
async fn the_cursor_and_device_queries_are_answered() {
    let Some(pair) = bash("queries").await else { return };
    // Under tmux, tmux answers; under controlroom, the gateway must, or `read` waits forever.
    // The replies are compared as the program prints them.
    let line = concat!(
        r"stty -echo; printf '\e[H\e[2J\e[5;10H\e[6n'; IFS= read -rdR pos; ",
        r"printf '\e[c'; IFS= read -rdc da; printf '\e[5n'; IFS= read -rdn st; stty echo; ",
        r#"echo; echo "cpr=${pos#*[} da1=${da#*[} dsr=${st#*[}""#
    );
    let g = run(&pair, line, |g| g.text().iter().any(|l| l.starts_with("cpr=")) && prompt(g)).await;
    assert!(g.contains("cpr=5;10 da1=?1;2 dsr=0"), "{:?}", g.text());
}

#[tokio::test]
async fn vim_insert_visual_split_and_resize() {
    if !available("vim") {
        return;
    }
    let Some(pair) = bash("vim").await else { return };
    // Vim picks its colours from the background it learns from OSC 11; tmux (detached) and the
    // gateway answer differently, so it is set here.
    run(&pair, "vim -u NONE -N -n -i NONE --cmd 'set bg=dark' notes.txt", |g| {
        g.contains("notes.txt") && g.alternate
    })
    .await;
    pair.send("ifirst line\rsecond line 漢字\rthird line").await;
    pair.settle("insert mode", |g| g.contains("third line") && g.contains("-- INSERT --")).await;
    pair.send("\x1b").await;
    pair.settle("back to normal mode", |g| !g.contains("-- INSERT --")).await;
    pair.send("ggvjw").await;
    pair.settle("a visual selection", |g| g.contains("-- VISUAL --")).await;
    pair.send("\x1b").await;
    pair.settle("visual mode left", |g| !g.contains("-- VISUAL --")).await;
    pair.send(":split\r").await;
    pair.settle("two windows", |g| g.text().iter().filter(|l| l.starts_with("notes.txt")).count() == 2).await;
    pair.resize(100, 30).await;
    pair.settle("resized", |g| g.cols == 100 && g.rows == 30 && g.contains("notes.txt")).await;
    pair.send(":qa!\r").await;
    // Leaving the alternate screen after a resize, tmux shows its reflowed main screen with the
    // alternate screen's rows above it; a terminal that does not reflow (xterm, the gateway)
    // shows the main screen as it was. Only the modes are compared.
    pair.settle_rows("vim quit", |g| !g.alternate && prompt(g), Some(0..0), true).await;
}

#[tokio::test]
async fn less_scrolls_and_searches() {
    if !available("less") {
        return;
    }
    let Some(pair) = bash("less").await else { return };
    let text: String =
        (1..=300).map(|i| format!("line {i:03} {}\n", "alpha beta gamma ".repeat(i % 4))).collect();
    std::fs::write(pair.home.join("lines.txt"), text).expect("write");
    run(&pair, "less lines.txt", |g| g.contains("line 001") && g.contains("lines.txt")).await;
    pair.send(" ").await;
    pair.settle("a page down", |g| g.contains("line 024") && !g.contains("line 001")).await;
    pair.send("/line 150\r").await;
    pair.settle("a search", |g| g.text().first().is_some_and(|l| l.starts_with("line 150"))).await;
    pair.send("G").await;
    pair.settle("the end", |g| g.contains("line 300") && g.contains("(END)")).await;
    pair.send("q").await;
    pair.settle("less quit", prompt).await;
}

/// `text` with every number (digits, with any `.` or `:` inside) as one `#` and no spaces: the
/// shape of top's header, whatever the numbers and their widths.
fn masked(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        let in_number = out.ends_with('#');
        match ch {
            ' ' => {}
            '0'..='9' if in_number => {}
            '0'..='9' => out.push('#'),
            '.' | ':' if in_number && chars.peek().is_some_and(char::is_ascii_digit) => {}
            _ => out.push(ch),
        }
    }
    out
}

#[tokio::test]
async fn top_draws_the_same_header() {
    if !available("top") {
        return;
    }
    let Some(pair) = bash("top").await else { return };
    pair.send("top -d 30\r").await;
    // The process rows differ (other pids, other times); the summary and the column header
    // must have the same shape on the same rows.
    let deadline = std::time::Instant::now() + support::DEADLINE;
    loop {
        let (ours, theirs) = (pair.ours().await, pair.theirs());
        let header = |g: &Grid| g.text().iter().position(|l| l.contains("PID") && l.contains("COMMAND"));
        if let (Some(a), Some(b)) = (header(&ours), header(&theirs)) {
            let shape = |g: &Grid| g.text()[..=a.max(b)].iter().map(|l| masked(l)).collect::<Vec<_>>();
            if a == b && shape(&ours) == shape(&theirs) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "top's header differs:\nours {:#?}\ntmux {:#?}",
                shape(&ours),
                shape(&theirs)
            );
        }
        assert!(std::time::Instant::now() < deadline, "top never drew its header");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    pair.send("q").await;
    // top's last screen stays above the prompt, numbers and all: only the prompt row is compared.
    pair.settle_rows("top quit", |g| prompt(g) && g.cursor.0 == 23, Some(23..24), true).await;
}

#[tokio::test]
async fn prompt_toolkit_edits_a_line() {
    let Some(python) = python_with(&["prompt_toolkit"]) else { return };
    let Some(pair) = bash("ptk").await else { return };
    // prompt_toolkit asks for the cursor position (`ESC[6n`) before it draws.
    let script = "from prompt_toolkit import prompt\nprint('got', prompt('pt> '))\n";
    std::fs::write(pair.home.join("ptk.py"), script).expect("write");
    run(&pair, &format!("{python} ptk.py"), |g| g.contains("pt>")).await;
    pair.send("hello").await;
    pair.settle("typed", |g| g.contains("pt> hello")).await;
    pair.send("\x01X").await;
    pair.settle("Ctrl-A and an insert", |g| g.contains("pt> Xhello")).await;
    pair.send("\r").await;
    pair.settle("the answer", |g| g.contains("got Xhello") && prompt(g)).await;
}

/// Draws on the alternate screen, asks for SGR mouse reports, and marks each report it reads.
const MOUSE_SCRIPT: &str = r#"
import os, re, sys, termios, tty
old = termios.tcgetattr(0)
tty.setraw(0)
out = sys.stdout
out.write("\x1b[?1049h\x1b[?1000h\x1b[?1006h\x1b[2J\x1b[H\x1b[7m mouse test \x1b[0m\r\n")
out.flush()
buf, n = b"", 0
while b"q" not in buf:
    buf += os.read(0, 64)
    end = 0
    for m in re.finditer(rb"\x1b\[<(\d+);(\d+);(\d+)([Mm])", buf):
        n += 1
        b, x, y, kind = int(m[1]), int(m[2]), int(m[3]), m[4].decode()
        out.write(f"\x1b[{y};{x}H\x1b[1;33m*\x1b[0m\x1b[{n + 2};1Hreport {n}: button {b} at {x},{y} {kind}")
        end = m.end()
    buf = buf[end:]
    out.flush()
out.write("\x1b[?1006l\x1b[?1000l\x1b[?1049l")
out.flush()
termios.tcsetattr(0, termios.TCSANOW, old)
print("mouse done")
"#;

#[tokio::test]
async fn alternate_screen_and_sgr_mouse_reports() {
    let Some(python) = python_with(&["termios"]) else { return };
    let Some(pair) = bash("mouse").await else { return };
    std::fs::write(pair.home.join("mouse.py"), MOUSE_SCRIPT).expect("write");
    let g = run(&pair, &format!("{python} mouse.py"), |g| g.contains("mouse test") && g.alternate).await;
    let theirs = pair.theirs();
    assert!(g.mouse_reports && g.mouse_sgr, "the gateway's history carries the mouse modes");
    assert!(theirs.mouse_reports && theirs.mouse_sgr, "tmux agrees the modes are on");
    pair.send("\x1b[<0;10;5M\x1b[<0;10;5m").await;
    pair.settle("a click", |g| g.contains("report 2: button 0 at 10,5 m")).await;
    pair.send("\x1b[<2;40;12M").await;
    pair.settle("a right click", |g| g.contains("report 3: button 2 at 40,12 M")).await;
    pair.send("q").await;
    let g = pair.settle("the program left", |g| g.contains("mouse done") && prompt(g)).await;
    assert!(!g.alternate && !g.mouse_reports, "modes restored");
}

/// `lines` numbered 64-byte lines: a gap or a repeat anywhere shows.
fn numbered_text(lines: usize) -> String {
    (0..lines)
        .map(|i| format!("{i:08} {}\n", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQR"))
        .collect()
}

#[tokio::test]
async fn a_megabyte_paste_and_a_bracketed_paste() {
    let Some(pair) = bash("paste").await else { return };
    // At a prompt readline asked for bracketed paste: a front end's paste is wrapped (tmux wraps
    // its own), and readline shows it as one inserted (highlighted) region.
    let g = pair.ours().await;
    assert!(g.bracketed_paste, "readline enabled mode 2004 and the snapshot says so");
    let modes = |g: &Grid| controlroom_tui::input::InputModes {
        application_cursor: false,
        bracketed_paste: g.bracketed_paste,
    };
    let small = pair.home.join("small.txt");
    std::fs::write(&small, "echo pasted-text").expect("write");
    let _ws =
        paste_both(&pair, &small, &controlroom_tui::input::encode_paste("echo pasted-text", modes(&g))).await;
    pair.settle("a bracketed paste", |g| g.contains("$ echo pasted-text")).await;
    pair.send("\r").await;
    pair.settle("the pasted command ran", |g| g.text().iter().any(|l| l == "pasted-text") && prompt(g)).await;

    // `cat` did not ask for it: the paste goes in bare, and every byte reaches the file.
    run(&pair, "cat > pasted-$CORPUS_SIDE.txt", |g| {
        !prompt(g) && g.contains("$ cat > pasted-$CORPUS_SIDE.txt")
    })
    .await;
    let g = pair.ours().await;
    assert!(!g.bracketed_paste, "mode 2004 is off while cat reads");
    let text = numbered_text(16 * 1024);
    assert_eq!(text.len(), 1 << 20);
    let source = pair.home.join("source.txt");
    std::fs::write(&source, &text).expect("write");
    let _ws = paste_both(&pair, &source, &controlroom_tui::input::encode_paste(&text, modes(&g))).await;
    let ours_file = pair.home.join("pasted-controlroom.txt");
    let tmux_file = pair.home.join("pasted-tmux.txt");
    support::wait_for("both files to have the whole paste", || {
        let len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let done = len(&ours_file) >= text.len() as u64 && len(&tmux_file) >= text.len() as u64;
        async move { done }
    })
    .await;
    pair.send("\x04").await;
    pair.settle("cat ended", |g| prompt(g) && g.contains("QR")).await;
    let want = Sha256::digest(text.as_bytes());
    for file in [&ours_file, &tmux_file] {
        let got = std::fs::read(file).expect("pasted file");
        assert_eq!(got.len(), text.len(), "{}: every byte arrived", file.display());
        assert_eq!(Sha256::digest(&got), want, "{}: byte for byte", file.display());
    }
}

/// Pastes into both: the front end's encoded bytes as one worker-socket message to the gateway,
/// the file through tmux's paste buffer. Returns the socket, to be kept open until the paste is in.
async fn paste_both(pair: &Pair, file: &std::path::Path, bytes: &[u8]) -> support::Ws {
    let mut ws = pair.gw.ws(&format!("/ws/session/{}/worker/{}", pair.sid, pair.wid)).await;
    ws.send_json(json!({"type": "input", "data": std::str::from_utf8(bytes).expect("utf-8")})).await;
    pair.tmux.paste_file(file);
    ws
}

#[tokio::test]
async fn escape_sequences_programs_use() {
    let Some(pair) = bash("sequences").await else { return };
    // Each line clears the screen, draws with one family of sequences, and leaves a marker.
    // Left out because the screen model does not have them yet (tmux does): setting and
    // clearing tab stops (`ESC H`, `ESC[3g`), autowrap off (`ESC[?7l`).
    let cases = [
        r"printf '\e[2J\e[H1\n2\n3\n4\n5\n6\n7\e[2;5r\e[2;1H\e[2L\e[5;1H\e[M\e[r\e[9;1Hdone-1\n'",
        r"printf '\e[2J\e[Habcdefghij\e[1;3H\e[2@\e[1;8H\e[3P\e[2;1Hxyz\e[2;2H\e[4hQ\e[4l\e[3;1Hrep\e[3b\e[4;1Hab\e[5X!\n\e[9;1Hdone-2\n'",
        r"printf '\e[2J\e[H\ta\tb\e[2;1H\tc\e[3;1Hsave\e7\e[6;6Hx\e8y\e[?6h\e[3;6r\e[1;1HO\e[?6l\e[r\e[9;1Hdone-3\n'",
        r"printf '\e[2J\e[H%85s|\n%85s|\n\e[9;1Hdone-4\n' a b",
        r"printf '\e[2J\e[H\e[1;2;3;4;5;7;8;9mall\e[22;23;24;25;27;28;29m plain \e[2mdim\e[0m \e[53mover\e[0m \e[21mdbl\e[0m\n\e[9;1Hdone-5\n'",
        r"printf '\e[2J\e[H\e[5;5H\e[1K|\e[6;1Habcdef\e[6;3H\e[0K\e[7;1Hxxxx\e[7;3H\e[2K!\e[3;1H\e[1J\e[9;1Hdone-6\n'",
        r"printf '\e[2J\e[Htop\e[20;1Hbottom\e[20;1H\eD\eD\eD\eD\eD\e[1;1H\eM\eM\e[12;1Hdone-7\n'",
    ];
    for (i, line) in cases.iter().enumerate() {
        let marker = format!("done-{}", i + 1);
        run(&pair, line, |g| g.text().contains(&marker) && prompt(g)).await;
    }
}

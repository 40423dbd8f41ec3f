//! Dialogs: small forms (new session, new worker, rename) and yes/no confirmations.

use super::line_edit::LineEdit;
use controlroom_protocol::{SessionId, WorkerId};
use crossterm::event::{KeyCode, KeyEvent};

/// What a form creates or changes when submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormKind {
    /// Fields: title, cwd, command.
    NewSession,
    /// Fields: name, command.
    NewWorker {
        /// The session to add it to.
        session: SessionId,
    },
    /// Field: title.
    Rename {
        /// The session to rename.
        session: SessionId,
    },
    /// Field: name.
    RenameWorker {
        /// Its session.
        session: SessionId,
        /// The worker to rename.
        worker: WorkerId,
    },
}

/// One text field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Label shown before it.
    pub label: &'static str,
    /// What the user typed.
    pub value: LineEdit,
    /// Shown dimmed while the value is empty: what an empty value means.
    pub placeholder: String,
    /// For a choice field, the values ←/→ cycle through (typing is ignored); empty for text.
    pub options: Vec<String>,
}

impl Field {
    fn new(label: &'static str, value: impl Into<String>, placeholder: impl Into<String>) -> Self {
        Self { label, value: LineEdit::new(value), placeholder: placeholder.into(), options: Vec::new() }
    }

    fn choice(label: &'static str, options: Vec<String>) -> Self {
        let value = LineEdit::new(options.first().cloned().unwrap_or_default());
        Self { label, value, placeholder: String::new(), options }
    }

    /// Moves a choice field's value `step` places through its options, wrapping around.
    fn cycle(&mut self, step: isize) {
        let n = self.options.len();
        if n == 0 {
            return;
        }
        let cur = self.options.iter().position(|o| o.as_str() == self.value.as_str()).unwrap_or(0);
        let next = (cur as isize + step).rem_euclid(n as isize) as usize;
        self.value.set(self.options[next].as_str());
    }
}

/// A form dialog: a few text fields, one focused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// What submitting does.
    pub kind: FormKind,
    /// The fields in order.
    pub fields: Vec<Field>,
    /// Index of the focused field.
    pub focus: usize,
}

/// The outcome of a key in a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormOutcome {
    /// Still editing.
    Editing,
    /// Closed without doing anything.
    Cancelled,
    /// Submitted.
    Submitted,
    /// Tab in a directory field holding text: complete it (see [`Form::complete`]).
    Complete(String),
}

impl Form {
    /// The new-session form; `command` is the configured default command (shown as placeholder).
    pub fn new_session(default_command: &str) -> Self {
        Self {
            kind: FormKind::NewSession,
            fields: vec![
                Field::new("Title", "", "session N"),
                Field::new(DIRECTORY, "", "the gateway's home directory"),
                Field::new("Command", "", placeholder_command(default_command)),
                Field::new(WORKTREE, "", "none (a new branch name makes a git worktree)"),
                Field::new(BASE, "", "the directory's branch"),
            ],
            focus: 0,
        }
    }

    /// The new-worker form: preset (when the gateway offers any), name, command.
    pub fn new_worker(session: SessionId, default_command: &str, presets: &[String]) -> Self {
        let mut fields = Vec::new();
        if !presets.is_empty() {
            fields.push(Field::choice("Preset", presets.to_vec()));
        }
        fields.push(Field::new("Name", "", "the program's name"));
        fields.push(Field::new("Command", "", placeholder_command(default_command)));
        Self { kind: FormKind::NewWorker { session }, fields, focus: 0 }
    }

    /// Sets the text of the field labelled `label`.
    pub fn set_value(&mut self, label: &str, value: &str) {
        if let Some(f) = self.fields.iter_mut().find(|f| f.label == label) {
            f.value.set(value);
        }
    }

    /// Applies path completions for `typed` (what the directory field held when Tab was
    /// pressed): extends the field to what all candidates share. Returns the candidates to show
    /// when that chose nothing; when there was nothing to complete, Tab moves on as elsewhere.
    pub fn complete(&mut self, typed: &str, candidates: &[String]) -> Vec<String> {
        let n = self.fields.len().max(1);
        let Some(f) = self.fields.get_mut(self.focus).filter(|f| f.label == DIRECTORY) else {
            return Vec::new();
        };
        if f.value.trim() != typed {
            return Vec::new(); // typed on meanwhile: this answer is stale
        }
        let shared = common_prefix(candidates);
        if shared.len() > typed.len() {
            f.value.set(shared);
            return Vec::new();
        }
        if candidates.len() > 1 {
            return candidates.to_vec();
        }
        self.focus = (self.focus + 1) % n;
        Vec::new()
    }

    /// The value of the field labelled `label`, trimmed (empty when absent).
    pub fn value_of(&self, label: &str) -> &str {
        self.fields.iter().find(|f| f.label == label).map_or("", |f| f.value.trim())
    }

    /// Sets the placeholder of the field labelled `label`.
    pub fn set_placeholder(&mut self, label: &str, placeholder: String) {
        if let Some(f) = self.fields.iter_mut().find(|f| f.label == label) {
            f.placeholder = placeholder;
        }
    }

    /// The rename form, prefilled with the current title.
    pub fn rename(session: SessionId, title: &str) -> Self {
        Self { kind: FormKind::Rename { session }, fields: vec![Field::new("Title", title, "")], focus: 0 }
    }

    /// The worker-rename form, prefilled with the current name.
    pub fn rename_worker(session: SessionId, worker: WorkerId, name: &str) -> Self {
        Self {
            kind: FormKind::RenameWorker { session, worker },
            fields: vec![Field::new("Name", name, "")],
            focus: 0,
        }
    }

    /// The dialog's title.
    pub fn title(&self) -> &'static str {
        match self.kind {
            FormKind::NewSession => "New session",
            FormKind::NewWorker { .. } => "New worker",
            FormKind::Rename { .. } => "Rename session",
            FormKind::RenameWorker { .. } => "Rename worker",
        }
    }

    /// The value of field `i`, trimmed (empty when absent).
    pub fn value(&self, i: usize) -> &str {
        self.fields.get(i).map_or("", |f| f.value.trim())
    }

    /// Edits the form with a key.
    pub fn key(&mut self, ev: &KeyEvent) -> FormOutcome {
        let n = self.fields.len().max(1);
        match ev.code {
            KeyCode::Esc => return FormOutcome::Cancelled,
            KeyCode::Enter => return FormOutcome::Submitted,
            KeyCode::Tab
                if self
                    .fields
                    .get(self.focus)
                    .is_some_and(|f| f.label == DIRECTORY && !f.value.is_empty()) =>
            {
                return FormOutcome::Complete(self.value_of(DIRECTORY).to_owned());
            }
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + n - 1) % n,
            KeyCode::Left | KeyCode::Right
                if self.fields.get(self.focus).is_some_and(|f| !f.options.is_empty()) =>
            {
                let step = if ev.code == KeyCode::Left { -1 } else { 1 };
                if let Some(f) = self.fields.get_mut(self.focus) {
                    f.cycle(step);
                }
            }
            _ if self.fields.get(self.focus).is_some_and(|f| !f.options.is_empty()) => {}
            _ => {
                if let Some(f) = self.fields.get_mut(self.focus) {
                    f.value.key(ev);
                }
            }
        }
        FormOutcome::Editing
    }

    /// Inserts pasted text into the focused field (newlines dropped).
    pub fn paste(&mut self, text: &str) {
        if let Some(f) = self.fields.get_mut(self.focus).filter(|f| f.options.is_empty()) {
            f.value.insert_str(text);
        }
    }
}

/// The label of the new-session form's directory field (Tab completes paths there).
pub const DIRECTORY: &str = "Directory";
/// The label of the new-session form's worktree field: a new branch to make a worktree for.
pub const WORKTREE: &str = "Worktree";
/// The label of the new-session form's base field: what the worktree's branch starts from.
pub const BASE: &str = "Base";

/// The longest start every string shares (on character boundaries).
fn common_prefix(items: &[String]) -> &str {
    let Some(first) = items.first() else { return "" };
    let mut end = first.len();
    for s in &items[1..] {
        end = first
            .char_indices()
            .zip(s.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, c), _)| i + c.len_utf8())
            .min(end);
    }
    &first[..end]
}

pub(super) fn placeholder_command(default_command: &str) -> String {
    if default_command.is_empty() { "your shell".into() } else { default_command.into() }
}

/// What a confirmation asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Stop this worker.
    StopWorker {
        /// Its session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
        /// Its name, for the question.
        name: String,
    },
    /// Restart a `lost` worker with its preset's resume arguments.
    Resume {
        /// Its session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
        /// Its name, for the question.
        name: String,
        /// The command line that will run.
        command: String,
    },
    /// Delete this worker (its screen and history go with it).
    DeleteWorker {
        /// Its session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
        /// Its name, for the question.
        name: String,
        /// Whether it is running (it stops first).
        running: bool,
    },
    /// Restart this running worker (the program is stopped and started again).
    RestartWorker {
        /// Its session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
        /// Its name, for the question.
        name: String,
    },
    /// Delete this session and stop its workers.
    DeleteSession {
        /// The session.
        session: SessionId,
        /// Its title, for the question.
        title: String,
        /// How many of its workers are running.
        running: usize,
    },
    /// Delete a session the gateway made a worktree for: `y` removes the worktree and branch
    /// too, `k` keeps them.
    DeleteWorktreeSession {
        /// The session.
        session: SessionId,
        /// Its title, for the question.
        title: String,
        /// Its branch.
        branch: String,
        /// Its worktree's directory.
        path: String,
    },
    /// The second question: removing the worktree loses uncommitted changes or commits only its
    /// branch has (the gateway's message counts them); remove it anyway?
    ForceRemoveWorktree {
        /// The session.
        session: SessionId,
        /// What the gateway said.
        message: String,
    },
}

impl Confirm {
    /// The question, one or two lines.
    pub fn question(&self) -> String {
        match self {
            Confirm::Resume { name, command, .. } => format!("Resume “{name}”?\nIt runs: {command}"),
            Confirm::StopWorker { name, .. } => {
                format!("Stop worker “{name}”?\nIt stays in the list; R restarts it.")
            }
            Confirm::DeleteWorker { name, running: false, .. } => format!("Delete worker “{name}”?"),
            Confirm::DeleteWorker { name, running: true, .. } => {
                format!("Delete worker “{name}”? It is running and will stop.")
            }
            Confirm::RestartWorker { name, .. } => {
                format!("Restart worker “{name}”? It is running; the program starts over.")
            }
            Confirm::DeleteWorktreeSession { title, branch, path, .. } => format!(
                "Delete session “{title}” and remove its worktree and branch?\n{path} ({branch})\ny: remove them too · k: keep them, delete only the session · n: cancel"
            ),
            Confirm::ForceRemoveWorktree { message, .. } => {
                // On short lines (the path, what is lost, the unmerged commits): the overlay
                // sizes itself by lines, and a wrapped one would push the answer keys out.
                let message = match message.split_once(" has ") {
                    Some((path, lost)) => format!("{path}\nhas {}", lost.replacen(" and ", "\nand ", 1)),
                    None => message.clone(),
                };
                format!("{message}\nRemove it anyway? That work is lost.")
            }
            Confirm::DeleteSession { title, running, .. } => match running {
                0 => format!("Delete session “{title}”?"),
                1 => format!("Delete session “{title}”? Its running worker will stop."),
                n => format!("Delete session “{title}”? Its {n} running workers will stop."),
            },
        }
    }
}

/// Why a command line could not be split into argv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandLineError {
    /// A backslash with nothing after it.
    #[error("trailing backslash")]
    TrailingBackslash,
    /// A quote that never closes.
    #[error("unclosed quote")]
    UnclosedQuote,
}

/// Splits a command line into argv: whitespace-separated, with '…', "…" and backslash escapes.
pub fn split_command(line: &str) -> Result<Vec<String>, CommandLineError> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => match chars.next() {
                Some(n) => cur.push(n),
                None => return Err(CommandLineError::TrailingBackslash),
            },
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
                continue;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    args.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                continue;
            }
            (None, c) => cur.push(c),
        }
        in_word = true;
    }
    if quote.is_some() {
        return Err(CommandLineError::UnclosedQuote);
    }
    if in_word {
        args.push(cur);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    #[test]
    fn split_command_handles_quotes() {
        assert_eq!(split_command("  ls -la  ").expect("ok"), ["ls", "-la"]);
        assert_eq!(
            split_command(r#"sh -c 'echo hi; ls' "a b"\ c"#).expect("ok"),
            ["sh", "-c", "echo hi; ls", "a b c"]
        );
        assert_eq!(split_command("echo ''").expect("ok"), ["echo", ""]);
        assert_eq!(split_command("echo 'oops"), Err(CommandLineError::UnclosedQuote));
        assert_eq!(split_command("echo \\"), Err(CommandLineError::TrailingBackslash));
        assert_eq!(CommandLineError::UnclosedQuote.to_string(), "unclosed quote");
        assert!(split_command("").expect("ok").is_empty());
    }

    #[test]
    fn form_edits_and_cycles_fields() {
        let mut f = Form::new_session("");
        for c in "api".chars() {
            f.key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        f.key(&KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
        f.paste("/tmp\n");
        f.key(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
        f.key(&KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(f.value(0), "ap");
        assert_eq!(f.value(1), "/tmp");
        assert_eq!(f.key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)), FormOutcome::Submitted);
    }
}

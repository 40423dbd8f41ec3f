//! Answering a worker without attaching: the one-line reply (`i`), the answer keys (`y`, `n`,
//! `1`-`9`) for a worker asking with a prompt whose answers a preset names, and switching the
//! preset's auto-answer (`A`).
//!
//! The dashboard calls these for its selected worker; the wall (or any other view) calls the
//! same entry points, [`State::open_reply`] and [`State::answer_key`], with the worker it shows.
//! Every reply goes through the gateway's `POST …/reply` ([`Effect::Reply`]), so what is sent
//! and the prompt it answered are decided where the prompt was seen.

use super::line_edit::LineEdit;
use super::{Effect, Mode, Notice, State};
use controlroom_protocol::{ActivityState, ReplyResponse, SessionId, WorkerId, WorkerPrompt};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Characters that answer a prompt directly when it takes them.
pub const ANSWER_KEYS: &str = "yn123456789";

/// The open reply line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine {
    /// The worker's session.
    pub session: SessionId,
    /// The worker.
    pub worker: WorkerId,
    /// Its name, for the title.
    pub name: String,
    /// The question it was asking when the line opened.
    pub question: Option<String>,
    /// What the user typed.
    pub edit: LineEdit,
}

impl State {
    /// Opens the reply line for `worker` (`i`); says why not on a read-only connection or for a
    /// worker that is not running.
    pub fn open_reply(&mut self, session: SessionId, worker: WorkerId) {
        if self.settings.read_only {
            return self.reply_notice("read-only connection: it can watch, not reply");
        }
        let Some(w) = self.store.worker(&session, &worker) else {
            return self.reply_notice("no worker selected");
        };
        if w.state != controlroom_protocol::WorkerState::Running {
            let text = format!("“{}” is not running — nothing to reply to", w.name);
            return self.reply_notice(&text);
        }
        let question = w.prompt.as_ref().map(|p| p.question.clone());
        let name = w.name.clone();
        self.mode = Mode::Reply(ReplyLine { session, worker, name, question, edit: LineEdit::default() });
    }

    /// A key while the reply line is open: Enter sends the line and Enter (an empty line: Enter
    /// alone), Esc cancels, anything else edits.
    pub(super) fn reply_key(&mut self, ev: &KeyEvent, fx: &mut Vec<Effect>) {
        let Mode::Reply(line) = &mut self.mode else { return };
        match ev.code {
            // Back where the line was opened: the wall when it is open, else the dashboard.
            KeyCode::Esc => self.mode = self.base_mode(),
            KeyCode::Enter => {
                let line = line.clone();
                self.mode = self.base_mode();
                fx.push(Effect::Reply {
                    session: line.session,
                    worker: line.worker,
                    text: line.edit.as_str().to_owned(),
                    literal: true,
                });
            }
            _ => {
                line.edit.key(ev);
            }
        }
    }

    /// Pasted text goes into the open reply line (one line: breaks are dropped).
    pub(super) fn reply_paste(&mut self, text: &str) {
        if let Mode::Reply(line) = &mut self.mode {
            line.edit.insert_str(text);
        }
    }

    /// `y`, `n` or `1`-`9` for `worker`: when it is asking with a prompt whose answers a preset
    /// names, answers it if the prompt takes the key, else says which keys it takes. `false`
    /// when the key is left for its usual binding (the worker is not asking with such a prompt).
    pub fn answer_key(
        &mut self,
        session: &SessionId,
        worker: &WorkerId,
        ev: &KeyEvent,
        fx: &mut Vec<Effect>,
    ) -> bool {
        let KeyCode::Char(key) = ev.code else { return false };
        if !ANSWER_KEYS.contains(key) || ev.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) {
            return false;
        }
        let Some(prompt) = self.asking_prompt(session, worker) else { return false };
        if self.settings.read_only {
            self.reply_notice("read-only connection: it can watch, not answer");
            return true;
        }
        match answer_for(&prompt, key) {
            Some(answer) => fx.push(Effect::Reply {
                session: session.clone(),
                worker: worker.clone(),
                text: answer,
                literal: false,
            }),
            None => {
                let text =
                    format!("{key} does not answer this prompt: it takes {}", prompt.answers.join("/"));
                self.reply_notice(&text);
            }
        }
        true
    }

    /// `A`: switches the preset's auto-answer of `worker` off while it counts down or is on,
    /// and on again when off.
    pub fn toggle_auto_answer(&mut self, session: &SessionId, worker: &WorkerId, fx: &mut Vec<Effect>) {
        if self.settings.read_only {
            return self.reply_notice("read-only connection: it can watch, not change anything");
        }
        let auto = self.asking_prompt(session, worker).and_then(|p| p.auto_answer);
        match auto {
            Some(a) => fx.push(Effect::AutoAnswer {
                session: session.clone(),
                worker: worker.clone(),
                enabled: a.off,
            }),
            None => {
                self.reply_notice("no auto-answer here: the worker is not asking a prompt its preset answers")
            }
        }
    }

    /// The prompt `worker` asks with, while it is `asking` and a preset names its answers.
    fn asking_prompt(&self, session: &SessionId, worker: &WorkerId) -> Option<WorkerPrompt> {
        let w = self.store.worker(session, worker)?;
        if self.store.activity(session, w) != ActivityState::Asking {
            return None;
        }
        w.prompt.as_deref().filter(|p| !p.answers.is_empty()).cloned()
    }

    /// The gateway answered a reply: say which prompt it answered.
    pub(super) fn replied(
        &mut self,
        session: &SessionId,
        worker: &WorkerId,
        text: &str,
        response: &ReplyResponse,
    ) {
        let name = self.store.worker(session, worker).map_or_else(|| worker.to_string(), |w| w.name.clone());
        let said = format!("{name}: {}", describe_reply(text, response));
        self.notice = Some(Notice { text: said, error: false });
    }

    fn reply_notice(&mut self, text: &str) {
        self.notice = Some(Notice { text: text.to_owned(), error: false });
    }
}

/// The answer `key` stands for in `prompt`: itself, or the answer it starts (`y` for `yes`).
fn answer_for(prompt: &WorkerPrompt, key: char) -> Option<String> {
    let key = key.to_string();
    prompt
        .answers
        .iter()
        .find(|a| **a == key)
        .or_else(|| prompt.answers.iter().find(|a| a.starts_with(&key)))
        .cloned()
}

/// What a reply did, in words (`answered "Do you want to proceed?" with 1`, `sent "ls⏎" (no
/// prompt on screen; the worker was idle)`): the dashboard's notice and `controlroom reply`'s
/// output.
pub fn describe_reply(text: &str, r: &ReplyResponse) -> String {
    let shown = printable(&r.sent.replace('\r', "⏎"));
    match &r.question {
        Some(q) if r.sent.trim_end_matches('\r') == text && !text.is_empty() => {
            format!("answered \"{}\" with {}", printable(q), printable(text))
        }
        Some(q) => format!("answered \"{}\" with \"{shown}\"", printable(q)),
        None => format!("sent \"{shown}\" (no prompt on screen; {})", no_prompt_why(r.activity_state)),
    }
}

/// Why a reply went out as a plain line: what the worker was doing when it came, in a user's
/// words (the state's wire name, `unknown`, said nothing to someone who typed a line).
fn no_prompt_why(state: ActivityState) -> &'static str {
    match state {
        ActivityState::Unknown => "the worker had not printed anything yet",
        ActivityState::Active => "the worker was busy printing",
        ActivityState::Idle => "the worker was idle",
        ActivityState::Asking => "the worker asked for attention (a bell or a notification), not at a prompt",
        ActivityState::Exited => "the worker had exited",
    }
}

/// `text` with control characters escaped: a question comes from a program's screen.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// Seconds left before the auto-answer of `prompt` fires at `now` (rounded up), while it counts.
pub fn auto_answer_left(prompt: &WorkerPrompt, now: jiff::Timestamp) -> Option<i64> {
    let at: jiff::Timestamp = prompt.auto_answer.as_ref()?.at.as_ref()?.parse().ok()?;
    let ms = at.as_millisecond() - now.as_millisecond();
    Some(((ms + 999) / 1000).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(question: Option<&str>, sent: &str, activity_state: ActivityState) -> ReplyResponse {
        ReplyResponse { question: question.map(str::to_owned), sent: sent.into(), activity_state }
    }

    #[test]
    fn a_reply_is_described_in_a_users_words() {
        let r = response(Some("Proceed? [y/N]"), "y\r", ActivityState::Asking);
        assert_eq!(describe_reply("y", &r), "answered \"Proceed? [y/N]\" with y");
        let r = response(None, "make\r", ActivityState::Idle);
        assert_eq!(describe_reply("make", &r), "sent \"make⏎\" (no prompt on screen; the worker was idle)");
        // A worker whose state is not known yet (nothing printed) is not called "unknown".
        let said = describe_reply("hi", &response(None, "hi\r", ActivityState::Unknown));
        assert_eq!(said, "sent \"hi⏎\" (no prompt on screen; the worker had not printed anything yet)");
        for state in [ActivityState::Active, ActivityState::Asking, ActivityState::Exited] {
            let said = describe_reply("x", &response(None, "x\r", state));
            assert!(said.starts_with("sent \"x⏎\" (no prompt on screen; the worker "), "{said}");
            assert!(!said.contains("unknown") && !said.contains("asking"), "{said}");
        }
    }
}

//! The activity state machine (`unknown` / `active` / `idle` / `asking` / `exited`) and the
//! deadlines it waits on.
//!
//! Nothing polls: the tracker says when it next has something to decide
//! ([`ActivityTracker::next_due`]: the end of a silence, of a prompt's wait, of an auto-answer's
//! countdown) and the worker's actor sets its one timer to that. A worker printing without a
//! pause is looked at once per `idle_after` (its deadline moves on with the output), an idle one
//! never.

use super::answers::Question;
use super::auto_answer::AutoAnswerer;
use super::detect::{ActivityRules, Observation, PromptMatch, Signals};
use crate::time::now_iso;
use controlroom_protocol::{ActivityState, WorkerPrompt};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How soon the actor looks again at a deadline the tracker reported that passed without being
/// decided (none should: each clears itself once passed; this only keeps a mistake from
/// becoming a busy loop).
pub(crate) const OVERDUE_RECHECK: Duration = Duration::from_millis(100);

/// Most evidence items kept per worker for `explain`.
const EVIDENCE_KEPT: usize = 12;

/// One reason the tracker saw, for `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceItem {
    /// `signal`, `screen`, `rate`, `silence`, `input`, `exit` or `start`.
    pub kind: &'static str,
    /// What was seen.
    pub detail: String,
    /// When (ISO-8601).
    pub at: String,
}

/// Why the worker is `asking`: a signal clears only on input; a screen prompt also clears when
/// it leaves the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AskingCause {
    Signal,
    Screen,
}

/// Turns output, input, screen observations, exits and ticks into an [`ActivityState`], keeping
/// the evidence. Strongest first: program signals (notification, bell, title), then a prompt on
/// screen, then the output rate (sustained output for `active`, silence for `idle`).
#[derive(Debug)]
pub(crate) struct ActivityTracker {
    rules: Arc<ActivityRules>,
    state: ActivityState,
    since: Option<String>,
    /// Times of the most recent output chunks (at most `active_chunks`).
    chunks: VecDeque<Instant>,
    /// The first output since the process started (for the steady-output verdict).
    first_output: Option<Instant>,
    last_output: Option<Instant>,
    asking: Option<AskingCause>,
    /// A prompt seen on screen, waiting out `asking_after`.
    prompt_candidate: Option<(Instant, PromptMatch)>,
    /// Since when the prompt behind a screen `asking` has been gone.
    prompt_gone: Option<Instant>,
    /// The prompt line the user answered, as last seen (with the answer echoed after it); it
    /// does not count again while it stays on screen.
    dismissed: Option<String>,
    /// The prompt line on screen at the last scan.
    current_prompt: Option<String>,
    /// What that prompt asks and the answers it takes.
    question: Option<Question>,
    /// The preset's auto-answer.
    auto: AutoAnswerer,
    /// The notification text behind the current `asking`, while it lasts.
    notification: Option<String>,
    /// Signal counters already acted on.
    seen: Signals,
    evidence: VecDeque<EvidenceItem>,
    tail: Vec<String>,
}

impl ActivityTracker {
    /// A tracker in `state` (`Unknown` for a new process, `Exited` for a restored worker).
    pub(crate) fn new(rules: Arc<ActivityRules>, state: ActivityState) -> Self {
        let auto = AutoAnswerer::new(rules.auto_answer.clone(), rules.auto_answer_delay);
        Self {
            rules,
            state,
            since: None,
            chunks: VecDeque::new(),
            first_output: None,
            last_output: None,
            asking: None,
            prompt_candidate: None,
            prompt_gone: None,
            dismissed: None,
            current_prompt: None,
            question: None,
            auto,
            notification: None,
            seen: Signals::default(),
            evidence: VecDeque::new(),
            tail: Vec::new(),
        }
    }

    /// Current state.
    pub(crate) fn state(&self) -> ActivityState {
        self.state
    }

    /// The notification's text while the worker asks because of one.
    pub(crate) fn notification(&self) -> Option<&str> {
        self.notification.as_deref()
    }

    /// A client attached to the worker interactively (it sized the screen to its own): whoever
    /// was notified has come to look, so `asking` raised by a notification ends. A prompt on the
    /// screen still asks until answered.
    pub(crate) fn on_looked(&mut self) -> bool {
        if self.auto.cancel() {
            self.note("input", "auto-answer cancelled: a client attached".into());
            return true;
        }
        if self.asking != Some(AskingCause::Signal) || self.notification.is_none() {
            return false;
        }
        self.asking = None;
        self.chunks.clear();
        self.set(ActivityState::Idle, "input", "a client attached to look at the notification".into())
    }

    /// The state, when it began, the evidence (most recent first), the screen tail and title.
    pub(crate) fn report(
        &self,
    ) -> (ActivityState, Option<String>, Vec<EvidenceItem>, Vec<String>, Option<String>) {
        (
            self.state,
            self.since.clone(),
            self.evidence.iter().rev().cloned().collect(),
            self.tail.clone(),
            self.seen.title.clone(),
        )
    }

    /// The earliest time at which [`ActivityTracker::on_tick`] (or the auto-answer) has
    /// something to decide, given what it knows now: the end of a silence (`idle_after` after
    /// the last output, or after the first for steady output), of a prompt's wait
    /// (`asking_after`), of a countdown. `None` when nothing waits on time. The actor sets its
    /// one timer to it (re-set as output moves it, lazily: a later time waits for the earlier
    /// one to pass), instead of looking every tick.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        let mut due: Option<Instant> = None;
        let mut take = |at: Instant| due = Some(due.map_or(at, |d| d.min(at)));
        if let Some((at, _)) = &self.prompt_candidate {
            take(*at + self.rules.asking_after);
        }
        if let Some(gone) = self.prompt_gone {
            take(gone + self.rules.asking_after);
        }
        if matches!(self.state, ActivityState::Active | ActivityState::Unknown)
            && let Some(last) = self.last_output
        {
            take(last + self.rules.idle_after);
        }
        if self.state == ActivityState::Unknown
            && let Some(first) = self.first_output
        {
            take(first + self.rules.idle_after);
        }
        if let Some(at) = self.auto.due_at() {
            take(at);
        }
        due
    }

    /// The prompt the worker asks with, for clients: while `asking` with a prompt on screen.
    pub(crate) fn prompt(&self) -> Option<WorkerPrompt> {
        if self.state != ActivityState::Asking {
            return None;
        }
        let q = self.question.as_ref()?;
        Some(WorkerPrompt {
            question: q.text.clone(),
            answers: q.answers.clone(),
            enter: q.enter,
            auto_answer: self.auto.status(q),
        })
    }

    /// Switches the preset's auto-answer on or off; true if what clients see changed.
    pub(crate) fn set_auto_answer(&mut self, enabled: bool, now: Instant) -> bool {
        if !self.auto.set_enabled(enabled) {
            return false;
        }
        let word = if enabled { "on" } else { "off" };
        self.note("input", format!("auto-answer switched {word} by a client"));
        self.follow_auto(now);
        true
    }

    /// The auto-answer whose countdown ran out: logged, the prompt counted as answered; the
    /// caller types the bytes.
    pub(crate) fn take_auto_answer(&mut self, now: Instant) -> Option<Vec<u8>> {
        let fired = self.auto.due(now)?;
        let question = self.question.as_ref().map(|q| q.text.clone()).unwrap_or_default();
        self.answered(format!(
            "auto-answered {question:?} with {:?} after {} ms (preset auto-answer)",
            fired.answer,
            fired.delay.as_millis()
        ));
        Some(fired.bytes)
    }

    /// Starts or ends the auto-answer's countdown as the prompt on screen says.
    fn follow_auto(&mut self, now: Instant) {
        let asking = match (&self.current_prompt, &self.question) {
            (Some(line), Some(q)) if self.state == ActivityState::Asking => Some((line.as_str(), q)),
            _ => None,
        };
        self.auto.follow(asking, now);
    }

    /// The prompt was answered: `asking` ends, and the same prompt line does not count again.
    fn answered(&mut self, detail: String) -> bool {
        self.asking = None;
        self.prompt_gone = None;
        self.prompt_candidate = None;
        self.dismissed = self.current_prompt.clone();
        self.chunks.clear();
        self.auto.follow(None, Instant::now());
        self.set(ActivityState::Idle, "input", detail)
    }

    /// An output chunk arrived (a batch of PTY reads).
    pub(crate) fn on_output(&mut self, now: Instant) -> bool {
        self.first_output.get_or_insert(now);
        self.last_output = Some(now);
        self.chunks.push_back(now);
        while self.chunks.len() > self.rules.active_chunks {
            self.chunks.pop_front();
        }
        let sustained = self.chunks.len() >= self.rules.active_chunks
            && self
                .chunks
                .front()
                .is_some_and(|first| now.duration_since(*first) <= self.rules.active_window);
        // While asking, redraws do not count: only input or the prompt leaving ends it.
        if sustained && self.asking.is_none() && self.state != ActivityState::Active {
            let detail = format!(
                "{} output chunks within {} ms",
                self.rules.active_chunks,
                self.rules.active_window.as_millis()
            );
            return self.set(ActivityState::Active, "rate", detail);
        }
        false
    }

    /// A client typed `data`: Enter or Esc answers a question.
    /// A key a menu takes alone (a digit, no Enter) answers it too.
    pub(crate) fn on_input(&mut self, data: &[u8], _now: Instant) -> bool {
        let cancelled = !data.is_empty() && self.auto.cancel();
        if cancelled {
            self.note("input", "auto-answer cancelled: a client typed".into());
        }
        let menu_key = self.asking.is_some()
            && self.question.as_ref().is_some_and(|q| {
                !q.enter && std::str::from_utf8(data).is_ok_and(|d| q.answers.iter().any(|a| a == d))
            });
        if menu_key {
            let key = String::from_utf8_lossy(data).into_owned();
            return self.answered(format!("a client answered the menu with {key:?}")) | cancelled;
        }
        if !data.iter().any(|b| matches!(b, b'\r' | b'\n' | 0x1b)) {
            return cancelled;
        }
        if self.asking.is_none() {
            // Answered before it settled into `asking`: that prompt never counts.
            if self.prompt_candidate.take().is_some() {
                self.dismissed = self.current_prompt.clone();
            }
            return cancelled;
        }
        self.answered("a client answered (Enter or Esc)".into()) | cancelled
    }

    /// The screen thread published a scan.
    pub(crate) fn on_observation(&mut self, obs: &Observation, now: Instant) -> bool {
        self.tail.clone_from(&obs.tail);
        if self.state == ActivityState::Exited {
            self.seen = obs.signals.clone();
            return false;
        }
        let before = self.prompt();
        let mut changed = false;
        let sig = &obs.signals;
        if sig.title_changes > self.seen.title_changes {
            let title = sig.title.clone().unwrap_or_default();
            match self.rules.title_match(&title) {
                Some(m) => {
                    changed |=
                        self.ask(AskingCause::Signal, format!("title {:?} matched {:?}", m.line, m.pattern))
                }
                None => self.note("signal", format!("title set to {title:?}")),
            }
        }
        if sig.notifications > self.seen.notifications {
            let text = sig.last_notification.clone().unwrap_or_default();
            if self.rules.notifications {
                changed |= self.ask(AskingCause::Signal, format!("notification (OSC 9/777): {text:?}"));
                // After `ask`: set() forgets it when the state leaves `asking`, never on entering.
                changed |= self.notification.as_deref() != Some(text.as_str());
                self.notification = Some(text);
            } else {
                self.note("signal", format!("notification ignored by config: {text:?}"));
            }
        }
        if sig.bells > self.seen.bells {
            if self.rules.bell {
                changed |= self.ask(AskingCause::Signal, "bell (BEL)".into());
            } else {
                self.note("signal", "bell ignored by config".into());
            }
        }
        self.seen = sig.clone();
        self.current_prompt = obs.prompt.as_ref().map(|m| m.line.clone());
        self.question = obs.prompt.as_ref().map(|m| m.question.clone());
        match &obs.prompt {
            // The answered line, maybe with the answer echoed after it (`… [y/N] y`): remember
            // it as it is now, so the same question asked again on a new line counts.
            Some(m) if self.dismissed.as_deref().is_some_and(|d| m.line.starts_with(d)) => {
                self.dismissed = Some(m.line.clone());
            }
            Some(m) => {
                self.dismissed = None;
                self.prompt_gone = None;
                if self.asking.is_none()
                    && self.prompt_candidate.as_ref().is_none_or(|(_, c)| c.line != m.line)
                {
                    self.prompt_candidate = Some((now, m.clone()));
                }
            }
            None => {
                self.dismissed = None;
                self.prompt_candidate = None;
                if self.asking == Some(AskingCause::Screen) && self.prompt_gone.is_none() {
                    self.prompt_gone = Some(now);
                }
            }
        }
        changed |= self.on_tick(now);
        self.follow_auto(now);
        changed | (before != self.prompt())
    }

    /// Time passed.
    pub(crate) fn on_tick(&mut self, now: Instant) -> bool {
        let changed = self.on_tick_state(now);
        if changed {
            self.follow_auto(now);
        }
        changed
    }

    fn on_tick_state(&mut self, now: Instant) -> bool {
        if let Some((at, m)) = &self.prompt_candidate
            && now.duration_since(*at) >= self.rules.asking_after
        {
            let detail = format!("pattern {:?} matched {:?}", m.pattern, m.line.trim());
            self.dismissed = None;
            return self.ask(AskingCause::Screen, detail);
        }
        if let Some(gone) = self.prompt_gone
            && now.duration_since(gone) >= self.rules.asking_after
        {
            self.prompt_gone = None;
            self.asking = None;
            self.chunks.clear();
            return self.set(ActivityState::Idle, "screen", "the prompt left the screen".into());
        }
        if matches!(self.state, ActivityState::Active | ActivityState::Unknown)
            && let Some(last) = self.last_output
            && now.duration_since(last) >= self.rules.idle_after
        {
            let detail = format!("no output for {} ms", self.rules.idle_after.as_millis());
            return self.set(ActivityState::Idle, "silence", detail);
        }
        // Steady output below the active rate (a clock, a progress line) never falls silent:
        // after `idle_after` of it the worker is `idle`, with the rate as its evidence.
        if self.state == ActivityState::Unknown
            && let Some(first) = self.first_output
            && now.duration_since(first) >= self.rules.idle_after
        {
            let detail = self.steady_rate_detail();
            return self.set(ActivityState::Idle, "rate", detail);
        }
        false
    }

    /// "output every ~N ms, below the active rate (6 chunks within 2000 ms)".
    fn steady_rate_detail(&self) -> String {
        let below = format!(
            "below the active rate ({} chunks within {} ms)",
            self.rules.active_chunks,
            self.rules.active_window.as_millis()
        );
        match (self.chunks.front(), self.chunks.back()) {
            (Some(first), Some(last)) if self.chunks.len() > 1 => {
                let gaps = u32::try_from(self.chunks.len() - 1).unwrap_or(u32::MAX);
                let every = last.duration_since(*first) / gaps;
                format!("output every ~{} ms, {below}", every.as_millis())
            }
            _ => format!("output now and then, {below}"),
        }
    }

    /// The process exited.
    pub(crate) fn on_exit(&mut self) -> bool {
        self.auto.follow(None, Instant::now());
        self.asking = None;
        self.prompt_candidate = None;
        self.prompt_gone = None;
        self.set(ActivityState::Exited, "exit", "the process exited".into())
    }

    /// A new process started (restart).
    pub(crate) fn on_start(&mut self) -> bool {
        self.auto.follow(None, Instant::now());
        self.first_output = None;
        self.last_output = None;
        self.chunks.clear();
        self.asking = None;
        self.prompt_candidate = None;
        self.prompt_gone = None;
        self.dismissed = None;
        self.set(ActivityState::Unknown, "start", "the process started".into())
    }

    fn ask(&mut self, cause: AskingCause, detail: String) -> bool {
        self.prompt_candidate = None;
        // A signal is the stronger cause: it is not cleared by the screen.
        if self.asking != Some(AskingCause::Signal) {
            self.asking = Some(cause);
        }
        let kind = if cause == AskingCause::Signal { "signal" } else { "screen" };
        self.set(ActivityState::Asking, kind, detail)
    }

    fn note(&mut self, kind: &'static str, detail: String) {
        if self.evidence.len() == EVIDENCE_KEPT {
            self.evidence.pop_front();
        }
        self.evidence.push_back(EvidenceItem { kind, detail, at: now_iso() });
    }

    fn set(&mut self, state: ActivityState, kind: &'static str, detail: String) -> bool {
        self.note(kind, detail);
        if state != ActivityState::Asking {
            self.notification = None;
        }
        let changed = self.state != state;
        if changed {
            self.since = Some(now_iso());
        }
        self.state = state;
        changed
    }
}

#[cfg(test)]
#[path = "activity_tests.rs"]
mod tests;

//! A preset's `auto-answer` (claude-squad's auto-yes): a prompt on screen that takes the preset's
//! answer is answered by the gateway itself once a visible countdown
//! (`auto-answer-delay-ms`) runs out, whether or not any front end is connected.
//!
//! Plain data driven by the worker's `ActivityTracker` (which owns one) and the actor's one
//! activity deadline: no timer of its own. Anything a client does to the worker — typing, attaching to look —
//! cancels the countdown of the prompt on screen; switching it off (`a`, `POST …/auto-answer`)
//! keeps it off for the worker until switched on again.

use super::answers::{Question, answer_bytes};
use crate::time::iso_in;
use controlroom_protocol::AutoAnswer;
use std::time::{Duration, Instant};

/// A countdown running for one prompt line.
#[derive(Debug, Clone)]
struct Countdown {
    /// The prompt line it answers; another prompt ends it.
    line: String,
    /// What it sends.
    bytes: Vec<u8>,
    /// When.
    due: Instant,
    /// `due` as ISO-8601, for clients.
    at: String,
}

/// What the auto-answer of one worker is doing.
#[derive(Debug, Clone)]
pub(crate) struct AutoAnswerer {
    answer: Option<String>,
    delay: Duration,
    enabled: bool,
    countdown: Option<Countdown>,
    /// The prompt line whose countdown a client cancelled: it does not start again for it.
    cancelled: Option<String>,
}

/// An answer whose countdown ran out: the tracker logs it and the actor types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fired {
    /// The bytes for the program.
    pub(crate) bytes: Vec<u8>,
    /// The answer as configured.
    pub(crate) answer: String,
    /// How long it counted down.
    pub(crate) delay: Duration,
}

impl AutoAnswerer {
    /// The preset's `answer` (none: never answers) after `delay`.
    pub(crate) fn new(answer: Option<String>, delay: Duration) -> Self {
        Self { answer, delay, enabled: true, countdown: None, cancelled: None }
    }

    /// Whether a countdown runs.
    #[cfg(test)]
    pub(crate) fn counting(&self) -> bool {
        self.countdown.is_some()
    }

    /// When the running countdown ends.
    pub(crate) fn due_at(&self) -> Option<Instant> {
        self.countdown.as_ref().map(|c| c.due)
    }

    /// Follows the prompt the worker asks with now (`None` when it is not asking): starts a
    /// countdown for a new prompt that takes the answer, ends one whose prompt is gone.
    pub(crate) fn follow(&mut self, asking: Option<(&str, &Question)>, now: Instant) {
        let Some((line, question)) = asking else {
            self.countdown = None;
            self.cancelled = None;
            return;
        };
        if self.countdown.as_ref().is_some_and(|c| c.line != line) {
            self.countdown = None;
        }
        if self.cancelled.as_deref().is_some_and(|c| c != line) {
            self.cancelled = None;
        }
        if !self.enabled || self.countdown.is_some() || self.cancelled.is_some() {
            return;
        }
        let Some(bytes) = self.answer.as_deref().and_then(|a| answer_bytes(question, a)) else { return };
        let due = now + self.delay;
        let at = iso_in(self.delay);
        self.countdown = Some(Countdown { line: line.to_owned(), bytes, due, at });
    }

    /// A client typed or attached: the countdown of this prompt stops. True if one ran.
    pub(crate) fn cancel(&mut self) -> bool {
        match self.countdown.take() {
            Some(c) => {
                self.cancelled = Some(c.line);
                true
            }
            None => false,
        }
    }

    /// Switches it on or off for this worker; true if that changed anything.
    pub(crate) fn set_enabled(&mut self, enabled: bool) -> bool {
        let changed = self.enabled != enabled;
        self.enabled = enabled;
        if !enabled {
            self.countdown = None;
        }
        self.cancelled = None;
        changed
    }

    /// The answer, once its countdown has run out at `now`.
    pub(crate) fn due(&mut self, now: Instant) -> Option<Fired> {
        if self.countdown.as_ref().is_none_or(|c| now < c.due) {
            return None;
        }
        let c = self.countdown.take()?;
        self.cancelled = Some(c.line);
        Some(Fired { bytes: c.bytes, answer: self.answer.clone().unwrap_or_default(), delay: self.delay })
    }

    /// What clients see for a prompt that takes the answer.
    pub(crate) fn status(&self, question: &Question) -> Option<AutoAnswer> {
        let answer = self.answer.as_ref().filter(|a| question.answers.contains(a))?;
        Some(AutoAnswer {
            answer: answer.clone(),
            delay_ms: u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX),
            at: self.countdown.as_ref().map(|c| c.at.clone()),
            off: !self.enabled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> Question {
        Question {
            text: "Proceed? ❯ 1. Yes  2. No".into(),
            answers: vec!["1".into(), "2".into()],
            enter: false,
        }
    }

    #[test]
    fn counts_down_then_fires_once_for_a_prompt_that_takes_it() {
        let t0 = Instant::now();
        let mut a = AutoAnswerer::new(Some("1".into()), Duration::from_secs(3));
        let q = menu();
        a.follow(Some(("❯ 1. Yes", &q)), t0);
        assert!(a.counting());
        let st = a.status(&q).expect("takes 1");
        assert_eq!((st.answer.as_str(), st.delay_ms, st.off), ("1", 3000, false));
        assert!(st.at.is_some());
        assert_eq!(a.due(t0 + Duration::from_millis(2900)), None);
        let fired = a.due(t0 + Duration::from_secs(3)).expect("due");
        assert_eq!(fired.bytes, b"1");
        // The same prompt still on screen is not answered twice.
        a.follow(Some(("❯ 1. Yes", &q)), t0 + Duration::from_secs(3));
        assert!(!a.counting());
        // A new prompt is.
        a.follow(Some(("❯ 1. Yes, again", &q)), t0 + Duration::from_secs(4));
        assert!(a.counting());
    }

    #[test]
    fn a_prompt_without_the_answer_or_a_cancel_or_off_stops_it() {
        let t0 = Instant::now();
        let mut a = AutoAnswerer::new(Some("y".into()), Duration::from_secs(1));
        let q = menu();
        a.follow(Some(("❯ 1. Yes", &q)), t0);
        assert!(!a.counting(), "the menu does not take y");
        assert_eq!(a.status(&q), None);
        let yn = Question { text: "Go? [y/N]".into(), answers: vec!["y".into(), "n".into()], enter: true };
        a.follow(Some(("Go? [y/N]", &yn)), t0);
        assert!(a.cancel());
        a.follow(Some(("Go? [y/N]", &yn)), t0 + Duration::from_secs(2));
        assert_eq!(a.due(t0 + Duration::from_secs(2)), None, "cancelled for this prompt");
        assert_eq!(a.status(&yn).expect("takes y").at, None);
        assert!(a.set_enabled(false));
        assert!(a.status(&yn).expect("takes y").off);
        a.follow(Some(("Go? [y/N] (again)", &yn)), t0 + Duration::from_secs(3));
        assert!(!a.counting(), "off");
        assert!(a.set_enabled(true));
        a.follow(Some(("Go? [y/N] (again)", &yn)), t0 + Duration::from_secs(3));
        assert_eq!(a.due(t0 + Duration::from_secs(4)).expect("fires").bytes, b"y\r");
        a.follow(None, t0);
        assert!(!a.counting());
        let mut none = AutoAnswerer::new(None, Duration::from_secs(1));
        none.follow(Some(("Go? [y/N]", &yn)), t0);
        assert!(!none.counting());
    }
}

//! Unit tests of the activity tracker: rates, prompts, signals, notifications and answers.

use super::*;

const MS: Duration = Duration::from_millis(1);

fn tracker() -> ActivityTracker {
    ActivityTracker::new(Arc::new(ActivityRules::defaults(Duration::from_secs(2))), ActivityState::Unknown)
}

fn burst(a: &mut ActivityTracker, from: Instant, n: u32) -> Instant {
    let mut t = from;
    for _ in 0..n {
        a.on_output(t);
        t += 100 * MS;
    }
    t
}

fn screen(scans: u64, prompt: Option<&str>, signals: Signals) -> Observation {
    Observation {
        scans,
        signals,
        prompt: prompt.map(|l| PromptMatch {
            pattern: "p".into(),
            line: l.into(),
            question: Default::default(),
        }),
        tail: vec![],
    }
}

#[test]
fn sustained_output_makes_active_and_silence_makes_idle() {
    let t0 = Instant::now();
    let mut a = tracker();
    assert!(a.next_due().is_none());
    // A clock redrawing once a second never looks busy.
    for i in 0..6 {
        assert!(!a.on_output(t0 + i * 1000 * MS));
    }
    assert_eq!(a.state(), ActivityState::Unknown);
    assert!(a.on_tick(t0 + 7200 * MS));
    assert_eq!(a.state(), ActivityState::Idle);
    let t = burst(&mut a, t0 + 8000 * MS, 6);
    assert_eq!(a.state(), ActivityState::Active);
    assert!(a.next_due().is_some());
    assert!(!a.on_tick(t + 1500 * MS));
    assert!(a.on_tick(t + 2000 * MS));
    assert_eq!(a.state(), ActivityState::Idle);
    let (_, since, evidence, _, _) = a.report();
    assert!(since.is_some());
    assert_eq!(evidence[0].kind, "silence");
    assert_eq!(evidence[1].kind, "rate");
    assert!(a.on_exit());
    assert_eq!(a.state(), ActivityState::Exited);
    assert!(a.on_start());
    assert_eq!(a.state(), ActivityState::Unknown);
}

#[test]
fn a_prompt_must_settle_is_sticky_against_redraws_and_input_clears_it() {
    let t0 = Instant::now();
    let mut a = tracker();
    let t = burst(&mut a, t0, 8);
    assert_eq!(a.state(), ActivityState::Active);
    assert!(!a.on_observation(&screen(1, Some("Do you want to proceed?"), Signals::default()), t));
    assert_eq!(a.state(), ActivityState::Active, "not before asking-after");
    assert!(a.on_tick(t + 300 * MS));
    assert_eq!(a.state(), ActivityState::Asking);
    // Spinner redraws keep coming: still asking, and silence does not make it idle.
    let t = burst(&mut a, t + 400 * MS, 20);
    assert!(!a.on_observation(&screen(2, Some("Do you want to proceed?"), Signals::default()), t));
    assert!(!a.on_tick(t + 5000 * MS));
    assert_eq!(a.state(), ActivityState::Asking);
    // Typing without Enter does not answer; Enter does.
    assert!(!a.on_input(b"2", t));
    assert!(a.on_input(b"\r", t));
    assert_eq!(a.state(), ActivityState::Idle);
    // The answered prompt still on screen does not count again.
    assert!(!a.on_observation(&screen(3, Some("Do you want to proceed?"), Signals::default()), t));
    assert!(!a.on_tick(t + 1000 * MS));
    assert_eq!(a.state(), ActivityState::Idle);
    // A new prompt does.
    a.on_observation(&screen(4, Some("Do you want to make this edit?"), Signals::default()), t);
    assert!(a.on_tick(t + 1400 * MS));
    assert_eq!(a.state(), ActivityState::Asking);
}

#[test]
fn a_prompt_that_leaves_the_screen_ends_asking_after_the_debounce() {
    let t0 = Instant::now();
    let mut a = tracker();
    a.on_observation(&screen(1, Some("Continue? [y/N]"), Signals::default()), t0);
    a.on_tick(t0 + 300 * MS);
    assert_eq!(a.state(), ActivityState::Asking);
    // A redraw that briefly loses the prompt does not flap.
    a.on_observation(&screen(2, None, Signals::default()), t0 + 400 * MS);
    a.on_observation(&screen(3, Some("Continue? [y/N]"), Signals::default()), t0 + 450 * MS);
    assert!(!a.on_tick(t0 + 1000 * MS));
    assert_eq!(a.state(), ActivityState::Asking);
    a.on_observation(&screen(4, None, Signals::default()), t0 + 1100 * MS);
    assert!(!a.on_tick(t0 + 1200 * MS));
    assert!(a.on_tick(t0 + 1400 * MS));
    assert_eq!(a.state(), ActivityState::Idle);
}

#[test]
fn signals_ask_at_once_and_only_input_clears_them() {
    let t0 = Instant::now();
    let mut a = tracker();
    burst(&mut a, t0, 8);
    let mut sig = Signals::default();
    sig.on_osc(&[b"9", b"Claude is waiting for your input"]);
    assert!(a.on_observation(&screen(1, None, sig.clone()), t0 + MS));
    assert_eq!(a.state(), ActivityState::Asking);
    assert!(a.report().2[0].detail.contains("Claude is waiting"));
    assert!(!a.on_tick(t0 + 10_000 * MS));
    assert!(!a.on_observation(&screen(2, None, sig.clone()), t0 + 10_001 * MS), "same count");
    assert!(a.on_input(b"\x1b", t0 + 10_002 * MS));
    sig.on_bell();
    assert!(a.on_observation(&screen(3, None, sig.clone()), t0 + 10_003 * MS));
    assert_eq!(a.state(), ActivityState::Asking);
    // Config can turn bells off; a title change is evidence but not a state.
    let rules = ActivityRules::defaults(Duration::from_secs(2))
        .with(&crate::file_config::ActivitySection { bell: Some(false), ..Default::default() })
        .expect("rules");
    let mut b = ActivityTracker::new(Arc::new(rules), ActivityState::Idle);
    let mut sig = Signals::default();
    sig.on_bell();
    sig.on_title(b"~/src");
    assert!(!b.on_observation(&screen(1, None, sig), t0));
    assert_eq!(b.state(), ActivityState::Idle);
    assert_eq!(b.report().4.as_deref(), Some("~/src"));
}

#[test]
fn a_notification_is_carried_while_it_asks_and_looking_at_it_answers_it() {
    let t0 = Instant::now();
    let mut a = tracker();
    let mut sig = Signals::default();
    sig.on_osc(&[b"777", b"notify", b"build", b"done building"]);
    assert!(a.on_observation(&screen(1, None, sig.clone()), t0));
    assert_eq!((a.state(), a.notification()), (ActivityState::Asking, Some("build: done building")));
    assert!(a.on_looked(), "attaching to look ends it");
    assert_eq!((a.state(), a.notification()), (ActivityState::Idle, None));
    assert!(!a.on_looked(), "nothing left to look at");
    sig.on_bell();
    assert!(a.on_observation(&screen(2, None, sig.clone()), t0 + MS));
    assert!(!a.on_looked(), "a bell is not a notification: only input answers it");
    assert_eq!((a.state(), a.notification()), (ActivityState::Asking, None));
    sig.on_osc(&[b"9", b"tests failed"]);
    a.on_observation(&screen(3, None, sig), t0 + 2 * MS);
    assert_eq!(a.notification(), Some("tests failed"));
    assert!(a.on_input(b"\r", t0 + 3 * MS));
    assert_eq!(a.notification(), None, "an answer ends it");
}

#[test]
fn an_answered_prompt_with_its_echoed_answer_never_counts_again() {
    let t0 = Instant::now();
    let mut a = tracker();
    let q = "Do you want to continue? [y/N]";
    a.on_observation(&screen(1, Some(q), Signals::default()), t0);
    assert!(a.on_tick(t0 + 300 * MS));
    assert_eq!(a.state(), ActivityState::Asking);
    assert!(a.on_input(b"y\r", t0 + 400 * MS));
    assert_eq!(a.state(), ActivityState::Idle);
    // The line now ends with the answer; `Do you want to.*\?` still matches it.
    let answered = "Do you want to continue? [y/N] y";
    a.on_observation(&screen(2, Some(answered), Signals::default()), t0 + 450 * MS);
    assert!(!a.on_tick(t0 + 2000 * MS));
    a.on_observation(&screen(3, Some(answered), Signals::default()), t0 + 2100 * MS);
    assert!(!a.on_tick(t0 + 4000 * MS));
    assert_eq!(a.state(), ActivityState::Idle, "the answered line stays answered");
    // The same question asked again, on a new line, does count.
    a.on_observation(&screen(4, Some(q), Signals::default()), t0 + 4100 * MS);
    assert!(a.on_tick(t0 + 4400 * MS));
    assert_eq!(a.state(), ActivityState::Asking);
}

#[test]
fn a_prompt_answered_before_it_settles_never_counts() {
    let t0 = Instant::now();
    let mut a = tracker();
    a.on_observation(&screen(1, Some("Continue? [y/N]"), Signals::default()), t0);
    assert!(!a.on_input(b"n\r", t0 + 100 * MS));
    a.on_observation(&screen(2, Some("Continue? [y/N]"), Signals::default()), t0 + 150 * MS);
    assert!(!a.on_tick(t0 + 1000 * MS));
    assert_ne!(a.state(), ActivityState::Asking);
}

#[test]
fn steady_output_below_the_active_rate_is_idle_with_its_rate_as_evidence() {
    let t0 = Instant::now();
    let mut a = tracker();
    // `while true; do date; sleep 1; done`: never silent for idle_after, never sustained.
    for i in 0..2 {
        assert!(!a.on_output(t0 + i * 1000 * MS));
        assert!(!a.on_tick(t0 + i * 1000 * MS + 500 * MS));
    }
    assert_eq!(a.state(), ActivityState::Unknown, "not before idle_after");
    a.on_output(t0 + 2000 * MS);
    assert!(a.next_due().is_some());
    assert!(a.on_tick(t0 + 2100 * MS));
    assert_eq!(a.state(), ActivityState::Idle);
    let (_, since, evidence, _, _) = a.report();
    assert!(since.is_some());
    assert_eq!(evidence[0].kind, "rate");
    assert!(evidence[0].detail.starts_with("output every ~1000 ms, below the active rate"), "{evidence:?}");
    // A burst still makes it active.
    burst(&mut a, t0 + 4000 * MS, 6);
    assert_eq!(a.state(), ActivityState::Active);
}

/// The tracker names exactly when it next has something to decide, so the actor's one timer
/// goes off then and not every tick: the end of a silence moves on with output, a prompt's wait
/// ends `asking_after` after it appeared, and each deadline, once passed, is decided and gone
/// (a deadline that stayed would be a busy loop).
#[test]
fn next_due_is_when_on_tick_would_decide_and_passes_once() {
    let idle_after = 2000 * MS;
    let t0 = Instant::now();
    let mut a = tracker();
    assert_eq!(a.next_due(), None, "nothing printed: nothing waits on time");
    a.on_output(t0);
    assert_eq!(a.next_due(), Some(t0 + idle_after));
    let t = burst(&mut a, t0 + 100 * MS, 6);
    assert_eq!(a.state(), ActivityState::Active);
    let last = t - 100 * MS;
    assert_eq!(a.next_due(), Some(last + idle_after), "the silence is counted from the last output");
    assert!(!a.on_tick(last + idle_after - MS), "not a moment before");
    assert!(a.on_tick(last + idle_after));
    assert_eq!(a.state(), ActivityState::Idle);
    assert_eq!(a.next_due(), None, "idle: nothing waits on time");

    // A prompt on screen waits `asking_after`, then the worker is asking.
    let seen = last + 3000 * MS;
    a.on_observation(&screen(1, Some("Continue? [y/N]"), Signals::default()), seen);
    let due = a.next_due().expect("the prompt's wait");
    assert!(due > seen, "{due:?}");
    assert!(a.on_tick(due));
    assert_eq!(a.state(), ActivityState::Asking);
    assert!(a.next_due().is_none_or(|d| d > due), "a passed deadline is gone");

    // Whatever the state, ticking at each reported deadline gets to the end without repeating one.
    let mut b = tracker();
    let mut at = burst(&mut b, t0, 8);
    b.on_observation(&screen(1, Some("Proceed? (yes/no)"), Signals::default()), at);
    for _ in 0..10 {
        let Some(next) = b.next_due() else { break };
        assert!(next >= at, "deadlines only move forward");
        b.on_tick(next);
        assert_ne!(b.next_due(), Some(next), "the deadline at {next:?} was not decided");
        at = next;
    }
}

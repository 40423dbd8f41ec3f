//! When the front end may draw its next frame: a token bucket at the frame rate, so a change
//! after a quiet moment (a typed key's echo) is drawn at once, while a flood is drawn at the
//! frame rate rather than per message; and how long a frame waits for a program's synchronized
//! update to end.

use std::time::{Duration, Instant};

/// Frames per `interval` on average, with up to `burst` drawn back to back.
#[derive(Debug, Clone)]
pub struct FramePacer {
    interval: Duration,
    burst: f64,
    /// Frames that may be drawn right away, as of `at`.
    tokens: f64,
    at: Instant,
}

impl FramePacer {
    /// A pacer that may draw `burst` frames at once, then one per `interval`.
    pub fn new(interval: Duration, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self { interval: interval.max(Duration::from_micros(1)), burst, tokens: burst, at: now }
    }

    fn tokens_at(&self, now: Instant) -> f64 {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() / self.interval.as_secs_f64();
        (self.tokens + refill).min(self.burst)
    }

    /// The earliest time the next frame may be drawn (now or in the past when it may be drawn now).
    pub fn next(&self) -> Instant {
        if self.tokens >= 1.0 {
            return self.at;
        }
        self.at + self.interval.mul_f64(1.0 - self.tokens)
    }

    /// A frame was drawn (or a frame slot was used up waiting) at `now`. The bucket keeps the
    /// fraction of a frame refilled by a late `now`, so the next frame stays due on the original
    /// schedule: lateness does not add to every gap, and a long stall is followed by at most the
    /// burst, not a catch-up of every missed slot.
    pub fn drew(&mut self, now: Instant) {
        self.tokens = (self.tokens_at(now) - 1.0).max(0.0);
        self.at = now;
    }
}

/// Holds frames while the watched program's synchronized update (mode 2026, tracked by the
/// screen model) is open, so a redraw is never shown half done; one that never ends is let go
/// after `timeout`, as terminals do (alacritty: 150 ms), so a program cannot freeze the screen.
#[derive(Debug, Clone)]
pub struct SyncHold {
    timeout: Duration,
    /// The update being timed (its number in the screen model) and when it was first seen.
    open: Option<(u64, Instant)>,
}

impl SyncHold {
    /// A hold that lets each update go after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout, open: None }
    }

    /// Notes the update open at `now` (`None`: none is); a new number starts a new timeout.
    pub fn observe(&mut self, pending: Option<u64>, now: Instant) {
        self.open = match (pending, self.open) {
            (Some(id), Some((seen, since))) if seen == id => Some((id, since)),
            (Some(id), _) => Some((id, now)),
            (None, _) => None,
        };
    }

    /// Whether a frame due at `now` waits for the open update.
    pub fn holds(&self, now: Instant) -> bool {
        self.open.is_some_and(|(_, since)| now.saturating_duration_since(since) < self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synchronized_update_holds_frames_until_it_ends() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut hold = SyncHold::new(ms(150));
        hold.observe(None, t0);
        assert!(!hold.holds(t0), "nothing open");
        hold.observe(Some(1), t0);
        assert!(hold.holds(t0 + ms(10)));
        hold.observe(Some(1), t0 + ms(100));
        assert!(hold.holds(t0 + ms(100)), "the same update keeps its first sighting");
        hold.observe(None, t0 + ms(120));
        assert!(!hold.holds(t0 + ms(120)), "its end releases the frame at once");
    }

    #[test]
    fn the_timeout_releases_an_update_that_never_ends() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut hold = SyncHold::new(ms(150));
        hold.observe(Some(3), t0);
        hold.observe(Some(3), t0 + ms(149));
        assert!(hold.holds(t0 + ms(149)));
        hold.observe(Some(3), t0 + ms(150));
        assert!(!hold.holds(t0 + ms(150)), "let go after the timeout, though still open");
        assert!(!hold.holds(t0 + ms(500)), "and stays let go");
        hold.observe(Some(4), t0 + ms(500));
        assert!(hold.holds(t0 + ms(510)), "the next update is held afresh");
    }

    const F: Duration = Duration::from_millis(16);

    #[test]
    fn a_change_after_a_quiet_spell_is_drawn_at_once() {
        let t0 = Instant::now();
        let mut p = FramePacer::new(F, 3, t0);
        assert!(p.next() <= t0);
        p.drew(t0);
        // An echo 1 ms after the frame that showed the previous key: still drawn at once.
        let t1 = t0 + Duration::from_millis(1);
        assert!(p.next() <= t1);
        p.drew(t1);
        // After a quiet second the whole burst is back.
        let t2 = t1 + Duration::from_secs(1);
        for i in 0..3 {
            let t = t2 + Duration::from_micros(i);
            assert!(p.next() <= t, "frame {i} of the burst");
            p.drew(t);
        }
        assert!(p.next() > t2 + Duration::from_millis(10), "the burst is spent");
    }

    /// `a` and `b` within 10 µs of each other (the bucket counts in floating point).
    fn close(a: Instant, b: Instant) -> bool {
        a.max(b) - a.min(b) <= Duration::from_micros(10)
    }

    #[test]
    fn a_late_frame_does_not_push_back_the_next() {
        let t0 = Instant::now();
        let mut p = FramePacer::new(F, 3, t0);
        for _ in 0..3 {
            p.drew(t0);
        }
        let due = p.next();
        assert!(close(due, t0 + F), "the burst is spent: the next frame is one interval on");
        // The loop woke 3 ms late for it: the one after is still due on the original schedule,
        // so lateness does not add to every gap.
        p.drew(due + Duration::from_millis(3));
        assert!(close(p.next(), due + F));
        // Drawn on time again: the schedule holds.
        let due = p.next();
        p.drew(due);
        assert!(close(p.next(), due + F));
    }

    #[test]
    fn a_long_stall_is_followed_by_at_most_the_burst_then_the_frame_rate() {
        let t0 = Instant::now();
        let mut p = FramePacer::new(F, 3, t0);
        for _ in 0..3 {
            p.drew(t0);
        }
        // Ten frame slots missed (the machine was busy): no catch-up of ten frames.
        let back = p.next() + F * 10;
        let mut at_once = 0;
        while p.next() <= back {
            p.drew(back);
            at_once += 1;
        }
        assert_eq!(at_once, 3);
        assert!(close(p.next(), back + F));
    }

    #[test]
    fn a_flood_is_drawn_at_the_frame_rate() {
        let t0 = Instant::now();
        let mut p = FramePacer::new(F, 3, t0);
        let mut now = t0;
        let mut gaps = Vec::new();
        let mut last = None;
        // Something always wants a frame: draw whenever allowed.
        for _ in 0..100 {
            now = now.max(p.next());
            p.drew(now);
            if let Some(l) = last {
                gaps.push(now - l);
            }
            last = Some(now);
        }
        let steady = &gaps[10..];
        assert!(
            steady.iter().all(|g| *g >= F - Duration::from_micros(10) && *g <= F + Duration::from_micros(10))
        );
        assert!(now - t0 >= F * 95, "about one frame per interval over the run");
    }
}

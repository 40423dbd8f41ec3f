//! Jittered exponential backoff: 1 s doubling to 30 s, ±30 %, reset after a good connection.

use rand::Rng;
use std::time::Duration;

/// First delay.
pub const INITIAL: Duration = Duration::from_secs(1);
/// Largest delay before jitter.
pub const MAX: Duration = Duration::from_secs(30);
/// Jitter as a fraction of the delay, either way.
pub const JITTER: f64 = 0.3;

/// Counts failed attempts and says how long to wait before the next.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Forgets past failures (call after a successful connection).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Number of the attempt the next delay leads to (1 after the first failure).
    pub fn attempt(&self) -> u32 {
        self.failures
    }

    /// Records a failure and returns the delay before the next attempt.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let base = INITIAL.saturating_mul(1u32 << (self.failures - 1).min(16)).min(MAX);
        base.mul_f64(1.0 + rng.random_range(-JITTER..=JITTER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_with_bounded_jitter_and_resets() {
        let mut rng = rand::rng();
        let mut b = Backoff::default();
        let expected = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0];
        for base in expected {
            let d = b.next_delay(&mut rng).as_secs_f64();
            assert!(d >= base * 0.7 - 1e-9 && d <= base * 1.3 + 1e-9, "{d} not within 30% of {base}");
        }
        assert_eq!(b.attempt(), 8);
        b.reset();
        assert!(b.next_delay(&mut rng) <= Duration::from_millis(1300));
    }
}

//! The failed-authentication limit per peer address: after `--max-auth-failures` refused tokens
//! within `--auth-failure-window`, every request from that address gets 429 until the window
//! ends, a right token included (otherwise a guesser would learn when it guessed right).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Peers remembered at most; past it, entries whose window ended are dropped first, then the
/// oldest. Bounds the table's memory under a spray from many addresses.
pub const MAX_TRACKED_PEERS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failure counts by peer address.
#[derive(Clone)]
pub struct AuthFailures {
    max: u32,
    window: Duration,
    // Shared by every request; held only for a lookup or an insert, never across an await.
    peers: Arc<Mutex<HashMap<IpAddr, Window>>>,
}

impl std::fmt::Debug for AuthFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFailures").field("max", &self.max).field("window", &self.window).finish()
    }
}

impl AuthFailures {
    /// At most `max` failures per `window` per address.
    pub fn new(max: u32, window: Duration) -> Self {
        Self { max: max.max(1), window, peers: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Window>> {
        // Entries are plain values; a poisoned lock still holds a consistent map.
        self.peers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Some(wait)` when `peer` is blocked, with how long until its window ends.
    pub fn blocked(&self, peer: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let peers = self.lock();
        let w = peers.get(&peer)?;
        let ends = w.started + self.window;
        (w.failures >= self.max && now < ends).then(|| ends - now)
    }

    /// Counts one refused token from `peer`.
    pub fn record(&self, peer: IpAddr) {
        let now = Instant::now();
        let mut peers = self.lock();
        if peers.len() >= MAX_TRACKED_PEERS && !peers.contains_key(&peer) {
            peers.retain(|_, w| now < w.started + self.window);
            if peers.len() >= MAX_TRACKED_PEERS
                && let Some(oldest) = peers.iter().min_by_key(|(_, w)| w.started).map(|(ip, _)| *ip)
            {
                peers.remove(&oldest);
            }
        }
        let w = peers.entry(peer).or_insert(Window { started: now, failures: 0 });
        if now >= w.started + self.window {
            *w = Window { started: now, failures: 0 };
        }
        w.failures = w.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_at_the_limit_per_address_until_the_window_ends() {
        let f = AuthFailures::new(3, Duration::from_millis(100));
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..2 {
            f.record(a);
        }
        assert!(f.blocked(a).is_none(), "two failures of three allowed");
        f.record(a);
        assert!(f.blocked(a).is_some(), "the third failure blocks");
        assert!(f.blocked(b).is_none(), "other addresses are unaffected");
        std::thread::sleep(Duration::from_millis(120));
        assert!(f.blocked(a).is_none(), "the window ended");
        f.record(a);
        assert!(f.blocked(a).is_none(), "a new window starts from zero");
    }

    #[test]
    fn the_table_is_bounded() {
        let f = AuthFailures::new(1, Duration::from_secs(60));
        for i in 0..(MAX_TRACKED_PEERS as u32 + 50) {
            f.record(IpAddr::from(i.to_be_bytes()));
        }
        assert!(f.lock().len() <= MAX_TRACKED_PEERS);
    }
}

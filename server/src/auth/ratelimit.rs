//! The failed-authentication limit per source: after `--max-auth-failures` refused tokens
//! within `--auth-failure-window`, every request from that source gets 429 until the window
//! ends, a right token included (otherwise a guesser would learn when it guessed right).
//!
//! A source is an address, except that all of loopback (`127.0.0.0/8` and `::1`) is one source
//! (a local process could otherwise spread guesses over 127.0.0.2, 127.0.0.3, …) and IPv6
//! addresses count by their /64 (one host usually holds a whole /64). A window that ended
//! blocked leaves the source one pass: the first right token presented while the source is
//! blocked again gets in, so a guesser sharing loopback with the owner cannot lock the owner out
//! for good (it gains at most one extra guess per window).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Peers remembered at most; past it, entries whose window ended are dropped first, then the
/// oldest. Bounds the table's memory under a spray from many addresses.
pub const MAX_TRACKED_PEERS: usize = 10_000;

/// The source every loopback address counts as.
const LOOPBACK_SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Leading bits of an IPv6 address that name its source.
const IPV6_SOURCE_PREFIX_BITS: u32 = 64;

/// The source `peer` counts as: loopback as one, IPv4-mapped IPv6 as its IPv4 address, other
/// IPv6 by its /64.
pub fn source_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) if v4.is_loopback() => LOOPBACK_SOURCE,
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return source_of(IpAddr::V4(v4));
            }
            if v6.is_loopback() {
                return LOOPBACK_SOURCE;
            }
            let mask = u128::MAX << (128 - IPV6_SOURCE_PREFIX_BITS);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
    /// A right token may get in once while blocked (earned by a window that ended blocked).
    pass: bool,
}

/// Failure counts by source.
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
    /// At most `max` failures per `window` per source.
    pub fn new(max: u32, window: Duration) -> Self {
        Self { max: max.max(1), window, peers: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Window>> {
        // Entries are plain values; a poisoned lock still holds a consistent map.
        self.peers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a new window when the old one ended; a window that ended blocked earns a pass.
    fn roll(&self, w: &mut Window, now: Instant) {
        if now >= w.started + self.window {
            let pass = w.pass || w.failures >= self.max;
            *w = Window { started: now, failures: 0, pass };
        }
    }

    /// `Some(wait)` when `peer`'s source is blocked, with how long until its window ends.
    pub fn blocked(&self, peer: IpAddr) -> Option<Duration> {
        self.blocked_at(peer, Instant::now())
    }

    fn blocked_at(&self, peer: IpAddr, now: Instant) -> Option<Duration> {
        let mut peers = self.lock();
        let w = peers.get_mut(&source_of(peer))?;
        self.roll(w, now);
        let ends = w.started + self.window;
        (w.failures >= self.max).then(|| ends - now)
    }

    /// Whether a right token from a blocked source gets in: once per pass, then not until a
    /// window ends blocked again.
    pub fn admit_blocked(&self, peer: IpAddr) -> bool {
        let mut peers = self.lock();
        let Some(w) = peers.get_mut(&source_of(peer)) else { return true };
        std::mem::take(&mut w.pass)
    }

    /// Counts one refused token from `peer`'s source.
    pub fn record(&self, peer: IpAddr) {
        self.record_at(peer, Instant::now());
    }

    fn record_at(&self, peer: IpAddr, now: Instant) {
        let source = source_of(peer);
        let mut peers = self.lock();
        if peers.len() >= MAX_TRACKED_PEERS && !peers.contains_key(&source) {
            peers.retain(|_, w| now < w.started + self.window);
            if peers.len() >= MAX_TRACKED_PEERS
                && let Some(oldest) = peers.iter().min_by_key(|(_, w)| w.started).map(|(ip, _)| *ip)
            {
                peers.remove(&oldest);
            }
        }
        let w = peers.entry(source).or_insert(Window { started: now, failures: 0, pass: false });
        self.roll(w, now);
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
    fn loopback_is_one_source_and_ipv6_counts_by_its_64() {
        let f = AuthFailures::new(3, Duration::from_secs(60));
        let now = Instant::now();
        let spread: [IpAddr; 3] = [[127, 0, 0, 2].into(), [127, 9, 9, 9].into(), "::1".parse().expect("ip")];
        for ip in spread {
            f.record_at(ip, now);
        }
        let owner: IpAddr = [127, 0, 0, 1].into();
        assert!(f.blocked_at(owner, now).is_some(), "guesses spread over loopback add up");
        assert!(f.blocked_at("::ffff:127.0.0.1".parse().expect("ip"), now).is_some(), "v4-mapped too");
        assert!(f.blocked_at([10, 0, 0, 1].into(), now).is_none(), "other addresses are not loopback");

        for last in 1..=3u16 {
            f.record_at(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 7, 0, 0, 0, last)), now);
        }
        let same_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 7, 0xffff, 1, 2, 3));
        let next_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 8, 0, 0, 0, 1));
        assert!(f.blocked_at(same_64, now).is_some(), "one /64 is one source");
        assert!(f.blocked_at(next_64, now).is_none(), "the next /64 is another");
        assert_eq!(source_of("::ffff:10.1.2.3".parse().expect("ip")), IpAddr::from([10, 1, 2, 3]));
    }

    #[test]
    fn a_right_token_after_a_blocked_window_gets_in_once_even_if_guessing_goes_on() {
        let window = Duration::from_secs(60);
        let f = AuthFailures::new(3, window);
        let guesser: IpAddr = [127, 0, 0, 5].into();
        let owner: IpAddr = [127, 0, 0, 1].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            f.record_at(guesser, t0);
        }
        assert!(f.blocked_at(owner, t0).is_some());
        assert!(!f.admit_blocked(owner), "no pass during the first blocked window");
        // The window ends; the guesser fills the next one at once, before the owner's request.
        let t1 = t0 + window;
        for _ in 0..3 {
            f.record_at(guesser, t1);
        }
        assert!(f.blocked_at(owner, t1).is_some(), "the guesser is blocked again");
        assert!(f.admit_blocked(owner), "the owner's first right token after the window gets in");
        assert!(!f.admit_blocked(guesser), "only once per blocked window");
        // Another window that ends blocked earns another pass.
        let t2 = t1 + window;
        for _ in 0..3 {
            f.record_at(guesser, t2);
        }
        assert!(f.blocked_at(owner, t2).is_some());
        assert!(f.admit_blocked(owner));
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

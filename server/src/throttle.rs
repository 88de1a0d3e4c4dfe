//! Login throttling: failed passwords per username and per client address,
//! with an exponential back-off. A throttled login is answered at once (429
//! with `Retry-After`) without reading the database or hashing anything, so
//! guessing is slow for the guesser and costs the server nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failures allowed for one username before any wait (a person mistyping).
pub const FREE_FAILURES: u32 = 5;
/// Failures allowed from one address before any wait: more, since a branch
/// office's tablets may share one address.
pub const FREE_FAILURES_PER_ADDRESS: u32 = 20;
/// The first wait; each further failure doubles it.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Keys kept at most; the oldest quiet ones go first beyond it, so a flood of
/// made-up usernames cannot grow the table without bound.
const MAX_KEYS: usize = 100_000;
/// A key with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    until: Instant,
}

/// What is throttled: a username (lower-cased) and an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Addr(IpAddr),
}

/// The failures seen, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct Throttle {
    seen: Arc<Mutex<HashMap<Key, Failures>>>,
}

fn keys(username: &str, addr: Option<IpAddr>) -> Vec<Key> {
    let mut k = vec![Key::User(username.trim().to_lowercase())];
    k.extend(addr.map(Key::Addr));
    k
}

/// The wait after `count` failures when `free` are allowed.
pub fn wait_after(count: u32, free: u32) -> Duration {
    if count < free {
        return Duration::ZERO;
    }
    let doublings = (count - free).min(20);
    FIRST_WAIT.saturating_mul(1 << doublings).min(MAX_WAIT)
}

impl Throttle {
    /// How long this login must wait yet (`None`: it may try now).
    pub fn check(&self, username: &str, addr: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        keys(username, addr)
            .iter()
            .filter_map(|k| seen.get(k))
            .filter(|f| f.until > now)
            .map(|f| f.until - now)
            .max()
    }

    /// Counts a wrong password (or an unknown user) against both keys.
    pub fn failed(&self, username: &str, addr: Option<IpAddr>, now: Instant) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_KEYS {
            seen.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER && f.until > now);
            if seen.len() >= MAX_KEYS {
                // Still full of live entries: drop the oldest tenth.
                let mut by_age: Vec<(Instant, Key)> =
                    seen.iter().map(|(k, f)| (f.last, k.clone())).collect();
                by_age.sort_by_key(|(t, _)| *t);
                for (_, k) in by_age.into_iter().take(MAX_KEYS / 10) {
                    seen.remove(&k);
                }
            }
        }
        for k in keys(username, addr) {
            let free = match k {
                Key::User(_) => FREE_FAILURES,
                Key::Addr(_) => FREE_FAILURES_PER_ADDRESS,
            };
            let f = seen.entry(k).or_insert(Failures {
                count: 0,
                last: now,
                until: now,
            });
            if now.duration_since(f.last) >= FORGET_AFTER {
                f.count = 0;
            }
            f.count += 1;
            f.last = now;
            f.until = now + wait_after(f.count, free);
        }
    }

    /// A correct password clears the user's failures (not the address's: one
    /// right guess among many from an address does not forgive the rest).
    pub fn succeeded(&self, username: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.remove(&Key::User(username.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures() {
        assert_eq!(wait_after(4, 5), Duration::ZERO);
        assert_eq!(wait_after(5, 5), Duration::from_secs(1));
        assert_eq!(wait_after(6, 5), Duration::from_secs(2));
        assert_eq!(wait_after(10, 5), Duration::from_secs(32));
        assert_eq!(wait_after(1_000, 5), MAX_WAIT);
    }

    #[test]
    fn a_user_and_an_address_are_throttled_apart() {
        let t = Throttle::default();
        let now = Instant::now();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..FREE_FAILURES {
            t.failed("Zhang.Wei", Some(a), now);
        }
        // The user is throttled from any address; the address not yet.
        assert_eq!(t.check("zhang.wei", Some(b), now), Some(FIRST_WAIT));
        assert_eq!(t.check("li.na", Some(a), now), None);
        for i in FREE_FAILURES..FREE_FAILURES_PER_ADDRESS {
            t.failed(&format!("guess{i}"), Some(a), now);
        }
        // Now the address is, for any user.
        assert_eq!(t.check("li.na", Some(a), now), Some(FIRST_WAIT));
        assert_eq!(t.check("li.na", Some(b), now), None);
        assert_eq!(t.check("zhang.wei", Some(b), now + FIRST_WAIT * 64), None);
        // The right password clears the user, not the address.
        t.succeeded("zhang.wei");
        assert_eq!(t.check("zhang.wei", Some(b), now), None);
        assert_eq!(t.check("zhang.wei", Some(a), now), Some(FIRST_WAIT));
    }
}

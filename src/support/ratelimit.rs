//! Limits that turn floods into 429s: token buckets per client address and
//! action, a growing back-off per account against password guessing from
//! many addresses, and a bound on how many password hashes run at once.

use crate::error::{Error, Failure, Result};
use crate::support::crypto;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Every login attempt (a success gives its token back): slows guessing.
    LoginAttempt,
    PlaceOrder,
    Register,
    /// A search reads up to a shop's whole menu (10,000 items).
    Search,
    /// A table's code and secret from a QR link: slows guessing.
    TableLookup,
}

impl Action {
    /// (burst, sustained per minute)
    fn budget(self) -> (f64, f64) {
        match self {
            Action::LoginAttempt => (10.0, 10.0),
            Action::PlaceOrder => (60.0, 60.0),
            Action::Register => (5.0, 5.0),
            Action::Search => (30.0, 120.0),
            Action::TableLookup => (20.0, 20.0),
        }
    }
}

/// Who a limit counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Address(IpAddr),
    /// An account by the SHA-256 of its normalised email: every key has the
    /// same small size, and unknown emails are counted like real ones so the
    /// limit does not tell which accounts exist.
    Account([u8; 32]),
}

impl Subject {
    pub fn account(email: &str) -> Subject {
        Subject::Account(crypto::sha256(email.as_bytes()))
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// The tokens `now`, refilled since `at` up to the burst.
    fn tokens_at(&self, action: Action, now: Instant) -> f64 {
        let (burst, per_minute) = action.budget();
        (self.tokens + now.duration_since(self.at).as_secs_f64() * per_minute / 60.0).min(burst)
    }
}

/// Failed logins on one account: after `ACCOUNT_BURST` of them each further
/// attempt waits, twice as long each time up to `ACCOUNT_MAX_WAIT`.
struct Backoff {
    failures: u32,
    last: Instant,
    blocked_until: Instant,
    /// Whether this run of failures has been logged for the owner yet.
    reported: bool,
}

impl Backoff {
    fn new(now: Instant) -> Backoff {
        Backoff {
            failures: 0,
            last: now,
            blocked_until: now,
            reported: false,
        }
    }
}

/// Free attempts on an account before the back-off starts.
const ACCOUNT_BURST: u32 = 10;
const ACCOUNT_FIRST_WAIT: Duration = Duration::from_secs(30);
/// The longest an account waits between attempts: the real owner is never
/// kept out for longer than this once the guessing stops.
const ACCOUNT_MAX_WAIT: Duration = Duration::from_secs(5 * 60);
/// An account's failures are forgotten after this long without attempts.
const ACCOUNT_FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

/// Password hashes running at once: each takes ~0.2 s of a router's CPU.
const HASHES_AT_ONCE: usize = 2;
/// Hashes running or waiting; beyond this, logins and sign-ups get 429.
const HASHES_ADMITTED: usize = 16;

const MAX_TRACKED_ADDRESSES: usize = 50_000;
const MAX_TRACKED_ACCOUNTS: usize = 10_000;

#[derive(Clone)]
pub struct RateLimiter {
    buckets: Arc<Mutex<HashMap<(Action, Subject), Bucket>>>,
    accounts: Arc<Mutex<HashMap<Subject, Backoff>>>,
    hashing: Arc<Semaphore>,
    hash_admission: Arc<Semaphore>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            buckets: Arc::default(),
            accounts: Arc::default(),
            hashing: Arc::new(Semaphore::new(HASHES_AT_ONCE)),
            hash_admission: Arc::new(Semaphore::new(HASHES_ADMITTED)),
        }
    }
}

/// Permission to hash one password; dropping it lets the next one run.
pub struct HashSlot {
    _running: OwnedSemaphorePermit,
    _admitted: OwnedSemaphorePermit,
}

/// What the account back-off says about one attempt.
#[derive(Debug, PartialEq)]
enum Verdict {
    Allowed,
    /// Refused for `wait`; `first` on the first refusal of a run of failures.
    Refused {
        wait: Duration,
        first: bool,
    },
}

impl RateLimiter {
    /// Takes one token for `action` by `ip`, or refuses with 429.
    pub fn take(&self, action: Action, ip: IpAddr) -> Result<()> {
        self.spend_at(action, Subject::Address(ip), 1.0, Instant::now())
    }

    /// Gives back a token taken for work that turned out legitimate.
    pub fn refund(&self, action: Action, ip: IpAddr) {
        self.spend_at(action, Subject::Address(ip), -1.0, Instant::now())
            .ok();
    }

    fn spend_at(&self, action: Action, subject: Subject, cost: f64, now: Instant) -> Result<()> {
        let (burst, _) = action.budget();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let key = (action, subject);
        if !buckets.contains_key(&key) {
            // Full buckets carry no information.
            let full =
                |&(a, _): &(Action, Subject), b: &Bucket| b.tokens_at(a, now) >= a.budget().0;
            make_room(&mut buckets, MAX_TRACKED_ADDRESSES, full, |b| b.at);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        bucket.tokens = bucket.tokens_at(action, now);
        bucket.at = now;
        if cost > 0.0 && bucket.tokens < cost {
            return Err(Error::from(Failure::TooManyRequests));
        }
        bucket.tokens = (bucket.tokens - cost).min(burst);
        Ok(())
    }

    /// Counts a login attempt on the account `email` (normalised) before its
    /// password is checked; refuses with 429 while the account backs off,
    /// logging once per run of failures so the owner can see it.
    pub fn take_account_attempt(&self, email: &str, ip: IpAddr) -> Result<()> {
        match self.account_attempt_at(Subject::account(email), Instant::now()) {
            Verdict::Allowed => Ok(()),
            Verdict::Refused { wait, first } => {
                if first {
                    let shown: String = email.chars().take(100).collect();
                    log::warn!(
                        "too many failed logins for account {shown}: refusing logins to it \
                         for {} s, from {ip} and every other address",
                        wait.as_secs().max(1)
                    );
                }
                Err(Error::from(Failure::TooManyRequests))
            }
        }
    }

    /// A login succeeded: its attempt does not count as a failure.
    pub fn refund_account_attempt(&self, email: &str) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(backoff) = accounts.get_mut(&Subject::account(email)) {
            backoff.failures = backoff.failures.saturating_sub(1);
        }
    }

    fn account_attempt_at(&self, account: Subject, now: Instant) -> Verdict {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let forgotten = |b: &Backoff| now.duration_since(b.last) >= ACCOUNT_FORGET_AFTER;
        if !accounts.contains_key(&account) {
            make_room(
                &mut accounts,
                MAX_TRACKED_ACCOUNTS,
                |_, b| forgotten(b),
                |b| b.last,
            );
        }
        let backoff = accounts.entry(account).or_insert_with(|| Backoff::new(now));
        if forgotten(backoff) {
            *backoff = Backoff::new(now);
        }
        if now < backoff.blocked_until {
            let first = !backoff.reported;
            backoff.reported = true;
            return Verdict::Refused {
                wait: backoff.blocked_until - now,
                first,
            };
        }
        // Counted as a failure now, before the hash: attempts sent at once
        // cannot all pass. A success gives it back.
        backoff.failures = backoff.failures.saturating_add(1);
        backoff.last = now;
        if backoff.failures >= ACCOUNT_BURST {
            backoff.blocked_until = now + account_wait(backoff.failures - ACCOUNT_BURST);
        }
        Verdict::Allowed
    }

    /// Waits for a turn to hash a password; refuses with 429 when too many
    /// are already running or waiting.
    pub async fn hashing_slot(&self) -> Result<HashSlot> {
        let admitted = self
            .hash_admission
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::from(Failure::TooManyRequests))?;
        let running = self
            .hashing
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
        Ok(HashSlot {
            _running: running,
            _admitted: admitted,
        })
    }
}

/// The wait after the `beyond`-th failure past the burst: 30 s, doubling,
/// at most `ACCOUNT_MAX_WAIT`.
fn account_wait(beyond: u32) -> Duration {
    ACCOUNT_FIRST_WAIT
        .saturating_mul(1u32 << beyond.min(16))
        .min(ACCOUNT_MAX_WAIT)
}

/// Makes room for one more key: forgets entries that limit nothing any
/// more, and if that is not enough, the least recently used one.
fn make_room<K: Copy + Eq + Hash, V>(
    map: &mut HashMap<K, V>,
    max: usize,
    idle: impl Fn(&K, &V) -> bool,
    last_used: impl Fn(&V) -> Instant,
) {
    if map.len() < max {
        return;
    }
    map.retain(|k, v| !idle(k, v));
    if map.len() >= max {
        let oldest = map
            .iter()
            .min_by_key(|(_, v)| last_used(v))
            .map(|(k, _)| *k);
        if let Some(oldest) = oldest {
            map.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Failed, Failure};

    #[test]
    fn refuses_after_the_burst_per_client_and_action() {
        let limiter = RateLimiter::default();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        for _ in 0..5 {
            limiter.take(Action::Register, a).unwrap();
        }
        assert_eq!(
            limiter.take(Action::Register, a),
            Err(Error::from(Failure::TooManyRequests))
        );
        limiter.take(Action::Register, b).unwrap();
        limiter.take(Action::PlaceOrder, a).unwrap();
    }

    #[test]
    fn refunds_give_tokens_back_up_to_the_burst() {
        let limiter = RateLimiter::default();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..20 {
            limiter.take(Action::LoginAttempt, a).unwrap();
            limiter.refund(Action::LoginAttempt, a);
        }
        for _ in 0..3 {
            limiter.refund(Action::LoginAttempt, a);
        }
        for _ in 0..10 {
            limiter.take(Action::LoginAttempt, a).unwrap();
        }
        assert_eq!(
            limiter.take(Action::LoginAttempt, a),
            Err(Error::from(Failure::TooManyRequests))
        );
    }

    #[test]
    fn accounts_back_off_growing_to_minutes_never_hours() {
        let limiter = RateLimiter::default();
        let account = Subject::account("shop1@demo.local");
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        for _ in 0..ACCOUNT_BURST {
            assert_eq!(limiter.account_attempt_at(account, at(0)), Verdict::Allowed);
        }
        // The first refusal is the one reported; later ones are not.
        assert_eq!(
            limiter.account_attempt_at(account, at(1)),
            Verdict::Refused {
                wait: Duration::from_secs(29),
                first: true
            }
        );
        assert!(matches!(
            limiter.account_attempt_at(account, at(29)),
            Verdict::Refused { first: false, .. }
        ));
        // Other accounts are not affected.
        let other = Subject::account("shop2@demo.local");
        assert_eq!(limiter.account_attempt_at(other, at(29)), Verdict::Allowed);
        // One attempt per wait, the wait doubling: 30 s, 60 s, 120 s, 240 s,
        // then at most 300 s however long the guessing goes on.
        let mut now = 30;
        for wait in [60, 120, 240, 300, 300, 300] {
            assert_eq!(
                limiter.account_attempt_at(account, at(now)),
                Verdict::Allowed
            );
            assert!(matches!(
                limiter.account_attempt_at(account, at(now + wait - 1)),
                Verdict::Refused { .. }
            ));
            now += wait;
        }
        // The real owner gets in at most 5 minutes after the last guess, and
        // a success does not count against the account.
        assert_eq!(
            limiter.account_attempt_at(account, at(now)),
            Verdict::Allowed
        );
        limiter.refund_account_attempt("shop1@demo.local");
        // After an hour of quiet the account starts afresh.
        let later = now + ACCOUNT_FORGET_AFTER.as_secs();
        for _ in 0..ACCOUNT_BURST {
            assert_eq!(
                limiter.account_attempt_at(account, at(later)),
                Verdict::Allowed
            );
        }
    }

    #[test]
    fn tracked_keys_stay_bounded() {
        let limiter = RateLimiter::default();
        let now = Instant::now();
        for i in 0..(MAX_TRACKED_ACCOUNTS + 50) {
            let account = Subject::account(&format!("guess{i}@x.y"));
            limiter.account_attempt_at(account, now);
        }
        assert!(limiter.accounts.lock().unwrap().len() <= MAX_TRACKED_ACCOUNTS);
        for i in 0..(MAX_TRACKED_ADDRESSES as u32 + 50) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            limiter
                .spend_at(Action::Register, Subject::Address(ip), 1.0, now)
                .unwrap();
        }
        assert!(limiter.buckets.lock().unwrap().len() <= MAX_TRACKED_ADDRESSES);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hashing_is_bounded_running_and_waiting() {
        let limiter = RateLimiter::default();
        let mut slots = Vec::new();
        for _ in 0..HASHES_AT_ONCE {
            slots.push(limiter.hashing_slot().await.unwrap());
        }
        // Further callers wait, up to the admission bound; beyond it, 429.
        let waiting: Vec<_> = (HASHES_AT_ONCE..HASHES_ADMITTED)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.hashing_slot().await.map(drop) })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(matches!(
            limiter.hashing_slot().await.failure(),
            Err(Failure::TooManyRequests)
        ));
        drop(slots);
        for waiter in waiting {
            waiter.await.unwrap().unwrap();
        }
        limiter.hashing_slot().await.unwrap();
    }
}

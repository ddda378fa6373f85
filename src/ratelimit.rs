//! Per-client token buckets that turn floods into 429s.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Failed logins: slows password guessing.
    LoginFailure,
    PlaceOrder,
    Register,
}

impl Action {
    /// (burst, sustained per minute)
    fn budget(self) -> (f64, f64) {
        match self {
            Action::LoginFailure => (10.0, 10.0),
            Action::PlaceOrder => (60.0, 60.0),
            Action::Register => (5.0, 5.0),
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Clone, Default)]
pub struct RateLimiter {
    buckets: Arc<Mutex<HashMap<(Action, IpAddr), Bucket>>>,
}

const MAX_TRACKED: usize = 50_000;

impl RateLimiter {
    /// Takes one token for `action` by `ip`, or refuses with 429.
    pub fn take(&self, action: Action, ip: IpAddr) -> Result<()> {
        self.spend(action, ip, 1.0)
    }

    /// Refuses with 429 when `ip` has no token left for `action`, without
    /// taking one: lets a caller stop before the work that would fail.
    pub fn check(&self, action: Action, ip: IpAddr) -> Result<()> {
        self.spend(action, ip, 0.0)
    }

    fn spend(&self, action: Action, ip: IpAddr, cost: f64) -> Result<()> {
        let (burst, per_minute) = action.budget();
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED {
            // Full buckets carry no information: forget them.
            buckets.retain(|&(a, _), b| {
                let (burst, per_minute) = a.budget();
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_minute / 60.0 < burst
            });
        }
        let bucket = buckets.entry((action, ip)).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * per_minute / 60.0;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return Err(Error::TooManyRequests);
        }
        bucket.tokens -= cost;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Err(Error::TooManyRequests)
        );
        limiter.take(Action::Register, b).unwrap();
        limiter.take(Action::PlaceOrder, a).unwrap();
    }

    #[test]
    fn check_refuses_an_empty_bucket_without_taking() {
        let limiter = RateLimiter::default();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..3 {
            limiter.check(Action::Register, a).unwrap();
        }
        for _ in 0..5 {
            limiter.take(Action::Register, a).unwrap();
        }
        assert_eq!(
            limiter.check(Action::Register, a),
            Err(Error::TooManyRequests)
        );
    }
}

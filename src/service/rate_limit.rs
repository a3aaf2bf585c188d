//! Per-credential rate limiting: a token bucket in memory for each API key or personal
//! access token. Buckets live in one process, so with N instances behind a load balancer
//! a credential may make up to N times the configured rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::credentials::CredentialKey;

/// Buckets kept before idle, full ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// A sustained rate and the burst allowed on top of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<CredentialKey, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        let limit = RateLimit {
            per_second: limit.per_second.max(f64::MIN_POSITIVE),
            burst: limit.burst.max(1),
        };
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from the credential's bucket, or says how long until one is there.
    pub fn check(&self, credential: CredentialKey) -> Result<(), Duration> {
        self.check_at(credential, Instant::now())
    }

    fn check_at(&self, credential: CredentialKey, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.limit.burst);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let refill = Duration::from_secs_f64(capacity / self.limit.per_second);
            buckets.retain(|_, bucket| now.duration_since(bucket.updated) < refill);
        }
        let bucket = buckets.entry(credential).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.limit.per_second).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - bucket.tokens;
            Err(Duration::from_secs_f64(missing / self.limit.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::credentials::{AuthMethod, CredentialKey};

    fn key(id: &str) -> CredentialKey {
        CredentialKey::new(AuthMethod::ApiKey, id)
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check_at(key("aaaaaaaaaaaa"), start), Ok(()));
        }
        let wait = limiter.check_at(key("aaaaaaaaaaaa"), start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(limiter.check_at(key("bbbbbbbbbbbb"), start), Ok(()));
        let later = start + Duration::from_millis(500);
        assert_eq!(limiter.check_at(key("aaaaaaaaaaaa"), later), Ok(()));
        assert!(limiter.check_at(key("aaaaaaaaaaaa"), later).is_err());
    }
}

//! Rate limits as token buckets kept in memory: one per API key or personal access token
//! for requests, and one per client network for failed authentications. Buckets live in
//! one process, so with N instances behind a load balancer a client may reach up to N
//! times the configured rate.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::credentials::CredentialKey;

/// Buckets kept before idle, full ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// Most buckets kept at once (a few megabytes). Past it, a key without a bucket is not
/// limited until buckets refill and are dropped: the memory stays bounded when a client
/// cycles through more addresses than that, at the price of not limiting it.
const MAX_KEYS: usize = 100_000;

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

/// Token buckets by key. Requests take a token each ([`Self::check`]); failures can
/// instead be checked for first and paid for once they happen ([`Self::allow`] and
/// [`Self::spend`]).
pub struct RateLimiter<K = CredentialKey> {
    limit: RateLimit,
    max_keys: usize,
    state: Mutex<Buckets<K>>,
}

struct Buckets<K> {
    buckets: HashMap<K, Bucket>,
    /// Size past which the next call drops full buckets; doubled when most survive, so
    /// many busy keys do not make every call walk the whole map.
    prune_above: usize,
    /// When full buckets were last dropped; at `max_keys`, at most once a second.
    pruned_at: Instant,
}

impl<K: Hash + Eq> RateLimiter<K> {
    pub fn new(limit: RateLimit) -> Self {
        Self::with_max_keys(limit, MAX_KEYS)
    }

    fn with_max_keys(limit: RateLimit, max_keys: usize) -> Self {
        let limit = RateLimit {
            per_second: limit.per_second.max(f64::MIN_POSITIVE),
            burst: limit.burst.max(1),
        };
        Self {
            limit,
            max_keys,
            state: Mutex::new(Buckets {
                buckets: HashMap::new(),
                prune_above: PRUNE_ABOVE,
                pruned_at: Instant::now(),
            }),
        }
    }

    /// Takes one token from the key's bucket, or says how long until one is there.
    pub fn check(&self, key: K) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// Whether the key's bucket holds a token, without taking it; if not, how long until
    /// it does. A key without a bucket has a full one, and is not given one.
    pub fn allow(&self, key: K) -> Result<(), Duration> {
        let state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let Some(bucket) = state.buckets.get(&key) else {
            return Ok(());
        };
        let rate = self.limit.per_second;
        let refilled = bucket.tokens + bucket.updated.elapsed().as_secs_f64() * rate;
        wait_for_token(refilled, rate)
    }

    /// Takes one token from the key's bucket, down to empty.
    pub fn spend(&self, key: K) {
        self.with_bucket(key, Instant::now(), |bucket, _| {
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
        });
    }

    fn check_at(&self, key: K, now: Instant) -> Result<(), Duration> {
        self.with_bucket(key, now, |bucket, rate| {
            wait_for_token(bucket.tokens, rate)?;
            bucket.tokens -= 1.0;
            Ok(())
        })
    }

    /// Runs `action` on the key's bucket, refilled up to `now`.
    fn with_bucket<T>(
        &self,
        key: K,
        now: Instant,
        action: impl FnOnce(&mut Bucket, f64) -> T,
    ) -> T {
        let capacity = f64::from(self.limit.burst);
        let rate = self.limit.per_second;
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let full = state.buckets.len() >= self.max_keys;
        let prune_due = now.saturating_duration_since(state.pruned_at) >= Duration::from_secs(1);
        if state.buckets.len() > state.prune_above || (full && prune_due) {
            let refill = Duration::from_secs_f64(capacity / rate);
            state
                .buckets
                .retain(|_, bucket| now.saturating_duration_since(bucket.updated) < refill);
            state.prune_above = PRUNE_ABOVE.max(state.buckets.len() * 2);
            state.pruned_at = now;
        }
        if state.buckets.len() >= self.max_keys && !state.buckets.contains_key(&key) {
            let mut unremembered = Bucket {
                tokens: capacity,
                updated: now,
            };
            return action(&mut unremembered, rate);
        }
        let bucket = state.buckets.entry(key).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.updated = now;
        action(bucket, rate)
    }
}

/// `Ok` with a whole token, else how long until there is one at `rate`.
fn wait_for_token(tokens: f64, rate: f64) -> Result<(), Duration> {
    if tokens >= 1.0 {
        Ok(())
    } else {
        Err(Duration::from_secs_f64((1.0 - tokens) / rate))
    }
}

/// The network a client connects from, as far as one client can be told from another by
/// address: an IPv4 address, or the /64 prefix of an IPv6 one (a single host is usually
/// given a whole /64, so counting its addresses one by one would count nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientNetwork {
    V4([u8; 4]),
    /// The first 64 bits.
    V6([u8; 8]),
}

impl ClientNetwork {
    pub fn of(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let mut prefix = [0; 8];
                prefix.copy_from_slice(&v6.octets()[..8]);
                Self::V6(prefix)
            }
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

    #[test]
    fn allow_takes_nothing_and_spend_takes_down_to_empty() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 0.001,
            burst: 2,
        });
        let network = ClientNetwork::of("192.0.2.1".parse().unwrap());
        for _ in 0..5 {
            assert_eq!(limiter.allow(network), Ok(()));
        }
        limiter.spend(network);
        assert_eq!(limiter.allow(network), Ok(()));
        for _ in 0..5 {
            limiter.spend(network);
        }
        let wait = limiter.allow(network).unwrap_err();
        assert!(wait > Duration::from_secs(900), "{wait:?}");
        let neighbour = ClientNetwork::of("192.0.2.2".parse().unwrap());
        assert_eq!(limiter.allow(neighbour), Ok(()));
        let state = limiter.state.lock().unwrap();
        assert_eq!(state.buckets.len(), 1, "only failures make a bucket");
    }

    #[test]
    fn refilling_buckets_are_kept_and_full_ones_dropped_when_the_map_grows() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 1.0,
            burst: 1,
        });
        let start = Instant::now();
        for n in 0..=PRUNE_ABOVE as u32 {
            limiter.check_at(n, start).unwrap();
        }
        // Past the size limit, but every bucket is still refilling: none is forgotten.
        let soon = start + Duration::from_millis(500);
        assert!(limiter.check_at(0, soon).is_err());
        // Past twice that size, the buckets that refilled meanwhile are dropped.
        let later = start + Duration::from_secs(3);
        let fresh = 1_000_000..1_000_000 + 2 * PRUNE_ABOVE as u32 + 10;
        for n in fresh.clone() {
            limiter.check_at(n, later).unwrap();
        }
        let state = limiter.state.lock().unwrap();
        assert!(!state.buckets.contains_key(&1), "a full bucket was dropped");
        assert!(
            state.buckets.contains_key(&fresh.start),
            "a refilling one was kept"
        );
    }

    #[test]
    fn past_the_most_keys_kept_new_keys_go_unlimited_and_the_others_stay_limited() {
        let limit = RateLimit {
            per_second: 0.001,
            burst: 1,
        };
        let limiter = RateLimiter::with_max_keys(limit, 3);
        for n in 0..3 {
            limiter.spend(n);
        }
        for _ in 0..5 {
            limiter.spend(3);
        }
        assert_eq!(limiter.allow(3), Ok(()));
        assert!(limiter.check(3).is_ok() && limiter.check(3).is_ok());
        for n in 0..3 {
            assert!(limiter.allow(n).is_err(), "{n}");
        }
        assert_eq!(limiter.state.lock().unwrap().buckets.len(), 3);
    }

    #[test]
    fn ipv6_clients_are_told_apart_by_their_64_bit_prefix() {
        let of = |text: &str| ClientNetwork::of(text.parse().unwrap());
        assert_eq!(of("2001:db8:1:2::1"), of("2001:db8:1:2:ffff::9"));
        assert_ne!(of("2001:db8:1:2::1"), of("2001:db8:1:3::1"));
        assert_eq!(of("::ffff:192.0.2.7"), of("192.0.2.7"));
        assert_ne!(of("192.0.2.7"), of("192.0.2.8"));
        assert_ne!(of("192.0.2.7"), of("c000:207::"));
        assert_ne!(of("32.1.13.184"), of("2001:db8:ff00::1"));
    }
}

#[cfg(test)]
mod properties {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::ClientNetwork;

    proptest! {
        #[test]
        fn an_ipv4_client_is_one_network_however_it_is_written(address in any::<u32>()) {
            let v4 = Ipv4Addr::from(address);
            let mapped = IpAddr::V6(v4.to_ipv6_mapped());
            prop_assert_eq!(ClientNetwork::of(IpAddr::V4(v4)), ClientNetwork::of(mapped));
        }

        #[test]
        fn no_ipv4_client_shares_a_network_with_an_ipv6_one(v4 in any::<u32>(), v6 in any::<u128>()) {
            let v6 = Ipv6Addr::from(v6);
            prop_assume!(v6.to_ipv4_mapped().is_none());
            // The IPv6 address whose first bytes spell the IPv4 one, and a random one.
            let mut spelled = [0u8; 16];
            spelled[..4].copy_from_slice(&v4.to_be_bytes());
            spelled[4] = 0xff;
            let v4 = ClientNetwork::of(IpAddr::V4(Ipv4Addr::from(v4)));
            prop_assert_ne!(v4, ClientNetwork::of(IpAddr::V6(Ipv6Addr::from(spelled))));
            prop_assert_ne!(v4, ClientNetwork::of(IpAddr::V6(v6)));
        }

        #[test]
        fn ipv6_addresses_share_a_network_exactly_when_they_share_the_first_64_bits(
            a in any::<u128>(),
            other in any::<u128>(),
            same_prefix_wanted in any::<bool>(),
        ) {
            let b = if same_prefix_wanted {
                (a & !u128::from(u64::MAX)) | (other & u128::from(u64::MAX))
            } else {
                other
            };
            // Clear the mapped-IPv4 prefix, which stands for an IPv4 address instead.
            let v6 = |bits: u128| {
                let address = Ipv6Addr::from(bits);
                if address.to_ipv4_mapped().is_some() {
                    Ipv6Addr::from(bits | (1 << 127))
                } else {
                    address
                }
            };
            let (a, b) = (v6(a), v6(b));
            let same_prefix = a.octets()[..8] == b.octets()[..8];
            let same_network =
                ClientNetwork::of(IpAddr::V6(a)) == ClientNetwork::of(IpAddr::V6(b));
            prop_assert_eq!(same_network, same_prefix);
        }
    }
}

//! Ids and creation times for new identities. Each id is a UUIDv7 whose timestamp is the
//! identity's `created_at`, issued in strictly increasing order by the single writer, so
//! id order, `(created_at, id)` order and insertion order are all the same order.

use uuid::Uuid;

use crate::domain::ids::UserIdentityId;
use crate::domain::timestamp::Timestamp;

/// The 74 bits after the version and variant fields of a UUIDv7.
const RANDOM_BITS: u32 = 74;
const RANDOM_MASK: u128 = (1 << RANDOM_BITS) - 1;

pub struct IdClock {
    last_millis: i64,
    last_random: u128,
}

impl IdClock {
    /// Continues after the greatest id issued so far, if any.
    pub fn resume_after(last: Option<Uuid>) -> Self {
        let (last_millis, last_random) = last.map_or((0, 0), split);
        Self {
            last_millis,
            last_random,
        }
    }

    /// The next `(id, created_at)`: the current time, never earlier than the last one
    /// issued; within one millisecond the random tail counts up.
    pub fn next(&mut self, now: Timestamp) -> (UserIdentityId, Timestamp) {
        let now = now.as_millis();
        if now > self.last_millis {
            self.last_millis = now;
            // Start low in the millisecond so the counter has room to count up.
            self.last_random = random_tail() >> 1;
        } else {
            self.last_random += 1;
            if self.last_random > RANDOM_MASK {
                self.last_millis += 1;
                self.last_random = random_tail() >> 1;
            }
        }
        let id = join(self.last_millis, self.last_random);
        (
            UserIdentityId::from_uuid(id),
            Timestamp::from_millis(self.last_millis),
        )
    }
}

fn random_tail() -> u128 {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    u128::from_le_bytes(bytes) & RANDOM_MASK
}

fn join(millis: i64, random: u128) -> Uuid {
    let millis = u128::from(millis.max(0) as u64) & ((1 << 48) - 1);
    let rand_a = random >> 62;
    let rand_b = random & ((1 << 62) - 1);
    Uuid::from_u128((millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
}

fn split(id: Uuid) -> (i64, u128) {
    let value = id.as_u128();
    let millis = (value >> 80) as i64;
    let rand_a = (value >> 64) & 0xfff;
    let rand_b = value & ((1 << 62) - 1);
    (millis, (rand_a << 62) | rand_b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_strictly_even_when_the_clock_stalls_or_goes_back() {
        let mut clock = IdClock::resume_after(None);
        let mut previous = clock.next(Timestamp::from_millis(1_000));
        for now in [1_000, 1_000, 999, 5, 2_000, 2_000] {
            let next = clock.next(Timestamp::from_millis(now));
            assert!(next.0.as_uuid() > previous.0.as_uuid());
            assert!(next.1 >= previous.1);
            assert_eq!(next.0.as_uuid().get_version_num(), 7);
            previous = next;
        }
    }

    #[test]
    fn the_id_carries_created_at_and_resumes_after_it() {
        let mut clock = IdClock::resume_after(None);
        let (id, created_at) = clock.next(Timestamp::from_millis(1_704_951_470_264));
        assert_eq!(split(*id.as_uuid()).0, created_at.as_millis());
        let mut resumed = IdClock::resume_after(Some(*id.as_uuid()));
        let (next, _) = resumed.next(Timestamp::from_millis(0));
        assert!(next.as_uuid() > id.as_uuid());
    }
}

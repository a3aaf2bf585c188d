//! Timestamps at the millisecond precision Seam shows (`2024-01-11T05:37:50.264Z`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Milliseconds since the Unix epoch, UTC. Stored as an integer so that ordering in the
/// database is exactly the order a client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// The text is not an ISO 8601 date or date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Invalid date")]
pub struct InvalidTimestamp;

impl Timestamp {
    pub fn now() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    }

    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 date-time (any offset, any fraction, truncated to milliseconds)
    /// or a plain `YYYY-MM-DD` date meaning midnight UTC, as JavaScript's `Date` does.
    pub fn parse(text: &str) -> Result<Self, InvalidTimestamp> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339).or_else(|_| {
            time::Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map(|date| date.midnight().assume_utc())
        });
        let moment = parsed.map_err(|_| InvalidTimestamp)?;
        let millis = moment.unix_timestamp_nanos().div_euclid(1_000_000);
        i64::try_from(millis)
            .map(Self)
            .map_err(|_| InvalidTimestamp)
    }
}

impl fmt::Display for Timestamp {
    /// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.0) * 1_000_000;
        let moment = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| fmt::Error)?;
        let layout = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        let text = moment.format(layout).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_uses_milliseconds_and_z() {
        let stamp = Timestamp::from_millis(1_704_951_470_264);
        assert_eq!(stamp.to_string(), "2024-01-11T05:37:50.264Z");
    }

    #[test]
    fn parse_round_trips_and_accepts_offsets_and_dates() {
        let stamp = Timestamp::parse("2024-01-11T05:37:50.264Z").unwrap();
        assert_eq!(stamp.as_millis(), 1_704_951_470_264);
        let offset = Timestamp::parse("2024-01-11T06:37:50.264999+01:00").unwrap();
        assert_eq!(offset, stamp);
        let date = Timestamp::parse("2024-01-11").unwrap();
        assert_eq!(date.to_string(), "2024-01-11T00:00:00.000Z");
        assert_eq!(Timestamp::parse("yesterday"), Err(InvalidTimestamp));
    }
}

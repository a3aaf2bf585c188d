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

/// The length of a timestamp as Seam shows it: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub const ENCODED_LEN: usize = 24;

impl Timestamp {
    /// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` into `buffer` and returns it as text (years 0 to
    /// 9999; others are clamped). Digits are written directly, without `fmt`, because
    /// list pages show a hundred of them.
    pub fn encode(self, buffer: &mut [u8; ENCODED_LEN]) -> &str {
        let millis = self.0.clamp(MIN_MILLIS, MAX_MILLIS);
        let (days, millis_of_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
        let (year, month, day) = civil_from_days(days);
        let seconds_of_day = millis_of_day / 1000;
        *buffer = *b"0000-00-00T00:00:00.000Z";
        put_digits(&mut buffer[0..4], year);
        put_digits(&mut buffer[5..7], month);
        put_digits(&mut buffer[8..10], day);
        put_digits(&mut buffer[11..13], seconds_of_day / 3600);
        put_digits(&mut buffer[14..16], seconds_of_day / 60 % 60);
        put_digits(&mut buffer[17..19], seconds_of_day % 60);
        put_digits(&mut buffer[20..23], millis_of_day % 1000);
        std::str::from_utf8(buffer).unwrap_or_default()
    }
}

/// Writes `value`'s last `digits.len()` decimal digits into `digits`, zero-padded.
fn put_digits(digits: &mut [u8], mut value: i64) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl fmt::Display for Timestamp {
    /// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ` (years 0 to 9999; others are clamped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode(&mut [0; ENCODED_LEN]))
    }
}

/// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
const MIN_MILLIS: i64 = -62_167_219_200_000;
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.encode(&mut [0; ENCODED_LEN]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_uses_milliseconds_and_z() {
        let stamp = Timestamp::from_millis(1_704_951_470_264);
        assert_eq!(stamp.to_string(), "2024-01-11T05:37:50.264Z");
        assert_eq!(
            Timestamp::from_millis(0).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(-1).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::from_millis(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(i64::MAX).to_string(),
            "9999-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn display_agrees_with_parse_across_many_dates() {
        let mut millis = MIN_MILLIS;
        while millis < MAX_MILLIS {
            let text = Timestamp::from_millis(millis).to_string();
            assert_eq!(
                Timestamp::parse(&text),
                Ok(Timestamp::from_millis(millis)),
                "{text}"
            );
            millis += 7_777_777_777_777;
        }
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

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_shown_timestamp_parses_back(millis in MIN_MILLIS..=MAX_MILLIS) {
            let stamp = Timestamp::from_millis(millis);
            prop_assert_eq!(Timestamp::parse(&stamp.to_string()), Ok(stamp));
        }

        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,40}|[0-9T:.Z+-]{8,35}") {
            let _ = Timestamp::parse(&text);
        }
    }
}

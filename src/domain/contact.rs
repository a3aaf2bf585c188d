//! Contact details that Seam validates on input: email addresses and E.164 phone numbers.
//! Values are parsed once at the boundary; a stored value is never re-validated on read.

use std::fmt;

/// An email address accepted by Seam's validator. Uniqueness compares it case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

/// The text is not an email address Seam would accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Invalid email")]
pub struct InvalidEmail;

impl EmailAddress {
    /// Applies Seam's (zod's) email grammar: a local part of letters, digits and `_'+-.`
    /// that neither starts with `.` nor ends with `'` or `.`, then `@`, then one or more
    /// dot-terminated labels and a top-level domain of two or more letters. `..` is
    /// refused anywhere.
    pub fn parse(text: &str) -> Result<Self, InvalidEmail> {
        let (local, domain) = text.split_once('@').ok_or(InvalidEmail)?;
        if text.contains("..") || !valid_local_part(local) || !valid_domain(domain) {
            return Err(InvalidEmail);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn valid_local_part(local: &str) -> bool {
    let bytes = local.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let allowed =
        |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'\'' | b'+' | b'-' | b'.');
    *first != b'.'
        && bytes.iter().all(allowed)
        && (last.is_ascii_alphanumeric() || matches!(last, b'_' | b'+' | b'-'))
}

fn valid_domain(domain: &str) -> bool {
    let Some((labels, top_level)) = domain.rsplit_once('.') else {
        return false;
    };
    let valid_label = |label: &str| {
        label
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphanumeric)
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    top_level.len() >= 2
        && top_level.bytes().all(|b| b.is_ascii_alphabetic())
        && labels.split('.').all(valid_label)
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 form: `+`, then 2 to 15 digits, the first not `0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

/// The text is not an E.164 phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Phone number must be in E.164 format: +14155552671")]
pub struct InvalidPhoneNumber;

impl PhoneNumber {
    /// Trims surrounding whitespace, then requires E.164, as Seam's documentation asks.
    pub fn parse(text: &str) -> Result<Self, InvalidPhoneNumber> {
        let trimmed = text.trim();
        let digits = trimmed.strip_prefix('+').ok_or(InvalidPhoneNumber)?;
        let well_formed = (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if well_formed {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(InvalidPhoneNumber)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_accepts_common_addresses() {
        for text in [
            "jean@example.com",
            "Jean.Doe+tag@Example.CO.uk",
            "o'brien@mail-server.example.org",
            "a@b.cd",
            "x_y-z@sub.domain.io",
        ] {
            assert!(EmailAddress::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn email_refuses_what_seam_refuses() {
        for text in [
            "",
            "jean",
            "@example.com",
            "jean@",
            ".jean@example.com",
            "jean.@example.com",
            "jean'@example.com",
            "je..an@example.com",
            "jean@example..com",
            "jean@example.c",
            "jean@example.c0m",
            "jean@-example.com",
            "jean@example",
            "jean@[127.0.0.1]",
            "jean@@example.com",
            "je an@example.com",
            "\"jean\"@example.com",
            "jéan@example.com",
        ] {
            assert_eq!(EmailAddress::parse(text), Err(InvalidEmail), "{text}");
        }
    }

    #[test]
    fn phone_accepts_e164_after_trimming() {
        assert_eq!(
            PhoneNumber::parse(" +15555550110 ").unwrap().as_str(),
            "+15555550110"
        );
        assert!(PhoneNumber::parse("+12").is_ok());
        assert!(PhoneNumber::parse("+123456789012345").is_ok());
    }

    #[test]
    fn phone_refuses_anything_else() {
        for text in [
            "",
            "+",
            "+1",
            "15555550110",
            "+05555550110",
            "+1555555011x",
            "+1234567890123456",
            "+1 555 555",
        ] {
            assert_eq!(PhoneNumber::parse(text), Err(InvalidPhoneNumber), "{text}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn generated_addresses_are_accepted_unchanged(
            text in "[a-zA-Z0-9]([a-zA-Z0-9_+-]{0,12}[a-zA-Z0-9])?@([a-z0-9][a-z0-9-]{0,8}\\.){1,3}[a-zA-Z]{2,8}"
        ) {
            prop_assert_eq!(EmailAddress::parse(&text).map(EmailAddress::into_string), Ok(text));
        }

        #[test]
        fn an_accepted_address_has_one_at_sign_and_no_empty_label(text in "\\PC{0,40}|[a-z.@_+'-]{1,20}") {
            if let Ok(email) = EmailAddress::parse(&text) {
                prop_assert_eq!(email.as_str(), text.as_str());
                prop_assert_eq!(text.matches('@').count(), 1);
                prop_assert!(!text.contains("..") && !text.starts_with('.'));
                let domain = text.split('@').nth(1).unwrap();
                prop_assert!(domain.split('.').all(|label| !label.is_empty()));
            }
        }

        #[test]
        fn e164_numbers_are_accepted_after_trimming(
            digits in "[1-9][0-9]{1,14}",
            before in " {0,3}",
            after in "[ \\t]{0,3}",
        ) {
            let number = format!("+{digits}");
            let parsed = PhoneNumber::parse(&format!("{before}{number}{after}"));
            prop_assert_eq!(parsed.map(PhoneNumber::into_string), Ok(number));
        }

        #[test]
        fn an_accepted_phone_number_is_e164(text in "\\PC{0,20}|[+0-9 ]{0,20}") {
            if let Ok(phone) = PhoneNumber::parse(&text) {
                let digits = phone.as_str().strip_prefix('+').unwrap();
                prop_assert!((2..=15).contains(&digits.len()));
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0'));
            }
        }
    }
}

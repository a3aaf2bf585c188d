//! JSON strings written by hand into a response buffer, for bodies hot enough to skip
//! serde (list pages). Escaping follows `serde_json`'s compact output byte for byte, so a
//! body written here equals the one serde would write.

/// For each byte, the character that follows the backslash of its escape, `u` for a
/// `\u00XX` escape, or 0 when the byte is written as it is. As in `serde_json`: control
/// characters, `"` and `\` are escaped; everything else, DEL and non-ASCII included, is not.
const ESCAPE: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `text` as a JSON string, quotes included.
pub fn push_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.push(b'"');
    if needs_escaping(bytes) {
        push_escaped(out, bytes);
    } else {
        out.extend_from_slice(bytes);
    }
    out.push(b'"');
}

/// Appends `text` as a JSON string, or `null`.
pub fn push_optional_str(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => push_str(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..index]);
        if escape == b'u' {
            let hex = [
                HEX_DIGITS[usize::from(byte >> 4)],
                HEX_DIGITS[usize::from(byte & 0xf)],
            ];
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&hex);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether any byte needs an escape, checked eight bytes at a time: most text needs none.
fn needs_escaping(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let any_word = words.by_ref().any(|word| {
        let word: [u8; 8] = word.try_into().unwrap_or_default();
        word_needs_escaping(u64::from_le_bytes(word))
    });
    any_word
        || words
            .remainder()
            .iter()
            .any(|&byte| ESCAPE[usize::from(byte)] != 0)
}

/// Whether any byte of `word` is below 0x20, `"` or `\` (the "has a byte less than n" and
/// "has a zero byte" bit tricks: exact as a yes/no answer for the whole word).
const fn word_needs_escaping(word: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);
    const fn has_zero_byte(word: u64) -> bool {
        word.wrapping_sub(ONES) & !word & HIGH_BITS != 0
    }
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS != 0;
    control
        || has_zero_byte(word ^ (ONES * b'"' as u64))
        || has_zero_byte(word ^ (ONES * b'\\' as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str) -> String {
        let mut out = Vec::new();
        push_str(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_as_serde_json_does() {
        for text in [
            "",
            "plain ascii text longer than a word",
            "quote \" backslash \\ slash / ok",
            "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}",
            "Émile Zoë 🙂 \u{2028}",
            "1234567\"",
            "\\1234567",
        ] {
            assert_eq!(
                written(text),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn every_single_byte_is_escaped_as_serde_json_does() {
        for code in 0..=0x7f_u8 {
            let text = format!("abcdefgh{}ijklmnop", char::from(code));
            assert_eq!(written(&text), serde_json::to_string(&text).unwrap());
        }
    }

    #[test]
    fn null_for_none() {
        let mut out = Vec::new();
        push_optional_str(&mut out, None);
        push_optional_str(&mut out, Some("a"));
        assert_eq!(out, b"null\"a\"");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_is_written_as_serde_json_writes_it(text in "\\PC{0,40}|[\\x00-\\x7f]{0,40}|(\"|\\\\|a|\\n){0,20}") {
            let mut out = Vec::new();
            push_str(&mut out, &text);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&text).unwrap());
        }
    }
}

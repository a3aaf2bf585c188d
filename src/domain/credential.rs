//! Bearer credentials: API keys (`seam_<id>_<secret>`) and personal access tokens
//! (`seam_at1<id>_<secret>`). Only a SHA-256 of the secret is ever stored; the public id
//! finds the row, and the hash is compared in constant time.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PUBLIC_ID_LEN: usize = 12;
const SECRET_LEN: usize = 32;
const PAT_PREFIX: &str = "seam_at1";
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// SHA-256 of a credential's secret part: the only form in which a secret is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of_secret(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares in time independent of where the hashes differ.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// The kind of credential a bearer token claims to be, told by its prefix as Seam's SDKs do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerToken {
    ApiKey(TokenParts),
    PersonalAccessToken(TokenParts),
    ClientSession,
    PublishableKey,
    Jwt,
    /// Anything else, including a `seam_` token with a malformed body. It is looked up
    /// nowhere and answers like an unknown key.
    Unrecognized,
}

/// The public id and the secret of a well-formed token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenParts {
    pub public_id: String,
    pub secret: String,
}

impl fmt::Debug for TokenParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenParts")
            .field("public_id", &self.public_id)
            .finish_non_exhaustive()
    }
}

impl BearerToken {
    pub fn classify(token: &str) -> Self {
        if token.starts_with("ey") {
            return Self::Jwt;
        }
        let Some(rest) = token.strip_prefix("seam_") else {
            return Self::Unrecognized;
        };
        if let Some(body) = token.strip_prefix(PAT_PREFIX) {
            return split_parts(body).map_or(Self::Unrecognized, Self::PersonalAccessToken);
        }
        if rest.starts_with("at") {
            return Self::Unrecognized;
        }
        if rest.starts_with("cst") {
            return Self::ClientSession;
        }
        if rest.starts_with("pk") {
            return Self::PublishableKey;
        }
        split_parts(rest).map_or(Self::Unrecognized, Self::ApiKey)
    }
}

fn split_parts(body: &str) -> Option<TokenParts> {
    let (public_id, secret) = body.split_once('_')?;
    let well_formed = public_id.len() == PUBLIC_ID_LEN
        && public_id.bytes().all(|b| b.is_ascii_hexdigit())
        && secret.len() == SECRET_LEN
        && secret.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then(|| TokenParts {
        public_id: public_id.to_owned(),
        secret: secret.to_owned(),
    })
}

/// A freshly minted credential: the plaintext is shown once, only the hash is stored.
pub struct IssuedToken {
    pub public_id: String,
    pub hash: TokenHash,
    pub plaintext: String,
}

impl IssuedToken {
    pub fn new_api_key() -> Self {
        Self::mint("seam_")
    }

    pub fn new_personal_access_token() -> Self {
        Self::mint(PAT_PREFIX)
    }

    fn mint(prefix: &str) -> Self {
        let mut id_bytes = [0u8; PUBLIC_ID_LEN / 2];
        fill_random(&mut id_bytes);
        let public_id: String = id_bytes.iter().map(|b| format!("{b:02x}")).collect();
        let secret = random_base62(SECRET_LEN);
        let hash = TokenHash::of_secret(&secret);
        let plaintext = format!("{prefix}{public_id}_{secret}");
        Self {
            public_id,
            hash,
            plaintext,
        }
    }
}

fn fill_random(bytes: &mut [u8]) {
    getrandom::fill(bytes).expect("the operating system's random source failed");
}

/// `len` characters drawn uniformly from [`BASE62`]. Bytes of 248 and above are drawn
/// again: 248 is 62 * 4, so only the bytes below it map to every character equally often.
fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut random = [0u8; 64];
    while out.len() < len {
        fill_random(&mut random);
        for byte in random.iter().filter(|&&byte| byte < 248) {
            if out.len() == len {
                break;
            }
            out.push(BASE62[usize::from(byte % 62)] as char);
        }
    }
    out
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("public_id", &self.public_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_classify_as_their_kind_and_verify() {
        let key = IssuedToken::new_api_key();
        let BearerToken::ApiKey(parts) = BearerToken::classify(&key.plaintext) else {
            panic!("api key not recognised");
        };
        assert_eq!(parts.public_id, key.public_id);
        assert!(TokenHash::of_secret(&parts.secret).matches(&key.hash));

        let pat = IssuedToken::new_personal_access_token();
        assert!(pat.plaintext.starts_with("seam_at"));
        assert!(matches!(
            BearerToken::classify(&pat.plaintext),
            BearerToken::PersonalAccessToken(_)
        ));
    }

    #[test]
    fn classify_tells_other_token_kinds_apart() {
        assert_eq!(
            BearerToken::classify("seam_cst1abc_def"),
            BearerToken::ClientSession
        );
        assert_eq!(
            BearerToken::classify("seam_pk1abc"),
            BearerToken::PublishableKey
        );
        assert_eq!(BearerToken::classify("eyJhbGciOi"), BearerToken::Jwt);
        assert_eq!(
            BearerToken::classify("seam_short_secret"),
            BearerToken::Unrecognized
        );
        assert_eq!(BearerToken::classify("token"), BearerToken::Unrecognized);
    }

    #[test]
    fn secret_characters_are_drawn_evenly() {
        // 64,000 characters, about 1,032 of each. A byte taken modulo 62 without
        // redrawing makes the first eight characters 25% more frequent than the others.
        let mut counts = [0u32; 62];
        for _ in 0..2000 {
            for byte in random_base62(SECRET_LEN).bytes() {
                counts[BASE62.iter().position(|&c| c == byte).unwrap()] += 1;
            }
        }
        let first_eight = f64::from(counts[..8].iter().sum::<u32>()) / 8.0;
        let others = f64::from(counts[8..].iter().sum::<u32>()) / 54.0;
        let ratio = first_eight / others;
        assert!((0.9..1.1).contains(&ratio), "{ratio}: {counts:?}");
    }

    #[test]
    fn secrets_do_not_appear_in_debug_output() {
        let key = IssuedToken::new_api_key();
        let secret = key.plaintext.rsplit('_').next().unwrap().to_owned();
        assert!(!format!("{key:?}").contains(&secret));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_token_classifies_with_the_parts_it_was_built_from(
            id in "[0-9a-f]{12}",
            secret in "[0-9A-Za-z]{32}",
            personal in any::<bool>(),
        ) {
            let prefix = if personal { PAT_PREFIX } else { "seam_" };
            let parts = TokenParts { public_id: id.clone(), secret: secret.clone() };
            let expected = if personal {
                BearerToken::PersonalAccessToken(parts)
            } else {
                BearerToken::ApiKey(parts)
            };
            prop_assert_eq!(BearerToken::classify(&format!("{prefix}{id}_{secret}")), expected);
        }

        #[test]
        fn a_token_with_a_malformed_body_is_unrecognized(
            body in "\\PC{0,50}|[0-9a-f_]{10,50}",
            personal in any::<bool>(),
        ) {
            let prefix = if personal { PAT_PREFIX } else { "seam_" };
            let token = format!("{prefix}{body}");
            let well_formed = split_parts(&body).is_some();
            if !well_formed && !body.starts_with("at") && !body.starts_with("cst") && !body.starts_with("pk") {
                prop_assert_eq!(BearerToken::classify(&token), BearerToken::Unrecognized);
            }
        }
    }
}

//! Small cryptographic building blocks on top of `sha2`: randomness, HMAC,
//! PBKDF2 and constant-time comparison. Hand-written because each is a few
//! lines and the extra crates would cost flash on the router.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::sync::OnceLock;

/// `/dev/urandom`, opened once: a server whose descriptors a flood has used
/// up must still be able to make tokens.
static URANDOM: OnceLock<File> = OnceLock::new();

/// Opens the randomness source now, so a later shortage of file
/// descriptors cannot take it away. Call at start-up.
pub fn init() -> Result<()> {
    urandom().map(|_| ())
}

fn urandom() -> Result<&'static File> {
    if let Some(file) = URANDOM.get() {
        return Ok(file);
    }
    let file = File::open("/dev/urandom")
        .map_err(|e| Error::internal(format!("cannot open /dev/urandom: {e}")))?;
    // A racing first caller may have set it meanwhile; either file will do.
    Ok(URANDOM.get_or_init(|| file))
}

/// Fills a buffer from the kernel's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    urandom()?
        .read_exact(&mut buf)
        .map_err(|e| Error::internal(format!("cannot read /dev/urandom: {e}")))?;
    Ok(buf)
}

/// A random token of 32 bytes, hex encoded: used for sessions and order tokens.
pub fn random_token() -> Result<String> {
    Ok(hex(&random_bytes::<32>()?))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Tokens are stored only as their SHA-256, so a stolen database opens
/// nothing. A token that begins with a time prefix (`ordered_token`) keeps
/// it in front of its hash, so new orders' keys are appended at one end of
/// the index instead of on a random cold leaf of a large B-tree (whose pages
/// every checkpoint would write to flash again). The hash covers the whole
/// token, prefix included: a forged prefix only moves where a key sorts,
/// and older random tokens keep their plain hash.
pub fn token_hash(token: &str) -> String {
    let hash = hex(&sha256(token.as_bytes()));
    match ordered_prefix(token) {
        Some(prefix) => format!("{prefix}{hash}"),
        None => hash,
    }
}

/// Characters of a time prefix, in ASCII order so that text order is time
/// order (SQLite compares text bytewise); all are URL- and cookie-safe.
const SORTED_DIGITS: &[u8; 64] =
    b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// Seven of those digits count milliseconds until 2109, when they wrap:
/// keys then sort from the left again, which costs writes, not correctness.
pub const TIME_PREFIX_LEN: usize = 7;

/// A fixed-width prefix that grows with `now_ms` (a clock before 1970
/// counts as 1970).
pub fn time_prefix(now_ms: i64) -> String {
    let mut value = now_ms.max(0) as u64;
    let mut digits = [0u8; TIME_PREFIX_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = SORTED_DIGITS[(value % 64) as usize];
        value /= 64;
    }
    digits.iter().map(|&d| d as char).collect()
}

/// Whether `text` is a time prefix's characters.
pub fn is_time_prefix(text: &str) -> bool {
    text.len() == TIME_PREFIX_LEN && text.bytes().all(|b| SORTED_DIGITS.contains(&b))
}

/// An order token: the time prefix, then 32 random bytes in hex, so the
/// secret part is as long as a `random_token`.
pub fn ordered_token(now_ms: i64) -> Result<String> {
    Ok(time_prefix(now_ms) + &random_token()?)
}

/// The time prefix of a token shaped as `ordered_token` makes them (also
/// the reserved tokens derived from our form references).
fn ordered_prefix(token: &str) -> Option<&str> {
    let (prefix, secret) = token.split_at_checked(TIME_PREFIX_LEN)?;
    let hex_secret = secret.len() == 64
        && secret
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (is_time_prefix(prefix) && hex_secret).then_some(prefix)
}

/// HMAC-SHA256 with the key pads hashed once, so PBKDF2 can reuse them.
struct Hmac {
    inner: Sha256,
    outer: Sha256,
}

impl Hmac {
    fn new(key: &[u8]) -> Self {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&sha256(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| {
            let mut padded = block;
            padded.iter_mut().for_each(|b| *b ^= byte);
            Sha256::new_with_prefix(padded)
        };
        Hmac {
            inner: pad(0x36),
            outer: pad(0x5c),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for part in parts {
            inner.update(part);
        }
        let mut outer = self.outer.clone();
        outer.update(inner.finalize());
        outer.finalize().into()
    }
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    Hmac::new(key).mac(&[data])
}

/// PBKDF2-HMAC-SHA256 (RFC 8018) producing one 32-byte block, all we store.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let hmac = Hmac::new(password);
    let mut u = hmac.mac(&[salt, &1u32.to_be_bytes()]);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac.mac(&[&u]);
        out.iter_mut().zip(u.iter()).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_with_long_key_matches_rfc4231_case_6() {
        let key = [0xaau8; 131];
        let mac = hmac_sha256(
            &key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn pbkdf2_matches_published_vectors() {
        assert_eq!(
            hex(&pbkdf2_sha256(b"password", b"salt", 1)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert_eq!(
            hex(&pbkdf2_sha256(b"password", b"salt", 4096)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
    }

    #[test]
    fn random_bytes_differ() {
        init().unwrap();
        assert_ne!(random_bytes::<16>().unwrap(), random_bytes::<16>().unwrap());
    }

    #[test]
    fn time_prefixes_sort_as_time_and_keep_their_width() {
        let times = [
            -5,
            0,
            1,
            63,
            64,
            4095,
            1_700_000_000_000,
            1_700_000_000_001,
            1_800_000_000_000,
            4_398_046_511_103,
        ];
        for pair in times.windows(2) {
            let (a, b) = (time_prefix(pair[0]), time_prefix(pair[1]));
            assert_eq!((a.len(), b.len()), (TIME_PREFIX_LEN, TIME_PREFIX_LEN));
            assert!(a <= b, "{a} > {b}");
            assert!(is_time_prefix(&a) && is_time_prefix(&b));
        }
        assert!(time_prefix(1_700_000_000_000) < time_prefix(1_700_000_000_001));
        assert!(!is_time_prefix("abc.def") && !is_time_prefix("abcdef"));
    }

    #[test]
    fn ordered_tokens_keep_their_order_in_their_hashes() {
        init().unwrap();
        let (t1, t2) = (1_800_000_000_000, 1_800_000_000_001);
        let (early, late) = (ordered_token(t1).unwrap(), ordered_token(t2).unwrap());
        assert_eq!(early.len(), TIME_PREFIX_LEN + 64);
        assert!(early.starts_with(&time_prefix(t1)));
        // The secret part is still 256 random bits.
        assert_ne!(early[TIME_PREFIX_LEN..], late[TIME_PREFIX_LEN..]);
        let (early_key, late_key) = (token_hash(&early), token_hash(&late));
        assert!(early_key < late_key);
        assert_eq!(
            early_key,
            format!("{}{}", time_prefix(t1), hex(&sha256(early.as_bytes())))
        );
        // Any presented token is looked up the same way; tokens issued
        // before (random hex) and client-made strings keep their plain hash.
        assert_eq!(token_hash(&early), early_key);
        let hex_token = "a".repeat(64);
        assert_eq!(token_hash(&hex_token), hex(&sha256(hex_token.as_bytes())));
        // Client-made strings: not our shape (too short, not hex after the
        // prefix), so their plain hash too.
        for made in [
            "client-made-token-0123456789abcdef",
            &format!("0000000{}", "z".repeat(64)),
        ] {
            assert_eq!(token_hash(made), hex(&sha256(made.as_bytes())));
        }
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_forged_prefix_moves_only_where_the_key_sorts() {
        init().unwrap();
        let token = ordered_token(1_800_000_000_000).unwrap();
        let forged = format!(
            "{}{}",
            time_prefix(1_900_000_000_000),
            &token[TIME_PREFIX_LEN..]
        );
        let (key, forged_key) = (token_hash(&token), token_hash(&forged));
        assert_ne!(key[TIME_PREFIX_LEN..], forged_key[TIME_PREFIX_LEN..]);
        assert_ne!(key, forged_key);
        // Nor does writing the real key's prefix on another secret.
        let other = format!("{}{}", &token[..TIME_PREFIX_LEN], "0".repeat(64));
        assert_ne!(token_hash(&other), key);
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}

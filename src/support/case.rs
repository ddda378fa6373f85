//! Lower case as `str::to_lowercase` gives it, without std's table of
//! every capital and its small letter (11 KB of the router's binary): the
//! 1,461 one-letter mappings are 185 runs of capitals that lower by one
//! offset, each capital next to the last or every second code point. A unit
//! test checks every character against std's own mapping.

/// First capital, how many, every how many code points, and the offset to
/// each one's small letter; sorted by the first capital.
const RUNS: [(u32, u8, u8, i32); 185] = [
    (0xc0, 23, 1, 32),
    (0xd8, 7, 1, 32),
    (0x100, 24, 2, 1),
    (0x132, 3, 2, 1),
    (0x139, 8, 2, 1),
    (0x14a, 23, 2, 1),
    (0x178, 1, 1, -121),
    (0x179, 3, 2, 1),
    (0x181, 1, 1, 210),
    (0x182, 2, 2, 1),
    (0x186, 1, 1, 206),
    (0x187, 1, 1, 1),
    (0x189, 2, 1, 205),
    (0x18b, 1, 1, 1),
    (0x18e, 1, 1, 79),
    (0x18f, 1, 1, 202),
    (0x190, 1, 1, 203),
    (0x191, 1, 1, 1),
    (0x193, 1, 1, 205),
    (0x194, 1, 1, 207),
    (0x196, 1, 1, 211),
    (0x197, 1, 1, 209),
    (0x198, 1, 1, 1),
    (0x19c, 1, 1, 211),
    (0x19d, 1, 1, 213),
    (0x19f, 1, 1, 214),
    (0x1a0, 3, 2, 1),
    (0x1a6, 1, 1, 218),
    (0x1a7, 1, 1, 1),
    (0x1a9, 1, 1, 218),
    (0x1ac, 1, 1, 1),
    (0x1ae, 1, 1, 218),
    (0x1af, 1, 1, 1),
    (0x1b1, 2, 1, 217),
    (0x1b3, 2, 2, 1),
    (0x1b7, 1, 1, 219),
    (0x1b8, 1, 1, 1),
    (0x1bc, 1, 1, 1),
    (0x1c4, 1, 1, 2),
    (0x1c5, 1, 1, 1),
    (0x1c7, 1, 1, 2),
    (0x1c8, 1, 1, 1),
    (0x1ca, 1, 1, 2),
    (0x1cb, 9, 2, 1),
    (0x1de, 9, 2, 1),
    (0x1f1, 1, 1, 2),
    (0x1f2, 2, 2, 1),
    (0x1f6, 1, 1, -97),
    (0x1f7, 1, 1, -56),
    (0x1f8, 20, 2, 1),
    (0x220, 1, 1, -130),
    (0x222, 9, 2, 1),
    (0x23a, 1, 1, 10795),
    (0x23b, 1, 1, 1),
    (0x23d, 1, 1, -163),
    (0x23e, 1, 1, 10792),
    (0x241, 1, 1, 1),
    (0x243, 1, 1, -195),
    (0x244, 1, 1, 69),
    (0x245, 1, 1, 71),
    (0x246, 5, 2, 1),
    (0x370, 2, 2, 1),
    (0x376, 1, 1, 1),
    (0x37f, 1, 1, 116),
    (0x386, 1, 1, 38),
    (0x388, 3, 1, 37),
    (0x38c, 1, 1, 64),
    (0x38e, 2, 1, 63),
    (0x391, 17, 1, 32),
    (0x3a3, 9, 1, 32),
    (0x3cf, 1, 1, 8),
    (0x3d8, 12, 2, 1),
    (0x3f4, 1, 1, -60),
    (0x3f7, 1, 1, 1),
    (0x3f9, 1, 1, -7),
    (0x3fa, 1, 1, 1),
    (0x3fd, 3, 1, -130),
    (0x400, 16, 1, 80),
    (0x410, 32, 1, 32),
    (0x460, 17, 2, 1),
    (0x48a, 27, 2, 1),
    (0x4c0, 1, 1, 15),
    (0x4c1, 7, 2, 1),
    (0x4d0, 48, 2, 1),
    (0x531, 38, 1, 48),
    (0x10a0, 38, 1, 7264),
    (0x10c7, 1, 1, 7264),
    (0x10cd, 1, 1, 7264),
    (0x13a0, 80, 1, 38864),
    (0x13f0, 6, 1, 8),
    (0x1c89, 1, 1, 1),
    (0x1c90, 43, 1, -3008),
    (0x1cbd, 3, 1, -3008),
    (0x1e00, 75, 2, 1),
    (0x1e9e, 1, 1, -7615),
    (0x1ea0, 48, 2, 1),
    (0x1f08, 8, 1, -8),
    (0x1f18, 6, 1, -8),
    (0x1f28, 8, 1, -8),
    (0x1f38, 8, 1, -8),
    (0x1f48, 6, 1, -8),
    (0x1f59, 4, 2, -8),
    (0x1f68, 8, 1, -8),
    (0x1f88, 8, 1, -8),
    (0x1f98, 8, 1, -8),
    (0x1fa8, 8, 1, -8),
    (0x1fb8, 2, 1, -8),
    (0x1fba, 2, 1, -74),
    (0x1fbc, 1, 1, -9),
    (0x1fc8, 4, 1, -86),
    (0x1fcc, 1, 1, -9),
    (0x1fd8, 2, 1, -8),
    (0x1fda, 2, 1, -100),
    (0x1fe8, 2, 1, -8),
    (0x1fea, 2, 1, -112),
    (0x1fec, 1, 1, -7),
    (0x1ff8, 2, 1, -128),
    (0x1ffa, 2, 1, -126),
    (0x1ffc, 1, 1, -9),
    (0x2126, 1, 1, -7517),
    (0x212a, 1, 1, -8383),
    (0x212b, 1, 1, -8262),
    (0x2132, 1, 1, 28),
    (0x2160, 16, 1, 16),
    (0x2183, 1, 1, 1),
    (0x24b6, 26, 1, 26),
    (0x2c00, 48, 1, 48),
    (0x2c60, 1, 1, 1),
    (0x2c62, 1, 1, -10743),
    (0x2c63, 1, 1, -3814),
    (0x2c64, 1, 1, -10727),
    (0x2c67, 3, 2, 1),
    (0x2c6d, 1, 1, -10780),
    (0x2c6e, 1, 1, -10749),
    (0x2c6f, 1, 1, -10783),
    (0x2c70, 1, 1, -10782),
    (0x2c72, 1, 1, 1),
    (0x2c75, 1, 1, 1),
    (0x2c7e, 2, 1, -10815),
    (0x2c80, 50, 2, 1),
    (0x2ceb, 2, 2, 1),
    (0x2cf2, 1, 1, 1),
    (0xa640, 23, 2, 1),
    (0xa680, 14, 2, 1),
    (0xa722, 7, 2, 1),
    (0xa732, 31, 2, 1),
    (0xa779, 2, 2, 1),
    (0xa77d, 1, 1, -35332),
    (0xa77e, 5, 2, 1),
    (0xa78b, 1, 1, 1),
    (0xa78d, 1, 1, -42280),
    (0xa790, 2, 2, 1),
    (0xa796, 10, 2, 1),
    (0xa7aa, 1, 1, -42308),
    (0xa7ab, 1, 1, -42319),
    (0xa7ac, 1, 1, -42315),
    (0xa7ad, 1, 1, -42305),
    (0xa7ae, 1, 1, -42308),
    (0xa7b0, 1, 1, -42258),
    (0xa7b1, 1, 1, -42282),
    (0xa7b2, 1, 1, -42261),
    (0xa7b3, 1, 1, 928),
    (0xa7b4, 8, 2, 1),
    (0xa7c4, 1, 1, -48),
    (0xa7c5, 1, 1, -42307),
    (0xa7c6, 1, 1, -35384),
    (0xa7c7, 2, 2, 1),
    (0xa7cb, 1, 1, -42343),
    (0xa7cc, 8, 2, 1),
    (0xa7dc, 1, 1, -42561),
    (0xa7f5, 1, 1, 1),
    (0xff21, 26, 1, 32),
    (0x10400, 40, 1, 40),
    (0x104b0, 36, 1, 40),
    (0x10570, 19, 2, 39),
    (0x10571, 5, 2, 39),
    (0x1057d, 7, 2, 39),
    (0x1058d, 3, 2, 39),
    (0x10595, 1, 1, 39),
    (0x10c80, 51, 1, 64),
    (0x10d50, 22, 1, 32),
    (0x118a0, 32, 1, 32),
    (0x16e40, 32, 1, 32),
    (0x16ea0, 25, 1, 27),
    (0x1e900, 34, 1, 34),
];

/// 'İ' lowers to two characters: 'i' and a combining dot above.
const CAPITAL_I_WITH_DOT: char = '\u{130}';

/// Whether `code` is one of the run's capitals.
fn in_run(&(first, count, step, _): &(u32, u8, u8, i32), code: u32) -> bool {
    code.checked_sub(first).is_some_and(|offset| {
        offset % u32::from(step) == 0 && offset / u32::from(step) < u32::from(count)
    })
}

fn lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let code = c as u32;
    RUNS.iter()
        .take_while(|run| run.0 <= code)
        .find(|run| in_run(run, code))
        .and_then(|run| char::from_u32(code.wrapping_add_signed(run.3)))
        .unwrap_or(c)
}

/// Whether `c` is a capital or small letter: lowers to something else, or
/// is what a capital lowers to (close to Unicode's `Cased`, which decides
/// the final sigma).
fn cased(c: char) -> bool {
    let small_of_a_run = |run: &(u32, u8, u8, i32)| {
        (c as u32)
            .checked_add_signed(-run.3)
            .is_some_and(|capital| in_run(run, capital))
    };
    lower(c) != c || c.is_ascii_lowercase() || (!c.is_ascii() && RUNS.iter().any(small_of_a_run))
}

/// Skipped when looking for the letters around a sigma, as Unicode's
/// `Case_Ignorable` does: apostrophes, dots, modifier letters, combining
/// accents and Greek tonos, invisible format characters.
fn case_ignorable(c: char) -> bool {
    matches!(
        c,
        '\'' | '.' | ':' | '^' | '`' | '\u{AD}' | '\u{B7}' | '\u{374}'..='\u{375}'
            | '\u{37A}' | '\u{384}'..='\u{385}' | '\u{387}' | '\u{200B}'..='\u{200F}'
            | '\u{2018}'..='\u{2019}' | '\u{2024}' | '\u{2027}'
    ) || ('\u{2B0}'..='\u{36F}').contains(&c)
}

fn cased_beyond(mut chars: impl Iterator<Item = char>) -> bool {
    chars.find(|&c| !case_ignorable(c)).is_some_and(cased)
}

/// `text` in lower case, as `str::to_lowercase` has it: a capital sigma
/// that ends a word becomes 'ς', elsewhere 'σ'.
pub fn lowercase(text: &str) -> String {
    let mut lowered = String::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        match c {
            'Σ' => {
                let after = at + c.len_utf8();
                let word_final =
                    cased_beyond(text[..at].chars().rev()) && !cased_beyond(text[after..].chars());
                lowered.push(if word_final { 'ς' } else { 'σ' });
            }
            CAPITAL_I_WITH_DOT => lowered.push_str("i\u{307}"),
            c => lowered.push(lower(c)),
        }
    }
    lowered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_character_lowers_as_std_lowers_it() {
        let mut differ = Vec::new();
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let text = c.to_string();
            if lowercase(&text) != text.to_lowercase() {
                differ.push(c);
            }
        }
        assert!(differ.is_empty(), "lowered unlike std: {differ:?}");
    }

    #[test]
    fn a_word_final_sigma_is_final() {
        for text in [
            "ΟΔΟΣ",
            "ΟΔΟΣ ΚΑΙ ΣΑΣ",
            "Σ",
            "ΑΣ.",
            "ΑΣΑ",
            "Σ Α",
            "Ο'Σ",
            "ΑΣ'",
            "ΑΣ'Α",
            "ΚΑΦΕΣ, ΤΣΑΪ",
            "ΌΣ",
            "aΣ",
            "ΑΣ1",
            "Café ΑΣ-ΒΣ",
            "Ἀ΄Σ",
        ] {
            assert_eq!(lowercase(text), text.to_lowercase(), "{text}");
        }
    }

    #[test]
    fn whole_texts_lower_as_std_lowers_them() {
        for text in [
            include_str!("../../catalogue/en.txt"),
            include_str!("../../catalogue/es.txt"),
            include_str!("../../catalogue/hi.txt"),
        ] {
            assert!(lowercase(text) == text.to_lowercase());
        }
    }

    #[test]
    fn text_keeps_what_has_no_case() {
        assert_eq!(
            lowercase("ÉCLAIR Ñandú İstanbul 3×4 दाल"),
            "éclair ñandú i\u{307}stanbul 3×4 दाल"
        );
    }
}

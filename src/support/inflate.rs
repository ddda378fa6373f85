//! Inflating (RFC 1951) the text build.rs deflated into the binary. Written
//! by hand to stay small: codes are decoded a bit at a time (Mark Adler's
//! puff), fast enough for the few hundred KB read once at start. Bounded:
//! the output's length is known from the build, and anything that would
//! make more, less, or is not deflate is refused.

use crate::error::{Error, Result};

/// Texts deflated together at build time: each one's name and length, in
/// the order they follow each other in `deflated`.
pub struct Packed {
    pub names: &'static [(&'static str, usize)],
    pub deflated: &'static [u8],
}

impl Packed {
    /// The texts, inflated, one after the other (as build.rs joined them).
    pub fn inflate(&self) -> Result<String> {
        let length = self.names.iter().map(|(_, length)| length).sum();
        String::from_utf8(inflate(self.deflated, length)?).map_err(|_| malformed())
    }

    /// Each text's name, and the text cut from `all` (what `inflate` gave).
    pub fn texts<'a>(&self, all: &'a str) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
        let mut at = 0;
        self.names.iter().map_while(move |&(name, length)| {
            let text = all.get(at..at + length)?;
            at += length;
            Some((name, text))
        })
    }
}

fn malformed() -> Error {
    Error::internal("embedded text: malformed deflate stream".into())
}

/// The `length` bytes `input` (a raw deflate stream) holds; an error if it
/// holds anything else or is cut short.
pub fn inflate(input: &[u8], length: usize) -> Result<Vec<u8>> {
    let mut inflater = Inflater {
        input,
        at: 0,
        buffer: 0,
        count: 0,
        out: Vec::with_capacity(length),
        length,
    };
    inflater.blocks().ok_or_else(malformed)?;
    if inflater.out.len() != length {
        return Err(malformed());
    }
    Ok(inflater.out)
}

/// A canonical Huffman code: how many codes have each length, and the
/// symbols ordered by code.
struct Code {
    count: [u16; 16],
    symbol: [u16; 288],
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DISTANCE_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order a dynamic block sends its code-length code's lengths in.
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// `None` everywhere below means the stream is malformed, cut short, or
/// would make more than `length` bytes.
struct Inflater<'a> {
    input: &'a [u8],
    at: usize,
    /// Bits read from `input` and not used yet, the first in the lowest bit.
    buffer: u32,
    count: u32,
    out: Vec<u8>,
    length: usize,
}

impl Inflater<'_> {
    fn blocks(&mut self) -> Option<()> {
        loop {
            let last = self.bits(1)?;
            match self.bits(2)? {
                0 => self.stored()?,
                1 => self.fixed()?,
                2 => self.dynamic()?,
                _ => return None,
            }
            if last == 1 {
                return Some(());
            }
        }
    }

    /// The next `need` (at most 16) bits.
    fn bits(&mut self, need: u32) -> Option<u32> {
        while self.count < need {
            let byte = *self.input.get(self.at)?;
            self.at += 1;
            self.buffer |= u32::from(byte) << self.count;
            self.count += 8;
        }
        let value = self.buffer & ((1 << need) - 1);
        self.buffer >>= need;
        self.count -= need;
        Some(value)
    }

    fn stored(&mut self) -> Option<()> {
        // The block starts at the next byte.
        self.buffer = 0;
        self.count = 0;
        let header = self.input.get(self.at..self.at + 4)?;
        let length = u16::from_le_bytes([header[0], header[1]]);
        if length != !u16::from_le_bytes([header[2], header[3]]) {
            return None;
        }
        let start = self.at + 4;
        let bytes = self.input.get(start..start + usize::from(length))?;
        if self.out.len() + bytes.len() > self.length {
            return None;
        }
        self.out.extend_from_slice(bytes);
        self.at = start + bytes.len();
        Some(())
    }

    fn fixed(&mut self) -> Option<()> {
        let mut lengths = [8u8; 288];
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        let literals = Code::new(&lengths)?;
        let distances = Code::new(&[5; 30])?;
        self.codes(&literals, &distances)
    }

    fn dynamic(&mut self) -> Option<()> {
        let literal_count = self.bits(5)? as usize + 257;
        let distance_count = self.bits(5)? as usize + 1;
        let length_count = self.bits(4)? as usize + 4;
        if literal_count > 286 || distance_count > 30 {
            return None;
        }
        let mut lengths = [0u8; 286 + 30];
        for &at in &CODE_LENGTH_ORDER[..length_count] {
            lengths[at] = self.bits(3)? as u8;
        }
        let length_code = Code::new(&lengths[..19])?;
        let total = literal_count + distance_count;
        let mut at = 0;
        while at < total {
            let symbol = self.decode(&length_code)?;
            let (length, repeat) = match symbol {
                0..=15 => (symbol as u8, 1),
                16 => (*lengths.get(at.checked_sub(1)?)?, 3 + self.bits(2)?),
                17 => (0, 3 + self.bits(3)?),
                _ => (0, 11 + self.bits(7)?),
            };
            let end = at + repeat as usize;
            if end > total {
                return None;
            }
            lengths[at..end].fill(length);
            at = end;
        }
        // A block without an end-of-block code could never end.
        if lengths[256] == 0 {
            return None;
        }
        let literals = Code::new(&lengths[..literal_count])?;
        let distances = Code::new(&lengths[literal_count..total])?;
        self.codes(&literals, &distances)
    }

    /// A block's literals and back-references, to its end-of-block code.
    fn codes(&mut self, literals: &Code, distances: &Code) -> Option<()> {
        loop {
            let symbol = usize::from(self.decode(literals)?);
            if symbol == 256 {
                return Some(());
            }
            if self.out.len() >= self.length {
                return None;
            }
            if symbol < 256 {
                self.out.push(symbol as u8);
                continue;
            }
            let index = symbol - 257;
            let length = usize::from(*LENGTH_BASE.get(index)?)
                + self.bits(u32::from(LENGTH_EXTRA[index]))? as usize;
            let index = usize::from(self.decode(distances)?);
            let distance = usize::from(*DISTANCE_BASE.get(index)?)
                + self.bits(u32::from(DISTANCE_EXTRA[index]))? as usize;
            let from = self.out.len().checked_sub(distance)?;
            if self.out.len() + length > self.length {
                return None;
            }
            // Byte by byte: the copy may overlap what it makes.
            for i in from..from + length {
                let byte = self.out[i];
                self.out.push(byte);
            }
        }
    }

    /// The next symbol of `code`, read a bit at a time.
    fn decode(&mut self, code: &Code) -> Option<u16> {
        // The first code of this length, and the index of its symbol.
        let (mut value, mut first, mut index) = (0usize, 0usize, 0usize);
        for &count in &code.count[1..] {
            value |= self.bits(1)? as usize;
            let count = usize::from(count);
            if value < first + count {
                return code.symbol.get(index + value - first).copied();
            }
            index += count;
            first = (first + count) << 1;
            value <<= 1;
        }
        None
    }
}

impl Code {
    /// The canonical code of these code lengths (each at most 15); `None`
    /// if they ask for more codes than there are. Incomplete codes are
    /// taken: a bit pattern they lack is refused when read.
    fn new(lengths: &[u8]) -> Option<Code> {
        let mut code = Code {
            count: [0; 16],
            symbol: [0; 288],
        };
        for &length in lengths {
            *code.count.get_mut(usize::from(length))? += 1;
        }
        let mut left = 1i32;
        for &count in &code.count[1..] {
            left = (left << 1) - i32::from(count);
            if left < 0 {
                return None;
            }
        }
        // Where each length's symbols start.
        let mut offsets = [0u16; 16];
        for length in 1..15 {
            offsets[length + 1] = offsets[length] + code.count[length];
        }
        for (symbol, &length) in lengths.iter().enumerate() {
            if length != 0 {
                let offset = &mut offsets[usize::from(length)];
                *code.symbol.get_mut(usize::from(*offset))? = symbol as u16;
                *offset += 1;
            }
        }
        Some(code)
    }
}

/// Checks that `packed` holds exactly the files of `folder` (recursively)
/// whose names end in `extension`, each named by its path there, byte for
/// byte.
#[cfg(test)]
pub fn assert_holds_folder(packed: &Packed, folder: &str, extension: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut on_disk = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(dir) = folders.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.to_str().unwrap().ends_with(extension) {
                let name = path.strip_prefix(&root).unwrap().to_str().unwrap();
                on_disk.push((name.to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let all = packed.inflate().unwrap();
    let mut texts: Vec<(String, String)> = packed
        .texts(&all)
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect();
    assert!(!texts.is_empty(), "{folder}");
    texts.sort();
    on_disk.sort();
    assert_eq!(texts, on_disk, "{folder}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::deflate::compress_to_vec;

    /// Bytes from a small generator: text-like runs and noise.
    fn sample(seed: u32, length: usize) -> Vec<u8> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let words: [&[u8]; 6] = [
            b"order ",
            b"menu ",
            b"\n  <div>",
            b"taco ",
            b"{{ x }}",
            b"\t",
        ];
        let mut out = Vec::with_capacity(length);
        while out.len() < length {
            let r = next();
            if r % 3 == 0 {
                out.push(r as u8 >> 1);
            } else {
                out.extend_from_slice(words[(r >> 8) as usize % words.len()]);
            }
        }
        out.truncate(length);
        out
    }

    /// BTYPE of a stream's first block.
    fn first_block_type(deflated: &[u8]) -> u8 {
        (deflated[0] >> 1) & 3
    }

    #[test]
    fn varied_data_round_trips_at_every_level() {
        for (seed, length) in [
            (1, 0),
            (2, 1),
            (3, 100),
            (4, 5_000),
            (5, 70_000),
            (6, 200_000),
        ] {
            let data = sample(seed, length);
            for level in [0, 1, 6, 10] {
                let deflated = compress_to_vec(&data, level);
                assert_eq!(
                    inflate(&deflated, data.len()).unwrap(),
                    data,
                    "seed {seed} level {level}"
                );
            }
        }
        // Long runs: overlapping copies at distance 1 and the longest length.
        let runs = [vec![b'a'; 100_000], vec![0; 3], b"ab".repeat(40_000)].concat();
        let deflated = compress_to_vec(&runs, 10);
        assert_eq!(inflate(&deflated, runs.len()).unwrap(), runs);
    }

    #[test]
    fn stored_fixed_and_dynamic_blocks_are_read() {
        let text = sample(7, 20_000);
        let stored = compress_to_vec(&text, 0);
        assert_eq!(first_block_type(&stored), 0);
        assert_eq!(inflate(&stored, text.len()).unwrap(), text);

        let short = b"hello hello hello";
        let fixed = compress_to_vec(short, 10);
        assert_eq!(first_block_type(&fixed), 1);
        assert_eq!(inflate(&fixed, short.len()).unwrap(), short);

        let dynamic = compress_to_vec(&text, 10);
        assert_eq!(first_block_type(&dynamic), 2);
        assert_eq!(inflate(&dynamic, text.len()).unwrap(), text);
    }

    #[test]
    fn a_stream_making_more_or_less_than_its_length_is_refused() {
        let text = sample(8, 10_000);
        for level in [0, 10] {
            let deflated = compress_to_vec(&text, level);
            assert!(inflate(&deflated, text.len() - 1).is_err(), "level {level}");
            assert!(inflate(&deflated, text.len() + 1).is_err(), "level {level}");
            assert!(inflate(&deflated, 0).is_err(), "level {level}");
        }
    }

    #[test]
    fn truncated_streams_are_refused() {
        let text = sample(9, 3_000);
        for level in [0, 1, 10] {
            let deflated = compress_to_vec(&text, level);
            for cut in 0..deflated.len() {
                assert!(
                    inflate(&deflated[..cut], text.len()).is_err(),
                    "level {level} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn malformed_streams_are_refused() {
        // Block type 3 does not exist.
        assert!(inflate(&[0b111], 0).is_err());
        // A stored block whose length's complement is wrong.
        assert!(inflate(&[1, 2, 0, 0, 0, b'a', b'b'], 2).is_err());
        assert_eq!(
            inflate(&[1, 2, 0, 0xfd, 0xff, b'a', b'b'], 2).unwrap(),
            b"ab"
        );
        // A fixed block copying from before the start: length 3 (code 257,
        // 0000001), distance 1 (code 0, 00000), then end of block.
        let mut bits = Bits::default();
        bits.push(0b011, 3);
        bits.push_code(0b0000001, 7);
        bits.push_code(0, 5);
        bits.push_code(0, 7);
        assert!(inflate(&bits.bytes(), 3).is_err());
        // A dynamic block whose code lengths ask for more codes than exist:
        // 19 code-length codes all of length 1.
        let mut bits = Bits::default();
        bits.push(0b101, 3);
        bits.push(0, 5);
        bits.push(0, 5);
        bits.push(15, 4);
        for _ in 0..19 {
            bits.push(1, 3);
        }
        assert!(inflate(&bits.bytes(), 0).is_err());
    }

    #[test]
    fn noise_is_refused_or_bounded_and_never_panics() {
        for seed in 0..2_000 {
            let noise: Vec<u8> = sample(seed, 64)
                .iter()
                .map(|b| b.wrapping_mul(167))
                .collect();
            if let Ok(out) = inflate(&noise, 100) {
                assert_eq!(out.len(), 100);
            }
        }
    }

    #[test]
    fn packed_texts_come_back_with_their_names() {
        let deflated: &'static [u8] = compress_to_vec("héllo world".as_bytes(), 10).leak();
        let packed = Packed {
            names: &[("a", 6), ("b", 6)],
            deflated,
        };
        let all = packed.inflate().unwrap();
        let texts: Vec<_> = packed.texts(&all).collect();
        assert_eq!(texts, [("a", "héllo"), ("b", " world")]);
        // Lengths that do not add up to the stream's are refused.
        let long = Packed {
            names: &[("a", 6), ("b", 7)],
            deflated,
        };
        assert!(long.inflate().is_err());
        // Text that is not UTF-8 is refused.
        let latin1 = Packed {
            names: &[("a", 1)],
            deflated: compress_to_vec(&[0xe9], 10).leak(),
        };
        assert!(latin1.inflate().is_err());
    }

    /// A deflate stream written bit by bit, as the format packs them.
    #[derive(Default)]
    struct Bits {
        bits: Vec<bool>,
    }

    impl Bits {
        /// `value`'s lowest `count` bits, lowest first (header fields, extra bits).
        fn push(&mut self, value: u32, count: u32) {
            self.bits.extend((0..count).map(|i| value >> i & 1 == 1));
        }

        /// A Huffman code, highest bit first.
        fn push_code(&mut self, code: u32, count: u32) {
            self.bits
                .extend((0..count).rev().map(|i| code >> i & 1 == 1));
        }

        fn bytes(&self) -> Vec<u8> {
            self.bits
                .chunks(8)
                .map(|byte| {
                    byte.iter()
                        .rev()
                        .fold(0, |acc, &bit| acc << 1 | u8::from(bit))
                })
                .collect()
        }
    }
}

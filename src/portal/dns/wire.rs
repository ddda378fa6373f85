//! The DNS wire format (RFC 1035): parsing any message safely and writing
//! the few we send. Hand-written to keep the router binary small; every
//! read is bounds-checked and compression pointers may only point backwards,
//! so hostile packets end in an error, never a panic or a loop.

use std::fmt;

pub const HEADER_LEN: usize = 12;
pub const TYPE_A: u16 = 1;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_ANY: u16 = 255;
/// EDNS's pseudo-record; its class field is the sender's UDP payload size.
pub const TYPE_OPT: u16 = 41;
pub const CLASS_IN: u16 = 1;

pub const FLAG_QR: u16 = 0x8000;
pub const FLAG_AA: u16 = 0x0400;
pub const FLAG_TC: u16 = 0x0200;
pub const FLAG_RD: u16 = 0x0100;
pub const FLAG_RA: u16 = 0x0080;
pub(crate) const OPCODE_MASK: u16 = 0x7800;

/// Longest name on the wire, terminating zero included (RFC 1035 2.3.4).
pub(crate) const MAX_NAME: usize = 255;
pub(crate) const MAX_LABEL: usize = 63;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rcode {
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NotImp = 4,
    Refused = 5,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ParseError(pub &'static str);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed DNS message: {}", self.0)
    }
}

/// A domain name in uncompressed wire form (length-prefixed labels ending
/// in a zero byte), with the case the sender used: resolvers that randomise
/// case (0x20 encoding) check that answers echo it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(Vec<u8>);

impl Name {
    /// A name from dotted text; `None` if a label is empty or too long.
    pub fn from_text(text: &str) -> Option<Name> {
        let text = text.strip_suffix('.').unwrap_or(text);
        let mut wire = Vec::with_capacity(text.len() + 2);
        for label in text.split('.').filter(|_| !text.is_empty()) {
            if label.is_empty() || label.len() > MAX_LABEL {
                return None;
            }
            wire.push(label.len() as u8);
            wire.extend_from_slice(label.as_bytes());
        }
        wire.push(0);
        (wire.len() <= MAX_NAME).then_some(Name(wire))
    }

    /// Lower-case dotted text without the trailing dot ("" for the root);
    /// bytes outside printable ASCII become `\DDD` as in zone files.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        write_text(&self.0, |piece| {
            text.extend(piece.iter().map(|&b| char::from(b)));
        });
        text
    }

    /// The root name ".", one zero byte.
    pub fn root() -> Name {
        Name(vec![0])
    }

    pub fn wire(&self) -> &[u8] {
        &self.0
    }
}

/// Whether the name in wire form `wire` reads as `text` in `Name::to_text`
/// form, compared piece by piece without building the text.
pub fn wire_name_is(wire: &[u8], text: &str) -> bool {
    // Each byte of the wire but its first and last gives at least one
    // character (length bytes become dots): most names fail here.
    if text.len() < wire.len().saturating_sub(2) {
        return false;
    }
    let mut rest = Some(text.as_bytes());
    write_text(wire, |piece| {
        rest = rest.and_then(|rest| rest.strip_prefix(piece));
    });
    rest == Some(&[][..])
}

/// `Name::to_text` as ASCII pieces handed to `out`: lower-case labels
/// joined by dots, bytes outside `[a-z0-9_-]` as `\DDD`.
fn write_text(wire: &[u8], mut out: impl FnMut(&[u8])) {
    let mut rest = wire;
    let mut first = true;
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0 {
            break;
        }
        if !first {
            out(b".");
        }
        first = false;
        let (label, tail) = tail.split_at(usize::from(len).min(tail.len()));
        for &b in label {
            match b.to_ascii_lowercase() {
                c @ (b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_') => out(&[c]),
                other => out(&[
                    b'\\',
                    b'0' + other / 100,
                    b'0' + other / 10 % 10,
                    b'0' + other % 10,
                ]),
            }
        }
        rest = tail;
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: Name,
    pub qtype: u16,
    pub qclass: u16,
}

/// A resource record; its data is kept as bytes because we only ever
/// write A/AAAA data and relay everything else untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub name: Name,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    pub flags: u16,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
}

impl Message {
    pub fn is_response(&self) -> bool {
        self.flags & FLAG_QR != 0
    }

    pub fn opcode(&self) -> u16 {
        (self.flags & OPCODE_MASK) >> 11
    }

    pub fn rcode(&self) -> u16 {
        self.flags & 0x000f
    }

    /// The UDP payload size the sender's EDNS OPT record advertises
    /// (RFC 6891 6.2.3), if it sent one.
    pub fn udp_payload_size(&self) -> Option<u16> {
        self.additional
            .iter()
            .find(|record| record.rtype == TYPE_OPT)
            .map(|record| record.class)
    }

    /// A query for one name, as a stub resolver sends it.
    pub fn query(id: u16, name: Name, qtype: u16) -> Message {
        Message {
            id,
            flags: FLAG_RD,
            questions: vec![Question {
                name,
                qtype,
                qclass: CLASS_IN,
            }],
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
        }
    }

    /// Our authoritative answer to `self`: same id, opcode, RD and question.
    pub fn reply(&self, rcode: Rcode, answers: Vec<Record>) -> Message {
        Message {
            id: self.id,
            flags: FLAG_QR
                | FLAG_AA
                | FLAG_RA
                | (self.flags & (OPCODE_MASK | FLAG_RD))
                | rcode as u16,
            questions: self.questions.clone(),
            answers,
            authority: Vec::new(),
            additional: Vec::new(),
        }
    }

    pub fn parse(packet: &[u8]) -> Result<Message, ParseError> {
        let mut r = Reader {
            buf: packet,
            pos: 0,
        };
        let id = r.u16()?;
        let flags = r.u16()?;
        let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
        let mut questions = Vec::new();
        for _ in 0..counts[0] {
            questions.push(Question {
                name: r.name()?,
                qtype: r.u16()?,
                qclass: r.u16()?,
            });
        }
        let mut sections: [Vec<Record>; 3] = Default::default();
        for (section, &count) in sections.iter_mut().zip(&counts[1..]) {
            for _ in 0..count {
                section.push(r.record()?);
            }
        }
        if r.pos != packet.len() {
            return Err(ParseError("trailing bytes"));
        }
        let [answers, authority, additional] = sections;
        Ok(Message {
            id,
            flags,
            questions,
            answers,
            authority,
            additional,
        })
    }

    /// The message without name compression. Section sizes come from parsed
    /// messages or our own small answers, so they always fit the u16 fields.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for len in [
            self.questions.len(),
            self.answers.len(),
            self.authority.len(),
            self.additional.len(),
        ] {
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        for q in &self.questions {
            out.extend_from_slice(q.name.wire());
            out.extend_from_slice(&q.qtype.to_be_bytes());
            out.extend_from_slice(&q.qclass.to_be_bytes());
        }
        for rr in self
            .answers
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
        {
            out.extend_from_slice(rr.name.wire());
            out.extend_from_slice(&rr.rtype.to_be_bytes());
            out.extend_from_slice(&rr.class.to_be_bytes());
            out.extend_from_slice(&rr.ttl.to_be_bytes());
            out.extend_from_slice(&(rr.data.len() as u16).to_be_bytes());
            out.extend_from_slice(&rr.data);
        }
        out
    }
}

/// The FORMERR reply to a packet too broken to parse, if its header at
/// least says it is a query; `None` means drop it silently (answering
/// garbage or responses could feed a reflection loop).
pub fn format_error(packet: &[u8]) -> Option<Vec<u8>> {
    let header = packet.get(..HEADER_LEN)?;
    let flags = u16::from_be_bytes([header[2], header[3]]);
    if flags & FLAG_QR != 0 {
        return None;
    }
    let mut out = vec![0; HEADER_LEN];
    out[..2].copy_from_slice(&header[..2]);
    let flags = FLAG_QR | FLAG_RA | (flags & (OPCODE_MASK | FLAG_RD)) | Rcode::FormErr as u16;
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    Some(out)
}

/// The header's question count, read without parsing any question; `None`
/// for a packet shorter than a header.
pub fn question_count(packet: &[u8]) -> Option<u16> {
    let header = packet.get(..HEADER_LEN)?;
    Some(u16::from_be_bytes([header[4], header[5]]))
}

/// `reply` cut to its header and first question with the TC bit set, so the
/// client asks again over TCP (RFC 2181 9). One name is at most 255 bytes,
/// so the result is at most 271 bytes and fits any UDP limit. `None` if
/// `reply` is not a readable message.
pub fn truncated(reply: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader { buf: reply, pos: 0 };
    let id = r.u16().ok()?;
    let flags = r.u16().ok()?;
    let question_count = r.u16().ok()?;
    // The answer, authority and additional counts: all become zero.
    r.bytes(6).ok()?;
    let mut questions = Vec::new();
    if question_count > 0 {
        questions.push(Question {
            name: r.name().ok()?,
            qtype: r.u16().ok()?,
            qclass: r.u16().ok()?,
        });
    }
    let cut = Message {
        id,
        flags: flags | FLAG_TC,
        questions,
        answers: Vec::new(),
        authority: Vec::new(),
        additional: Vec::new(),
    };
    Some(cut.encode())
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], ParseError> {
        let end = self.pos.checked_add(n).ok_or(ParseError("length"))?;
        let slice = self.buf.get(self.pos..end).ok_or(ParseError("truncated"))?;
        self.pos = end;
        Ok(slice)
    }

    fn u16(&mut self) -> Result<u16, ParseError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, ParseError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn record(&mut self) -> Result<Record, ParseError> {
        let name = self.name()?;
        let rtype = self.u16()?;
        let class = self.u16()?;
        let ttl = self.u32()?;
        let len = usize::from(self.u16()?);
        Ok(Record {
            name,
            rtype,
            class,
            ttl,
            data: self.bytes(len)?.to_vec(),
        })
    }

    /// Reads a possibly compressed name and leaves `pos` after it.
    fn name(&mut self) -> Result<Name, ParseError> {
        let mut wire = Vec::with_capacity(32);
        let mut at = self.pos;
        // Where reading continues once the name ends: after the first pointer.
        let mut resume = None;
        loop {
            let len = *self.buf.get(at).ok_or(ParseError("truncated name"))?;
            match len & 0xc0 {
                0x00 => {
                    let len = usize::from(len);
                    let label = self
                        .buf
                        .get(at + 1..at + 1 + len)
                        .ok_or(ParseError("truncated label"))?;
                    wire.push(len as u8);
                    wire.extend_from_slice(label);
                    if wire.len() > MAX_NAME {
                        return Err(ParseError("name too long"));
                    }
                    at += 1 + len;
                    if len == 0 {
                        break;
                    }
                }
                0xc0 => {
                    let low = *self
                        .buf
                        .get(at + 1)
                        .ok_or(ParseError("truncated pointer"))?;
                    let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                    // Strictly backwards, so every jump makes progress towards
                    // the start and the walk always ends.
                    if target >= at {
                        return Err(ParseError("forward pointer"));
                    }
                    resume.get_or_insert(at + 2);
                    at = target;
                }
                _ => return Err(ParseError("reserved label type")),
            }
        }
        self.pos = resume.unwrap_or(at);
        Ok(Name(wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_record(name: &str, ip: [u8; 4]) -> Record {
        Record {
            name: Name::from_text(name).unwrap(),
            rtype: TYPE_A,
            class: CLASS_IN,
            ttl: 10,
            data: ip.to_vec(),
        }
    }

    #[test]
    fn names_convert_between_text_and_wire() {
        let name = Name::from_text("Order.LAN.").unwrap();
        assert_eq!(name.wire(), b"\x05Order\x03LAN\x00");
        assert_eq!(name.to_text(), "order.lan");
        assert_eq!(Name::from_text("").unwrap().wire(), b"\x00");
        assert_eq!(Name::from_text("").unwrap().to_text(), "");
        assert!(Name::from_text("a..b").is_none());
        assert!(Name::from_text(&"x".repeat(64)).is_none());
        assert!(Name::from_text(&["abc"; 64].join(".")).is_none());
        assert_eq!(
            Name(b"\x03a.b\x00".to_vec()).to_text(),
            "a\\046b",
            "dots inside a label must not read as label breaks"
        );
    }

    #[test]
    fn wire_names_compare_as_their_text() {
        for (wire, text) in [
            (&b"\x05Order\x03LAN\x00"[..], "order.lan"),
            (b"\x03a.b\x00", "a\\046b"),
            (b"\x00", ""),
            (b"\x01\xff\x00", "\\255"),
        ] {
            assert_eq!(Name(wire.to_vec()).to_text(), text);
            assert!(wire_name_is(wire, text), "{text}");
        }
        assert!(!wire_name_is(b"\x05order\x03lan\x00", "order.la"));
        assert!(!wire_name_is(b"\x05order\x03la\x00", "order.lan"));
        assert!(!wire_name_is(b"\x03a.b\x00", "a.b"));
        assert!(!wire_name_is(b"\x05order\x03lan\x00", ""));
    }

    #[test]
    fn a_query_round_trips() {
        let query = Message::query(0xbeef, Name::from_text("example.com").unwrap(), TYPE_A);
        let bytes = query.encode();
        assert_eq!(
            bytes,
            b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
        );
        assert_eq!(Message::parse(&bytes).unwrap(), query);
    }

    #[test]
    fn replies_echo_id_question_and_recursion_flag() {
        let query = Message::query(7, Name::from_text("ExAmple.com").unwrap(), TYPE_A);
        let reply = query.reply(Rcode::NoError, vec![a_record("ExAmple.com", [10, 0, 0, 1])]);
        let parsed = Message::parse(&reply.encode()).unwrap();
        assert_eq!(parsed.id, 7);
        assert!(parsed.is_response());
        assert_eq!(parsed.flags & FLAG_RD, FLAG_RD);
        assert_eq!(parsed.rcode(), 0);
        assert_eq!(parsed.questions[0].name.wire(), b"\x07ExAmple\x03com\x00");
        assert_eq!(parsed.answers[0].data, vec![10, 0, 0, 1]);
        let refused = query.reply(Rcode::Refused, Vec::new());
        assert_eq!(refused.rcode(), 5);
    }

    #[test]
    fn compressed_names_are_followed() {
        // Question example.com, answer name is a pointer to offset 12.
        let mut packet =
            Message::query(1, Name::from_text("example.com").unwrap(), TYPE_A).encode();
        packet[2] |= 0x80;
        packet[7] = 1;
        packet
            .extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x02\x03\x04");
        let message = Message::parse(&packet).unwrap();
        assert_eq!(message.answers[0].name.to_text(), "example.com");
        assert_eq!(message.answers[0].ttl, 60);
        assert_eq!(message.answers[0].data, vec![1, 2, 3, 4]);
        // A label then a pointer: "www" + example.com.
        let mut packet2 = packet.clone();
        packet2[7] = 2;
        packet2.extend_from_slice(b"\x03www\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x00");
        let message = Message::parse(&packet2).unwrap();
        assert_eq!(message.answers[1].name.to_text(), "www.example.com");
    }

    #[test]
    fn hostile_packets_are_errors_not_panics() {
        let base = Message::query(1, Name::from_text("a.b").unwrap(), TYPE_A).encode();
        // Every truncation of a valid packet.
        for len in 0..base.len() {
            assert!(Message::parse(&base[..len]).is_err(), "prefix {len}");
        }
        // A pointer to itself, and a forward pointer.
        let mut looped = base[..12].to_vec();
        looped.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01");
        assert_eq!(Message::parse(&looped), Err(ParseError("forward pointer")));
        let mut forward = base[..12].to_vec();
        forward.extend_from_slice(b"\xc0\x20\x00\x01\x00\x01");
        assert!(Message::parse(&forward).is_err());
        // Two pointers bouncing between each other.
        let mut bounce = base[..12].to_vec();
        bounce[5] = 2;
        bounce.extend_from_slice(b"\xc0\x12\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01");
        assert!(Message::parse(&bounce).is_err());
        // Reserved label bits, huge counts, trailing junk.
        let mut reserved = base[..12].to_vec();
        reserved.extend_from_slice(b"\x40abc\x00\x00\x01\x00\x01");
        assert_eq!(
            Message::parse(&reserved),
            Err(ParseError("reserved label type"))
        );
        let mut counts = base.clone();
        counts[4..12].copy_from_slice(&[0xff; 8]);
        assert!(Message::parse(&counts).is_err());
        let mut trailing = base.clone();
        trailing.push(0);
        assert_eq!(Message::parse(&trailing), Err(ParseError("trailing bytes")));
    }

    #[test]
    fn over_long_names_via_pointers_are_refused() {
        // A chain of 63-byte labels each pointing back at the previous one
        // grows past 255 bytes.
        let mut packet = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        packet.push(63);
        packet.extend_from_slice(&[b'a'; 63]);
        packet.push(0);
        let mut previous = 12u16;
        for _ in 0..5 {
            let here = packet.len() as u16;
            packet.push(63);
            packet.extend_from_slice(&[b'b'; 63]);
            packet.extend_from_slice(&(0xc000 | previous).to_be_bytes());
            previous = here;
        }
        let question_at = packet.len();
        packet.extend_from_slice(&(0xc000 | previous).to_be_bytes());
        let mut reader = Reader {
            buf: &packet,
            pos: question_at,
        };
        assert_eq!(reader.name(), Err(ParseError("name too long")));
    }

    #[test]
    fn question_count_reads_the_header_only() {
        assert_eq!(question_count(b"\x00\x01\x01\x00\x00"), None);
        let mut packet = b"\x00\x01\x01\x00\x01\x2c\x00\x00\x00\x00\x00\x00".to_vec();
        assert_eq!(question_count(&packet), Some(300));
        packet.extend_from_slice(b"not a question");
        assert_eq!(question_count(&packet), Some(300));
    }

    #[test]
    fn edns_payload_size_comes_from_the_opt_record() {
        let mut query = Message::query(1, Name::from_text("a.b").unwrap(), TYPE_A);
        assert_eq!(query.udp_payload_size(), None);
        query.additional.push(Record {
            name: Name::from_text("").unwrap(),
            rtype: TYPE_OPT,
            class: 1232,
            ttl: 0,
            data: Vec::new(),
        });
        let parsed = Message::parse(&query.encode()).unwrap();
        assert_eq!(parsed.udp_payload_size(), Some(1232));
    }

    #[test]
    fn truncation_keeps_header_and_first_question_and_sets_tc() {
        let long_name = [&"a".repeat(63)[..]; 3].join(".") + "." + &"b".repeat(61);
        let query = Message::query(0x5151, Name::from_text(&long_name).unwrap(), TYPE_A);
        let answers = (0..20u8).map(|i| a_record(&long_name, [10, 0, 0, i]));
        let reply = query.reply(Rcode::NoError, answers.collect()).encode();
        assert!(reply.len() > 4096);
        let cut = truncated(&reply).unwrap();
        assert_eq!(cut.len(), HEADER_LEN + 255 + 4);
        let parsed = Message::parse(&cut).unwrap();
        assert_eq!(
            parsed.flags,
            Message::parse(&reply).unwrap().flags | FLAG_TC
        );
        assert_eq!((parsed.id, parsed.rcode()), (0x5151, 0));
        assert_eq!(parsed.questions, query.questions);
        assert!(parsed.answers.is_empty() && parsed.additional.is_empty());
        // Only the first of several questions stays.
        let mut two = b"\x00\x02\x81\x80\x00\x02\x00\x00\x00\x00\x00\x00".to_vec();
        two.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01\x01b\xc0\x0c\x00\x01\x00\x01");
        let first = Message::parse(&truncated(&two).unwrap()).unwrap();
        assert_eq!(first.questions.len(), 1);
        assert_eq!(first.questions[0].name.to_text(), "a");
        // No question: the header alone; not a message: nothing.
        let header_only = b"\x00\x03\x81\x81\x00\x00\x00\x00\x00\x00\x00\x00";
        assert_eq!(truncated(header_only).unwrap().len(), HEADER_LEN);
        assert_eq!(truncated(b"\x00\x01\x81"), None);
    }

    #[test]
    fn format_errors_answer_queries_only() {
        assert_eq!(format_error(b"short"), None);
        let reply = format_error(b"\x12\x34\x01\x00\x00\x05\x00\x00\x00\x00\x00\x00junk").unwrap();
        assert_eq!(reply, b"\x12\x34\x81\x81\x00\x00\x00\x00\x00\x00\x00\x00");
        assert_eq!(
            format_error(b"\x12\x34\x81\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
            None
        );
    }
}

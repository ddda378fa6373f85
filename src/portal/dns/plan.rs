//! What to answer one DNS packet, without any I/O: the portal's rules
//! (every name is the portal until a client accepts it; accepted clients
//! are forwarded in internet mode) and the size bounds that keep a reply
//! from amplifying a spoofed query.

use super::wire::{
    self, Message, Name, Question, Rcode, Record, CLASS_IN, TYPE_A, TYPE_AAAA, TYPE_ANY, TYPE_SOA,
};
use crate::portal::{Mode, PortalConfig, WINDOWS_DNS_PROBE};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Short, so a phone asks again soon after it accepts the portal.
pub(crate) const PORTAL_TTL: u32 = 10;
/// A UDP reply to a query without EDNS must fit this (RFC 1035 4.2.1).
pub const MIN_UDP: usize = 512;
/// EDNS lets answers grow past 512 bytes; 4096 is the common ceiling.
pub const MAX_UDP: usize = 4096;

/// What to do with one packet from a client.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    Drop,
    Reply(Vec<u8>),
    Forward(Message),
}

/// The rules, without any I/O: `accepted` says whether the sender has
/// accepted the portal.
pub fn plan(packet: &[u8], config: &PortalConfig, accepted: bool) -> Plan {
    // A query asks exactly one question (RFC 9619). Anything else is refused
    // from the header alone with a bare 12-byte FORMERR: a packet full of
    // questions costs no parsing and cannot make its reply grow.
    if wire::question_count(packet) != Some(1) {
        return wire::format_error(packet).map_or(Plan::Drop, Plan::Reply);
    }
    let query = match Message::parse(packet) {
        Ok(query) => query,
        Err(_) => return wire::format_error(packet).map_or(Plan::Drop, Plan::Reply),
    };
    if query.is_response() {
        return Plan::Drop;
    }
    if query.opcode() != 0 {
        return Plan::Reply(error_reply(&query, packet, Rcode::NotImp));
    }
    let question = &query.questions[0];
    let own_name = config.is_own_name(&question.name.to_text());
    if !own_name && accepted && config.mode == Mode::Internet {
        return Plan::Forward(query);
    }
    if question.qclass != CLASS_IN {
        return Plan::Reply(error_reply(&query, packet, Rcode::Refused));
    }
    let (name, probe_v4, probe_v6) = WINDOWS_DNS_PROBE;
    let (v4, v6) = if accepted && question.name.to_text() == name {
        (Some(probe_v4), Some(probe_v6))
    } else {
        (config.ip, config.ip6)
    };
    let answers = address_answers(question, v4, v6);
    let mut reply = query.reply(Rcode::NoError, answers);
    if reply.answers.is_empty() {
        reply.authority.push(nodata_soa());
    }
    Plan::Reply(reply.encode())
}

/// The reply `plan` (then `fit_udp`) gives the common query, written over
/// it in `buf`, whose first `len` bytes are the query: the header, one
/// uncompressed question, and at most an EDNS OPT record owned by the
/// root, answered with the portal's addresses. `buf` keeps the header and
/// question, gets new flags and counts, and the answers after the question
/// (the OPT record, which replies never echo, is overwritten). Returns the
/// reply's length, or `None` with `buf` untouched when `plan` must decide
/// (anything else, forwarding, the Windows probe, a reply over `MIN_UDP`).
/// `accepted` is asked only in internet mode, where it decides forwarding.
pub fn answer_in_place(
    buf: &mut [u8],
    len: usize,
    config: &PortalConfig,
    accepted: impl FnOnce() -> bool,
) -> Option<usize> {
    let packet = buf.get(..len)?;
    let header = packet.get(..wire::HEADER_LEN)?;
    let field = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
    let flags = field(2);
    if flags & (wire::FLAG_QR | wire::OPCODE_MASK) != 0
        || (field(4), field(6), field(8)) != (1, 0, 0)
        || field(10) > 1
    {
        return None;
    }
    // The question's name: plain labels only, at most `MAX_NAME` bytes.
    let mut at = wire::HEADER_LEN;
    loop {
        let label = usize::from(*packet.get(at)?);
        if label > wire::MAX_LABEL || at + 1 + label - wire::HEADER_LEN > wire::MAX_NAME {
            return None;
        }
        at += 1 + label;
        if label == 0 {
            break;
        }
    }
    let name_end = at;
    let fixed = packet.get(name_end..name_end + 4)?;
    let (qtype, qclass) = (
        u16::from_be_bytes([fixed[0], fixed[1]]),
        u16::from_be_bytes([fixed[2], fixed[3]]),
    );
    let question_end = name_end + 4;
    // Nothing after the question but, if counted, one OPT record whose
    // owner is the root (zero byte, type, class, TTL, data length, data).
    let rest = &packet[question_end..];
    let ends_well = match field(10) {
        0 => rest.is_empty(),
        _ => {
            rest.len() >= 11
                && rest[0] == 0
                && u16::from_be_bytes([rest[1], rest[2]]) == wire::TYPE_OPT
                && rest.len() == 11 + usize::from(u16::from_be_bytes([rest[9], rest[10]]))
        }
    };
    if !ends_well || qclass != CLASS_IN {
        return None;
    }
    let name = &packet[wire::HEADER_LEN..name_end];
    let own_name = wire::wire_name_is(name, &config.host)
        || config
            .secure_host
            .as_deref()
            .is_some_and(|host| wire::wire_name_is(name, host));
    if wire::wire_name_is(name, WINDOWS_DNS_PROBE.0)
        || (!own_name && config.mode == Mode::Internet && accepted())
    {
        return None;
    }
    let v4 = config.ip.filter(|_| matches!(qtype, TYPE_A | TYPE_ANY));
    let v6 = config.ip6.filter(|_| matches!(qtype, TYPE_AAAA | TYPE_ANY));
    let answers = u16::from(v4.is_some()) + u16::from(v6.is_some());
    let records_len = match answers {
        0 => NODATA_SOA_LEN,
        _ => usize::from(answers) * (name.len() + 10) + v4.map_or(0, |_| 4) + v6.map_or(0, |_| 16),
    };
    let reply_len = question_end + records_len;
    if reply_len > MIN_UDP || reply_len > buf.len() {
        return None;
    }
    let flags = wire::FLAG_QR | wire::FLAG_AA | wire::FLAG_RA | (flags & wire::FLAG_RD);
    buf[2..4].copy_from_slice(&flags.to_be_bytes());
    buf[6..8].copy_from_slice(&answers.to_be_bytes());
    buf[8..10].copy_from_slice(&u16::from(answers == 0).to_be_bytes());
    buf[10..12].copy_from_slice(&[0, 0]);
    let mut end = question_end;
    let mut answer = |rtype: u16, data: &[u8]| {
        buf.copy_within(wire::HEADER_LEN..name_end, end);
        end += name_end - wire::HEADER_LEN;
        end = put_record_tail(buf, end, rtype, data);
    };
    if let Some(ip) = v4 {
        answer(TYPE_A, &ip.octets());
    }
    if let Some(ip) = v6 {
        answer(TYPE_AAAA, &ip.octets());
    }
    if answers == 0 {
        buf[end] = 0;
        put_record_tail(buf, end + 1, TYPE_SOA, &NODATA_SOA_DATA);
    }
    Some(reply_len)
}

/// Writes a record's type, class IN, the portal's TTL and `data` at `at`
/// (its owner name already there); returns where the record ends.
fn put_record_tail(buf: &mut [u8], at: usize, rtype: u16, data: &[u8]) -> usize {
    let mut fixed = [0; 10];
    fixed[..2].copy_from_slice(&rtype.to_be_bytes());
    fixed[2..4].copy_from_slice(&CLASS_IN.to_be_bytes());
    fixed[4..8].copy_from_slice(&PORTAL_TTL.to_be_bytes());
    fixed[8..].copy_from_slice(&(data.len() as u16).to_be_bytes());
    buf[at..at + 10].copy_from_slice(&fixed);
    buf[at + 10..at + 10 + data.len()].copy_from_slice(data);
    at + 10 + data.len()
}

/// `nodata_soa`'s data: MNAME and RNAME the root, serial 1, then refresh,
/// retry, expire and MINIMUM (the negative TTL) all `PORTAL_TTL`.
const NODATA_SOA_DATA: [u8; 22] = {
    let mut data = [0; 22];
    data[5] = 1;
    let ttl = PORTAL_TTL.to_be_bytes();
    let mut field = 0;
    while field < 4 {
        let at = 6 + 4 * field;
        data[at] = ttl[0];
        data[at + 1] = ttl[1];
        data[at + 2] = ttl[2];
        data[at + 3] = ttl[3];
        field += 1;
    }
    data
};
/// `nodata_soa` on the wire: the root, type, class, TTL, length, data.
const NODATA_SOA_LEN: usize = 1 + 10 + NODATA_SOA_DATA.len();

/// The SOA that goes with every NODATA answer (AAAA without an IPv6, HTTPS,
/// SVCB, TXT, MX, CNAME, unknown types). We answer as the authority for
/// every name, and RFC 2308 3 requires an authority's NODATA to carry its
/// zone's SOA; it also lets phones cache the empty answer for `PORTAL_TTL`
/// (the SOA's TTL and MINIMUM) like an address, where a bare NODATA is not
/// cached and is asked again for every connection. Owned by the root, with
/// root names inside: the smallest SOA there is (33 bytes).
fn nodata_soa() -> Record {
    Record {
        name: Name::root(),
        rtype: TYPE_SOA,
        class: CLASS_IN,
        ttl: PORTAL_TTL,
        data: NODATA_SOA_DATA.to_vec(),
    }
}

/// An error reply to `query` echoing its one question, or the header alone
/// when the echo would be longer than `packet` (a compressed name grows when
/// written out): an error is never bigger than the query that caused it.
pub(super) fn error_reply(query: &Message, packet: &[u8], rcode: Rcode) -> Vec<u8> {
    let reply = query.reply(rcode, Vec::new());
    let encoded = reply.encode();
    if encoded.len() <= packet.len() {
        return encoded;
    }
    Message {
        questions: Vec::new(),
        ..reply
    }
    .encode()
}

/// The largest UDP reply `query` may get: `MIN_UDP`, or the payload size
/// its EDNS OPT record advertises, kept within `MIN_UDP..=MAX_UDP`.
pub(crate) fn udp_reply_limit(query: &Message) -> usize {
    query
        .udp_payload_size()
        .map_or(MIN_UDP, |size| usize::from(size).clamp(MIN_UDP, MAX_UDP))
}

/// `reply` (ours or an upstream's) as it may go back over UDP to the query
/// `packet`: whole if it fits the query's limit, else cut to header and
/// question with TC set so the client asks again over TCP. `None`: the
/// reply is no message, send nothing.
pub fn fit_udp(reply: Vec<u8>, packet: &[u8]) -> Option<Vec<u8>> {
    // Nearly every reply fits 512 bytes; only a longer one costs a second
    // look at the query.
    if reply.len() <= MIN_UDP
        || Message::parse(packet).is_ok_and(|query| reply.len() <= udp_reply_limit(&query))
    {
        return Some(reply);
    }
    wire::truncated(&reply)
}

/// A and AAAA records for `question`'s name (normally the portal's
/// addresses); none (an empty NOERROR) for other types or an address
/// family without an address.
fn address_answers(question: &Question, v4: Option<Ipv4Addr>, v6: Option<Ipv6Addr>) -> Vec<Record> {
    let v4 = v4.filter(|_| matches!(question.qtype, TYPE_A | TYPE_ANY));
    let v6 = v6.filter(|_| matches!(question.qtype, TYPE_AAAA | TYPE_ANY));
    let record = |rtype, data: Vec<u8>| Record {
        name: question.name.clone(),
        rtype,
        class: CLASS_IN,
        ttl: PORTAL_TTL,
        data,
    };
    v4.map(|ip| record(TYPE_A, ip.octets().to_vec()))
        .into_iter()
        .chain(v6.map(|ip| record(TYPE_AAAA, ip.octets().to_vec())))
        .collect()
}

/// A query for `name`, for tests and tools that need to ask us.
pub fn query_packet(id: u16, name: &str, qtype: u16) -> Option<Vec<u8>> {
    Some(Message::query(id, Name::from_text(name)?, qtype).encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(mode: Mode, ip6: bool) -> PortalConfig {
        PortalConfig {
            ip: Some(Ipv4Addr::new(10, 213, 0, 1)),
            ip6: ip6.then(|| "fd13::1".parse().unwrap()),
            mode,
            ..PortalConfig::default()
        }
    }

    fn reply(plan: Plan) -> Message {
        match plan {
            Plan::Reply(bytes) => Message::parse(&bytes).unwrap(),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn ask_plan(name: &str, qtype: u16, config: &PortalConfig, accepted: bool) -> Plan {
        plan(&query_packet(42, name, qtype).unwrap(), config, accepted)
    }

    #[test]
    fn any_name_is_the_portal_before_acceptance() {
        for mode in [Mode::Local, Mode::Internet] {
            let r = reply(ask_plan("Example.COM", TYPE_A, &config(mode, false), false));
            assert_eq!(r.id, 42);
            assert_eq!(r.rcode(), 0);
            assert_eq!(r.answers.len(), 1);
            assert_eq!(r.answers[0].data, vec![10, 213, 0, 1]);
            assert_eq!(r.answers[0].ttl, PORTAL_TTL);
            assert_eq!(r.answers[0].name.wire(), b"\x07Example\x03COM\x00");
        }
    }

    #[test]
    fn aaaa_is_the_portal_v6_or_empty() {
        let with = reply(ask_plan(
            "a.b",
            TYPE_AAAA,
            &config(Mode::Local, true),
            false,
        ));
        let v6: Ipv6Addr = "fd13::1".parse().unwrap();
        assert_eq!(with.answers[0].data, v6.octets().to_vec());
        let without = reply(ask_plan(
            "a.b",
            TYPE_AAAA,
            &config(Mode::Local, false),
            false,
        ));
        assert_nodata(&without, "AAAA without an address");
    }

    /// NODATA: NOERROR, no answer, and the root's SOA whose TTL and
    /// MINIMUM are the portal's TTL (RFC 2308).
    fn assert_nodata(r: &Message, what: &str) {
        assert_eq!((r.rcode(), r.answers.len()), (0, 0), "{what}");
        assert_eq!(r.authority.len(), 1, "{what}");
        let soa = &r.authority[0];
        assert_eq!(
            (soa.rtype, soa.ttl, soa.name.wire()),
            (TYPE_SOA, PORTAL_TTL, &b"\0"[..])
        );
        assert_eq!(soa.data.len(), 22, "{what}");
        assert_eq!(soa.data[18..], PORTAL_TTL.to_be_bytes(), "{what}");
    }

    #[test]
    fn other_types_get_nodata_with_an_soa() {
        // CNAME, MX, TXT, SVCB, HTTPS, PTR, an unassigned number.
        for qtype in [5, 15, 16, 64, 65, 12, 4242] {
            for accepted in [false, true] {
                let r = reply(ask_plan(
                    "captive.apple.com",
                    qtype,
                    &config(Mode::Local, true),
                    accepted,
                ));
                assert_nodata(&r, &format!("type {qtype}"));
            }
        }
        let aaaa = reply(ask_plan(
            "a.b",
            TYPE_AAAA,
            &config(Mode::Local, false),
            false,
        ));
        assert_nodata(&aaaa, "AAAA without --portal-ip6");
        // Answers carry no SOA; ANY gets the name's addresses (RFC 8482
        // lets a server answer ANY with what it has).
        let a = reply(ask_plan("a.b", TYPE_A, &config(Mode::Local, true), false));
        assert_eq!((a.answers.len(), a.authority.len()), (1, 0));
        let any = reply(ask_plan("a.b", TYPE_ANY, &config(Mode::Local, true), false));
        assert_eq!((any.answers.len(), any.authority.len()), (2, 0));
    }

    #[test]
    fn accepted_clients_are_forwarded_only_in_internet_mode() {
        let local = reply(ask_plan(
            "example.com",
            TYPE_A,
            &config(Mode::Local, false),
            true,
        ));
        assert_eq!(local.answers[0].data, vec![10, 213, 0, 1]);
        assert!(matches!(
            ask_plan("example.com", TYPE_A, &config(Mode::Internet, false), true),
            Plan::Forward(_)
        ));
        // The portal's own name never leaves the router.
        let own = reply(ask_plan(
            "ORDER.lan.",
            TYPE_A,
            &config(Mode::Internet, false),
            true,
        ));
        assert_eq!(own.answers[0].data, vec![10, 213, 0, 1]);
        // Nor does the name of the owner's certificate (HTTPS mode).
        let secure = PortalConfig {
            secure_host: Some("order.venue.example".into()),
            ..config(Mode::Internet, false)
        };
        let named = reply(ask_plan("Order.Venue.Example", TYPE_A, &secure, true));
        assert_eq!(named.answers[0].data, vec![10, 213, 0, 1]);
    }

    #[test]
    fn windows_dns_probe_is_online_once_accepted_in_local_mode() {
        let c = config(Mode::Local, true);
        let before = reply(ask_plan("dns.msftncsi.com", TYPE_A, &c, false));
        assert_eq!(before.answers[0].data, vec![10, 213, 0, 1]);
        let after = reply(ask_plan("dns.msftncsi.com", TYPE_A, &c, true));
        assert_eq!(after.answers[0].data, vec![131, 107, 255, 255]);
        let after6 = reply(ask_plan("dns.msftncsi.com", TYPE_AAAA, &c, true));
        let expected: Ipv6Addr = "fd3e:4f5a:5b81::1".parse().unwrap();
        assert_eq!(after6.answers[0].data, expected.octets().to_vec());
    }

    #[test]
    fn malformed_and_odd_packets() {
        let c = config(Mode::Local, false);
        assert_eq!(plan(b"", &c, false), Plan::Drop);
        assert_eq!(plan(b"\x00\x01\x81", &c, false), Plan::Drop);
        // A broken question: FORMERR with the id.
        let broken = reply(plan(
            b"\x00\x09\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab",
            &c,
            false,
        ));
        assert_eq!((broken.id, broken.rcode()), (9, 1));
        // Responses are never answered.
        let mut response = query_packet(1, "a.b", TYPE_A).unwrap();
        response[2] |= 0x80;
        assert_eq!(plan(&response, &c, false), Plan::Drop);
        // No question, two questions: FORMERR. Other opcodes: NOTIMP.
        let empty = Message {
            questions: Vec::new(),
            ..Message::parse(&query_packet(1, "a.b", TYPE_A).unwrap()).unwrap()
        };
        assert_eq!(reply(plan(&empty.encode(), &c, false)).rcode(), 1);
        let mut two = Message::parse(&query_packet(1, "a.b", TYPE_A).unwrap()).unwrap();
        two.questions.push(two.questions[0].clone());
        assert_eq!(reply(plan(&two.encode(), &c, false)).rcode(), 1);
        let mut notify = query_packet(1, "a.b", TYPE_A).unwrap();
        notify[2] |= 4 << 3;
        assert_eq!(reply(plan(&notify, &c, false)).rcode(), 4);
        // Chaos class (version.bind): refused.
        let mut chaos = Message::parse(&query_packet(1, "version.bind", 16).unwrap()).unwrap();
        chaos.questions[0].qclass = 3;
        assert_eq!(reply(plan(&chaos.encode(), &c, false)).rcode(), 5);
    }

    /// The longest name there is: 255 bytes on the wire.
    fn longest_name() -> String {
        [&"a".repeat(63)[..]; 3].join(".") + "." + &"b".repeat(61)
    }

    /// The attack: one 255-byte name asked `count` times, every
    /// repeat a 2-byte pointer back to the first (6 bytes a question).
    fn many_questions(count: u16) -> Vec<u8> {
        let mut packet = query_packet(0x0bad, &longest_name(), TYPE_A).unwrap();
        packet[4..6].copy_from_slice(&count.to_be_bytes());
        for _ in 1..count {
            packet.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01");
        }
        packet
    }

    fn with_edns(packet: &[u8], udp_size: u16) -> Vec<u8> {
        let mut query = Message::parse(packet).unwrap();
        query.additional.push(Record {
            name: Name::from_text("").unwrap(),
            rtype: wire::TYPE_OPT,
            class: udp_size,
            ttl: 0,
            data: Vec::new(),
        });
        query.encode()
    }

    #[test]
    fn many_questions_get_a_bare_formerr() {
        let c = config(Mode::Internet, true);
        let attack = many_questions(250);
        assert_eq!(attack.len(), 1765);
        for accepted in [false, true] {
            let Plan::Reply(bytes) = plan(&attack, &c, accepted) else {
                panic!("expected FORMERR");
            };
            assert_eq!(bytes.len(), wire::HEADER_LEN);
            let r = Message::parse(&bytes).unwrap();
            assert_eq!((r.id, r.rcode(), r.questions.len()), (0x0bad, 1, 0));
        }
        // Broken after the header, or another opcode: still the header alone.
        let mut broken = attack.clone();
        broken.truncate(1000);
        assert_eq!(reply(plan(&broken, &c, false)).questions.len(), 0);
        let mut notify = attack;
        notify[2] |= 4 << 3;
        assert_eq!(reply(plan(&notify, &c, false)).questions.len(), 0);
    }

    #[test]
    fn error_replies_are_never_longer_than_the_query() {
        // A NOTIFY whose question name points into the header at the low
        // byte of the question count: read as a 1-byte label holding zero,
        // then the root; 2 bytes on the wire, 3 when written out.
        let packet = b"\x00\x3f\x20\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x05\x00\x01\x00\x01";
        let query = Message::parse(packet).unwrap();
        assert_eq!(query.questions[0].name.wire(), b"\x01\x00\x00");
        let c = config(Mode::Local, false);
        let Plan::Reply(bytes) = plan(packet, &c, false) else {
            panic!("expected NOTIMP");
        };
        assert!(
            bytes.len() <= packet.len(),
            "{} > {}",
            bytes.len(),
            packet.len()
        );
        assert_eq!(Message::parse(&bytes).unwrap().rcode(), 4);
    }

    #[test]
    fn udp_replies_fit_512_bytes_or_the_edns_size() {
        let c = config(Mode::Local, true);
        // ANY for the longest name: question, A and AAAA each repeat it.
        let long = query_packet(3, &longest_name(), TYPE_ANY).unwrap();
        let Plan::Reply(full) = plan(&long, &c, false) else {
            panic!("expected an answer");
        };
        assert!(full.len() > MIN_UDP, "{}", full.len());
        let cut = fit_udp(full.clone(), &long).unwrap();
        assert!(cut.len() <= MIN_UDP);
        let cut = Message::parse(&cut).unwrap();
        assert_eq!(cut.flags & wire::FLAG_TC, wire::FLAG_TC);
        assert_eq!((cut.id, cut.questions.len(), cut.answers.len()), (3, 1, 0));
        // EDNS: the advertised size, but never below 512 or above 4096.
        assert_eq!(
            fit_udp(full.clone(), &with_edns(&long, 1232)),
            Some(full.clone())
        );
        let small = fit_udp(full.clone(), &with_edns(&long, 100)).unwrap();
        assert!(small.len() <= MIN_UDP);
        let edns = |size| udp_reply_limit(&Message::parse(&with_edns(&long, size)).unwrap());
        assert_eq!((edns(100), edns(1232), edns(65000)), (512, 1232, MAX_UDP));
        // An upstream's long answer to a plain query is cut too; short
        // replies pass untouched.
        let mut upstream = Message::parse(&long)
            .unwrap()
            .reply(Rcode::NoError, Vec::new());
        upstream.answers = (0..40u8)
            .map(|i| Record {
                name: Name::from_text("x.example").unwrap(),
                rtype: TYPE_A,
                class: CLASS_IN,
                ttl: 60,
                data: vec![192, 0, 2, i],
            })
            .collect();
        let big = upstream.encode();
        assert!(big.len() > MIN_UDP);
        assert!(fit_udp(big, &long).unwrap().len() <= MIN_UDP);
        let short = query_packet(4, "a.b", TYPE_A).unwrap();
        let Plan::Reply(answer) = plan(&short, &c, false) else {
            panic!("expected an answer");
        };
        assert_eq!(fit_udp(answer.clone(), &short), Some(answer));
    }

    /// What the server sends for `packet` the slow way: `plan`, `fit_udp`.
    fn planned(packet: &[u8], c: &PortalConfig, accepted: bool) -> Option<Vec<u8>> {
        match plan(packet, c, accepted) {
            Plan::Reply(reply) => fit_udp(reply, packet),
            _ => None,
        }
    }

    /// `answer_in_place` on `packet`: the reply, or `None` with the buffer
    /// left as it was.
    fn in_place(packet: &[u8], c: &PortalConfig, accepted: bool) -> Option<Vec<u8>> {
        let mut buf = [0x5a; MAX_UDP];
        buf[..packet.len()].copy_from_slice(packet);
        let before = buf;
        match answer_in_place(&mut buf, packet.len(), c, || accepted) {
            Some(len) => Some(buf[..len].to_vec()),
            None => {
                assert_eq!(buf, before, "untouched when declined");
                None
            }
        }
    }

    #[test]
    fn answers_in_place_are_the_planned_replies() {
        let own = PortalConfig {
            host: "order.lan".into(),
            secure_host: Some("order.venue.example".into()),
            ..config(Mode::Internet, true)
        };
        let configs = [config(Mode::Local, false), config(Mode::Local, true), own];
        let mut packets = Vec::new();
        for name in [
            "a.b",
            "Example.COM",
            "order.lan",
            "ORDER.venue.example",
            "dns.msftncsi.com",
            "",
        ] {
            for qtype in [TYPE_A, TYPE_AAAA, TYPE_ANY, 5, 65, 4242] {
                let packet = query_packet(9, name, qtype).unwrap();
                packets.push(with_edns(&packet, 1232));
                packets.push(packet);
            }
        }
        packets.push(query_packet(3, &longest_name(), TYPE_ANY).unwrap());
        packets.push(query_packet(3, &longest_name(), TYPE_A).unwrap());
        // Every one-byte change and cut of a few of them: whatever the fast
        // path answers must be what `plan` answers.
        let mut seed = 0x2545_f491_u32;
        let mut varied = Vec::new();
        for packet in packets.iter().take(4).chain(packets.iter().rev().take(3)) {
            for at in 0..packet.len() {
                for _ in 0..4 {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    let mut changed = packet.clone();
                    changed[at] = seed as u8;
                    varied.push(changed);
                }
                varied.push(packet[..at].to_vec());
            }
        }
        let mut answered = 0;
        for packet in packets.iter().chain(&varied) {
            for c in &configs {
                for accepted in [false, true] {
                    if let Some(reply) = in_place(packet, c, accepted) {
                        assert_eq!(Some(reply), planned(packet, c, accepted), "{packet:x?}");
                        answered += 1;
                    }
                }
            }
        }
        // The common queries take the fast path.
        for packet in &packets[..24] {
            for c in &configs[..2] {
                assert!(in_place(packet, c, false).is_some(), "{packet:x?}");
            }
        }
        assert!(answered > 1000, "{answered}");
        // What it leaves to `plan`: forwarding, the Windows probe, long replies.
        let ask = |name: &str, qtype| query_packet(1, name, qtype).unwrap();
        assert!(in_place(&ask("a.b", TYPE_A), &configs[2], true).is_none());
        assert!(in_place(&ask("order.lan", TYPE_A), &configs[2], true).is_some());
        assert!(in_place(&ask("dns.msftncsi.com", TYPE_A), &configs[0], false).is_none());
        assert!(in_place(&ask(&longest_name(), TYPE_ANY), &configs[1], false).is_none());
    }
}

//! The portal's DNS server on UDP and TCP (`--dns ADDR`). Clients that have
//! not accepted the portal, and everyone in `local` mode, get the portal's
//! address for every name; accepted clients in `internet` mode are
//! forwarded to the upstream resolvers.

pub mod wire;

use crate::app::App;
use crate::error::{Error, Result};
use crate::portal::{Mode, PortalConfig, WINDOWS_DNS_PROBE};
use crate::support::crypto;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use wire::{Message, Name, Question, Rcode, Record, CLASS_IN, TYPE_A, TYPE_AAAA, TYPE_ANY};

/// Short, so a phone asks again soon after it accepts the portal.
pub const PORTAL_TTL: u32 = 10;
/// A dead upstream gets the client a SERVFAIL after this, not a hang.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// Forwarded queries in flight; more are answered SERVFAIL at once.
const MAX_FORWARDS: usize = 128;
/// TCP connections open at once, in all and per client (see `client_key`),
/// so one phone cannot hold every slot; over either limit a new connection
/// is closed at once.
pub const MAX_TCP_CONNECTIONS: usize = 32;
pub const MAX_TCP_PER_CLIENT: usize = 4;
/// A TCP client must send its next whole query within this (RFC 7766 6.2.3
/// lets servers close idle connections)...
pub const TCP_IDLE: Duration = Duration::from_secs(3);
/// ...and may keep one connection this long in all, however busy.
pub const TCP_LIFETIME: Duration = Duration::from_secs(30);
/// A UDP reply to a query without EDNS must fit this (RFC 1035 4.2.1).
pub const MIN_UDP: usize = 512;
/// EDNS lets answers grow past 512 bytes; 4096 is the common ceiling.
pub const MAX_UDP: usize = 4096;

/// The most file descriptors DNS can hold at once: its two sockets, a
/// socket per upstream for each forwarded query, and each TCP connection
/// with its own upstream connections.
pub fn max_descriptors(upstreams: usize) -> u64 {
    let most = 2 + MAX_FORWARDS * upstreams + MAX_TCP_CONNECTIONS * (1 + upstreams);
    u64::try_from(most).unwrap_or(u64::MAX)
}

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
    let own_name = question.name.to_text() == config.host;
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
    Plan::Reply(query.reply(Rcode::NoError, answers).encode())
}

/// An error reply to `query` echoing its one question, or the header alone
/// when the echo would be longer than `packet` (a compressed name grows when
/// written out): an error is never bigger than the query that caused it.
fn error_reply(query: &Message, packet: &[u8], rcode: Rcode) -> Vec<u8> {
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
pub fn udp_reply_limit(query: &Message) -> usize {
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

/// Binds UDP and TCP on `addr`; failing here stops `serve` with a message.
pub async fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener)> {
    let fail = |e| Error::Internal(format!("cannot listen for DNS on {addr}: {e}"));
    Ok((
        UdpSocket::bind(addr).await.map_err(fail)?,
        TcpListener::bind(addr).await.map_err(fail)?,
    ))
}

/// Serves DNS on both sockets until the task is dropped.
pub async fn serve(udp: UdpSocket, tcp: TcpListener, app: App) {
    tokio::join!(serve_udp(udp, app.clone()), serve_tcp(tcp, app));
}

async fn serve_udp(socket: UdpSocket, app: App) {
    let socket = Arc::new(socket);
    let forwards = Arc::new(Semaphore::new(MAX_FORWARDS));
    let mut buf = vec![0u8; MAX_UDP];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                log::debug!("DNS receive: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let packet = &buf[..len];
        let reply = match plan(packet, &app.portal, app.clients.is_accepted(peer.ip())) {
            Plan::Drop => continue,
            Plan::Reply(reply) => reply,
            Plan::Forward(query) => match forwards.clone().try_acquire_owned() {
                Ok(permit) => {
                    let (socket, app, packet) = (socket.clone(), app.clone(), packet.to_vec());
                    tokio::spawn(async move {
                        let reply = forward(&packet, &query, &app.portal.upstreams, false).await;
                        if let Some(reply) = fit_udp(reply, &packet) {
                            let _ = socket.send_to(&reply, peer).await;
                        }
                        drop(permit);
                    });
                    continue;
                }
                Err(_) => error_reply(&query, packet, Rcode::ServFail),
            },
        };
        let Some(reply) = fit_udp(reply, packet) else {
            continue;
        };
        if let Err(e) = socket.send_to(&reply, peer).await {
            log::debug!("DNS reply to {peer}: {e}");
        }
    }
}

async fn serve_tcp(listener: TcpListener, app: App) {
    let slots = TcpSlots::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                log::warn!("DNS accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Over a limit the connection is simply closed; clients retry.
        let Some(slot) = slots.claim(peer.ip()) else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let served =
                tokio::time::timeout(TCP_LIFETIME, serve_tcp_connection(stream, peer.ip(), &app));
            if let Ok(Err(e)) = served.await {
                log::debug!("DNS over TCP from {peer}: {e}");
            }
            drop(slot);
        });
    }
}

/// Length-prefixed messages (RFC 1035 4.2.2) until the client goes quiet.
async fn serve_tcp_connection(
    mut stream: TcpStream,
    peer: IpAddr,
    app: &App,
) -> std::io::Result<()> {
    loop {
        // The whole message, not just its first byte, must come in time:
        // trickling a byte now and then does not keep the slot.
        let Ok(packet) = tokio::time::timeout(TCP_IDLE, read_framed(&mut stream)).await else {
            return Ok(());
        };
        let packet = packet?;
        let reply = match plan(&packet, &app.portal, app.clients.is_accepted(peer)) {
            Plan::Drop => return Ok(()),
            Plan::Reply(reply) => reply,
            Plan::Forward(query) => forward(&packet, &query, &app.portal.upstreams, true).await,
        };
        write_framed(&mut stream, &reply).await?;
    }
}

async fn read_framed(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut message = vec![0; usize::from(stream.read_u16().await?)];
    stream.read_exact(&mut message).await?;
    Ok(message)
}

/// Who holds the TCP connections: at most `MAX_TCP_CONNECTIONS` in all and
/// `MAX_TCP_PER_CLIENT` per client. A client's entry leaves with its last
/// connection, so the map never outgrows the total.
#[derive(Clone, Default)]
struct TcpSlots(Arc<Mutex<SlotCounts>>);

#[derive(Default)]
struct SlotCounts {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// One connection's slot, given back when dropped.
struct TcpSlot {
    slots: TcpSlots,
    client: IpAddr,
}

impl TcpSlots {
    fn claim(&self, peer: IpAddr) -> Option<TcpSlot> {
        let client = client_key(peer);
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let held = counts.by_client.get(&client).copied().unwrap_or(0);
        if counts.total >= MAX_TCP_CONNECTIONS || held >= MAX_TCP_PER_CLIENT {
            return None;
        }
        counts.total += 1;
        counts.by_client.insert(client, held + 1);
        Some(TcpSlot {
            slots: self.clone(),
            client,
        })
    }
}

impl Drop for TcpSlot {
    fn drop(&mut self) {
        let mut counts = self.slots.0.lock().unwrap_or_else(|p| p.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(held) = counts.by_client.get_mut(&self.client) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                counts.by_client.remove(&self.client);
            }
        }
    }
}

/// The address a client is counted by: an IPv4 address as is (also when
/// mapped into IPv6), an IPv6 address by its /64, because one device can
/// give itself any number of addresses in its network.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !0u128 << 64)),
        v4 => v4,
    }
}

async fn write_framed(stream: &mut TcpStream, message: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(message.len()).map_err(|_| std::io::ErrorKind::InvalidData)?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    stream.write_all(&framed).await
}

/// Asks every upstream at once and relays the first valid answer; SERVFAIL
/// when none answers within `UPSTREAM_TIMEOUT` (or all fail sooner).
async fn forward(packet: &[u8], query: &Message, upstreams: &[SocketAddr], tcp: bool) -> Vec<u8> {
    // A fresh random id (and socket, so a random port) per query makes
    // spoofed answers hard to slip in.
    let id = match crypto::random_bytes::<2>() {
        Ok(bytes) => u16::from_be_bytes(bytes),
        Err(e) => {
            log::warn!("DNS forward: {e}");
            return query.reply(Rcode::ServFail, Vec::new()).encode();
        }
    };
    let mut outgoing = packet.to_vec();
    outgoing[..2].copy_from_slice(&id.to_be_bytes());
    let outgoing: Arc<[u8]> = outgoing.into();
    let mut asks = JoinSet::new();
    for &upstream in upstreams {
        let (outgoing, question) = (outgoing.clone(), query.questions[0].clone());
        asks.spawn(async move { ask(upstream, &outgoing, id, &question, tcp).await });
    }
    let deadline = tokio::time::sleep(UPSTREAM_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            joined = asks.join_next() => match joined {
                None => break,
                Some(Ok(Ok(mut reply))) => {
                    reply[..2].copy_from_slice(&query.id.to_be_bytes());
                    return reply;
                }
                Some(Ok(Err(e))) => log::debug!("upstream DNS: {e}"),
                Some(Err(e)) => log::debug!("upstream DNS task: {e}"),
            },
        }
    }
    error_reply(query, packet, Rcode::ServFail)
}

/// One upstream's answer to `packet`, checked against our id and question.
async fn ask(
    upstream: SocketAddr,
    packet: &[u8],
    id: u16,
    question: &Question,
    tcp: bool,
) -> std::io::Result<Vec<u8>> {
    if tcp {
        let mut stream = TcpStream::connect(upstream).await?;
        write_framed(&mut stream, packet).await?;
        let mut reply = vec![0; usize::from(stream.read_u16().await?)];
        stream.read_exact(&mut reply).await?;
        return answers(&reply, id, question)
            .then_some(reply)
            .ok_or_else(|| std::io::ErrorKind::InvalidData.into());
    }
    let local: SocketAddr = if upstream.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    // Connected: only the upstream's packets arrive, and a closed port
    // reports an error at once instead of waiting for the timeout.
    socket.connect(upstream).await?;
    socket.send(packet).await?;
    let mut buf = vec![0; MAX_UDP];
    loop {
        let len = socket.recv(&mut buf).await?;
        if answers(&buf[..len], id, question) {
            return Ok(buf[..len].to_vec());
        }
    }
}

/// Whether `reply` is the answer to our query with `id` and `question`.
fn answers(reply: &[u8], id: u16, question: &Question) -> bool {
    Message::parse(reply).is_ok_and(|m| {
        m.id == id
            && m.is_response()
            && matches!(m.questions.as_slice(), [q] if q.qtype == question.qtype
                && q.qclass == question.qclass
                && q.name.to_text() == question.name.to_text())
    })
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
        assert_eq!((without.rcode(), without.answers.len()), (0, 0));
    }

    #[test]
    fn other_types_get_an_empty_noerror() {
        for qtype in [15, 16, 65, 12] {
            let r = reply(ask_plan("a.b", qtype, &config(Mode::Local, true), false));
            assert_eq!((r.rcode(), r.answers.len()), (0, 0), "type {qtype}");
        }
        let any = reply(ask_plan("a.b", TYPE_ANY, &config(Mode::Local, true), false));
        assert_eq!(any.answers.len(), 2);
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

    #[test]
    fn tcp_slots_are_limited_per_client_and_in_all() {
        let slots = TcpSlots::default();
        let one: IpAddr = "10.213.0.7".parse().unwrap();
        let held: Vec<_> = (0..MAX_TCP_PER_CLIENT)
            .map(|_| slots.claim(one).unwrap())
            .collect();
        assert!(slots.claim(one).is_none());
        // The same phone through IPv4-mapped IPv6 is the same client.
        assert!(slots.claim("::ffff:10.213.0.7".parse().unwrap()).is_none());
        drop(held);
        assert!(slots.claim(one).is_some());
        // Many addresses in one IPv6 /64 are one client.
        let v6 = |i: u16| IpAddr::V6(Ipv6Addr::new(0xfd13, 0, 0, 0, 0, 0, 7, i));
        let _v6: Vec<_> = (0..MAX_TCP_PER_CLIENT as u16)
            .map(|i| slots.claim(v6(i)).unwrap())
            .collect();
        assert!(slots.claim(v6(999)).is_none());
        // Others fill the rest, then nobody gets more.
        let mut others = Vec::new();
        for i in 0..=255 {
            match slots.claim(IpAddr::V4(Ipv4Addr::new(10, 213, 1, i))) {
                Some(slot) => others.push(slot),
                None => break,
            }
        }
        assert_eq!(others.len(), MAX_TCP_CONNECTIONS - MAX_TCP_PER_CLIENT);
        others.pop();
        assert!(slots.claim("10.213.2.1".parse().unwrap()).is_some());
        drop(others);
        assert_eq!(
            slots.0.lock().unwrap().by_client.len(),
            1,
            "only the v6 client holds slots"
        );
    }

    async fn fake_upstream(answer: [u8; 4]) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((len, from)) = socket.recv_from(&mut buf).await {
                let query = Message::parse(&buf[..len]).unwrap();
                let record = Record {
                    name: query.questions[0].name.clone(),
                    rtype: TYPE_A,
                    class: CLASS_IN,
                    ttl: 300,
                    data: answer.to_vec(),
                };
                let reply = query.reply(Rcode::NoError, vec![record]).encode();
                socket.send_to(&reply, from).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn forwarding_relays_the_upstream_answer_with_the_client_id() {
        let upstream = fake_upstream([93, 184, 216, 34]).await;
        let packet = query_packet(0x1234, "example.com", TYPE_A).unwrap();
        let query = Message::parse(&packet).unwrap();
        let reply = Message::parse(&forward(&packet, &query, &[upstream], false).await).unwrap();
        assert_eq!(reply.id, 0x1234);
        assert_eq!(reply.answers[0].data, vec![93, 184, 216, 34]);
    }

    #[tokio::test]
    async fn a_dead_upstream_gets_servfail_quickly() {
        // A closed port answers with ICMP: SERVFAIL well before the timeout.
        let closed = {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap()
        };
        let packet = query_packet(7, "example.com", TYPE_A).unwrap();
        let query = Message::parse(&packet).unwrap();
        let started = std::time::Instant::now();
        let reply = Message::parse(&forward(&packet, &query, &[closed], false).await).unwrap();
        assert_eq!((reply.id, reply.rcode()), (7, 2));
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        // No upstreams configured at all: SERVFAIL at once.
        let reply = Message::parse(&forward(&packet, &query, &[], false).await).unwrap();
        assert_eq!(reply.rcode(), 2);
        // A live upstream wins over a dead one.
        let live = fake_upstream([1, 2, 3, 4]).await;
        let reply =
            Message::parse(&forward(&packet, &query, &[closed, live], false).await).unwrap();
        assert_eq!(reply.answers[0].data, vec![1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_silent_upstream_gets_servfail_after_the_timeout() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let packet = query_packet(8, "example.com", TYPE_A).unwrap();
        let query = Message::parse(&packet).unwrap();
        let reply = forward(&packet, &query, &[silent.local_addr().unwrap()], false).await;
        assert_eq!(Message::parse(&reply).unwrap().rcode(), 2);
    }
}

//! The DNS server on UDP and TCP (`--dns ADDR`): sockets, the per-client
//! and total limits on TCP connections, and carrying out each packet's plan.

use super::forward::forward;
use super::plan::{answer_in_place, error_reply, fit_udp, plan, Plan, MAX_UDP};
use super::wire::Rcode;
use crate::error::{Error, Result};
use crate::portal::clients::Clients;
use crate::portal::PortalConfig;
use crate::support::net::client_key;
use crate::support::task;
use nix::errno::Errno;
use nix::libc;
use nix::sys::socket::{
    recvmmsg, sendmmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned,
    MsgFlags, MultiHeaders, RecvMsg, SockaddrStorage,
};
use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

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

/// The most file descriptors DNS can hold at once: its two sockets, a
/// socket per upstream for each forwarded query, and each TCP connection
/// with its own upstream connections.
pub fn max_descriptors(upstreams: usize) -> u64 {
    let most = 2 + MAX_FORWARDS * upstreams + MAX_TCP_CONNECTIONS * (1 + upstreams);
    u64::try_from(most).unwrap_or(u64::MAX)
}

/// Binds UDP and TCP on `addr`; failing here stops `serve` with a message.
pub async fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener)> {
    let fail = |e| Error::internal(format!("cannot listen for DNS on {addr}: {e}"));
    Ok((
        UdpSocket::bind(addr).await.map_err(fail)?,
        TcpListener::bind(addr).await.map_err(fail)?,
    ))
}

/// What answering a query needs: the portal's settings and which clients
/// it has accepted.
#[derive(Clone)]
struct Answering {
    portal: Arc<PortalConfig>,
    clients: Clients,
}

/// Datagrams taken from the socket and answered with one system call each
/// way; under load the queue holds many, idle it costs one buffer each.
const BATCH: usize = 16;
/// A reply the socket cannot take within this is dropped (UDP is lossy;
/// the client asks again), so no client can hold the thread.
const SEND_WAIT: Duration = Duration::from_secs(1);
/// How often the idle UDP thread looks whether DNS has stopped.
const STOP_CHECK: Duration = Duration::from_secs(1);

/// Serves DNS on both sockets: UDP on a thread of its own (below), TCP in
/// this task until it is dropped, which stops the UDP thread too.
pub async fn serve(udp: UdpSocket, tcp: TcpListener, portal: Arc<PortalConfig>, clients: Clients) {
    let answering = Answering { portal, clients };
    let _stop_udp = match udp_thread(udp, answering.clone()) {
        Ok(stop) => Some(stop),
        Err(e) => {
            log::warn!("DNS over UDP not served: {e}");
            None
        }
    };
    serve_tcp(tcp, answering).await;
}

/// Tells the UDP thread to end when dropped; it does within `STOP_CHECK`,
/// freeing the port.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Starts the UDP thread, which serves until the returned guard is
/// dropped: it blocks in `recvmmsg` for the next batch of queries instead
/// of waking the runtime for each datagram, answers them in their own
/// buffers and sends the replies with one `sendmmsg`. Forwarded queries
/// still go to the runtime as tasks.
fn udp_thread(udp: UdpSocket, answering: Answering) -> std::io::Result<StopOnDrop> {
    let socket = udp.into_std()?;
    socket.set_nonblocking(false)?;
    socket.set_write_timeout(Some(SEND_WAIT))?;
    socket.set_read_timeout(Some(STOP_CHECK))?;
    // Each query's own destination, so that on a wildcard address the
    // reply comes from the address the client asked (it drops any other).
    // An IPv6 socket gets it for IPv4-mapped queries too.
    if socket.local_addr()?.is_ipv4() {
        setsockopt(&socket, sockopt::Ipv4PacketInfo, &true)?;
    } else {
        setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)?;
    }
    let runtime = tokio::runtime::Handle::current();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("dns-udp".into())
        .stack_size(256 * 1024)
        .spawn(move || serve_udp(&socket, &answering, &runtime, &stopped))?;
    Ok(StopOnDrop(stop))
}

/// The local address a query came to, which its reply is sent from, as
/// the control message that says so. IPv6 keeps the interface, which
/// link-local addresses need; IPv4 leaves it to the route.
#[derive(Clone, Copy)]
enum Local {
    V4(libc::in_pktinfo),
    V6(libc::in6_pktinfo),
}

impl PartialEq for Local {
    fn eq(&self, other: &Local) -> bool {
        match (self, other) {
            (Local::V4(a), Local::V4(b)) => a.ipi_spec_dst.s_addr == b.ipi_spec_dst.s_addr,
            (Local::V6(a), Local::V6(b)) => {
                a.ipi6_addr.s6_addr == b.ipi6_addr.s6_addr && a.ipi6_ifindex == b.ipi6_ifindex
            }
            _ => false,
        }
    }
}

impl Local {
    fn of(message: &RecvMsg<'_, '_, SockaddrStorage>) -> Option<Local> {
        message.cmsgs().ok()?.find_map(|cmsg| match cmsg {
            // `ipi_spec_dst` is the local address the packet was taken
            // for (its header's destination for unicast).
            ControlMessageOwned::Ipv4PacketInfo(info) => Some(Local::V4(libc::in_pktinfo {
                ipi_ifindex: 0,
                ipi_spec_dst: info.ipi_spec_dst,
                ipi_addr: libc::in_addr { s_addr: 0 },
            })),
            ControlMessageOwned::Ipv6PacketInfo(mut info) => {
                let ip = Ipv6Addr::from(info.ipi6_addr.s6_addr);
                // An IPv4-mapped address leaves the interface to the
                // route, as IPv4 does.
                if ip.to_ipv4_mapped().is_some() {
                    info.ipi6_ifindex = 0;
                }
                // A reply cannot come from a multicast address.
                (!ip.is_multicast()).then_some(Local::V6(info))
            }
            _ => None,
        })
    }

    fn control(&self) -> ControlMessage<'_> {
        match self {
            Local::V4(info) => ControlMessage::Ipv4PacketInfo(info),
            Local::V6(info) => ControlMessage::Ipv6PacketInfo(info),
        }
    }
}

/// Headers for `sendmmsg`, one set per kind of control message: the
/// kernel reads each header's whole control buffer, so it must hold
/// exactly the message sent.
struct SendHeaders {
    plain: MultiHeaders<SockaddrStorage>,
    v4: MultiHeaders<SockaddrStorage>,
    v6: MultiHeaders<SockaddrStorage>,
}

fn receive_headers() -> MultiHeaders<SockaddrStorage> {
    MultiHeaders::preallocate(BATCH, Some(nix::cmsg_space!(libc::in6_pktinfo)))
}

fn serve_udp(
    socket: &std::net::UdpSocket,
    answering: &Answering,
    runtime: &Handle,
    stop: &AtomicBool,
) {
    let forwards = Arc::new(Semaphore::new(MAX_FORWARDS));
    let mut buffers = vec![[0u8; MAX_UDP]; BATCH];
    let mut receive = receive_headers();
    let mut send = SendHeaders {
        plain: MultiHeaders::preallocate(BATCH, None),
        v4: MultiHeaders::preallocate(BATCH, Some(nix::cmsg_space!(libc::in_pktinfo))),
        v6: MultiHeaders::preallocate(BATCH, Some(nix::cmsg_space!(libc::in6_pktinfo))),
    };
    // Each buffer's length, sender and local address, then its reply's
    // length (the sender is `None` when nothing is sent).
    let mut filled: [Received; BATCH] = [(0, None, None); BATCH];
    while !stop.load(Ordering::Relaxed) {
        let (received, lacking_local) = {
            let mut buffers = buffers.iter_mut();
            let mut slices: [[IoSliceMut<'_>; 1]; BATCH] = std::array::from_fn(|_| {
                [IoSliceMut::new(
                    buffers.next().map_or(&mut [][..], |b| &mut b[..]),
                )]
            });
            match recvmmsg(
                socket.as_raw_fd(),
                &mut receive,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            ) {
                Ok(messages) => {
                    let (mut count, mut lacking_local) = (0, false);
                    for (message, slot) in messages.zip(&mut filled) {
                        let local = Local::of(&message);
                        lacking_local |= local.is_none();
                        *slot = (message.bytes, message.address, local);
                        count += 1;
                    }
                    (count, lacking_local)
                }
                // The read timeout: time to look at `stop` again.
                Err(Errno::EAGAIN) => continue,
                Err(e) => {
                    log::debug!("DNS receive: {}", crate::support::os_error(e));
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
        };
        // The kernel shrinks a header's control space to what it last
        // held; after a datagram without one, the headers start afresh.
        if lacking_local {
            receive = receive_headers();
        }
        for (buffer, (len, peer, local)) in buffers.iter_mut().zip(&mut filled).take(received) {
            let reply = peer.as_ref().and_then(socket_addr).and_then(|from| {
                let query = Query {
                    len: *len,
                    peer: from,
                    local: *local,
                };
                answer(buffer, query, answering, socket, &forwards, runtime)
            });
            match reply {
                Some(reply_len) => *len = reply_len,
                None => *peer = None,
            }
        }
        send_replies(socket, &mut send, &buffers, &filled[..received]);
    }
}

/// A datagram's length, sender and local address.
type Received = (usize, Option<SockaddrStorage>, Option<Local>);

/// The replies in `buffers` that `filled` gives a length and peer, each
/// from its local address: one `sendmmsg` per run of replies from the same
/// address (usually the whole batch).
fn send_replies(
    socket: &std::net::UdpSocket,
    headers: &mut SendHeaders,
    buffers: &[[u8; MAX_UDP]],
    filled: &[Received],
) {
    let mut slices: [[IoSlice<'_>; 1]; BATCH] = [[IoSlice::new(&[])]; BATCH];
    let mut peers = [None; BATCH];
    let mut locals = [None; BATCH];
    let mut ready = 0;
    for (buffer, &(len, peer, local)) in buffers.iter().zip(filled) {
        if peer.is_some() && ready < BATCH {
            slices[ready] = [IoSlice::new(&buffer[..len])];
            peers[ready] = peer;
            locals[ready] = local;
            ready += 1;
        }
    }
    let mut sent = 0;
    // Each round sends at least one reply or gives it up.
    while sent < ready {
        let local = locals[sent];
        let run_end = locals[sent..ready]
            .iter()
            .position(|other| *other != local)
            .map_or(ready, |run| sent + run);
        let run_headers = match local {
            None => &mut headers.plain,
            Some(Local::V4(_)) => &mut headers.v4,
            Some(Local::V6(_)) => &mut headers.v6,
        };
        let control = local.as_ref().map(Local::control);
        let result = sendmmsg(
            socket.as_raw_fd(),
            run_headers,
            &slices[sent..run_end],
            &peers[sent..run_end],
            control.as_slice(),
            MsgFlags::empty(),
        )
        .map(Iterator::count);
        match result {
            Ok(count) => sent += count.max(1),
            Err(e) => {
                log::debug!("DNS reply: {}", crate::support::os_error(e));
                sent += 1;
            }
        }
    }
}

/// Sends one reply from `local` without waiting for room (a task must not
/// block the runtime).
fn send_from(
    socket: &std::net::UdpSocket,
    reply: &[u8],
    peer: SocketAddr,
    local: Option<Local>,
) -> nix::Result<usize> {
    let control = local.as_ref().map(Local::control);
    sendmsg(
        socket.as_raw_fd(),
        &[IoSlice::new(reply)],
        control.as_slice(),
        MsgFlags::MSG_DONTWAIT,
        Some(&SockaddrStorage::from(peer)),
    )
}

fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}

/// A received query: its length in the buffer, who sent it and to which
/// local address.
struct Query {
    len: usize,
    peer: SocketAddr,
    local: Option<Local>,
}

/// The reply to the query in `buffer[..len]`, written into `buffer`; its
/// length, or `None` when nothing is sent now (dropped, or forwarded by a
/// task that answers on its own).
fn answer(
    buffer: &mut [u8; MAX_UDP],
    Query { len, peer, local }: Query,
    answering: &Answering,
    socket: &std::net::UdpSocket,
    forwards: &Arc<Semaphore>,
    runtime: &Handle,
) -> Option<usize> {
    let accepted = || answering.clients.is_accepted(peer.ip());
    if let Some(reply_len) = answer_in_place(buffer, len, &answering.portal, accepted) {
        return Some(reply_len);
    }
    let packet = buffer.get(..len)?;
    let reply = match plan(packet, &answering.portal, accepted()) {
        Plan::Drop => return None,
        Plan::Reply(reply) => reply,
        Plan::Forward(query) => match (forwards.clone().try_acquire_owned(), socket.try_clone()) {
            (Ok(permit), Ok(socket)) => {
                let (answering, packet) = (answering.clone(), packet.to_vec());
                task::spawn_on(runtime, async move {
                    let reply = forward(&packet, &query, &answering.portal.upstreams, false).await;
                    if let Some(reply) = fit_udp(reply, &packet) {
                        if let Err(e) = send_from(&socket, &reply, peer, local) {
                            log::debug!("DNS reply to {peer}: {}", crate::support::os_error(e));
                        }
                    }
                    drop(permit);
                });
                return None;
            }
            _ => error_reply(&query, packet, Rcode::ServFail),
        },
    };
    // `fit_udp` keeps every reply within `MAX_UDP`, the buffer's size.
    let reply = fit_udp(reply, packet)?;
    buffer.get_mut(..reply.len())?.copy_from_slice(&reply);
    Some(reply.len())
}

async fn serve_tcp(listener: TcpListener, answering: Answering) {
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
        let answering = answering.clone();
        task::spawn(async move {
            let served = tokio::time::timeout(
                TCP_LIFETIME,
                serve_tcp_connection(stream, peer.ip(), &answering),
            );
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
    answering: &Answering,
) -> std::io::Result<()> {
    loop {
        // The whole message, not just its first byte, must come in time:
        // trickling a byte now and then does not keep the slot.
        let Ok(packet) = tokio::time::timeout(TCP_IDLE, read_framed(&mut stream)).await else {
            return Ok(());
        };
        let packet = packet?;
        let reply = match plan(
            &packet,
            &answering.portal,
            answering.clients.is_accepted(peer),
        ) {
            Plan::Drop => return Ok(()),
            Plan::Reply(reply) => reply,
            Plan::Forward(query) => {
                forward(&packet, &query, &answering.portal.upstreams, true).await
            }
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

pub(super) async fn write_framed(stream: &mut TcpStream, message: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(message.len()).map_err(|_| std::io::ErrorKind::InvalidData)?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    stream.write_all(&framed).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::portal::clients::ClientSettings;
    use crate::portal::dns::query_packet;
    use crate::portal::dns::wire::TYPE_A;
    use std::net::Ipv4Addr;
    use std::time::Instant;

    #[test]
    fn stopping_dns_frees_its_udp_port() {
        let dir = std::env::temp_dir().join(format!("orderspot-dns-stop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (udp, tcp) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
            let addr = udp.local_addr().unwrap();
            let clients = Clients::new(Db::open(&dir).unwrap(), ClientSettings::default());
            let portal = Arc::new(PortalConfig {
                ip: Some(Ipv4Addr::new(10, 213, 0, 1)),
                ..PortalConfig::default()
            });
            let server = tokio::spawn(serve(udp, tcp, portal, clients));
            let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let query = query_packet(7, "stop.example", TYPE_A).unwrap();
            client.send_to(&query, addr).await.unwrap();
            let mut reply = [0; MAX_UDP];
            let answered = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut reply));
            assert!(answered.await.is_ok(), "DNS did not answer before stopping");

            server.abort();
            assert!(server.await.unwrap_err().is_cancelled());
            let deadline = Instant::now() + Duration::from_secs(5);
            while let Err(e) = std::net::UdpSocket::bind(addr) {
                assert!(
                    Instant::now() < deadline,
                    "{addr} still held after DNS stopped: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let _ = std::fs::remove_dir_all(&dir);
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
        let v6 = |i: u16| IpAddr::V6(std::net::Ipv6Addr::new(0xfd13, 0, 0, 0, 0, 0, 7, i));
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
}

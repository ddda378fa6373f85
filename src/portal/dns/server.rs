//! The DNS server on UDP and TCP (`--dns ADDR`): sockets, the per-client
//! and total limits on TCP connections, and carrying out each packet's plan.

use super::forward::forward;
use super::plan::{error_reply, fit_udp, plan, Plan, MAX_UDP};
use super::wire::Rcode;
use crate::error::{Error, Result};
use crate::portal::clients::Clients;
use crate::portal::PortalConfig;
use crate::support::net::client_key;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
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
    let fail = |e| Error::Internal(format!("cannot listen for DNS on {addr}: {e}"));
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

/// Serves DNS on both sockets until the task is dropped.
pub async fn serve(udp: UdpSocket, tcp: TcpListener, portal: Arc<PortalConfig>, clients: Clients) {
    let answering = Answering { portal, clients };
    tokio::join!(serve_udp(udp, answering.clone()), serve_tcp(tcp, answering));
}

async fn serve_udp(socket: UdpSocket, answering: Answering) {
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
        let reply = match plan(
            packet,
            &answering.portal,
            answering.clients.is_accepted(peer.ip()),
        ) {
            Plan::Drop => continue,
            Plan::Reply(reply) => reply,
            Plan::Forward(query) => match forwards.clone().try_acquire_owned() {
                Ok(permit) => {
                    let (socket, answering, packet) =
                        (socket.clone(), answering.clone(), packet.to_vec());
                    tokio::spawn(async move {
                        let reply =
                            forward(&packet, &query, &answering.portal.upstreams, false).await;
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
        tokio::spawn(async move {
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
    use std::net::Ipv4Addr;

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

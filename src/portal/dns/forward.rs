//! Asking the upstream resolvers for an accepted client in internet mode,
//! with a fresh id and socket per query and a bounded wait.

use super::plan::error_reply;
use super::plan::MAX_UDP;
use super::server::write_framed;
use super::wire::{Message, Question, Rcode};
use crate::support::crypto;
use std::future::Future;
use std::net::SocketAddr;
use std::task::Poll;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpStream, UdpSocket};

/// A dead upstream gets the client a SERVFAIL after this, not a hang.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// Asks every upstream at once and relays the first valid answer; SERVFAIL
/// when none answers within `UPSTREAM_TIMEOUT` (or all fail sooner).
pub(super) async fn forward(
    packet: &[u8],
    query: &Message,
    upstreams: &[SocketAddr],
    tcp: bool,
) -> Vec<u8> {
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
    let question = &query.questions[0];
    // Polled in this task, not spawned: dropping the forward drops them,
    // and no task code exists for them.
    let mut asks: Vec<_> = upstreams
        .iter()
        .map(|&upstream| Box::pin(ask(upstream, &outgoing, id, question, tcp)))
        .collect();
    let first_answer = std::future::poll_fn(|cx| {
        let mut at = 0;
        while at < asks.len() {
            match asks[at].as_mut().poll(cx) {
                Poll::Pending => at += 1,
                Poll::Ready(Ok(reply)) => return Poll::Ready(Some(reply)),
                Poll::Ready(Err(e)) => {
                    log::debug!("upstream DNS: {e}");
                    drop(asks.swap_remove(at));
                }
            }
        }
        if asks.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    });
    match tokio::time::timeout(UPSTREAM_TIMEOUT, first_answer).await {
        Ok(Some(mut reply)) => {
            reply[..2].copy_from_slice(&query.id.to_be_bytes());
            reply
        }
        _ => error_reply(query, packet, Rcode::ServFail),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::dns::plan::query_packet;
    use crate::portal::dns::wire::{Record, CLASS_IN, TYPE_A};

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

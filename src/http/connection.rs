//! Limits on connections themselves: how many may be open in total and per
//! client, the quick refusal above them, and a write timeout so a client
//! that stops reading cannot hold a connection (and its file descriptor)
//! forever. Each connection costs one descriptor; these limits keep a flood
//! from one phone away from the ones the rest of the server needs.

pub use crate::config::ConnectionLimits;
use crate::support::i18n::Catalogue;
use crate::support::net::client_key;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// How often refusals are summed up in the log (one line, not one per refusal).
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ServerFull,
    ClientFull,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::ServerFull => "all connections in use",
            Refusal::ClientFull => "too many connections from this client",
        })
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    /// Only clients with open connections: at most `max_total` entries.
    per_client: HashMap<IpAddr, usize>,
}

/// Counts open connections and admits new ones while below the caps.
#[derive(Clone)]
pub struct Admission {
    max_total: usize,
    max_per_client: usize,
    counts: Arc<Mutex<Counts>>,
}

impl Admission {
    pub fn new(limits: &ConnectionLimits) -> Admission {
        Admission {
            max_total: limits.max_total,
            max_per_client: limits.max_per_client,
            counts: Arc::default(),
        }
    }

    /// A slot for one connection from `peer`, held until it is dropped.
    pub fn admit(&self, peer: IpAddr) -> std::result::Result<Slot, Refusal> {
        let client = client_key(peer);
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.total >= self.max_total {
            return Err(Refusal::ServerFull);
        }
        let open = counts.per_client.entry(client).or_insert(0);
        if *open >= self.max_per_client {
            return Err(Refusal::ClientFull);
        }
        *open += 1;
        counts.total += 1;
        Ok(Slot {
            counts: self.counts.clone(),
            client,
        })
    }

    #[cfg(test)]
    fn open(&self) -> (usize, usize) {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        (counts.total, counts.per_client.len())
    }
}

/// One admitted connection; dropping it frees its place.
pub struct Slot {
    counts: Arc<Mutex<Counts>>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(open) = counts.per_client.get_mut(&self.client) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                counts.per_client.remove(&self.client);
            }
        }
    }
}

/// Answers a refused connection with a short 503 and lets it close, without
/// ever waiting on the client: its send buffer is empty, so the answer fits.
pub fn refuse(stream: &TcpStream, refusal: Refusal, language: &Catalogue) {
    // Taking what the client already sent lets the close end with FIN, not
    // a reset that could destroy the answer before the client reads it.
    let mut scratch = [0u8; 4096];
    let _ = stream.try_read(&mut scratch);
    // Nothing of the request is read, so the venue's language is spoken.
    let body = match refusal {
        Refusal::ServerFull => language.text("connection.server_full"),
        Refusal::ClientFull => language.text("connection.client_full"),
    } + "\n";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// Logs refusals as one line a minute with their count, so a flood cannot
/// flood the log too.
pub struct RefusalLog {
    refused: u64,
    since: Instant,
}

impl RefusalLog {
    pub fn new() -> RefusalLog {
        RefusalLog {
            refused: 0,
            since: Instant::now(),
        }
    }

    pub fn note(&mut self, peer: IpAddr, refusal: Refusal) {
        log::debug!("refused a connection from {peer}: {refusal}");
        self.refused += 1;
        if self.since.elapsed() >= REFUSAL_LOG_INTERVAL {
            log::warn!(
                "refused {} connections in the last minute (latest from {peer}: {refusal})",
                self.refused
            );
            self.refused = 0;
            self.since = Instant::now();
        }
    }
}

/// A connection's I/O with a deadline on writes: when the client has taken
/// nothing for `timeout`, the write fails with `TimedOut` and the
/// connection is dropped. Any progress starts the wait afresh.
pub struct WriteTimeout<T> {
    inner: T,
    timeout: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteTimeout<T> {
    pub fn new(inner: T, timeout: Duration) -> WriteTimeout<T> {
        WriteTimeout {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// The connection itself, to wait for its requests without a buffer.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    fn deadline<R>(
        &mut self,
        cx: &mut Context<'_>,
        write: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if write.is_ready() {
            self.stalled = None;
            return write;
        }
        let timeout = self.timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let write = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.deadline(cx, write)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let write = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.deadline(cx, write)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flush = Pin::new(&mut this.inner).poll_flush(cx);
        this.deadline(cx, flush)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let shutdown = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.deadline(cx, shutdown)
    }
}

/// How far hyper got with a request lent to it alone (`Replay::one_request`).
#[derive(Default)]
pub struct Progress {
    answered: AtomicBool,
    sent: AtomicBool,
    read_whole: AtomicBool,
}

impl Progress {
    /// The service produced its answer.
    pub fn answer(&self) {
        self.answered.store(true, Ordering::Relaxed);
    }

    /// The answer is written out: hyper flushed after it.
    pub fn sent(&self) -> bool {
        self.sent.load(Ordering::Relaxed)
    }

    /// Hyper read the whole request, and nothing beyond it.
    pub fn read_whole(&self) -> bool {
        self.read_whole.load(Ordering::Relaxed)
    }
}

/// A connection's I/O with the bytes the lean reader (`lean`) already read
/// of it put back in front, for hyper: either the rest of the connection
/// (`new`), or one request lent to it (`one_request`).
pub struct Replay<T> {
    inner: T,
    prefix: Vec<u8>,
    taken: usize,
    /// For a lent request: how much more of it the connection holds (the
    /// rest of its body), and how far hyper got with it.
    lent: Option<(usize, Arc<Progress>)>,
}

impl<T> Replay<T> {
    /// Hyper's for good: `prefix`, then whatever the connection sends.
    pub fn new(prefix: Vec<u8>, inner: T) -> Replay<T> {
        Replay {
            inner,
            prefix,
            taken: 0,
            lent: None,
        }
    }

    /// Lent for one request: `prefix`, then at most `left` more bytes from
    /// the connection, then nothing, so hyper never reads past the request
    /// and the connection can be taken back once the answer is out.
    pub fn one_request(inner: T, prefix: Vec<u8>, left: usize, progress: Arc<Progress>) -> Self {
        progress
            .read_whole
            .store(prefix.is_empty() && left == 0, Ordering::Relaxed);
        Replay {
            inner,
            prefix,
            taken: 0,
            lent: Some((left, progress)),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Replay<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let rest = &this.prefix[this.taken..];
        if !rest.is_empty() {
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.taken += n;
            if this.taken == this.prefix.len() {
                // Its memory is not kept for the connection's life.
                this.prefix = Vec::new();
                this.taken = 0;
            }
        } else {
            match &mut this.lent {
                None => return Pin::new(&mut this.inner).poll_read(cx, buf),
                Some((left, _)) if *left > 0 => {
                    let room = buf.initialize_unfilled_to((*left).min(buf.remaining()));
                    let mut limited = ReadBuf::new(room);
                    std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, &mut limited))?;
                    let n = limited.filled().len();
                    if n == 0 {
                        // Closed mid-body: hyper sees it as such.
                        return Poll::Ready(Ok(()));
                    }
                    buf.advance(n);
                    *left -= n;
                }
                // The request is all read; whatever comes next is for the
                // lean reader, which takes the connection back after the answer.
                Some(_) => return Poll::Pending,
            }
        }
        if let Some((0, progress)) = &this.lent {
            if this.prefix.is_empty() {
                progress.read_whole.store(true, Ordering::Relaxed);
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Replay<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.inner).poll_flush(cx);
        // Hyper flushes the connection only once its own buffer is empty:
        // after the answer, that means all of it was written.
        if let Some((_, progress)) = &this.lent {
            if matches!(flushed, Poll::Ready(Ok(()))) && progress.answered.load(Ordering::Relaxed) {
                progress.sent.store(true, Ordering::Relaxed);
            }
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn limits(max_total: usize, max_per_client: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_total,
            max_per_client,
            write_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn caps_per_client_and_in_total_and_frees_places_on_drop() {
        let admission = Admission::new(&limits(3, 2));
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "10.0.0.3".parse().unwrap();
        let c: IpAddr = "10.0.0.4".parse().unwrap();
        let a1 = admission.admit(a).unwrap();
        let _a2 = admission.admit(a).unwrap();
        assert_eq!(admission.admit(a).err(), Some(Refusal::ClientFull));
        let _b1 = admission.admit(b).unwrap();
        assert_eq!(admission.admit(c).err(), Some(Refusal::ServerFull));
        drop(a1);
        let c1 = admission.admit(c).unwrap();
        drop(c1);
        assert_eq!(
            admission.open(),
            (2, 2),
            "c's entry is gone once it has no connection"
        );
    }

    #[test]
    fn a_write_the_reader_never_takes_times_out_and_one_it_takes_does_not() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let timeout = Duration::from_millis(200);
            let (near, _never_reads) = tokio::io::duplex(64);
            let mut io = WriteTimeout::new(near, timeout);
            let started = Instant::now();
            let error = io.write_all(&[0u8; 4096]).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::TimedOut);
            assert!(started.elapsed() >= timeout);

            let (near, mut far) = tokio::io::duplex(64);
            let mut io = WriteTimeout::new(near, timeout);
            let reader = tokio::spawn(async move {
                let mut taken = Vec::new();
                let mut buf = [0u8; 16];
                while taken.len() < 4096 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let n = far.read(&mut buf).await.unwrap();
                    taken.extend_from_slice(&buf[..n]);
                }
                taken.len()
            });
            // Slow but steady: 4 KiB in 16-byte steps takes far longer than
            // the timeout, yet never stalls for it.
            io.write_all(&[1u8; 4096]).await.unwrap();
            assert_eq!(reader.await.unwrap(), 4096);
        });
    }
}

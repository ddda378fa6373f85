//! HTTPS (feature `https`): the same routes as plain HTTP, over TLS 1.3
//! with the owner's certificate for the venue's domain, so phones can use
//! the RFC 8908 API that DHCP option 114 names (they accept only https).
//! Each connection is admitted within the same kind of limits as plain
//! HTTP, gets `HANDSHAKE_TIMEOUT` to finish its handshake, then is served
//! like any other.

use super::connection::{Admission, ConnectionLimits, WriteTimeout};
use super::server::{handle, READ_TIMEOUT};
use crate::app::App;
use crate::error::{Error, Result};
use crate::support::task;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A client must finish its TLS handshake within this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Certificates beyond this many in the chain file are a mistake, not a chain.
const MAX_CHAIN: usize = 8;

/// The server's TLS settings from the owner's PEM files: the certificate
/// chain (leaf first) and its private key.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>> {
    let bad = |what: &Path, e: &dyn std::fmt::Display| {
        Error::internal(format!("TLS: cannot read {}: {e}", what.display()))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, &e))?
        .take(MAX_CHAIN)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(cert, &e))?;
    if chain.is_empty() {
        return Err(bad(cert, &"no certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| Error::internal(format!("TLS: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts TLS connections for as long as the server runs (the process
/// ends them at the stop; API fetches and page loads are short).
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: App,
    limits: ConnectionLimits,
) {
    let acceptor = TlsAcceptor::from(tls);
    let admission = Admission::new(&limits);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(connection) => connection,
            Err(e) => {
                log::warn!("HTTPS accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = admission.admit(peer.ip()) else {
            // No plain-text refusal inside TLS: the connection just closes.
            continue;
        };
        super::server::no_delay(&stream, peer);
        let app = app.clone();
        let local = stream.local_addr().ok();
        let acceptor = acceptor.clone();
        let write_timeout = limits.write_timeout;
        task::spawn(async move {
            let handshake = acceptor.accept(WriteTimeout::new(stream, write_timeout));
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return log::debug!("TLS handshake with {peer}: {e}"),
                Err(_) => return log::debug!("TLS handshake with {peer}: too slow"),
            };
            let service = service_fn(move |req| handle(app.clone(), peer, local, req));
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                log::debug!("HTTPS connection from {peer}: {e}");
            }
            drop(slot);
        });
    }
}

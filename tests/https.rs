//! HTTPS mode (feature `https`, the orderspot-https package): with the
//! owner's certificate for the venue's domain, the RFC 8908 API is served
//! over TLS and a validating client accepts it. The test makes its own
//! certificate authority with the openssl command and asks with curl
//! `--cacert`; the domain is mapped to loopback with `--resolve`, and the
//! portal's DNS is asked for it too. Without a usable certificate there is
//! no HTTPS listener and the API keeps naming http:// URLs.
#![cfg(feature = "https")]

mod common;

use common::{Server, TempDir};
use orderspot::portal::dns::query_packet;
use orderspot::portal::dns::wire::{Message, TYPE_A};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const DOMAIN: &str = "order.venue.test";

fn run(what: &str, command: &mut Command) -> std::process::Output {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A CA and a leaf certificate for `DOMAIN` signed by it: (ca.pem,
/// chain.pem, key.pem) in `dir`.
fn test_ca(dir: &Path) {
    let openssl = |args: &[&str]| {
        run(
            &format!("openssl {}", args.join(" ")),
            Command::new("openssl").current_dir(dir).args(args),
        )
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=OrderSpot test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
        "-subj",
        &format!("/CN={DOMAIN}"),
    ]);
    std::fs::write(
        dir.join("leaf.ext"),
        format!("subjectAltName=DNS:{DOMAIN}\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    let chain = std::fs::read_to_string(dir.join("leaf.pem")).unwrap();
    std::fs::write(dir.join("chain.pem"), chain).unwrap();
}

/// The HTTPS address from the server's `serving HTTPS for NAME on ADDR` line.
fn https_address(server: &Server) -> SocketAddr {
    let mut found = None;
    server.wait_for_log("the HTTPS listener", |log| {
        found = log.lines().find_map(|line| {
            let rest = line.strip_prefix("orderspot info: serving HTTPS for ")?;
            rest.split(" on ").nth(1)?.trim().parse().ok()
        });
        found.is_some()
    });
    found.unwrap()
}

/// curl with the test CA (or none) for `https://DOMAIN:PORT/PATH`.
fn curl(addr: SocketAddr, path: &str, ca: Option<&Path>) -> std::process::Output {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "--max-time", "10", "--noproxy", "*", "--resolve"])
        .arg(format!("{DOMAIN}:{}:127.0.0.1", addr.port()))
        .arg(format!("https://{DOMAIN}:{}{path}", addr.port()));
    if let Some(ca) = ca {
        command.arg("--cacert").arg(ca);
    }
    command.output().expect("curl")
}

fn dns_a(server: &Server, name: &str) -> Vec<u8> {
    let mut dns = None;
    server.wait_for_log("the DNS listener", |log| {
        dns = log.lines().find_map(|line| {
            let rest = line.strip_prefix("orderspot info: DNS on ")?;
            rest.split(' ').next()?.parse::<SocketAddr>().ok()
        });
        dns.is_some()
    });
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
        .send_to(&query_packet(7, name, TYPE_A).unwrap(), dns.unwrap())
        .unwrap();
    let mut buf = [0u8; 512];
    let len = socket.recv(&mut buf).unwrap();
    Message::parse(&buf[..len]).unwrap().answers[0].data.clone()
}

#[test]
fn the_captive_api_is_served_over_https_with_the_owners_certificate() {
    let dir = TempDir::new("https");
    test_ca(&dir.path);
    let cert = dir.path.join("chain.pem").display().to_string();
    let key = dir.path.join("key.pem").display().to_string();
    let server = Server::start_demo_with(
        &[
            "--dns",
            "127.0.0.1:0",
            "--portal-ip",
            "127.0.0.1",
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-host",
            DOMAIN,
        ],
        None,
    );
    let https = https_address(&server);

    // A validating client trusts the chain for the domain.
    let ca = dir.path.join("ca.pem");
    let api = curl(https, "/captive-portal/api", Some(&ca));
    assert!(
        api.status.success(),
        "{}",
        String::from_utf8_lossy(&api.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&api.stdout).unwrap();
    assert_eq!(doc["captive"], true);
    assert_eq!(doc["user-portal-url"], format!("https://{DOMAIN}/welcome"));
    assert_eq!(doc["venue-info-url"], format!("https://{DOMAIN}/"));
    // The venue page answers over HTTPS too.
    let venue = curl(https, "/", Some(&ca));
    assert!(venue.status.success() && !venue.stdout.is_empty());
    // Without the CA the chain is not trusted: the client refuses.
    assert!(!curl(https, "/captive-portal/api", None).status.success());
    // The portal's DNS answers the domain with the portal's address.
    assert_eq!(dns_a(&server, DOMAIN), vec![127, 0, 0, 1]);
    let plain = server.get("/captive-portal/api", None);
    let plain: serde_json::Value = serde_json::from_str(&plain.text()).unwrap();
    assert_eq!(plain["venue-info-url"], format!("https://{DOMAIN}/"));
}

#[test]
fn without_a_usable_certificate_there_is_no_https() {
    let dir = TempDir::new("https-missing");
    let missing = dir.path.join("missing.pem").display().to_string();
    let server = Server::start_demo_with(
        &[
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-cert",
            &missing,
            "--tls-key",
            &missing,
            "--tls-host",
            DOMAIN,
        ],
        None,
    );
    server.wait_for_log("the TLS error", |log| log.contains("HTTPS is off"));
    assert!(!server.log().contains("serving HTTPS"), "{}", server.log());
    let api = server.get("/captive-portal/api", None);
    let doc: serde_json::Value = serde_json::from_str(&api.text()).unwrap();
    assert_eq!(doc["user-portal-url"], "http://order.lan/welcome");
    // Ordering over plain HTTP goes on.
    assert_eq!(server.get("/api/shops", None).status, 200);
}

//! The server's settings, finished before anything is built: the `serve`
//! flags merged with what follows from them (the firewall from its name,
//! connection caps fitted to the open-file limit). `App::open` builds everything from one `Config`,
//! and nothing is changed after.

use crate::error::{Code, Error, Result};
use crate::portal::clients::{self, ClientSettings};
use crate::portal::{dns, firewall, Mode, PortalConfig};
use clap::Args;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Descriptors kept for everything but HTTP connections and DNS: standard
/// streams, listeners, the runtime, SQLite's files (database, WAL and
/// shared memory per connection, temporary files), /dev/urandom, `nft` and
/// the connection being refused.
const RESERVED_DESCRIPTORS: u64 = 64;

/// The `serve` flags as clap reads them; `Config::from_args` finishes them.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address and port to listen on for HTTP
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// On an empty database, create a demo venue (owner, three shops, menus)
    /// and print its accounts
    #[arg(long)]
    pub demo: bool,

    /// Answer DNS for the captive portal on this address (UDP and TCP),
    /// e.g. 0.0.0.0:53; off unless given
    #[arg(long, value_name = "ADDR")]
    pub dns: Option<SocketAddr>,

    /// The portal's IPv4 address on the hotspot: the DNS answer for every
    /// name, and its /24 is the hotspot (never offered the first-run
    /// set-up); required with --dns
    #[arg(long, value_name = "IP")]
    pub portal_ip: Option<Ipv4Addr>,

    /// The portal's IPv6 address for AAAA answers (none: empty answers)
    #[arg(long, value_name = "IP")]
    pub portal_ip6: Option<Ipv6Addr>,

    /// The portal's own name; redirects point at http://NAME/
    #[arg(long, default_value = "order.lan", value_name = "NAME")]
    pub portal_host: String,

    /// local: no uplink, the portal answers phones' probes after
    /// acceptance; internet: accepted clients go out to the internet
    #[arg(long, default_value = "local", value_name = "local|internet")]
    pub mode: Mode,

    /// How long an acceptance lasts before the client sees the portal again
    #[arg(long, default_value = clients::DEFAULT_SESSION_MINUTES, value_name = "MINUTES",
          value_parser = clap::value_parser!(u32).range(1..=525_600))]
    pub session_minutes: u32,

    /// A resolver for accepted clients in internet mode (IP or IP:PORT;
    /// repeat for several, they are asked at once)
    #[arg(long = "upstream", value_name = "ADDR", value_parser = parse_upstream)]
    pub upstreams: Vec<SocketAddr>,

    /// Firewall backend: nft (the orderspot nftables table) or none
    #[arg(long, default_value = "none", value_parser = ["nft", "none"])]
    pub firewall: String,

    /// The kernel's ARP table, read for clients' MAC addresses
    #[arg(long, default_value = "/proc/net/arp", value_name = "PATH")]
    pub arp_path: PathBuf,

    /// Set the venue's name at start
    #[arg(long, value_name = "NAME")]
    pub venue_name: Option<String>,

    /// Most HTTP connections open at once; more are answered 503 at once.
    /// Lowered at start if the open-file limit cannot hold them
    #[arg(long, default_value = DEFAULT_MAX_CONNECTIONS, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Most HTTP connections open at once from one client address (an IPv6
    /// client: its /64)
    #[arg(long, default_value = DEFAULT_MAX_CONNECTIONS_PER_CLIENT, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections_per_client: u32,

    /// Drop a connection whose client has taken none of its answer for this long
    // A u32 as the counts above are: one clap parser (its code) serves all three.
    #[arg(long, default_value = DEFAULT_WRITE_TIMEOUT_SECS, value_name = "SECONDS",
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub write_timeout: u32,

    /// Serve HTTPS on this address (e.g. 0.0.0.0:8443) with --tls-cert,
    /// --tls-key and --tls-host
    #[cfg(feature = "https")]
    #[arg(long, value_name = "ADDR", requires_all = ["tls_cert", "tls_key", "tls_host"])]
    pub tls_listen: Option<SocketAddr>,

    /// The certificate chain for --tls-host (PEM, leaf first)
    #[cfg(feature = "https")]
    #[arg(long, value_name = "PATH", requires = "tls_listen")]
    pub tls_cert: Option<PathBuf>,

    /// The certificate's private key (PEM)
    #[cfg(feature = "https")]
    #[arg(long, value_name = "PATH", requires = "tls_listen")]
    pub tls_key: Option<PathBuf>,

    /// The venue's domain the certificate is for: resolves to the portal,
    /// and the RFC 8908 API's URLs are https://NAME/
    #[cfg(feature = "https")]
    #[arg(long, value_name = "NAME", requires = "tls_listen")]
    pub tls_host: Option<String>,
}

fn parse_upstream(text: &str) -> std::result::Result<SocketAddr, String> {
    text.parse::<SocketAddr>()
        .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| format!("{text:?} is not an IP address or IP:PORT"))
}

/// Everything `serve` runs with.
pub struct Config {
    /// Directory holding orderspot.db.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Seed a demo venue on an empty database.
    pub demo: bool,
    /// The venue's name, set at start.
    pub venue_name: Option<String>,
    pub portal: PortalConfig,
    pub clients: ClientSettings,
    /// Where DNS for the captive portal listens, if it does.
    pub dns: Option<SocketAddr>,
    pub connections: ConnectionLimits,
    /// Where HTTPS listens and with what certificate, if it does.
    #[cfg(feature = "https")]
    pub tls: Option<(SocketAddr, Arc<rustls::ServerConfig>)>,
}

impl Config {
    /// The flags checked and merged. Raises the open-file limit as far as
    /// the connection caps need.
    pub fn from_args(data_dir: PathBuf, args: ServeArgs) -> Result<Config> {
        // Only the hotspot's own address: a --listen address may well be
        // the LAN's, whose /24 would then count as the hotspot.
        let portal_ip = args.portal_ip;
        if args.dns.is_some() && portal_ip.is_none() {
            return Err(Error::bad(Code::Usage).with(
                "detail",
                "--dns needs --portal-ip (the address clients reach the portal on)",
            ));
        }
        if args.mode == Mode::Internet && args.upstreams.is_empty() {
            log::warn!("internet mode without --upstream: accepted clients' DNS gets SERVFAIL");
        }
        let connections = connection_limits(&args)?;
        #[cfg(feature = "https")]
        let (tls, secure_host) = https_settings(&args);
        #[cfg(not(feature = "https"))]
        let secure_host = None;
        Ok(Config {
            data_dir,
            listen: args.listen,
            demo: args.demo,
            portal: PortalConfig {
                host: crate::portal::host_name(&args.portal_host),
                ip: portal_ip,
                ip6: args.portal_ip6,
                mode: args.mode,
                upstreams: args.upstreams,
                secure_host,
            },
            clients: ClientSettings {
                session_minutes: i64::from(args.session_minutes),
                arp_path: args.arp_path,
                open_firewall: args.mode == Mode::Internet,
                firewall: match args.firewall.as_str() {
                    "nft" => Arc::new(firewall::Nft),
                    _ => Arc::new(firewall::NoFirewall),
                },
            },
            dns: args.dns,
            venue_name: args.venue_name,
            connections,
            #[cfg(feature = "https")]
            tls,
        })
    }
}

/// HTTPS's address and settings and the name it serves. A certificate
/// that cannot be used is logged and HTTPS left off: ordering over plain
/// HTTP goes on, and the API keeps naming http:// URLs.
#[cfg(feature = "https")]
type HttpsSettings = Option<(SocketAddr, Arc<rustls::ServerConfig>)>;

#[cfg(feature = "https")]
fn https_settings(args: &ServeArgs) -> (HttpsSettings, Option<String>) {
    let (Some(addr), Some(cert), Some(key), Some(host)) = (
        args.tls_listen,
        &args.tls_cert,
        &args.tls_key,
        &args.tls_host,
    ) else {
        return (None, None);
    };
    match crate::http::tls::load(cert, key) {
        Ok(tls) => (Some((addr, tls)), Some(crate::portal::host_name(host))),
        Err(e) => {
            log::error!("{e}: HTTPS is off");
            (None, None)
        }
    }
}

/// The connection caps from the flags, fitted to the open-file limit (raised
/// as far as they need first) minus what the rest of the server may use.
fn connection_limits(args: &ServeArgs) -> Result<ConnectionLimits> {
    let reserved = RESERVED_DESCRIPTORS
        + match args.dns {
            Some(_) => dns::max_descriptors(args.upstreams.len()),
            None => 0,
        };
    let wanted = u64::from(args.max_connections) + reserved;
    ConnectionLimits::fit(
        args.max_connections,
        args.max_connections_per_client,
        Duration::from_secs(args.write_timeout.into()),
        raise_file_limit(wanted)?,
        reserved,
    )
}

/// Raises the soft open-file limit towards `wanted` (never past the hard
/// limit, never lowering it): each connection holds a descriptor. Returns
/// the limit in force.
fn raise_file_limit(wanted: u64) -> Result<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| Error::Internal(format!("cannot read the open-file limit: {e}")))?;
    let target = wanted.min(hard).max(soft);
    if target == soft {
        log::info!("open-file limit {soft} (hard limit {hard})");
        return Ok(soft);
    }
    match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
        Ok(()) => {
            log::info!("open-file limit raised from {soft} to {target} (hard limit {hard})");
            Ok(target)
        }
        Err(e) => {
            log::warn!("cannot raise the open-file limit from {soft} to {target}: {e}");
            Ok(soft)
        }
    }
}

// The defaults as text, as clap takes them: formatting numbers for it
// would cost code at every start.
pub const DEFAULT_MAX_CONNECTIONS: &str = "1024";
/// A phone's browser opens about six connections, more with long-polls and
/// the captive-portal sheet beside the browser; a shop's tablet a few more.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: &str = "64";
pub const DEFAULT_WRITE_TIMEOUT_SECS: &str = "20";
/// Below this many connections the server could not serve a venue at all,
/// so start-up fails instead of running crippled.
const MIN_CONNECTIONS: u64 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_total: usize,
    pub max_per_client: usize,
    /// How long a write may wait for the client to take data before the
    /// connection is dropped.
    pub write_timeout: Duration,
}

impl ConnectionLimits {
    /// The configured caps, lowered so that open connections can never use
    /// up the descriptors the rest of the server needs (`reserved`).
    pub fn fit(
        max_total: u32,
        max_per_client: u32,
        write_timeout: Duration,
        file_limit: u64,
        reserved: u64,
    ) -> Result<ConnectionLimits> {
        let room = file_limit.saturating_sub(reserved);
        if room < MIN_CONNECTIONS {
            return Err(Error::Internal(format!(
                "the open-file limit ({file_limit}) leaves room for only {room} connections \
                 after the {reserved} descriptors the server keeps for itself; raise it \
                 (ulimit -n, or procd's nofile limit)"
            )));
        }
        let max_total = u64::from(max_total).min(room);
        let max_per_client = u64::from(max_per_client).min(max_total);
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(ConnectionLimits {
            max_total: size(max_total),
            max_per_client: size(max_per_client),
            write_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn config(flags: &[&str]) -> Result<Config> {
        let args = Serve::try_parse_from(std::iter::once("serve").chain(flags.iter().copied()))
            .unwrap()
            .args;
        Config::from_args(PathBuf::from("/nonexistent"), args)
    }

    #[test]
    fn a_specific_listen_address_does_not_make_its_network_the_hotspot() {
        let lan = config(&["--listen", "192.168.1.1:8080"]).unwrap();
        assert_eq!(lan.portal.ip, None);
        let client: IpAddr = "192.168.1.20".parse().unwrap();
        let local = Some(lan.listen.ip());
        assert!(crate::venue::setup::from_lan(
            client,
            local,
            lan.portal.ip,
            false
        ));

        let hotspot = config(&[
            "--listen",
            "192.168.1.1:8080",
            "--portal-ip",
            "192.168.51.1",
        ])
        .unwrap();
        assert_eq!(hotspot.portal.ip, Some(Ipv4Addr::new(192, 168, 51, 1)));
        assert!(crate::venue::setup::from_lan(
            client,
            local,
            hotspot.portal.ip,
            false
        ));
        let phone: IpAddr = "192.168.51.20".parse().unwrap();
        assert!(!crate::venue::setup::from_lan(
            phone,
            local,
            hotspot.portal.ip,
            false
        ));

        // DNS answers need the hotspot's address, never the listen one.
        assert!(config(&["--listen", "192.168.1.1:8080", "--dns", "192.168.1.1:5300"]).is_err());
    }

    #[test]
    fn fit_keeps_the_reserve_free_and_refuses_a_hopeless_limit() {
        let timeout = Duration::from_secs(20);
        let fitted = ConnectionLimits::fit(1024, 64, timeout, 4096, 100).unwrap();
        assert_eq!((fitted.max_total, fitted.max_per_client), (1024, 64));
        let fitted = ConnectionLimits::fit(1024, 64, timeout, 256, 64).unwrap();
        assert_eq!((fitted.max_total, fitted.max_per_client), (192, 64));
        let fitted = ConnectionLimits::fit(1024, 500, timeout, 256, 64).unwrap();
        assert_eq!(fitted.max_per_client, 192);
        assert!(ConnectionLimits::fit(1024, 64, timeout, 70, 64).is_err());
    }
}

//! The server's settings, finished before anything is built: the `serve`
//! flags merged with what follows from them (the firewall from its name,
//! connection caps fitted to the open-file limit). `App::open` builds everything from one `Config`,
//! and nothing is changed after.

use crate::error::{Code, Error, Result};
use crate::portal::clients::{self, ClientSettings};
use crate::portal::{dns, firewall, Mode, PortalConfig};
use clap::builder::ValueParser;
use clap::{value_parser, Arg, ArgAction, ArgMatches};
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
/// Each flag's help is in `FLAGS`.
#[derive(Debug, Clone)]
pub struct ServeArgs {
    pub listen: SocketAddr,
    pub demo: bool,
    pub dns: Option<SocketAddr>,
    pub portal_ip: Option<Ipv4Addr>,
    pub portal_ip6: Option<Ipv6Addr>,
    pub portal_host: String,
    pub mode: Mode,
    pub session_minutes: u32,
    pub upstreams: Vec<SocketAddr>,
    pub firewall: String,
    pub arp_path: PathBuf,
    pub venue_name: Option<String>,
    pub max_connections: u32,
    pub max_connections_per_client: u32,
    pub write_timeout: u32,
    #[cfg(feature = "https")]
    pub tls_listen: Option<SocketAddr>,
    #[cfg(feature = "https")]
    pub tls_cert: Option<PathBuf>,
    #[cfg(feature = "https")]
    pub tls_key: Option<PathBuf>,
    #[cfg(feature = "https")]
    pub tls_host: Option<String>,
}

/// One `serve` flag, as data: clap's derive wrote about 500 bytes of
/// builder code per flag on mips, these are built by one loop
/// (`ServeArgs::augment_args`). Ids are the fields' names.
struct Flag {
    id: &'static str,
    long: &'static str,
    value_name: &'static str,
    default: Option<&'static str>,
    help: &'static str,
    value: Value,
    requires: &'static [&'static str],
}

/// What a flag's value is read as.
enum Value {
    /// No value: the flag is on when given.
    Switch,
    Address,
    /// An address, the port 53 when none is given; may be repeated.
    Upstream,
    Ipv4,
    Ipv6,
    Text,
    Path,
    Mode,
    Firewall,
    /// A u32 in 1..=the given most (one clap parser for every count).
    Count(i64),
}

const FLAGS: &[Flag] = &[
    Flag {
        id: "listen",
        long: "listen",
        value_name: "ADDR",
        default: Some("0.0.0.0:8080"),
        help: "Address and port to listen on for HTTP",
        value: Value::Address,
        requires: &[],
    },
    Flag {
        id: "demo",
        long: "demo",
        value_name: "DEMO",
        default: None,
        help: "On an empty database, create a demo venue (owner, three shops, menus) \
               and print its accounts",
        value: Value::Switch,
        requires: &[],
    },
    Flag {
        id: "dns",
        long: "dns",
        value_name: "ADDR",
        default: None,
        help: "Answer DNS for the captive portal on this address (UDP and TCP), \
               e.g. 0.0.0.0:53; off unless given",
        value: Value::Address,
        requires: &[],
    },
    Flag {
        id: "portal_ip",
        long: "portal-ip",
        value_name: "IP",
        default: None,
        help: "The portal's IPv4 address on the hotspot: the DNS answer for every \
               name, and its /24 is the hotspot (never offered the first-run \
               set-up); required with --dns",
        value: Value::Ipv4,
        requires: &[],
    },
    Flag {
        id: "portal_ip6",
        long: "portal-ip6",
        value_name: "IP",
        default: None,
        help: "The portal's IPv6 address for AAAA answers (none: empty answers)",
        value: Value::Ipv6,
        requires: &[],
    },
    Flag {
        id: "portal_host",
        long: "portal-host",
        value_name: "NAME",
        default: Some("order.lan"),
        help: "The portal's own name; redirects point at http://NAME/",
        value: Value::Text,
        requires: &[],
    },
    Flag {
        id: "mode",
        long: "mode",
        value_name: "local|internet",
        default: Some("local"),
        help: "local: no uplink, the portal answers phones' probes after \
               acceptance; internet: accepted clients go out to the internet",
        value: Value::Mode,
        requires: &[],
    },
    Flag {
        id: "session_minutes",
        long: "session-minutes",
        value_name: "MINUTES",
        default: Some(clients::DEFAULT_SESSION_MINUTES),
        help: "How long an acceptance lasts before the client sees the portal again",
        value: Value::Count(525_600),
        requires: &[],
    },
    Flag {
        id: "upstreams",
        long: "upstream",
        value_name: "ADDR",
        default: None,
        help: "A resolver for accepted clients in internet mode (IP or IP:PORT; \
               repeat for several, they are asked at once)",
        value: Value::Upstream,
        requires: &[],
    },
    Flag {
        id: "firewall",
        long: "firewall",
        value_name: "FIREWALL",
        default: Some("none"),
        help: "Firewall backend: nft (the orderspot nftables table) or none",
        value: Value::Firewall,
        requires: &[],
    },
    Flag {
        id: "arp_path",
        long: "arp-path",
        value_name: "PATH",
        default: Some("/proc/net/arp"),
        help: "The kernel's ARP table, read for clients' MAC addresses",
        value: Value::Path,
        requires: &[],
    },
    Flag {
        id: "venue_name",
        long: "venue-name",
        value_name: "NAME",
        default: None,
        help: "Set the venue's name at start",
        value: Value::Text,
        requires: &[],
    },
    Flag {
        id: "max_connections",
        long: "max-connections",
        value_name: "N",
        default: Some(DEFAULT_MAX_CONNECTIONS),
        help: "Most HTTP connections open at once; more are answered 503 at once. \
               Lowered at start if the open-file limit cannot hold them",
        value: Value::Count(1_000_000),
        requires: &[],
    },
    Flag {
        id: "max_connections_per_client",
        long: "max-connections-per-client",
        value_name: "N",
        default: Some(DEFAULT_MAX_CONNECTIONS_PER_CLIENT),
        help: "Most HTTP connections open at once from one client address (an IPv6 \
               client: its /64)",
        value: Value::Count(1_000_000),
        requires: &[],
    },
    Flag {
        id: "write_timeout",
        long: "write-timeout",
        value_name: "SECONDS",
        default: Some(DEFAULT_WRITE_TIMEOUT_SECS),
        help: "Drop a connection whose client has taken none of its answer for this long",
        value: Value::Count(3600),
        requires: &[],
    },
    #[cfg(feature = "https")]
    Flag {
        id: "tls_listen",
        long: "tls-listen",
        value_name: "ADDR",
        default: None,
        help: "Serve HTTPS on this address (e.g. 0.0.0.0:8443) with --tls-cert, \
               --tls-key and --tls-host",
        value: Value::Address,
        requires: &["tls_cert", "tls_key", "tls_host"],
    },
    #[cfg(feature = "https")]
    Flag {
        id: "tls_cert",
        long: "tls-cert",
        value_name: "PATH",
        default: None,
        help: "The certificate chain for --tls-host (PEM, leaf first)",
        value: Value::Path,
        requires: &["tls_listen"],
    },
    #[cfg(feature = "https")]
    Flag {
        id: "tls_key",
        long: "tls-key",
        value_name: "PATH",
        default: None,
        help: "The certificate's private key (PEM)",
        value: Value::Path,
        requires: &["tls_listen"],
    },
    #[cfg(feature = "https")]
    Flag {
        id: "tls_host",
        long: "tls-host",
        value_name: "NAME",
        default: None,
        help: "The venue's domain the certificate is for: resolves to the portal, \
               and the RFC 8908 API's URLs are https://NAME/",
        value: Value::Text,
        requires: &["tls_listen"],
    },
];

impl Flag {
    fn arg(&self) -> Arg {
        let arg = Arg::new(self.id)
            .long(self.long)
            .value_name(self.value_name)
            .help(self.help)
            .requires_all(self.requires.iter().copied())
            .action(match self.value {
                Value::Switch => ArgAction::SetTrue,
                Value::Upstream => ArgAction::Append,
                _ => ArgAction::Set,
            });
        let arg = match self.default {
            Some(value) => arg.default_value(value),
            None => arg,
        };
        let parser: ValueParser = match self.value {
            Value::Switch => value_parser!(bool),
            Value::Address => value_parser!(SocketAddr).into(),
            Value::Upstream => ValueParser::new(parse_upstream),
            Value::Ipv4 => value_parser!(Ipv4Addr).into(),
            Value::Ipv6 => value_parser!(Ipv6Addr).into(),
            Value::Text => value_parser!(String),
            Value::Path => value_parser!(PathBuf),
            Value::Mode => value_parser!(Mode).into(),
            Value::Firewall => ["nft", "none"].into(),
            Value::Count(most) => value_parser!(u32).range(1..=most).into(),
        };
        arg.value_parser(parser)
    }
}

impl clap::Args for ServeArgs {
    fn augment_args(command: clap::Command) -> clap::Command {
        FLAGS
            .iter()
            .fold(command, |command, flag| command.arg(flag.arg()))
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

impl clap::FromArgMatches for ServeArgs {
    fn from_arg_matches(matches: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut matches.clone())
    }

    fn from_arg_matches_mut(matches: &mut ArgMatches) -> std::result::Result<Self, clap::Error> {
        Ok(ServeArgs {
            listen: given(matches, "listen")?,
            demo: given(matches, "demo")?,
            dns: matches.remove_one("dns"),
            portal_ip: matches.remove_one("portal_ip"),
            portal_ip6: matches.remove_one("portal_ip6"),
            portal_host: given(matches, "portal_host")?,
            mode: given(matches, "mode")?,
            session_minutes: given(matches, "session_minutes")?,
            upstreams: matches
                .remove_many("upstreams")
                .map(Iterator::collect)
                .unwrap_or_default(),
            firewall: given(matches, "firewall")?,
            arp_path: given(matches, "arp_path")?,
            venue_name: matches.remove_one("venue_name"),
            max_connections: given(matches, "max_connections")?,
            max_connections_per_client: given(matches, "max_connections_per_client")?,
            write_timeout: given(matches, "write_timeout")?,
            #[cfg(feature = "https")]
            tls_listen: matches.remove_one("tls_listen"),
            #[cfg(feature = "https")]
            tls_cert: matches.remove_one("tls_cert"),
            #[cfg(feature = "https")]
            tls_key: matches.remove_one("tls_key"),
            #[cfg(feature = "https")]
            tls_host: matches.remove_one("tls_host"),
        })
    }

    /// Every flag has a default or is optional, so the matches hold all
    /// of them: updating is reading afresh.
    fn update_from_arg_matches(
        &mut self,
        matches: &ArgMatches,
    ) -> std::result::Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// A flag clap always fills (a switch, or one with a default).
fn given<T: Clone + Send + Sync + 'static>(
    matches: &mut ArgMatches,
    id: &str,
) -> std::result::Result<T, clap::Error> {
    matches.remove_one(id).ok_or_else(|| not_provided(id))
}

/// Clap's own words for a flag missing from its matches.
fn not_provided(id: &str) -> clap::Error {
    clap::Error::raw(
        clap::error::ErrorKind::MissingRequiredArgument,
        format!("the following required argument was not provided: {id}"),
    )
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

//! The server's settings, finished before anything is built: the `serve`
//! flags merged with what follows from them (the firewall from its name,
//! connection caps fitted to the open-file limit). `App::open` builds everything from one `Config`,
//! and nothing is changed after.

use crate::cli::args::{Parsed, Stop};
use crate::error::{Code, Error, Result};
use crate::portal::clients::{self, ClientSettings, Target};
use crate::portal::{dns, firewall, Mode, PortalConfig};
use std::net::{AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::ParseIntError;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Descriptors kept for everything but HTTP connections and DNS: standard
/// streams, listeners, the runtime, SQLite's files (database, WAL and
/// shared memory per connection, temporary files), /dev/urandom, `nft` and
/// the connection being refused.
const RESERVED_DESCRIPTORS: u64 = 64;

/// The `serve` flags as read from the command line; `Config::from_args`
/// finishes them. Each flag's help is in `SERVE_FLAGS`.
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

/// One flag or positional argument of the command line, as data, read by
/// `cli::args`. The whole command line is `cli::CLI`.
pub(crate) struct Flag {
    /// The id the value is read by and, unless positional, the long name.
    name: &'static str,
    positional: bool,
    /// None for a switch, which takes no value.
    value_name: Option<&'static str>,
    /// Empty: none.
    help: &'static str,
    value: Value,
    default: Option<&'static str>,
    required: bool,
    /// Also accepted after the subcommands' names.
    global: bool,
    /// Flags it is only given with.
    requires: &'static [&'static str],
}

/// What a flag takes.
#[derive(Clone, Copy)]
pub(crate) enum Value {
    /// No value: the flag is on when given.
    Switch,
    /// Any bytes but none at all.
    Path,
    /// One of these words (listed in the help).
    OneOf(&'static [&'static str]),
    /// One value read by the function, whose error is printed after the value.
    One(Parse),
    /// As `One`, and the flag may be repeated.
    Many(Parse),
}

/// Reads a value as clap's parser for its type did, with the same error text.
pub(crate) type Parse = fn(&str) -> std::result::Result<Given, String>;

/// What a flag that takes a value gave, one type for all of them.
#[derive(Clone)]
pub(crate) enum Given {
    Address(SocketAddr),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    Text(String),
    Path(PathBuf),
    Count(u32),
    Mode(Mode),
    Level(log::LevelFilter),
    Target(Target),
}

impl Flag {
    /// `--name VALUE_NAME`; `help` may be empty.
    pub(crate) const fn long(
        name: &'static str,
        value_name: &'static str,
        value: Value,
        help: &'static str,
    ) -> Flag {
        Flag {
            name,
            positional: false,
            value_name: Some(value_name),
            help,
            value,
            default: None,
            required: false,
            global: false,
            requires: &[],
        }
    }

    /// `--name`, off unless given.
    pub(crate) const fn switch(name: &'static str, help: &'static str) -> Flag {
        Flag {
            value_name: None,
            ..Flag::long(name, "", Value::Switch, help)
        }
    }

    /// A required argument by its place, `VALUE_NAME` in the usage.
    pub(crate) const fn positional(
        name: &'static str,
        value_name: &'static str,
        value: Value,
    ) -> Flag {
        Flag {
            positional: true,
            required: true,
            ..Flag::long(name, value_name, value, "")
        }
    }

    pub(crate) const fn default(self, value: &'static str) -> Flag {
        Flag {
            default: Some(value),
            ..self
        }
    }

    pub(crate) const fn required(self) -> Flag {
        Flag {
            required: true,
            ..self
        }
    }

    pub(crate) const fn global(self) -> Flag {
        Flag {
            global: true,
            ..self
        }
    }

    /// Only together with the flags named.
    #[cfg(feature = "https")]
    const fn requires(self, names: &'static [&'static str]) -> Flag {
        Flag {
            requires: names,
            ..self
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn value(&self) -> Value {
        self.value
    }

    pub(crate) fn default_value(&self) -> Option<&'static str> {
        self.default
    }

    pub(crate) fn requirements(&self) -> &'static [&'static str] {
        self.requires
    }

    pub(crate) fn is_positional(&self) -> bool {
        self.positional
    }

    pub(crate) fn is_global(&self) -> bool {
        self.global
    }

    pub(crate) fn is_required(&self) -> bool {
        self.required
    }

    /// How it is typed: `--listen <ADDR>`, `--demo`, `<FILE>`.
    pub(crate) fn typed(&self) -> String {
        match (self.positional, self.value_name) {
            (true, name) => format!("<{}>", name.unwrap_or(self.name)),
            (false, Some(name)) => format!("--{} <{name}>", self.name),
            (false, None) => format!("--{}", self.name),
        }
    }

    /// What it does in the help, with its default and the words it takes,
    /// as clap's help wrote them.
    pub(crate) fn help_text(&self) -> String {
        let mut text = self.help.to_owned();
        match self.default {
            Some(value) if value.contains(' ') => text.push_str(&format!(" [default: {value:?}]")),
            Some(value) => text.push_str(&format!(" [default: {value}]")),
            None => {}
        }
        if let Value::OneOf(words) = self.value {
            text.push_str(&format!(" [possible values: {}]", words.join(", ")));
        }
        text.trim_start().to_owned()
    }
}

// The parsers of `Value::One` and `Value::Many`, one per type: each gives
// the error text clap's parser for the type gave (the type's `FromStr`'s,
// clap's own for a number out of range).

fn address(text: &str) -> std::result::Result<Given, String> {
    text.parse()
        .map(Given::Address)
        .map_err(|e: AddrParseError| e.to_string())
}

/// An address, the port 53 when none is given.
fn upstream(text: &str) -> std::result::Result<Given, String> {
    text.parse::<SocketAddr>()
        .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map(Given::Address)
        .map_err(|_| format!("{text:?} is not an IP address or IP:PORT"))
}

fn ipv4(text: &str) -> std::result::Result<Given, String> {
    text.parse()
        .map(Given::Ipv4)
        .map_err(|e: AddrParseError| e.to_string())
}

fn ipv6(text: &str) -> std::result::Result<Given, String> {
    text.parse()
        .map(Given::Ipv6)
        .map_err(|e: AddrParseError| e.to_string())
}

/// Any UTF-8 text, empty too.
pub(crate) fn text(text: &str) -> std::result::Result<Given, String> {
    Ok(Given::Text(text.to_owned()))
}

fn mode(text: &str) -> std::result::Result<Given, String> {
    text.parse().map(Given::Mode)
}

pub(crate) fn level(text: &str) -> std::result::Result<Given, String> {
    text.parse()
        .map(Given::Level)
        .map_err(|e: log::ParseLevelError| e.to_string())
}

pub(crate) fn target(text: &str) -> std::result::Result<Given, String> {
    text.parse().map(Given::Target)
}

/// Minutes, up to a year.
pub(crate) fn minutes(text: &str) -> std::result::Result<Given, String> {
    count(text, 525_600)
}

fn connections(text: &str) -> std::result::Result<Given, String> {
    count(text, 1_000_000)
}

/// Seconds, up to an hour.
fn seconds(text: &str) -> std::result::Result<Given, String> {
    count(text, 3600)
}

/// A whole number in 1..=most, read as clap's `value_parser!(u32).range`
/// read it: as an i64 first, so that a negative number gets the range error.
fn count(text: &str, most: u32) -> std::result::Result<Given, String> {
    let n: i64 = text.parse().map_err(|e: ParseIntError| e.to_string())?;
    match u32::try_from(n) {
        Ok(n) if (1..=most).contains(&n) => Ok(Given::Count(n)),
        _ => Err(format!("{n} is not in 1..={most}")),
    }
}

// What a flag gave, as its type. `None` when it gave another (never: each
// flag has one parser).
impl Given {
    fn address(self) -> Option<SocketAddr> {
        match self {
            Given::Address(address) => Some(address),
            _ => None,
        }
    }

    fn ipv4(self) -> Option<Ipv4Addr> {
        match self {
            Given::Ipv4(ip) => Some(ip),
            _ => None,
        }
    }

    fn ipv6(self) -> Option<Ipv6Addr> {
        match self {
            Given::Ipv6(ip) => Some(ip),
            _ => None,
        }
    }

    pub(crate) fn text(self) -> Option<String> {
        match self {
            Given::Text(text) => Some(text),
            _ => None,
        }
    }

    pub(crate) fn path(self) -> Option<PathBuf> {
        match self {
            Given::Path(path) => Some(path),
            _ => None,
        }
    }

    pub(crate) fn count(self) -> Option<u32> {
        match self {
            Given::Count(n) => Some(n),
            _ => None,
        }
    }

    fn mode(self) -> Option<Mode> {
        match self {
            Given::Mode(mode) => Some(mode),
            _ => None,
        }
    }

    pub(crate) fn level(self) -> Option<log::LevelFilter> {
        match self {
            Given::Level(level) => Some(level),
            _ => None,
        }
    }

    pub(crate) fn target(self) -> Option<Target> {
        match self {
            Given::Target(target) => Some(target),
            _ => None,
        }
    }
}

/// What flag `name` gave, as `T`, if it was given.
fn optional<T>(parsed: &mut Parsed, name: &str, as_type: fn(Given) -> Option<T>) -> Option<T> {
    parsed.take(name).and_then(as_type)
}

/// What flag `name` gave, as `T`: one always filled (it has a default or
/// is required), so missing it is a mistake of the table.
pub(crate) fn required<T>(
    parsed: &mut Parsed,
    name: &str,
    as_type: fn(Given) -> Option<T>,
) -> std::result::Result<T, Stop> {
    optional(parsed, name, as_type).ok_or_else(|| {
        let message = format!("the following required argument was not provided: {name}");
        Stop::error(&message, None)
    })
}

/// The `serve` flags, in the order the help lists them.
pub(crate) const SERVE_FLAGS: &[Flag] = &[
    Flag::long(
        "listen",
        "ADDR",
        Value::One(address),
        "Address and port to listen on for HTTP",
    )
    .default("0.0.0.0:8080"),
    Flag::switch(
        "demo",
        "On an empty database, create a demo venue (owner, three shops, menus) \
         and print its accounts",
    ),
    Flag::long(
        "dns",
        "ADDR",
        Value::One(address),
        "Answer DNS for the captive portal on this address (UDP and TCP), \
         e.g. 0.0.0.0:53; off unless given",
    ),
    Flag::long(
        "portal-ip",
        "IP",
        Value::One(ipv4),
        "The portal's IPv4 address on the hotspot: the DNS answer for every \
         name, and its /24 is the hotspot (never offered the first-run \
         set-up); required with --dns",
    ),
    Flag::long(
        "portal-ip6",
        "IP",
        Value::One(ipv6),
        "The portal's IPv6 address for AAAA answers (none: empty answers)",
    ),
    Flag::long(
        "portal-host",
        "NAME",
        Value::One(text),
        "The portal's own name; redirects point at http://NAME/",
    )
    .default("order.lan"),
    Flag::long(
        "mode",
        "local|internet",
        Value::One(mode),
        "local: no uplink, the portal answers phones' probes after \
         acceptance; internet: accepted clients go out to the internet",
    )
    .default("local"),
    Flag::long(
        "session-minutes",
        "MINUTES",
        Value::One(minutes),
        "How long an acceptance lasts before the client sees the portal again",
    )
    .default(clients::DEFAULT_SESSION_MINUTES),
    Flag::long(
        "upstream",
        "ADDR",
        Value::Many(upstream),
        "A resolver for accepted clients in internet mode (IP or IP:PORT; \
         repeat for several, they are asked at once)",
    ),
    Flag::long(
        "firewall",
        "FIREWALL",
        Value::OneOf(&["nft", "none"]),
        "Firewall backend: nft (the orderspot nftables table) or none",
    )
    .default("none"),
    Flag::long(
        "arp-path",
        "PATH",
        Value::Path,
        "The kernel's ARP table, read for clients' MAC addresses",
    )
    .default("/proc/net/arp"),
    Flag::long(
        "venue-name",
        "NAME",
        Value::One(text),
        "Set the venue's name at start",
    ),
    Flag::long(
        "max-connections",
        "N",
        Value::One(connections),
        "Most HTTP connections open at once; more are answered 503 at once. \
         Lowered at start if the open-file limit cannot hold them",
    )
    .default(DEFAULT_MAX_CONNECTIONS),
    Flag::long(
        "max-connections-per-client",
        "N",
        Value::One(connections),
        "Most HTTP connections open at once from one client address (an IPv6 \
         client: its /64)",
    )
    .default(DEFAULT_MAX_CONNECTIONS_PER_CLIENT),
    Flag::long(
        "write-timeout",
        "SECONDS",
        Value::One(seconds),
        "Drop a connection whose client has taken none of its answer for this long",
    )
    .default(DEFAULT_WRITE_TIMEOUT_SECS),
    #[cfg(feature = "https")]
    Flag::long(
        "tls-listen",
        "ADDR",
        Value::One(address),
        "Serve HTTPS on this address (e.g. 0.0.0.0:8443) with --tls-cert, \
         --tls-key and --tls-host",
    )
    .requires(&["tls-cert", "tls-key", "tls-host"]),
    #[cfg(feature = "https")]
    Flag::long(
        "tls-cert",
        "PATH",
        Value::Path,
        "The certificate chain for --tls-host (PEM, leaf first)",
    )
    .requires(&["tls-listen"]),
    #[cfg(feature = "https")]
    Flag::long(
        "tls-key",
        "PATH",
        Value::Path,
        "The certificate's private key (PEM)",
    )
    .requires(&["tls-listen"]),
    #[cfg(feature = "https")]
    Flag::long(
        "tls-host",
        "NAME",
        Value::One(text),
        "The venue's domain the certificate is for: resolves to the portal, \
         and the RFC 8908 API's URLs are https://NAME/",
    )
    .requires(&["tls-listen"]),
];

impl ServeArgs {
    /// The flags `serve` was given, defaults filled in.
    pub(crate) fn from_parsed(parsed: &mut Parsed) -> std::result::Result<ServeArgs, Stop> {
        Ok(ServeArgs {
            listen: required(parsed, "listen", Given::address)?,
            demo: parsed.has("demo"),
            dns: optional(parsed, "dns", Given::address),
            portal_ip: optional(parsed, "portal-ip", Given::ipv4),
            portal_ip6: optional(parsed, "portal-ip6", Given::ipv6),
            portal_host: required(parsed, "portal-host", Given::text)?,
            mode: required(parsed, "mode", Given::mode)?,
            session_minutes: required(parsed, "session-minutes", Given::count)?,
            upstreams: parsed
                .take_all("upstream")
                .into_iter()
                .filter_map(Given::address)
                .collect(),
            firewall: required(parsed, "firewall", Given::text)?,
            arp_path: required(parsed, "arp-path", Given::path)?,
            venue_name: optional(parsed, "venue-name", Given::text),
            max_connections: required(parsed, "max-connections", Given::count)?,
            max_connections_per_client: required(
                parsed,
                "max-connections-per-client",
                Given::count,
            )?,
            write_timeout: required(parsed, "write-timeout", Given::count)?,
            #[cfg(feature = "https")]
            tls_listen: optional(parsed, "tls-listen", Given::address),
            #[cfg(feature = "https")]
            tls_cert: optional(parsed, "tls-cert", Given::path),
            #[cfg(feature = "https")]
            tls_key: optional(parsed, "tls-key", Given::path),
            #[cfg(feature = "https")]
            tls_host: optional(parsed, "tls-host", Given::text),
        })
    }
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
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| {
        let e = crate::support::os_error(e);
        Error::internal(format!("cannot read the open-file limit: {e}"))
    })?;
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
            let e = crate::support::os_error(e);
            log::warn!("cannot raise the open-file limit from {soft} to {target}: {e}");
            Ok(soft)
        }
    }
}

// The defaults as text, as the command line gives values: formatting
// numbers for it would cost code at every start.
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
            return Err(Error::internal(format!(
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

    fn config(flags: &[&str]) -> Result<Config> {
        let words = std::iter::once("serve").chain(flags.iter().copied());
        let mut parsed = crate::cli::parse_words(words).unwrap();
        let args = ServeArgs::from_parsed(&mut parsed).unwrap();
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

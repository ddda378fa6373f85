//! The command line: `serve` runs the venue; `admin` manages accounts on the
//! same database without a running server.

use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::portal::clients::{self, ClientSettings, Clients, Target};
use crate::portal::{Mode, PortalConfig};
use crate::{accounts, db, http, portal::dns, portal::firewall, support::crypto, venue::demo};
use clap::{Args, Parser, Subcommand};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Descriptors kept for everything but HTTP connections and DNS: standard
/// streams, listeners, the runtime, SQLite's files (database, WAL and
/// shared memory per connection, temporary files), /dev/urandom, `nft` and
/// the connection being refused.
const RESERVED_DESCRIPTORS: u64 = 64;

#[derive(Parser, Debug)]
#[command(
    name = "orderspot",
    version,
    about = "A venue's whole ordering system in one small binary",
    long_about = "OrderSpot serves the ordering web app for customers, shopkeepers and the \
                  venue owner from one SQLite file, with live order status by HTTP long-poll."
)]
pub struct Cli {
    /// Directory holding orderspot.db
    #[arg(
        long,
        global = true,
        default_value = "./orderspot-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Least severe log messages to print: error, warn, info, debug, trace
    #[arg(long, global = true, default_value = "info", value_name = "LEVEL")]
    pub log_level: log::LevelFilter,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the ordering server
    Serve(ServeArgs),
    /// Manage owner and shopkeeper accounts
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Wi-Fi clients of the captive portal (works while `serve` runs)
    #[command(subcommand)]
    Clients(ClientsCommand),
}

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

    /// The portal's IPv4 address: the DNS answer for every name
    /// (default: the --listen address if it is a specific one)
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
    #[arg(long, default_value_t = clients::DEFAULT_SESSION_MINUTES, value_name = "MINUTES",
          value_parser = clap::value_parser!(i64).range(1..=525_600))]
    pub session_minutes: i64,

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
    #[arg(long, default_value_t = http::DEFAULT_MAX_CONNECTIONS, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Most HTTP connections open at once from one client address (an IPv6
    /// client: its /64)
    #[arg(long, default_value_t = http::DEFAULT_MAX_CONNECTIONS_PER_CLIENT, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections_per_client: u32,

    /// Drop a connection whose client has taken none of its answer for this long
    #[arg(long, default_value_t = http::DEFAULT_WRITE_TIMEOUT_SECS, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub write_timeout: u64,
}

#[derive(Subcommand, Debug)]
pub enum ClientsCommand {
    /// Every client: IP, MAC, first and last seen, acceptance
    List,
    /// Let a client (IP or MAC) past the portal; a running server applies
    /// it within seconds
    Allow {
        target: Target,
        #[arg(long, default_value_t = clients::DEFAULT_SESSION_MINUTES,
              value_parser = clap::value_parser!(i64).range(1..=525_600))]
        minutes: i64,
    },
    /// Send a client (IP or MAC) back to the portal
    Deny { target: Target },
}

fn parse_upstream(text: &str) -> std::result::Result<SocketAddr, String> {
    text.parse::<SocketAddr>()
        .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| format!("{text:?} is not an IP address or IP:PORT"))
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create the venue owner's account (password read from stdin)
    CreateOwner {
        #[arg(long)]
        email: String,
        /// Name shown in the order history
        #[arg(long, default_value = "Venue owner")]
        name: String,
        /// Read the password from standard input (required)
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set a new password for an account and log it out everywhere
    ResetPassword {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required)
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::support::logger::init(cli.log_level);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orderspot: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(cli.data_dir, args),
        Command::Admin(command) => admin(cli.data_dir, command),
        Command::Clients(command) => clients_command(cli.data_dir, command),
    }
}

fn serve(data_dir: PathBuf, args: ServeArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start runtime: {e}")))?;
    crypto::init()?;
    let limits = connection_limits(&args)?;
    runtime.block_on(async {
        let mut app = App::open(&data_dir).await?;
        start_portal(&mut app, &args).await?;
        if args.demo && app.db.write(|tx| demo::seed(tx)).await? {
            eprint!("{}", demo::accounts_text());
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Error::Internal(format!("cannot listen on {}: {e}", args.listen)))?;
        log::info!(
            "serving {} on http://{} (data in {})",
            app.venue().name,
            listener.local_addr().unwrap_or(args.listen),
            data_dir.display()
        );
        log::info!(
            "at most {} connections, {} per client; writes time out after {} s",
            limits.max_total,
            limits.max_per_client,
            limits.write_timeout.as_secs()
        );
        http::serve(listener, app, limits, shutdown_signal()).await;
        log::info!("stopped");
        Ok(())
    })
}

/// The connection caps from the flags, fitted to the open-file limit (raised
/// as far as they need first) minus what the rest of the server may use.
fn connection_limits(args: &ServeArgs) -> Result<http::ConnectionLimits> {
    let reserved = RESERVED_DESCRIPTORS
        + match args.dns {
            Some(_) => dns::max_descriptors(args.upstreams.len()),
            None => 0,
        };
    let wanted = u64::from(args.max_connections) + reserved;
    http::ConnectionLimits::fit(
        args.max_connections,
        args.max_connections_per_client,
        Duration::from_secs(args.write_timeout),
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

/// Configures the captive portal from the flags: clients and firewall
/// restored from the database, DNS started if asked for.
async fn start_portal(app: &mut App, args: &ServeArgs) -> Result<()> {
    let portal_ip = args.portal_ip.or(match args.listen.ip() {
        IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
        _ => None,
    });
    if args.dns.is_some() && portal_ip.is_none() {
        return Err(Error::bad(Code::Usage).with(
            "detail",
            "--dns needs --portal-ip (the address clients reach the portal on)",
        ));
    }
    if args.mode == Mode::Internet && args.upstreams.is_empty() {
        log::warn!("internet mode without --upstream: accepted clients' DNS gets SERVFAIL");
    }
    app.portal = std::sync::Arc::new(PortalConfig {
        host: crate::portal::host_name(&args.portal_host),
        ip: portal_ip,
        ip6: args.portal_ip6,
        mode: args.mode,
        upstreams: args.upstreams.clone(),
    });
    app.clients = Clients::new(
        app.db.clone(),
        ClientSettings {
            session_minutes: args.session_minutes,
            arp_path: args.arp_path.clone(),
            open_firewall: args.mode == Mode::Internet,
            firewall: match args.firewall.as_str() {
                "nft" => Box::new(firewall::Nft),
                _ => Box::new(firewall::NoFirewall),
            },
        },
    );
    if let Some(name) = &args.venue_name {
        app.set_venue(crate::app::Venue {
            name: name.clone(),
            ..app.venue()
        })
        .await?;
    }
    let accepted = app.clients.restore().await?;
    log::info!("{accepted} accepted Wi-Fi clients restored");
    tokio::spawn(app.clients.clone().keep_in_sync());
    if let Some(addr) = args.dns {
        let (udp, tcp) = dns::bind(addr).await?;
        // The bound addresses, not the asked-for one: with port 0 (tests)
        // this line is how anyone learns where DNS listens.
        let bound = |local: std::io::Result<SocketAddr>| local.unwrap_or(addr);
        log::info!(
            "DNS on {} (UDP), {} (TCP), {:?} mode",
            bound(udp.local_addr()),
            bound(tcp.local_addr()),
            args.mode
        );
        tokio::spawn(dns::serve(udp, tcp, app.clone()));
    }
    log::info!(
        "captive portal http://{}/ (DHCP option 114: {})",
        app.portal.host,
        app.portal.api_url()
    );
    Ok(())
}

/// SIGTERM (procd's stop) or Ctrl-C.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            log::warn!("cannot wait for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = ctrl_c => {}
            }
        }
        Err(e) => {
            log::warn!("cannot handle SIGTERM, only Ctrl-C stops the server: {e}");
            ctrl_c.await;
        }
    }
}

fn admin(data_dir: PathBuf, command: AdminCommand) -> Result<()> {
    let conn = db::open_one(&data_dir)?;
    match command {
        AdminCommand::CreateOwner { email, name, .. } => {
            accounts::create_owner(&conn, &email, &name, &read_password()?)?;
            println!("owner account {email} created");
        }
        AdminCommand::ResetPassword { email, .. } => {
            accounts::reset_password(&conn, &email, &read_password()?)?;
            println!("password of {email} changed; its sessions were ended");
        }
    }
    Ok(())
}

/// The first line of stdin, so `echo pw | orderspot admin …` works.
fn read_password() -> Result<String> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| {
        Error::bad(Code::Usage).with(
            "detail",
            format!("cannot read the password from stdin: {e}"),
        )
    })?;
    Ok(input.lines().next().unwrap_or("").to_string())
}

fn clients_command(data_dir: PathBuf, command: ClientsCommand) -> Result<()> {
    let conn = db::open_one(&data_dir)?;
    let now = crate::support::time::now_ms();
    match command {
        ClientsCommand::List => print!("{}", clients::list_text(&conn, now)?),
        ClientsCommand::Allow { target, minutes } => {
            clients::allow(&conn, &target, now, minutes)?;
            println!("{target} allowed for {minutes} minutes");
        }
        ClientsCommand::Deny { target } => {
            clients::deny(&conn, &target)?;
            println!("{target} sent back to the portal");
        }
    }
    Ok(())
}

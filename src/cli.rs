//! The command line: `serve` runs the venue; `admin` manages accounts on the
//! same database without a running server; `backup` and `restore`.

use crate::app::App;
use crate::config::{Config, ServeArgs};
use crate::error::{Code, Error, Result};
use crate::portal::clients::{self, Target};
use crate::support::{crypto, task};
use crate::venue::audit::{self, Actor, Entry};
use crate::venue::{backup, demo, retention};
use crate::{accounts, db, http, ordering, portal::dns};
use clap::{Parser, Subcommand};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// `group(skip)` here and on the variants below: the derive's argument
// group per struct (never required, nothing refers to it) cost about
// 300 bytes of builder code each.
#[derive(Parser, Debug)]
#[group(skip)]
#[command(
    name = "orderspot",
    version,
    about = "A venue's whole ordering system in one small binary",
    long_about = "OrderSpot serves the ordering web app for customers, shopkeepers and the \
                  venue owner from one SQLite file, with live order status by HTTP long-poll."
)]
pub(crate) struct Cli {
    /// Directory holding orderspot.db
    #[arg(
        long,
        global = true,
        default_value = "./orderspot-data",
        value_name = "DIR"
    )]
    pub(crate) data_dir: PathBuf,

    /// Least severe log messages to print: error, warn, info, debug, trace
    #[arg(long, global = true, default_value = "info", value_name = "LEVEL")]
    pub(crate) log_level: log::LevelFilter,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the ordering server
    Serve(Box<ServeArgs>),
    /// Manage owner and shopkeeper accounts
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Wi-Fi clients of the captive portal (works while `serve` runs)
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Write a consistent copy of the database to FILE (works while `serve` runs)
    #[group(skip)]
    Backup { file: PathBuf },
    /// Replace the database with the backup in FILE, after checking it
    /// (only while the server is stopped)
    #[group(skip)]
    Restore { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ClientsCommand {
    /// Every client: IP, MAC, first and last seen, acceptance
    List,
    /// Let a client (IP or MAC) past the portal; a running server applies
    /// it within seconds
    #[group(skip)]
    Allow {
        target: Target,
        #[arg(long, default_value = clients::DEFAULT_SESSION_MINUTES,
              value_parser = clap::value_parser!(u32).range(1..=525_600))]
        minutes: u32,
    },
    /// Send a client (IP or MAC) back to the portal
    #[group(skip)]
    Deny { target: Target },
}

#[derive(Subcommand, Debug)]
pub(crate) enum AdminCommand {
    /// Create the venue owner's account (password read from stdin)
    #[group(skip)]
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
    #[group(skip)]
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
        Command::Serve(args) => serve(cli.data_dir, *args),
        Command::Admin(command) => admin(cli.data_dir, command),
        Command::Clients(command) => clients_command(cli.data_dir, command),
        Command::Backup { file } => backup_command(&cli.data_dir, &file),
        Command::Restore { file } => restore_command(&cli.data_dir, &file),
    }
}

/// The database's four connections, two password hashes and a photo or
/// backup at once.
const BLOCKING_THREADS: usize = 8;

fn serve(data_dir: PathBuf, args: ServeArgs) -> Result<()> {
    // Database work runs on blocking threads: a few more than the
    // database has connections is enough, and a burst must not leave
    // hundreds of idle threads (and their malloc arenas) behind.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start runtime: {e}")))?;
    crypto::init()?;
    let config = Config::from_args(data_dir, args)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        Error::Internal(format!("cannot create {}: {e}", config.data_dir.display()))
    })?;
    // Held while serving: `restore` refuses to replace a database in use.
    let _lock = backup::lock(&config.data_dir)?;
    runtime.block_on(async {
        let app = App::open(&config).await?;
        start_portal(&app, &config).await?;
        let clock = app.clone();
        task::spawn(ordering::windows::follow(app.data.clone(), move || {
            clock.venue().minute_of_day(crate::support::time::now_ms())
        }));
        let settings = app.clone();
        task::spawn(retention::follow(app.data.clone(), move || {
            settings.venue()
        }));
        if config.demo && app.data.db.write(|tx| demo::seed(tx)).await? {
            eprint!("{}", demo::accounts_text());
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::Internal(format!("cannot listen on {}: {e}", config.listen)))?;
        log::info!(
            "serving {} on http://{} (data in {})",
            app.venue().name,
            listener.local_addr().unwrap_or(config.listen),
            config.data_dir.display()
        );
        let limits = config.connections;
        log::info!(
            "at most {} connections, {} per client; writes time out after {} s",
            limits.max_total,
            limits.max_per_client,
            limits.write_timeout.as_secs()
        );
        #[cfg(feature = "https")]
        if let Some((addr, tls)) = config.tls.clone() {
            let tls_listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Error::Internal(format!("cannot listen on {addr}: {e}")))?;
            log::info!(
                "serving HTTPS for {} on {}",
                app.portal.secure_host.as_deref().unwrap_or_default(),
                tls_listener.local_addr().unwrap_or(addr)
            );
            task::spawn(http::tls::serve(tls_listener, tls, app.clone(), limits));
        }
        http::serve(listener, app, limits, shutdown_signal()).await;
        log::info!("stopped");
        Ok(())
    })
}

/// Starts the captive portal's background work: accepted clients and the
/// firewall restored from the database and kept in sync, DNS if asked for.
async fn start_portal(app: &App, config: &Config) -> Result<()> {
    let accepted = app.clients.restore().await?;
    log::info!("{accepted} accepted Wi-Fi clients restored");
    task::spawn(app.clients.clone().keep_in_sync());
    if let Some(addr) = config.dns {
        let (udp, tcp) = dns::bind(addr).await?;
        // The bound addresses, not the asked-for one: with port 0 (tests)
        // this line is how anyone learns where DNS listens.
        let bound = |local: std::io::Result<SocketAddr>| local.unwrap_or(addr);
        log::info!(
            "DNS on {} (UDP), {} (TCP), {:?} mode",
            bound(udp.local_addr()),
            bound(tcp.local_addr()),
            app.portal.mode
        );
        task::spawn(dns::serve(
            udp,
            tcp,
            app.portal.clone(),
            app.clients.clone(),
        ));
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
            clients::allow(&conn, &target, now, i64::from(minutes))?;
            println!("{target} allowed for {minutes} minutes");
        }
        ClientsCommand::Deny { target } => {
            clients::deny(&conn, &target)?;
            println!("{target} sent back to the portal");
        }
    }
    Ok(())
}

fn backup_command(data_dir: &Path, file: &Path) -> Result<()> {
    let conn = db::open_one(data_dir)?;
    let snapshot = backup::claim(data_dir)?;
    backup::take(&conn, &snapshot)?;
    backup::save_as(&snapshot, file)?;
    println!("backup written to {}", file.display());
    Ok(())
}

fn restore_command(data_dir: &Path, file: &Path) -> Result<()> {
    let version = backup::restore(data_dir, file)?;
    // Brings an older backup's schema up to date, and says who restored.
    let conn = db::open_one(data_dir)?;
    let detail = format!("{} (schema version {version})", file.display());
    audit::record(
        &conn,
        &Entry {
            actor: &Actor::cli(),
            action: "backup.restore",
            shop_id: None,
            detail: &detail,
        },
    )?;
    println!("database restored from {}", file.display());
    Ok(())
}

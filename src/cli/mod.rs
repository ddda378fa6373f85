//! The command line: `serve` runs the venue; `admin` manages accounts on the
//! same database without a running server; `backup` and `restore`.

use crate::app::App;
use crate::config::{self, required, Config, Flag, Given, ServeArgs, Value};
use crate::error::{Code, Error, Result};
use crate::portal::clients::{self, Target};
use crate::support::{crypto, task};
use crate::venue::audit::{self, Actor, Entry};
use crate::venue::{backup, demo, retention};
use crate::{accounts, db, http, ordering, portal::dns};
use args::{Parsed, Stop, Sub};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) mod args;

/// The command line as data, read by `args::parse`; the help is written
/// from it (`Sub::help`).
static CLI: Sub = Sub {
    name: "orderspot",
    about: "OrderSpot serves the ordering web app for customers, shopkeepers and the venue \
            owner from one SQLite file, with live order status by HTTP long-poll.",
    flags: &[
        Flag::long(
            "data-dir",
            "DIR",
            Value::Path,
            "Directory holding orderspot.db",
        )
        .default("./orderspot-data")
        .global(),
        Flag::long(
            "log-level",
            "LEVEL",
            Value::One(config::level),
            "Least severe log messages to print: error, warn, info, debug, trace",
        )
        .default("info")
        .global(),
    ],
    subs: &[
        Sub {
            name: "serve",
            about: "Run the ordering server",
            flags: config::SERVE_FLAGS,
            subs: &[],
        },
        Sub {
            name: "admin",
            about: "Manage owner and shopkeeper accounts",
            flags: &[],
            subs: &[
                Sub {
                    name: "create-owner",
                    about: "Create the venue owner's account (password read from stdin)",
                    flags: &[
                        Flag::long("email", "EMAIL", Value::One(config::text), "").required(),
                        Flag::long(
                            "name",
                            "NAME",
                            Value::One(config::text),
                            "Name shown in the order history",
                        )
                        .default("Venue owner"),
                        PASSWORD_STDIN,
                    ],
                    subs: &[],
                },
                Sub {
                    name: "reset-password",
                    about: "Set a new password for an account and log it out everywhere",
                    flags: &[
                        Flag::long("email", "EMAIL", Value::One(config::text), "").required(),
                        PASSWORD_STDIN,
                    ],
                    subs: &[],
                },
            ],
        },
        Sub {
            name: "clients",
            about: "Wi-Fi clients of the captive portal (works while `serve` runs)",
            flags: &[],
            subs: &[
                Sub {
                    name: "list",
                    about: "Every client: IP, MAC, first and last seen, acceptance",
                    flags: &[],
                    subs: &[],
                },
                Sub {
                    name: "allow",
                    about: "Let a client (IP or MAC) past the portal; a running server \
                            applies it within seconds",
                    flags: &[
                        TARGET,
                        Flag::long("minutes", "MINUTES", Value::One(config::minutes), "")
                            .default(clients::DEFAULT_SESSION_MINUTES),
                    ],
                    subs: &[],
                },
                Sub {
                    name: "deny",
                    about: "Send a client (IP or MAC) back to the portal",
                    flags: &[TARGET],
                    subs: &[],
                },
            ],
        },
        Sub {
            name: "backup",
            about: "Write a consistent copy of the database to FILE (works while `serve` runs)",
            flags: &[FILE],
            subs: &[],
        },
        Sub {
            name: "restore",
            about: "Replace the database with the backup in FILE, after checking it \
                    (only while the server is stopped)",
            flags: &[FILE],
            subs: &[],
        },
    ],
};

const PASSWORD_STDIN: Flag = Flag::switch(
    "password-stdin",
    "Read the password from standard input (required)",
)
.required();
const TARGET: Flag = Flag::positional("target", "TARGET", Value::One(config::target));
const FILE: Flag = Flag::positional("file", "FILE", Value::Path);

pub(crate) struct Cli {
    pub(crate) data_dir: PathBuf,
    pub(crate) log_level: log::LevelFilter,
    pub(crate) command: Command,
}

pub(crate) enum Command {
    Serve(Box<ServeArgs>),
    Admin(AdminCommand),
    Clients(ClientsCommand),
    Backup { file: PathBuf },
    Restore { file: PathBuf },
}

pub(crate) enum ClientsCommand {
    List,
    Allow { target: Target, minutes: u32 },
    Deny { target: Target },
}

/// `--password-stdin` is required, so neither holds it.
pub(crate) enum AdminCommand {
    CreateOwner { email: String, name: String },
    ResetPassword { email: String },
}

impl Cli {
    /// The command line, or the message and exit on a mistake, `--help` or
    /// `--version`.
    fn parse() -> Cli {
        args::parse(&CLI, std::env::args_os().skip(1).collect())
            .and_then(|mut parsed| Cli::from_parsed(&mut parsed))
            .unwrap_or_else(|stop| stop.exit())
    }

    fn from_parsed(parsed: &mut Parsed) -> std::result::Result<Cli, Stop> {
        let data_dir = required(parsed, "data-dir", Given::path)?;
        let log_level = required(parsed, "log-level", Given::level)?;
        let command = match subcommand(parsed, 0) {
            "serve" => Command::Serve(Box::new(ServeArgs::from_parsed(parsed)?)),
            "admin" => Command::Admin(AdminCommand::from_parsed(parsed)?),
            "clients" => Command::Clients(ClientsCommand::from_parsed(parsed)?),
            "backup" => Command::Backup {
                file: required(parsed, "file", Given::path)?,
            },
            _ => Command::Restore {
                file: required(parsed, "file", Given::path)?,
            },
        };
        Ok(Cli {
            data_dir,
            log_level,
            command,
        })
    }
}

impl AdminCommand {
    fn from_parsed(parsed: &mut Parsed) -> std::result::Result<Self, Stop> {
        let email = required(parsed, "email", Given::text)?;
        Ok(match subcommand(parsed, 1) {
            "create-owner" => AdminCommand::CreateOwner {
                email,
                name: required(parsed, "name", Given::text)?,
            },
            _ => AdminCommand::ResetPassword { email },
        })
    }
}

impl ClientsCommand {
    fn from_parsed(parsed: &mut Parsed) -> std::result::Result<Self, Stop> {
        Ok(match subcommand(parsed, 1) {
            "list" => ClientsCommand::List,
            "allow" => ClientsCommand::Allow {
                target: required(parsed, "target", Given::target)?,
                minutes: required(parsed, "minutes", Given::count)?,
            },
            _ => ClientsCommand::Deny {
                target: required(parsed, "target", Given::target)?,
            },
        })
    }
}

/// The name of the subcommand at `depth`: every command with subcommands
/// requires one, and only the table's names are taken, so each match on it
/// ends with `_` for the last.
fn subcommand(parsed: &Parsed, depth: usize) -> &'static str {
    parsed.path.get(depth).copied().unwrap_or_default()
}

/// The command line's words read as `args::parse` reads the process's.
#[cfg(test)]
pub(crate) fn parse_words<'a>(
    words: impl Iterator<Item = &'a str>,
) -> std::result::Result<Parsed, Stop> {
    args::parse(&CLI, words.map(std::ffi::OsString::from).collect())
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
    let stop = shutdown_signal()?;
    // Database work runs on blocking threads: a few more than the
    // database has connections is enough, and a burst must not leave
    // hundreds of idle threads (and their malloc arenas) behind.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .build()
        .map_err(|e| Error::internal(format!("cannot start runtime: {e}")))?;
    crypto::init()?;
    let config = Config::from_args(data_dir, args)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        Error::internal(format!("cannot create {}: {e}", config.data_dir.display()))
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
            .map_err(|e| Error::internal(format!("cannot listen on {}: {e}", config.listen)))?;
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
                .map_err(|e| Error::internal(format!("cannot listen on {addr}: {e}")))?;
            log::info!(
                "serving HTTPS for {} on {}",
                app.portal.secure_host.as_deref().unwrap_or_default(),
                tls_listener.local_addr().unwrap_or(addr)
            );
            task::spawn(http::tls::serve(tls_listener, tls, app.clone(), limits));
        }
        http::serve(listener, app, limits, stop).await;
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

/// A future that ends on SIGTERM (procd's stop) or SIGINT (Ctrl-C). Both
/// are blocked here, so call it before any thread starts (threads inherit
/// the mask; a child process gets an empty one from std), and one thread
/// takes them with `sigwait`: tokio's signal handling (its `signal`
/// feature) cost the router's binary 7 KB more.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use nix::sys::signal::{SigSet, Signal};
    let mut stops = SigSet::empty();
    stops.add(Signal::SIGTERM);
    stops.add(Signal::SIGINT);
    let failed =
        |e: &dyn std::fmt::Display| Error::internal(format!("cannot wait for SIGTERM: {e}"));
    stops
        .thread_block()
        .map_err(|e| failed(&crate::support::os_error(e)))?;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || match stops.wait() {
            Ok(_) => {
                let _ = stop.send(());
            }
            Err(e) => {
                // Never expected (sigwait fails only on a bad set): let the
                // signals kill the process as if they were not handled.
                let e = crate::support::os_error(e);
                log::warn!("cannot wait for SIGTERM, it stops the server at once: {e}");
                let _ = stops.thread_unblock();
            }
        })
        .map_err(|e| failed(&e))?;
    Ok(async move {
        // The sender dropped unsent: no signal will come this way.
        if stopped.await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}

fn admin(data_dir: PathBuf, command: AdminCommand) -> Result<()> {
    let conn = db::open_one(&data_dir)?;
    match command {
        AdminCommand::CreateOwner { email, name } => {
            accounts::create_owner(&conn, &email, &name, &read_password()?)?;
            println!("owner account {email} created");
        }
        AdminCommand::ResetPassword { email } => {
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

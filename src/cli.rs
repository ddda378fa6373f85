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
use clap::ArgMatches;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The command line as data: clap's `Command` is built from it by one
/// function (`Sub::command`), where the derive wrote builder code for each
/// command and argument; usage and errors are clap's, the help is written
/// from the table (`Sub::help`).
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

/// One command and its subcommands.
struct Sub {
    name: &'static str,
    about: &'static str,
    flags: &'static [Flag],
    subs: &'static [Sub],
}

impl Sub {
    /// Its clap command; `path` is how it is typed (`orderspot admin`),
    /// `inherited` the global flags of the commands above it. A command
    /// with subcommands needs one, and with nothing given shows its help,
    /// as the derive had it.
    fn command(&self, path: &str, inherited: &[&'static Flag]) -> clap::Command {
        let passed = self.passed_on(inherited);
        let command = clap::Command::new(self.name)
            .override_help(self.help(path, inherited))
            .args(self.flags.iter().map(Flag::arg))
            .subcommands(
                self.subs
                    .iter()
                    .map(|sub| sub.command(&format!("{path} {}", sub.name), &passed)),
            );
        if self.subs.is_empty() {
            command
        } else {
            command
                .subcommand_required(true)
                .arg_required_else_help(true)
        }
    }

    /// The flags its subcommands inherit: its own global ones too.
    fn passed_on(&self, inherited: &[&'static Flag]) -> Vec<&'static Flag> {
        let own = self.flags.iter().filter(|flag| flag.is_global());
        inherited.iter().copied().chain(own).collect()
    }

    /// Its `--help`, laid out as clap's help writer did; that writer (clap's
    /// `help` feature) cost the router's binary 30 KB.
    fn help(&self, path: &str, inherited: &[&Flag]) -> String {
        let flags: Vec<&Flag> = self.flags.iter().chain(inherited.iter().copied()).collect();
        let mut usage = format!("Usage: {path} [OPTIONS]");
        for flag in flags.iter().filter(|flag| flag.is_required()) {
            usage.push(' ');
            usage.push_str(&flag.typed());
        }
        if !self.subs.is_empty() {
            usage.push_str(" <COMMAND>");
        }
        let mut commands: Vec<(String, String)> = self
            .subs
            .iter()
            .map(|sub| (sub.name.to_owned(), sub.about.to_owned()))
            .collect();
        if !commands.is_empty() {
            commands.push((
                "help".to_owned(),
                "Print this message or the help of the given subcommand(s)".to_owned(),
            ));
        }
        let (positional, named): (Vec<&Flag>, Vec<&Flag>) =
            flags.iter().partition(|flag| flag.is_positional());
        let arguments = positional
            .iter()
            .map(|flag| (flag.typed(), flag.help_text()));
        let mut options: Vec<(String, String)> = named
            .iter()
            .map(|flag| (format!("    {}", flag.typed()), flag.help_text()))
            .collect();
        options.push(("-h, --help".to_owned(), "Print help".to_owned()));
        // Only the top command has a version, and nothing to inherit.
        if inherited.is_empty() {
            options.push(("-V, --version".to_owned(), "Print version".to_owned()));
        }
        let mut text = format!("{}\n\n{usage}\n", self.about);
        for (title, rows) in [
            ("Commands", commands),
            ("Arguments", arguments.collect()),
            ("Options", options),
        ] {
            if rows.is_empty() {
                continue;
            }
            let width = rows.iter().map(|(typed, _)| typed.len()).max().unwrap_or(0);
            text.push_str(&format!("\n{title}:\n"));
            for (typed, what) in rows {
                text.push_str(format!("  {typed:width$}  {what}").trim_end());
                text.push('\n');
            }
        }
        text
    }
}

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
    /// The command line, or clap's message and exit on a mistake, `--help`
    /// or `--version`.
    fn parse() -> Cli {
        let mut matches = CLI
            .command(CLI.name, &[])
            .version(env!("CARGO_PKG_VERSION"))
            .get_matches();
        Cli::from_matches(&mut matches).unwrap_or_else(|e| e.exit())
    }

    fn from_matches(matches: &mut ArgMatches) -> std::result::Result<Cli, clap::Error> {
        let data_dir = required(matches, "data-dir", Given::path)?;
        let log_level = required(matches, "log-level", Given::level)?;
        let (name, mut sub) = subcommand(matches)?;
        let sub = &mut sub;
        let command = match name.as_str() {
            "serve" => Command::Serve(Box::new(ServeArgs::from_matches(sub)?)),
            "admin" => Command::Admin(AdminCommand::from_matches(sub)?),
            "clients" => Command::Clients(ClientsCommand::from_matches(sub)?),
            "backup" => Command::Backup {
                file: required(sub, "file", Given::path)?,
            },
            _ => Command::Restore {
                file: required(sub, "file", Given::path)?,
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
    fn from_matches(matches: &mut ArgMatches) -> std::result::Result<Self, clap::Error> {
        let (name, mut sub) = subcommand(matches)?;
        let email = required(&mut sub, "email", Given::text)?;
        Ok(match name.as_str() {
            "create-owner" => AdminCommand::CreateOwner {
                email,
                name: required(&mut sub, "name", Given::text)?,
            },
            _ => AdminCommand::ResetPassword { email },
        })
    }
}

impl ClientsCommand {
    fn from_matches(matches: &mut ArgMatches) -> std::result::Result<Self, clap::Error> {
        let (name, mut sub) = subcommand(matches)?;
        Ok(match name.as_str() {
            "list" => ClientsCommand::List,
            "allow" => ClientsCommand::Allow {
                target: required(&mut sub, "target", Given::target)?,
                minutes: required(&mut sub, "minutes", Given::count)?,
            },
            _ => ClientsCommand::Deny {
                target: required(&mut sub, "target", Given::target)?,
            },
        })
    }
}

/// The subcommand given: every command with subcommands requires one, and
/// clap takes only the table's names, so each match on it ends with `_`
/// for the last.
fn subcommand(matches: &mut ArgMatches) -> std::result::Result<(String, ArgMatches), clap::Error> {
    matches.remove_subcommand().ok_or_else(|| {
        clap::Error::raw(
            clap::error::ErrorKind::MissingSubcommand,
            "a subcommand is required but one was not provided",
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Clap's own checks of the table (ids, requirements, value names),
    /// which otherwise run only when a debug binary starts.
    #[test]
    fn the_table_is_a_valid_command_line() {
        CLI.command(CLI.name, &[]).debug_assert();
    }

    /// Every command's help names its usage, subcommands and every flag it
    /// takes, its own and inherited, with the flag's text.
    #[test]
    fn every_help_lists_what_its_command_takes() {
        fn check(sub: &Sub, path: &str, inherited: &[&'static Flag]) {
            let help = sub.help(path, inherited);
            assert!(help.starts_with(sub.about), "{help}");
            assert!(
                help.contains(&format!("\nUsage: {path} [OPTIONS]")),
                "{help}"
            );
            for flag in sub.flags.iter().chain(inherited.iter().copied()) {
                let line = help
                    .lines()
                    .find(|line| line.trim_start().starts_with(&flag.typed()))
                    .unwrap_or_else(|| panic!("{path}: no {}\n{help}", flag.typed()));
                assert!(line.trim_end().ends_with(&flag.help_text()), "{line}");
            }
            let passed = sub.passed_on(inherited);
            for child in sub.subs {
                assert!(help.contains(&format!("\n  {}", child.name)), "{help}");
                check(child, &format!("{path} {}", child.name), &passed);
            }
        }
        check(&CLI, CLI.name, &[]);
        let create_owner = CLI.subs[1].subs[0].help("orderspot admin create-owner", &[]);
        assert!(
            create_owner.contains(
                "Usage: orderspot admin create-owner [OPTIONS] --email <EMAIL> --password-stdin\n"
            ),
            "{create_owner}"
        );
    }
}

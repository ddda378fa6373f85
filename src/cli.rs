//! The command line: `serve` runs the venue; `admin` manages accounts on the
//! same database without a running server.

use crate::app::App;
use crate::error::{Error, Result};
use crate::{auth, db, demo, http};
use clap::{Args, Parser, Subcommand};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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
    crate::logger::init(cli.log_level);
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
    }
}

fn serve(data_dir: PathBuf, args: ServeArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start runtime: {e}")))?;
    runtime.block_on(async {
        let app = App::open(&data_dir).await?;
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
        http::serve(listener, app, shutdown_signal()).await;
        log::info!("stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn admin(data_dir: PathBuf, command: AdminCommand) -> Result<()> {
    let path = data_dir.join("orderspot.db");
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| Error::Internal(format!("cannot create {}: {e}", data_dir.display())))?;
    let mut conn = db::connect(&path)?;
    db::migrate(&mut conn)?;
    match command {
        AdminCommand::CreateOwner { email, name, .. } => {
            auth::create_owner(&conn, &email, &name, &read_password()?)?;
            println!("owner account {email} created");
        }
        AdminCommand::ResetPassword { email, .. } => {
            auth::reset_password(&conn, &email, &read_password()?)?;
            println!("password of {email} changed; its sessions were ended");
        }
    }
    Ok(())
}

/// The first line of stdin, so `echo pw | orderspot admin …` works.
fn read_password() -> Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| Error::bad(format!("cannot read the password from stdin: {e}")))?;
    Ok(input.lines().next().unwrap_or("").to_string())
}

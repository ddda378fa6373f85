//! Letting accepted clients through the router in `internet` mode. The
//! `nft` backend keeps them as elements with timeouts in the sets of our own
//! nftables table (`openwrt/files/orderspot.nft`), so the kernel expires
//! them even if the daemon is down, and the daemon restores them at start.

use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::spawn::{posix_spawnp, PosixSpawnAttr, PosixSpawnFileActions};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{pipe2, Pid};
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

/// The nftables table and sets the ruleset defines.
pub const TABLE: &str = "inet orderspot";
const SET4: &str = "accepted4";
const SET6: &str = "accepted6";

pub trait Firewall: Send + Sync {
    /// Lets `ip` through for `seconds` (replacing any earlier timeout).
    fn allow(&self, ip: IpAddr, seconds: u64) -> Result<()>;
    /// Stops letting `ip` through; not an error if it was not allowed.
    fn revoke(&self, ip: IpAddr) -> Result<()>;
    /// Makes exactly these clients allowed, e.g. after a restart.
    fn restore(&self, clients: &[(IpAddr, u64)]) -> Result<()>;
}

/// For development machines without nftables: nothing is filtered.
pub struct NoFirewall;

impl Firewall for NoFirewall {
    fn allow(&self, _: IpAddr, _: u64) -> Result<()> {
        Ok(())
    }
    fn revoke(&self, _: IpAddr) -> Result<()> {
        Ok(())
    }
    fn restore(&self, _: &[(IpAddr, u64)]) -> Result<()> {
        Ok(())
    }
}

/// Runs `nft -f -` with scripts; each script is one atomic transaction.
pub struct Nft;

impl Firewall for Nft {
    fn allow(&self, ip: IpAddr, seconds: u64) -> Result<()> {
        run_nft(&allow_script(ip, seconds))
    }
    fn revoke(&self, ip: IpAddr) -> Result<()> {
        run_nft(&revoke_script(ip))
    }
    fn restore(&self, clients: &[(IpAddr, u64)]) -> Result<()> {
        run_nft(&restore_script(clients))
    }
}

fn set_of(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        SET4
    } else {
        SET6
    }
}

/// Adding first makes the delete succeed whether or not the element was
/// there, so re-allowing updates the timeout inside one transaction.
fn allow_script(ip: IpAddr, seconds: u64) -> String {
    let set = set_of(ip);
    format!(
        "{}add element {TABLE} {set} {{ {ip} timeout {}s }}\n",
        revoke_script(ip),
        seconds.max(1)
    )
}

fn revoke_script(ip: IpAddr) -> String {
    let set = set_of(ip);
    format!("add element {TABLE} {set} {{ {ip} }}\ndelete element {TABLE} {set} {{ {ip} }}\n")
}

fn restore_script(clients: &[(IpAddr, u64)]) -> String {
    let mut script = format!("flush set {TABLE} {SET4}\nflush set {TABLE} {SET6}\n");
    for (ip, seconds) in clients {
        script.push_str(&format!(
            "add element {TABLE} {} {{ {ip} timeout {}s }}\n",
            set_of(*ip),
            seconds.max(&1)
        ));
    }
    script
}

/// `nft -f -` with `script` on its standard input, started by
/// `posix_spawnp` (nix) rather than `std::process::Command`, whose
/// environment map and pipe handling cost the binary about 15 KB.
fn run_nft(script: &str) -> Result<()> {
    let fail = |e: std::io::Error| Error::internal(format!("nft: {e}"));
    let (script_in, stderr, pid) =
        spawn_nft().map_err(|e| Error::internal(format!("nft: cannot run: {e}")))?;
    // Dropped once written: nft then sees the script end.
    let written = File::from(script_in).write_all(script.as_bytes());
    let mut errors = Vec::new();
    let read = File::from(stderr).read_to_end(&mut errors);
    let status = loop {
        match waitpid(pid, None) {
            Err(Errno::EINTR) => continue,
            done => break done,
        }
    };
    match status.map_err(|e| fail(e.into()))? {
        WaitStatus::Exited(_, 0) => written.and(read.map(drop)).map_err(fail),
        _ => Err(Error::internal(format!(
            "nft: {}",
            String::from_utf8_lossy(&errors).trim()
        ))),
    }
}

/// Starts `nft -f -` (found on PATH, with our environment), its output
/// discarded. Returns the ends of its standard input and error, and its id.
fn spawn_nft() -> std::io::Result<(OwnedFd, OwnedFd, Pid)> {
    let (stdin, script_in) = pipe2(OFlag::O_CLOEXEC)?;
    let (stderr, stderr_in) = pipe2(OFlag::O_CLOEXEC)?;
    let null = File::options().write(true).open("/dev/null")?;
    let mut actions = PosixSpawnFileActions::init()?;
    actions.add_dup2(stdin.as_raw_fd(), 0)?;
    actions.add_dup2(null.as_raw_fd(), 1)?;
    actions.add_dup2(stderr_in.as_raw_fd(), 2)?;
    let environment: Vec<CString> = std::env::vars_os()
        .filter_map(|(name, value)| {
            let mut pair = name.into_vec();
            pair.push(b'=');
            pair.extend(value.into_vec());
            CString::new(pair).ok()
        })
        .collect();
    let pid = posix_spawnp(
        c"nft",
        &actions,
        &PosixSpawnAttr::init()?,
        &[c"nft", c"-f", c"-"],
        &environment,
    )?;
    // `stdin`, `stderr_in` and `null` close here: only the child keeps
    // them, so its standard error ends when it exits.
    Ok((script_in, stderr, pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_address_our_sets_by_family() {
        let v4: IpAddr = "10.213.0.2".parse().unwrap();
        let v6: IpAddr = "fd00::2".parse().unwrap();
        assert_eq!(
            allow_script(v4, 90),
            "add element inet orderspot accepted4 { 10.213.0.2 }\n\
             delete element inet orderspot accepted4 { 10.213.0.2 }\n\
             add element inet orderspot accepted4 { 10.213.0.2 timeout 90s }\n"
        );
        assert!(revoke_script(v6).contains("delete element inet orderspot accepted6 { fd00::2 }"));
        assert_eq!(
            restore_script(&[(v4, 0), (v6, 5)]),
            "flush set inet orderspot accepted4\nflush set inet orderspot accepted6\n\
             add element inet orderspot accepted4 { 10.213.0.2 timeout 1s }\n\
             add element inet orderspot accepted6 { fd00::2 timeout 5s }\n"
        );
    }
}

//! Letting accepted clients through the router in `internet` mode. The
//! `nft` backend keeps them as elements with timeouts in the sets of our own
//! nftables table (`openwrt/files/orderspot.nft`), so the kernel expires
//! them even if the daemon is down, and the daemon restores them at start.

use crate::error::{Error, Result};
use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

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

fn run_nft(script: &str) -> Result<()> {
    let fail = |e: String| Error::Internal(format!("nft: {e}"));
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    let output = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(fail(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ))
    }
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

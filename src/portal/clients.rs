//! Wi-Fi clients of the captive portal: who has been seen, who accepted and
//! until when. The database is the truth (so acceptance survives restarts
//! and the `clients` command can change it); an in-memory copy answers the
//! per-request and per-DNS-query "accepted?" question, and is re-read
//! every few seconds to pick up command-line changes and expiries.

use crate::db::{blocking, Db};
use crate::error::{Code, Error, Result};
use crate::portal::firewall::Firewall;
use crate::portal::journeys::Journeys;
use crate::portal::Visit;
use crate::store::clients as rows;
use crate::support::time::now_ms;
use rusqlite::Connection;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// How often the daemon re-reads acceptances from the database.
pub const SYNC_EVERY: Duration = Duration::from_secs(5);
/// Every this many syncs the firewall sets are rewritten whole (a minute).
const RESTORE_EVERY: u64 = 12;
/// `last_seen` is written at most this often per client: each write is a
/// synced commit, too costly per request.
const SEEN_EVERY_MS: i64 = 60_000;
/// The default session length as the command line's default: text, so
/// nothing is formatted at start (read as a u32 by the parser of every
/// count, `config::count`).
pub const DEFAULT_SESSION_MINUTES: &str = "1440";

#[derive(Clone)]
pub struct ClientSettings {
    pub session_minutes: i64,
    /// The kernel's ARP table, `/proc/net/arp` on Linux.
    pub arp_path: PathBuf,
    /// Whether accepted clients are let through the firewall (`internet` mode).
    pub open_firewall: bool,
    pub firewall: Arc<dyn Firewall>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            session_minutes: crate::support::text::decimal(DEFAULT_SESSION_MINUTES),
            arp_path: "/proc/net/arp".into(),
            open_firewall: false,
            firewall: Arc::new(crate::portal::firewall::NoFirewall),
        }
    }
}

#[derive(Clone)]
pub struct Clients {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    settings: ClientSettings,
    /// Accepted IPs and when their acceptance ends (UTC ms).
    accepted: RwLock<HashMap<IpAddr, i64>>,
    /// When we last wrote each client's `last_seen`.
    seen: Mutex<HashMap<IpAddr, i64>>,
    /// The orders accepted clients placed, for the probe rule and landing.
    journeys: Mutex<Journeys>,
    /// Serialises database-then-memory-then-firewall updates so a sync
    /// never undoes an acceptance made while it ran.
    update: tokio::sync::Mutex<()>,
}

impl Clients {
    pub fn new(db: Db, settings: ClientSettings) -> Clients {
        Clients {
            inner: Arc::new(Inner {
                db,
                settings,
                accepted: RwLock::default(),
                seen: Mutex::default(),
                journeys: Mutex::default(),
                update: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Milliseconds of acceptance `ip` has left, if any.
    pub fn remaining_ms(&self, ip: IpAddr) -> Option<i64> {
        let ip = ip.to_canonical();
        let accepted = self
            .inner
            .accepted
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let left = accepted.get(&ip)? - now_ms();
        (left > 0).then_some(left)
    }

    pub fn is_accepted(&self, ip: IpAddr) -> bool {
        self.remaining_ms(ip).is_some()
    }

    /// The current acceptance of `ip`, named by its expiry.
    fn acceptance(&self, ip: IpAddr) -> Option<i64> {
        let accepted = self
            .inner
            .accepted
            .read()
            .unwrap_or_else(|p| p.into_inner());
        accepted
            .get(&ip.to_canonical())
            .copied()
            .filter(|&until| until > now_ms())
    }

    fn journeys(&self) -> std::sync::MutexGuard<'_, Journeys> {
        self.inner
            .journeys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Where `ip` is in its visit (see `PortalConfig::intercept`).
    pub fn visit(&self, ip: IpAddr) -> Visit {
        let acceptance = self.acceptance(ip);
        self.journeys().visit(ip.to_canonical(), acceptance)
    }

    /// An accepted client placed an order: remembered for this acceptance
    /// and this device. Orders from clients that have not accepted are not.
    pub fn ordered(&self, ip: IpAddr, order_id: i64, token: &str) {
        let ip = ip.to_canonical();
        if let Some(acceptance) = self.acceptance(ip) {
            let mac = mac_of(&self.inner.settings.arp_path, ip);
            self.journeys().record(ip, acceptance, mac, order_id, token);
        }
    }

    /// The newest open order `ip` placed in its current acceptance, with its
    /// token, if the device at that address is still the one that ordered.
    pub fn open_order(&self, ip: IpAddr) -> Option<(i64, String)> {
        let ip = ip.to_canonical();
        let acceptance = self.acceptance(ip)?;
        let mac = mac_of(&self.inner.settings.arp_path, ip);
        self.journeys()
            .open_order(ip, Some(acceptance), mac.as_deref())
            .map(|(id, token)| (id, token.to_string()))
    }

    /// Forgets journeys of ended acceptances and marks finished orders.
    async fn refresh_journeys(&self, accepted: &HashMap<IpAddr, i64>) -> Result<()> {
        let open = self.journeys().prune(accepted);
        if open.is_empty() {
            return Ok(());
        }
        let finished = self
            .inner
            .db
            .read(move |c| Ok(crate::store::orders::finished_among(c, &open)?))
            .await?;
        self.journeys().closed(&finished);
        Ok(())
    }

    /// When `ip` made a request now and its `last_seen` is due a write
    /// (`record_sighting`), that time; `None` when it was written less than
    /// a minute ago. In memory only: asked on every intercepted request.
    pub fn sighting_due(&self, ip: IpAddr) -> Option<i64> {
        let now = now_ms();
        let mut seen = self.inner.seen.lock().unwrap_or_else(|p| p.into_inner());
        sighting_due(&mut seen, ip.to_canonical(), now).then_some(now)
    }

    /// Writes that `ip` made a request `at` (as `sighting_due` said).
    pub async fn record_sighting(&self, ip: IpAddr, at: i64) -> Result<()> {
        let ip = ip.to_canonical();
        let arp = self.inner.settings.arp_path.clone();
        let accepted = self
            .inner
            .db
            .write(move |tx| {
                let mac = mac_of(&arp, ip);
                Ok(rows::touch(tx, &ip.to_string(), mac.as_deref(), at)?)
            })
            .await?;
        // A device allowed by MAC just showed up under this IP.
        if accepted.is_some() && !self.is_accepted(ip) {
            self.sync().await?;
        }
        Ok(())
    }

    /// The client clicked "Continue": accepted for the session length.
    pub async fn accept(&self, ip: IpAddr) -> Result<()> {
        let ip = ip.to_canonical();
        let _update = self.inner.update.lock().await;
        let now = now_ms();
        let expires_at = now + self.inner.settings.session_minutes * 60_000;
        let arp = self.inner.settings.arp_path.clone();
        self.inner
            .db
            .write(move |tx| {
                let mac = mac_of(&arp, ip);
                Ok(rows::accept_ip(
                    tx,
                    &ip.to_string(),
                    mac.as_deref(),
                    now,
                    expires_at,
                )?)
            })
            .await?;
        self.inner
            .accepted
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ip, expires_at);
        if self.inner.settings.open_firewall {
            let seconds = seconds_until(expires_at, now);
            self.firewall(Box::new(move |f| f.allow(ip, seconds))).await;
        }
        log::info!("client {ip} accepted the portal");
        Ok(())
    }

    /// Loads acceptances and puts the firewall in exactly the same state
    /// (at start, and now and then in case the ruleset was reloaded, which
    /// empties its sets). Returns how many clients are accepted.
    pub async fn restore(&self) -> Result<usize> {
        let _update = self.inner.update.lock().await;
        let now = now_ms();
        let fresh = self.load(now).await?;
        let allowed: Vec<(IpAddr, u64)> = if self.inner.settings.open_firewall {
            fresh
                .iter()
                .map(|(&ip, &until)| (ip, seconds_until(until, now)))
                .collect()
        } else {
            Vec::new()
        };
        let count = fresh.len();
        self.refresh_journeys(&fresh).await?;
        *self
            .inner
            .accepted
            .write()
            .unwrap_or_else(|p| p.into_inner()) = fresh;
        self.firewall(Box::new(move |f| f.restore(&allowed))).await;
        Ok(count)
    }

    /// Re-reads acceptances (command-line changes, expiries) and tells the
    /// firewall what changed.
    pub async fn sync(&self) -> Result<()> {
        let _update = self.inner.update.lock().await;
        let now = now_ms();
        let fresh = self.load(now).await?;
        let old = std::mem::replace(
            &mut *self
                .inner
                .accepted
                .write()
                .unwrap_or_else(|p| p.into_inner()),
            fresh.clone(),
        );
        self.refresh_journeys(&fresh).await?;
        if !self.inner.settings.open_firewall {
            return Ok(());
        }
        for (&ip, &until) in &fresh {
            if old.get(&ip) != Some(&until) {
                let seconds = seconds_until(until, now);
                self.firewall(Box::new(move |f| f.allow(ip, seconds))).await;
            }
        }
        for &ip in old.keys().filter(|ip| !fresh.contains_key(ip)) {
            self.firewall(Box::new(move |f| f.revoke(ip))).await;
        }
        Ok(())
    }

    /// Runs `sync` forever, with a full `restore` every `RESTORE_EVERY`
    /// rounds; spawned by `serve`.
    pub async fn keep_in_sync(self) {
        for round in 1u64.. {
            tokio::time::sleep(SYNC_EVERY).await;
            let result = if round % RESTORE_EVERY == 0 {
                self.restore().await.map(drop)
            } else {
                self.sync().await
            };
            if let Err(e) = result {
                log::warn!("syncing Wi-Fi clients: {e}");
            }
        }
    }

    async fn load(&self, now: i64) -> Result<HashMap<IpAddr, i64>> {
        let list = self
            .inner
            .db
            .read(move |c| Ok(rows::accepted(c, now)?))
            .await?;
        Ok(list
            .into_iter()
            .filter_map(|(ip, until)| Some((ip.parse::<IpAddr>().ok()?, until)))
            .collect())
    }

    /// Firewall commands block (they run `nft`); a failure is logged, not
    /// fatal: the portal keeps working and the next change retries.
    async fn firewall(&self, op: FirewallOp) {
        let inner = self.inner.clone();
        // `db::blocking`'s one type-erased task: no task code per operation.
        let result = blocking("firewall", move || op(inner.settings.firewall.as_ref())).await;
        if let Err(e) = result {
            log::error!("firewall: {e}");
        }
    }
}

/// One firewall command, boxed so `Clients::firewall` exists once.
type FirewallOp = Box<dyn FnOnce(&dyn Firewall) -> Result<()> + Send>;

fn seconds_until(until_ms: i64, now_ms: i64) -> u64 {
    u64::try_from((until_ms - now_ms + 999) / 1000).unwrap_or(0)
}

/// The MAC the ARP table at `path` holds for `ip`, lower case.
fn mac_of(path: &std::path::Path, ip: IpAddr) -> Option<String> {
    let table = std::fs::read_to_string(path).ok()?;
    parse_arp(&table, ip)
}

/// Finds `ip` in `/proc/net/arp` text. Incomplete entries (flags 0x0, MAC
/// all zeros) do not count.
fn parse_arp(table: &str, ip: IpAddr) -> Option<String> {
    let wanted = ip.to_string();
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [addr, _, flags, mac, ..] if *addr == wanted && *flags != "0x0" => {
                parse_mac(mac).filter(|m| m != "00:00:00:00:00:00")
            }
            _ => None,
        }
    })
}

/// A MAC as `aa:bb:cc:dd:ee:ff`, from colon or dash notation.
pub fn parse_mac(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split([':', '-']).collect();
    let valid = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    valid.then(|| parts.join(":").to_ascii_lowercase())
}

/// What `orderspot clients allow|deny` acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Ip(IpAddr),
    Mac(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Ip(ip) => ip.fmt(f),
            Target::Mac(mac) => f.write_str(mac),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Target, String> {
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Target::Ip(ip.to_canonical()));
        }
        parse_mac(text)
            .map(Target::Mac)
            .ok_or_else(|| format!("{text:?} is neither an IP address nor a MAC address"))
    }
}

/// `clients allow`: accepted for `minutes` from `now`. A running daemon
/// picks the change up within `SYNC_EVERY`.
pub fn allow(conn: &Connection, target: &Target, now: i64, minutes: i64) -> Result<()> {
    if minutes <= 0 {
        return Err(Error::bad(Code::ClientBadMinutes));
    }
    let expires_at = now + minutes * 60_000;
    match target {
        Target::Ip(ip) => rows::accept_ip(conn, &ip.to_string(), None, now, expires_at)?,
        Target::Mac(mac) => rows::accept_mac(conn, mac, now, expires_at)?,
    }
    Ok(())
}

/// `clients deny`: back to the portal. Unknown clients are an error so a
/// typo does not look like success.
pub fn deny(conn: &Connection, target: &Target) -> Result<()> {
    let changed = match target {
        Target::Ip(ip) => rows::deny_ip(conn, &ip.to_string())?,
        Target::Mac(mac) => rows::deny_mac(conn, mac)?,
    };
    if changed == 0 {
        return Err(Error::not_found(Code::ClientNotFound));
    }
    Ok(())
}

/// `clients list` as a text table, newest first.
pub fn list_text(conn: &Connection, now: i64) -> Result<String> {
    let mut out = format!(
        "{:<40} {:<17} {:>10} {:>10} {:>10}  {}\n",
        "IP", "MAC", "FIRST", "LAST", "ACCEPTED", "STATE"
    );
    for c in rows::list(conn)? {
        let state = match c.expires_at {
            Some(until) if until > now => format!("accepted, {} left", age(until - now)),
            Some(_) => "expired".to_string(),
            None => "portal".to_string(),
        };
        out.push_str(&format!(
            "{:<40} {:<17} {:>10} {:>10} {:>10}  {state}\n",
            c.ip.as_deref().unwrap_or("-"),
            c.mac.as_deref().unwrap_or("-"),
            age(now - c.first_seen) + " ago",
            age(now - c.last_seen) + " ago",
            c.accepted_at
                .map_or("-".to_string(), |at| age(now - at) + " ago"),
        ));
    }
    Ok(out)
}

/// A duration as its largest unit: "42s", "5m", "3h", "2d".
fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Whether a request from `ip` at `now` is due a `last_seen` write: the
/// first in `SEEN_EVERY_MS`. Notes it in `seen` (the last write of each
/// client) when it is, and forgets clients not written within that time,
/// so the map holds at most the clients of the last minute.
fn sighting_due(seen: &mut HashMap<IpAddr, i64>, ip: IpAddr, now: i64) -> bool {
    if seen.get(&ip).is_some_and(|&at| now - at < SEEN_EVERY_MS) {
        return false;
    }
    seen.retain(|_, at| now - *at < SEEN_EVERY_MS);
    seen.insert(ip, now);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_connection;

    const ARP: &str =
        "IP address       HW type     Flags       HW address            Mask     Device
10.213.0.2       0x1         0x2         AA:bb:cc:dd:ee:01     *        br-lan
10.213.0.3       0x1         0x0         00:00:00:00:00:00     *        br-lan
";

    #[test]
    fn macs_come_from_complete_arp_entries() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            parse_arp(ARP, ip("10.213.0.2")).as_deref(),
            Some("aa:bb:cc:dd:ee:01")
        );
        assert_eq!(parse_arp(ARP, ip("10.213.0.3")), None);
        assert_eq!(parse_arp(ARP, ip("10.213.0.4")), None);
        assert_eq!(parse_arp("", ip("10.213.0.2")), None);
    }

    #[test]
    fn targets_are_ips_or_macs() {
        assert_eq!(
            "10.0.0.9".parse(),
            Ok(Target::Ip("10.0.0.9".parse().unwrap()))
        );
        assert_eq!(
            "::ffff:10.0.0.9".parse(),
            Ok(Target::Ip("10.0.0.9".parse().unwrap()))
        );
        assert_eq!(
            "AA-BB-CC-DD-EE-FF".parse(),
            Ok(Target::Mac("aa:bb:cc:dd:ee:ff".into()))
        );
        assert!("aa:bb:cc".parse::<Target>().is_err());
        assert!("order.lan".parse::<Target>().is_err());
    }

    #[test]
    fn allow_and_deny_by_ip_and_mac() {
        let conn = test_connection();
        let now = 1_000_000;
        allow(&conn, &"10.0.0.2".parse().unwrap(), now, 10).unwrap();
        assert_eq!(
            rows::accepted(&conn, now).unwrap(),
            vec![("10.0.0.2".to_string(), now + 600_000)]
        );
        // Expired after the session.
        assert!(rows::accepted(&conn, now + 600_000).unwrap().is_empty());
        deny(&conn, &"10.0.0.2".parse().unwrap()).unwrap();
        assert!(rows::accepted(&conn, now).unwrap().is_empty());
        assert!(deny(&conn, &"10.0.0.99".parse().unwrap()).is_err());
        assert!(allow(&conn, &"10.0.0.2".parse().unwrap(), now, 0).is_err());

        // A MAC allowed before the device appears is accepted once its IP
        // is seen with that MAC.
        allow(&conn, &"aa:bb:cc:dd:ee:01".parse().unwrap(), now, 10).unwrap();
        assert!(rows::accepted(&conn, now).unwrap().is_empty());
        let accepted = rows::touch(&conn, "10.0.0.5", Some("aa:bb:cc:dd:ee:01"), now + 1).unwrap();
        assert_eq!(accepted, Some(now + 600_000));
        assert_eq!(rows::accepted(&conn, now).unwrap().len(), 1);
        // The device moves to a new lease: same row, new IP.
        rows::touch(&conn, "10.0.0.6", Some("aa:bb:cc:dd:ee:01"), now + 2).unwrap();
        assert_eq!(
            rows::accepted(&conn, now).unwrap(),
            vec![("10.0.0.6".to_string(), now + 600_000)]
        );
        deny(&conn, &"aa:bb:cc:dd:ee:01".parse().unwrap()).unwrap();
        assert!(rows::accepted(&conn, now).unwrap().is_empty());
    }

    #[test]
    fn sightings_keep_first_seen_and_update_last_seen() {
        let conn = test_connection();
        assert_eq!(rows::touch(&conn, "10.0.0.7", None, 100).unwrap(), None);
        rows::touch(&conn, "10.0.0.7", Some("aa:bb:cc:dd:ee:07"), 200).unwrap();
        let list = rows::list(&conn).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].first_seen, list[0].last_seen), (100, 200));
        assert_eq!(list[0].mac.as_deref(), Some("aa:bb:cc:dd:ee:07"));
        let text = list_text(&conn, 200 + 3_600_000).unwrap();
        assert!(text.contains("10.0.0.7"), "{text}");
        assert!(text.contains("1h ago"), "{text}");
        assert!(text.contains("portal"), "{text}");
    }

    #[test]
    fn a_client_is_written_as_seen_at_most_once_a_minute() {
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.2".parse().unwrap(), "fd00::2".parse().unwrap());
        let mut seen = HashMap::new();
        assert!(sighting_due(&mut seen, a, 1_000));
        assert!(!sighting_due(&mut seen, a, 1_000));
        assert!(!sighting_due(&mut seen, a, 1_000 + SEEN_EVERY_MS - 1));
        assert!(sighting_due(&mut seen, b, 2_000));
        assert!(sighting_due(&mut seen, a, 1_000 + SEEN_EVERY_MS));
        assert_eq!(seen.len(), 2);
        // Clients quiet for a minute are forgotten.
        assert!(sighting_due(&mut seen, a, 2_000 + 2 * SEEN_EVERY_MS));
        assert_eq!(seen, HashMap::from([(a, 2_000 + 2 * SEEN_EVERY_MS)]));
    }

    #[test]
    fn ages_use_the_largest_unit() {
        assert_eq!(age(-5), "0s");
        assert_eq!(age(59_999), "59s");
        assert_eq!(age(60_000), "1m");
        assert_eq!(age(7_200_000), "2h");
        assert_eq!(age(3 * 86_400_000), "3d");
        assert_eq!(seconds_until(1_500, 1_000), 1);
        assert_eq!(seconds_until(500, 1_000), 0);
    }
}

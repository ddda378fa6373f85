//! First run: while the venue has no owner, a visitor from the router's
//! own network (never from the hotspot) sets it up once in the browser.

use crate::accounts;
use crate::error::{Code, Error, Result};
use crate::store::users::{self, Role};
use crate::support::fields::{Fields, FromFields};
use crate::venue::audit::{self, Actor, Entry};
use crate::venue::settings::Venue;
use rusqlite::Connection;
use std::net::{IpAddr, Ipv4Addr};

/// What the set-up form asks.
#[derive(Debug, Default)]
pub struct Setup {
    pub venue_name: String,
    pub owner_name: String,
    pub email: String,
    pub password: String,
    pub terms: String,
    pub currency: String,
    /// The default language and the languages offered; none sent keeps
    /// what the venue has.
    pub language: String,
    pub languages: Vec<String>,
    pub time_zone: String,
    pub ssid: String,
}

impl FromFields for Setup {
    fn from_fields(f: &Fields) -> Result<Setup> {
        f.done(Setup {
            venue_name: f.text_or_empty("venue_name"),
            owner_name: f.text_or_empty("owner_name"),
            email: f.text_or_empty("email"),
            password: f.text_or_empty("password"),
            terms: f.text_or_empty("terms"),
            currency: f.text_or_empty("currency"),
            language: f.text_or_empty("language"),
            languages: f.texts("languages").unwrap_or_default(),
            time_zone: f.text_or_empty("time_zone"),
            ssid: f.text_or_empty("ssid"),
        })
    }
}

pub fn needed(conn: &Connection) -> Result<bool> {
    Ok(users::count_by_role(conn, Role::Owner)? == 0)
}

/// Whether a request may set the venue up: not one that came in on the
/// hotspot's address, nor from the hotspot's network (the /24 around the
/// portal's address, as `orderspot-hotspot` makes it), nor from a client
/// that has accepted the portal (only hotspot phones do).
pub fn from_lan(
    peer: IpAddr,
    local: Option<IpAddr>,
    portal_ip: Option<Ipv4Addr>,
    accepted: bool,
) -> bool {
    let on_hotspot = |ip: IpAddr| match (ip.to_canonical(), portal_ip) {
        (IpAddr::V4(ip), Some(portal)) => ip.octets()[..3] == portal.octets()[..3],
        _ => false,
    };
    !accepted && !local.is_some_and(on_hotspot) && !on_hotspot(peer)
}

/// Creates the owner and saves the venue's settings in one transaction;
/// refused once an owner exists. Returns the owner's id and the venue.
pub fn complete(
    conn: &Connection,
    setup: Setup,
    current: Venue,
    address: String,
) -> Result<(i64, Venue)> {
    if !needed(conn)? {
        return Err(Error::conflict(Code::SetupDone));
    }
    let owner_name = match setup.owner_name.trim() {
        "" => "Venue owner",
        name => name,
    };
    let venue = Venue {
        name: setup.venue_name,
        terms: setup.terms,
        currency: setup.currency,
        language: match setup.language.trim() {
            "" => current.language.clone(),
            lang => lang.to_string(),
        },
        languages: if setup.languages.is_empty() {
            current.languages.clone()
        } else {
            setup.languages
        },
        time_zone: setup.time_zone.clone(),
        // A new zone name takes its rule from zoneinfo; the router's own
        // zone keeps the rule it came with.
        time_zone_rule: if setup.time_zone.trim() == current.time_zone {
            current.time_zone_rule.clone()
        } else {
            String::new()
        },
        ssid: setup.ssid,
        ..current
    }
    .validate()?;
    let user_id = accounts::create_owner(conn, &setup.email, owner_name, &setup.password)?;
    venue.save(conn)?;
    let actor = Actor {
        user_id: Some(user_id),
        name: owner_name.to_string(),
        address,
    };
    audit::record(
        conn,
        &Entry {
            actor: &actor,
            action: "venue.setup",
            shop_id: None,
            detail: &venue.name,
        },
    )?;
    Ok((user_id, venue))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Failed, Failure};

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_hotspot_never_counts_as_the_lan() {
        let portal = Some(Ipv4Addr::new(192, 168, 51, 1));
        let lan = Some(ip("192.168.1.1"));
        assert!(from_lan(ip("192.168.1.20"), lan, portal, false));
        assert!(from_lan(ip("192.168.1.20"), lan, None, false));
        assert!(!from_lan(ip("192.168.1.20"), lan, portal, true));
        assert!(!from_lan(ip("192.168.51.20"), lan, portal, false));
        assert!(!from_lan(ip("::ffff:192.168.51.20"), lan, portal, false));
        assert!(!from_lan(
            ip("10.0.0.9"),
            Some(ip("192.168.51.1")),
            portal,
            false
        ));
    }

    #[test]
    fn setting_up_works_once() {
        let conn = crate::db::test_connection();
        let setup = || Setup {
            venue_name: "Food Court".into(),
            email: "me@example.org".into(),
            password: "a long password".into(),
            time_zone: "UTC".into(),
            ssid: "Food Court Wi-Fi".into(),
            ..Setup::default()
        };
        assert!(needed(&conn).unwrap());
        let (_, venue) = complete(&conn, setup(), Venue::default(), "192.168.1.20".into()).unwrap();
        assert_eq!(venue.ssid, "Food Court Wi-Fi");
        assert_eq!(Venue::load(&conn).unwrap(), venue);
        assert!(!needed(&conn).unwrap());
        assert!(matches!(
            complete(&conn, setup(), venue, String::new()).failure(),
            Err(Failure::Conflict(_))
        ));
    }
}

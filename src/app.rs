//! The shared state every request handler gets: the database with the
//! long-poll hub, the venue's settings, the server secret, the rate
//! limiter, and the captive portal's settings and Wi-Fi clients. Built once
//! from a finished `Config`; only the venue's settings change after, when
//! the owner saves them.

use crate::config::Config;
use crate::db::Db;
use crate::error::Result;
use crate::live::Data;
use crate::portal::clients::Clients;
use crate::portal::PortalConfig;
use crate::store::settings;
use crate::support::crypto;
use crate::support::i18n;
use crate::support::ratelimit::RateLimiter;
use crate::venue::settings::Venue;
use rusqlite::Connection;
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub struct App {
    pub data: Data,
    pub limits: RateLimiter,
    pub portal: Arc<PortalConfig>,
    pub clients: Clients,
    /// Carts, in memory only.
    pub carts: crate::ordering::carts::Carts,
    venue: Arc<RwLock<Venue>>,
    secret: Arc<[u8; 32]>,
}

impl App {
    pub async fn open(config: &Config) -> Result<App> {
        let db = Db::open(&config.data_dir)?;
        let venue_name = config.venue_name.clone();
        let (venue, secret) = db
            .write(move |tx| {
                let venue = Venue::load(tx)?;
                let venue = match venue_name {
                    Some(name) => renamed(tx, venue, name)?,
                    None => venue,
                };
                Ok((venue, load_or_create_secret(tx)?))
            })
            .await?;
        Ok(App {
            data: Data::new(db.clone()),
            limits: RateLimiter::default(),
            portal: Arc::new(config.portal.clone()),
            clients: Clients::new(db, config.clients.clone()),
            carts: Default::default(),
            venue: Arc::new(RwLock::new(venue)),
            secret: Arc::new(secret),
        })
    }

    pub fn venue(&self) -> Venue {
        self.venue.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads the venue's settings without copying them.
    pub fn with_venue<T>(&self, read: impl FnOnce(&Venue) -> T) -> T {
        read(&self.venue.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The venue's language, for visitors who ask for none we have.
    pub fn default_language(&self) -> &'static i18n::Catalogue {
        let venue = self.venue.read().unwrap_or_else(|p| p.into_inner());
        i18n::find(&venue.language).unwrap_or_else(i18n::english)
    }

    pub async fn set_venue(&self, venue: Venue) -> Result<Venue> {
        let venue = venue.validate()?;
        if venue == self.venue() {
            return Ok(venue);
        }
        let saved = venue.clone();
        self.data.db.write(move |tx| saved.save(tx)).await?;
        *self.venue.write().unwrap_or_else(|p| p.into_inner()) = venue.clone();
        // Every page shows the venue (its name, languages, money format).
        self.data.live.pages().forget_all();
        Ok(venue)
    }

    /// A MAC of `data` under the server's secret (CSRF tokens, derived tokens).
    pub fn sign(&self, data: &str) -> String {
        crypto::hex(&crypto::hmac_sha256(self.secret.as_ref(), data.as_bytes()))
    }
}

/// The venue under `name` (`serve --venue-name`, at every start): saved
/// only when that changes it, so starting needs no room on the disk.
fn renamed(conn: &Connection, venue: Venue, name: String) -> Result<Venue> {
    let named = Venue {
        name,
        ..venue.clone()
    }
    .validate()?;
    if named != venue {
        named.save(conn)?;
    }
    Ok(named)
}

/// The server secret lives in the database so it survives restarts and
/// travels with backups.
fn load_or_create_secret(conn: &Connection) -> Result<[u8; 32]> {
    if let Some(stored) = settings::get(conn, "secret")?.and_then(|hex| crypto::unhex(&hex)) {
        if let Ok(secret) = stored.try_into() {
            return Ok(secret);
        }
    }
    let secret = crypto::random_bytes::<32>()?;
    settings::set(conn, "secret", &crypto::hex(&secret))?;
    Ok(secret)
}

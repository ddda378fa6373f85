//! The shared state every request handler gets: the database, the long-poll
//! hub, the venue's settings, the server secret, the rate limiter, and the
//! captive portal's settings and Wi-Fi clients.

use crate::db::Db;
use crate::error::{Code, Error, Result};
use crate::live::{Changes, Live};
use crate::ordering::orders::OpenOrderLimits;
use crate::store::settings;
use crate::support::crypto;
use crate::support::i18n;
use crate::support::money::{MoneyFormat, MAX_DECIMALS};
use crate::support::ratelimit::RateLimiter;
use crate::support::text;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, RwLock};

pub const MAX_OPEN_ORDERS_PER_DEVICE: i64 = 1_000;
pub const MAX_OPEN_ORDERS_PER_SHOP: i64 = 40_000;

/// What the owner sets for the whole venue. Settings saved by an older
/// version lack the newer fields: those take their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Venue {
    pub name: String,
    pub terms: String,
    /// The currency symbol; with the four fields below, how amounts look.
    pub currency: String,
    pub decimals: u32,
    pub decimal_separator: String,
    pub thousands_separator: String,
    pub symbol_after: bool,
    /// The pages' language for visitors whose browser asks for none we have.
    pub language: String,
    /// The venue's zone as minutes east of UTC, for times shown on pages.
    pub utc_offset_minutes: i64,
    /// Open orders one device (customer token or client address) may have.
    pub max_open_orders_per_device: i64,
    /// Open orders one shop may have; above it new orders are refused.
    pub max_open_orders_per_shop: i64,
}

impl Default for Venue {
    fn default() -> Self {
        Venue {
            name: "OrderSpot".into(),
            terms: "Be kind to the staff. Pay when you pick up your order.".into(),
            currency: "€".into(),
            decimals: 2,
            decimal_separator: ".".into(),
            thousands_separator: String::new(),
            symbol_after: false,
            language: i18n::english().lang.into(),
            utc_offset_minutes: 0,
            max_open_orders_per_device: 5,
            max_open_orders_per_shop: 300,
        }
    }
}

impl Venue {
    pub fn load(conn: &Connection) -> Result<Venue> {
        Ok(match settings::get(conn, "venue")? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| Error::Internal(format!("venue settings: {e}")))?,
            None => Venue::default(),
        })
    }

    pub fn validate(self) -> Result<Venue> {
        if i18n::find(&self.language).is_none() {
            return Err(Error::bad(Code::VenueUnknownLanguage).with("lang", &self.language));
        }
        let decimal_separator =
            text::optional_line("decimal_separator", &self.decimal_separator, 4)?;
        // Untrimmed: a space is the usual separator in some countries.
        let thousands_separator = text::clean_line(&self.thousands_separator);
        text::check_length("thousands_separator", &thousands_separator, 4)?;
        Ok(Venue {
            name: text::required("name", &self.name, 80)?,
            terms: text::optional_text("terms", &self.terms, 5_000)?,
            currency: text::optional_line("currency", &self.currency, 8)?,
            decimals: self.decimals.min(MAX_DECIMALS),
            // Without a separator, "1250" could be 12.50 or 1250.
            decimal_separator: if decimal_separator.is_empty() {
                ".".into()
            } else {
                decimal_separator
            },
            thousands_separator,
            symbol_after: self.symbol_after,
            language: self.language,
            utc_offset_minutes: self.utc_offset_minutes.clamp(-14 * 60, 14 * 60),
            max_open_orders_per_device: self
                .max_open_orders_per_device
                .clamp(1, MAX_OPEN_ORDERS_PER_DEVICE),
            // Up to this many, pickup codes stay at most four characters
            // with few collisions (orders::pickup_code_length).
            max_open_orders_per_shop: self
                .max_open_orders_per_shop
                .clamp(1, MAX_OPEN_ORDERS_PER_SHOP),
        })
    }

    /// How the venue's amounts look, on pages, in messages and in the script.
    pub fn money(&self) -> MoneyFormat {
        MoneyFormat {
            symbol: self.currency.clone(),
            decimals: self.decimals,
            decimal_separator: self.decimal_separator.clone(),
            thousands_separator: self.thousands_separator.clone(),
            symbol_after: self.symbol_after,
        }
    }

    pub fn open_order_limits(&self) -> OpenOrderLimits {
        OpenOrderLimits {
            per_device: self.max_open_orders_per_device,
            per_shop: self.max_open_orders_per_shop,
        }
    }

    pub fn save(&self, conn: &Connection) -> Result<()> {
        let json = serde_json::to_string(self).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(settings::set(conn, "venue", &json)?)
    }
}

#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub live: Live,
    pub limits: RateLimiter,
    pub portal: Arc<crate::portal::PortalConfig>,
    pub clients: crate::portal::clients::Clients,
    venue: Arc<RwLock<Venue>>,
    secret: Arc<[u8; 32]>,
}

impl App {
    pub async fn open(data_dir: &Path) -> Result<App> {
        let db = Db::open(data_dir)?;
        let (venue, secret) = db
            .write(|tx| Ok((Venue::load(tx)?, load_or_create_secret(tx)?)))
            .await?;
        let clients = crate::portal::clients::Clients::new(db.clone(), Default::default());
        Ok(App {
            db,
            live: Live::default(),
            limits: RateLimiter::default(),
            portal: Arc::default(),
            clients,
            venue: Arc::new(RwLock::new(venue)),
            secret: Arc::new(secret),
        })
    }

    /// Runs `f` in a write transaction; once it has committed, wakes whoever
    /// waits on the topics `f` says it changed. Nothing is published when
    /// the transaction fails.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction, &mut Changes) -> Result<T> + Send + 'static,
    {
        let (value, changes) = self
            .db
            .write(move |tx| {
                let mut changes = Changes::default();
                let value = f(tx, &mut changes)?;
                Ok((value, changes))
            })
            .await?;
        self.live.publish(&changes);
        Ok(value)
    }

    pub fn venue(&self) -> Venue {
        self.venue.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The venue's language, for visitors who ask for none we have.
    pub fn default_language(&self) -> &'static i18n::Catalogue {
        let venue = self.venue.read().unwrap_or_else(|p| p.into_inner());
        i18n::find(&venue.language).unwrap_or_else(i18n::english)
    }

    pub async fn set_venue(&self, venue: Venue) -> Result<Venue> {
        let venue = venue.validate()?;
        // `serve --venue-name` sets it at every start, which must not need
        // room on the disk.
        if venue == self.venue() {
            return Ok(venue);
        }
        let saved = venue.clone();
        self.db.write(move |tx| saved.save(tx)).await?;
        *self.venue.write().unwrap_or_else(|p| p.into_inner()) = venue.clone();
        Ok(venue)
    }

    /// A MAC of `data` under the server's secret (CSRF tokens, derived tokens).
    pub fn sign(&self, data: &str) -> String {
        crypto::hex(&crypto::hmac_sha256(self.secret.as_ref(), data.as_bytes()))
    }
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

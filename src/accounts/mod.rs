//! Accounts, passwords and login sessions of shopkeepers and the venue owner,
//! and the permission rules that follow from a user's role.

use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::store::shops::{self, ShopRow, ShopStatus};
use crate::store::{sessions, users};
use crate::support::crypto;
use crate::support::ratelimit::Action;
use crate::support::text;
use rusqlite::Connection;
use serde::Deserialize;
use std::net::IpAddr;

pub use crate::store::users::Role;

/// A logged-in shopkeeper or owner.
#[derive(Clone, Debug)]
pub struct Staff {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub shop: Option<ShopRow>,
}

impl Staff {
    /// The shop this user runs, to look at; owners and shopless users are
    /// refused.
    pub fn own_shop(&self) -> Result<&ShopRow> {
        self.shop
            .as_ref()
            .filter(|_| self.role == Role::Shopkeeper)
            .ok_or_else(|| Error::forbidden(Code::AuthShopkeepersOnly))
    }

    /// The shop this user runs, to change it: refused at once while the
    /// owner has it suspended (it stays readable). Pending shops may build
    /// their menu before approval.
    pub fn manage_shop(&self) -> Result<&ShopRow> {
        let shop = self.own_shop()?;
        if shop.status == ShopStatus::Suspended {
            return Err(Error::forbidden(Code::ShopSuspended));
        }
        Ok(shop)
    }

    pub fn require_owner(&self) -> Result<()> {
        if self.role != Role::Owner {
            return Err(Error::forbidden(Code::AuthOwnerOnly));
        }
        Ok(())
    }
}

// Stretching cost: about 0.2 s on a 650 MHz MIPS router; stored with the
// hash so it can be raised later without breaking old passwords.
const PBKDF2_ITERATIONS: u32 = 60_000;
pub const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 200;
const SESSION_MS: i64 = 14 * 24 * 60 * 60 * 1000;

pub fn check_password_policy(password: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Error::bad(Code::AuthPasswordTooShort).with("min", MIN_PASSWORD_CHARS));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(Error::bad(Code::AuthPasswordTooLong));
    }
    Ok(())
}

/// "pbkdf2-sha256$ITERATIONS$SALT$HASH", salt and hash in hex.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = crypto::random_bytes::<16>()?;
    let hash = crypto::pbkdf2_sha256(password.as_bytes(), &salt, PBKDF2_ITERATIONS);
    Ok(format!(
        "pbkdf2-sha256${PBKDF2_ITERATIONS}${}${}",
        crypto::hex(&salt),
        crypto::hex(&hash)
    ))
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2-sha256"), Some(iterations), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(iterations), Some(salt), Some(hash)) = (
        iterations.parse::<u32>(),
        crypto::unhex(salt),
        crypto::unhex(hash),
    ) else {
        return false;
    };
    let computed = crypto::pbkdf2_sha256(password.as_bytes(), &salt, iterations.max(1));
    crypto::constant_time_eq(&computed, &hash)
}

pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && !host.is_empty())
        && !email.contains(|c: char| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(Error::bad(Code::AuthBadEmail));
    }
    Ok(email)
}

/// Creates a user; refuses a taken email.
pub fn create_user(
    conn: &Connection,
    email: &str,
    name: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> Result<i64> {
    if users::by_email(conn, email)?.is_some() {
        return Err(Error::conflict(Code::AuthEmailTaken));
    }
    Ok(users::insert(conn, email, name, role, password_hash, now)?)
}

/// The staff member behind a session token, if the session is live.
pub fn staff_for_token(conn: &Connection, token: &str, now: i64) -> Result<Option<Staff>> {
    let Some(user_id) = sessions::user_id(conn, &crypto::token_hash(token), now)? else {
        return Ok(None);
    };
    let Some(user) = users::by_id(conn, user_id)? else {
        return Ok(None);
    };
    Ok(Some(Staff {
        role: user.role,
        shop: shops::by_owner(conn, user.id)?,
        user_id: user.id,
        name: user.name,
        email: user.email,
    }))
}

/// Starts a session; returns its token (only its hash is stored).
pub fn start_session(conn: &Connection, user_id: i64, now: i64) -> Result<String> {
    let token = crypto::random_token()?;
    sessions::insert(
        conn,
        &crypto::token_hash(&token),
        user_id,
        now,
        now + SESSION_MS,
    )?;
    sessions::delete_expired(conn, now)?;
    Ok(token)
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// Checks credentials and starts a session: `(token, role)`. Each attempt
/// is charged to the client's address and to the account before its
/// password is hashed, so attempts sent all at once, or from many
/// addresses, cannot all be tried; a success gives its charges back.
pub async fn login(app: &App, client: IpAddr, credentials: Credentials) -> Result<(String, Role)> {
    let email = credentials.email.trim().to_lowercase();
    app.limits.take(Action::LoginAttempt, client)?;
    app.limits.take_account_attempt(&email, client)?;
    let slot = match app.limits.hashing_slot().await {
        Ok(slot) => slot,
        Err(e) => {
            // Nothing was tried: a busy server costs the client nothing.
            app.limits.refund(Action::LoginAttempt, client);
            app.limits.refund_account_attempt(&email);
            return Err(e);
        }
    };
    let lookup = email.clone();
    let user = app
        .db
        .read(move |c| Ok(users::by_email(c, &lookup)?))
        .await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    // Hash even for unknown users so timing does not reveal who exists.
    let valid = tokio::task::spawn_blocking(move || {
        // Held until the hash is done, even if the client has gone.
        let _slot = slot;
        let fallback = "pbkdf2-sha256$60000$00$00";
        verify_password(&credentials.password, stored.as_deref().unwrap_or(fallback))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?;
    let Some(user) = user.filter(|_| valid) else {
        return Err(Error::unauthorized(Code::AuthWrongPassword));
    };
    app.limits.refund(Action::LoginAttempt, client);
    app.limits.refund_account_attempt(&email);
    let role = user.role;
    let now = crate::support::time::now_ms();
    let token = app
        .db
        .write(move |tx| start_session(tx, user.id, now))
        .await?;
    Ok((token, role))
}

pub async fn logout(app: &App, token: String) -> Result<()> {
    app.db
        .write(move |tx| Ok(sessions::delete(tx, &crypto::token_hash(&token))?))
        .await
}

#[derive(Debug, Deserialize)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub name: String,
    pub shop_name: String,
    #[serde(default)]
    pub description: String,
}

/// A shopkeeper signs up with their shop, which waits for the owner's
/// approval. Returns a session token so they can start on the menu at once.
pub async fn register(app: &App, form: Registration) -> Result<String> {
    let email = normalize_email(&form.email)?;
    check_password_policy(&form.password)?;
    let name = text::required("name", &form.name, 60)?;
    let shop_name = text::required("shop_name", &form.shop_name, 60)?;
    let description = text::optional_text("description", &form.description, 500)?;
    let password = form.password;
    let slot = app.limits.hashing_slot().await?;
    let hash = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        hash_password(&password)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    let now = crate::support::time::now_ms();
    let logged = format!("shop '{shop_name}' registered by {email}, waiting for approval");
    let token = app
        .db
        .write(move |tx| {
            let user_id = create_user(tx, &email, &name, Role::Shopkeeper, &hash, now)?;
            shops::insert(
                tx,
                user_id,
                &shop_name,
                &description,
                ShopStatus::Pending,
                now,
            )?;
            start_session(tx, user_id, now)
        })
        .await?;
    // Only once committed: a failed commit registered nothing.
    log::info!("{logged}");
    Ok(token)
}

/// Sets a user's password and ends their sessions (command line).
pub fn reset_password(conn: &Connection, email: &str, password: &str) -> Result<()> {
    check_password_policy(password)?;
    let user = users::by_email(conn, &normalize_email(email)?)?
        .ok_or_else(|| Error::not_found(Code::UserNotFound))?;
    users::set_password(conn, user.id, &hash_password(password)?)?;
    sessions::delete_for_user(conn, user.id)?;
    Ok(())
}

/// Creates a venue owner account (command line and demo).
pub fn create_owner(conn: &Connection, email: &str, name: &str, password: &str) -> Result<i64> {
    check_password_policy(password)?;
    create_user(
        conn,
        &normalize_email(email)?,
        &text::required("name", name, 60)?,
        Role::Owner,
        &hash_password(password)?,
        crate::support::time::now_ms(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_salts_differ() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b);
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("correct horsE", &a));
        assert!(!verify_password("x", "garbage"));
    }

    #[test]
    fn sessions_identify_the_user_and_expire() {
        let conn = crate::db::test_connection();
        let id = create_owner(&conn, "Boss@Example.org", "Boss", "long enough").unwrap();
        let token = start_session(&conn, id, 1_000).unwrap();
        let staff = staff_for_token(&conn, &token, 2_000).unwrap().unwrap();
        assert_eq!(staff.email, "boss@example.org");
        assert_eq!(staff.role, Role::Owner);
        assert!(staff.own_shop().is_err());
        assert!(staff_for_token(&conn, &token, 1_000 + SESSION_MS)
            .unwrap()
            .is_none());
        assert!(staff_for_token(&conn, "nope", 2_000).unwrap().is_none());
    }

    #[test]
    fn suspended_shops_can_be_seen_but_not_managed() {
        let conn = crate::db::test_connection();
        let keeper = create_user(&conn, "k@x.y", "K", Role::Shopkeeper, "x", 0).unwrap();
        let shop = shops::insert(&conn, keeper, "Stall", "", ShopStatus::Pending, 0).unwrap();
        let token = start_session(&conn, keeper, 0).unwrap();
        let staff = |status: ShopStatus| {
            shops::set_status(&conn, shop, status).unwrap();
            staff_for_token(&conn, &token, 1).unwrap().unwrap()
        };
        assert!(staff(ShopStatus::Pending).manage_shop().is_ok());
        assert!(staff(ShopStatus::Approved).manage_shop().is_ok());
        let suspended = staff(ShopStatus::Suspended);
        assert!(suspended.own_shop().is_ok());
        assert!(matches!(suspended.manage_shop(), Err(Error::Forbidden(_))));
    }

    #[test]
    fn duplicate_emails_and_weak_passwords_are_refused() {
        let conn = crate::db::test_connection();
        create_owner(&conn, "a@b.c", "A", "long enough").unwrap();
        assert!(matches!(
            create_owner(&conn, "A@B.C", "A", "long enough"),
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            create_owner(&conn, "x@b.c", "A", "short"),
            Err(Error::BadRequest(_))
        ));
    }
}

//! Accounts, passwords and login sessions of shopkeepers and the venue owner,
//! and the permission rules that follow from a user's role.

use crate::db::blocking;
use crate::error::{Code, Error, Result};
use crate::live::Data;
use crate::store::shops::{self, ShopRow, ShopStatus};
use crate::store::{members, sessions, users};
use crate::support::case;
use crate::support::crypto;
use crate::support::fields::{Fields, FromFields};
use crate::support::json::json_object;
use crate::support::ratelimit::{Action, RateLimiter};
use crate::support::text;
use rusqlite::Connection;
use std::net::IpAddr;

pub(crate) use crate::store::users::Role;

pub(crate) use crate::store::members::ShopRole;

/// What a member of a shop may ask to do there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShopAction {
    /// See the order board and the menu.
    SeeBoard,
    MoveOrders,
    SwitchSoldOut,
    /// Add, change and delete menu items.
    EditMenu,
    /// The shop's name, description, open/closed switch and pause.
    EditProfile,
    ManageMembers,
    /// Take payments at the counter.
    TakePayments,
    /// Give money back.
    Refund,
}

impl ShopAction {
    /// Staff work the board; the keeper also runs the shop.
    pub(crate) fn allowed_for(self, role: ShopRole) -> bool {
        match role {
            ShopRole::Keeper => true,
            ShopRole::Staff => matches!(
                self,
                ShopAction::SeeBoard
                    | ShopAction::MoveOrders
                    | ShopAction::SwitchSoldOut
                    | ShopAction::TakePayments
            ),
        }
    }

    /// Whether it changes the shop: refused while the owner has it suspended.
    fn changes_shop(self) -> bool {
        self != ShopAction::SeeBoard
    }
}

/// The shop a user works at and their role there.
#[derive(Clone, Debug)]
pub(crate) struct Membership {
    pub(crate) shop: ShopRow,
    pub(crate) role: ShopRole,
}

/// A logged-in shopkeeper or owner.
#[derive(Clone, Debug)]
pub(crate) struct Staff {
    pub(crate) user_id: i64,
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) membership: Option<Membership>,
}

impl Staff {
    pub(crate) fn shop(&self) -> Option<&ShopRow> {
        self.membership.as_ref().map(|m| &m.shop)
    }

    /// The shop this user works at, if their role there allows `action`.
    /// Shopless users, and owners who have not chosen a shop, are refused;
    /// a suspended shop stays readable but nothing in it can change.
    pub(crate) fn shop_for(&self, action: ShopAction) -> Result<&ShopRow> {
        let membership = self
            .membership
            .as_ref()
            .ok_or_else(|| Error::forbidden(Code::AuthShopkeepersOnly))?;
        if !action.allowed_for(membership.role) {
            return Err(Error::forbidden(Code::AuthKeeperOnly));
        }
        if action.changes_shop() && membership.shop.status == ShopStatus::Suspended {
            return Err(Error::forbidden(Code::ShopSuspended));
        }
        Ok(&membership.shop)
    }

    /// The shop this user works at, to look at.
    pub(crate) fn own_shop(&self) -> Result<&ShopRow> {
        self.shop_for(ShopAction::SeeBoard)
    }

    pub(crate) fn require_owner(&self) -> Result<()> {
        if self.role != Role::Owner {
            return Err(Error::forbidden(Code::AuthOwnerOnly));
        }
        Ok(())
    }
}

/// The venue owner acting as the keeper of `shop_id`: the owner may do in
/// any shop whatever its keeper may. Anyone else stays as they are, so a
/// shopkeeper naming another shop still works only in their own.
pub(crate) fn in_chosen_shop(conn: &Connection, staff: Staff, shop_id: i64) -> Result<Staff> {
    if staff.role != Role::Owner {
        return Ok(staff);
    }
    let shop = shops::by_id(conn, shop_id)?.ok_or_else(|| Error::not_found(Code::ShopNotFound))?;
    Ok(Staff {
        membership: Some(Membership {
            shop,
            role: ShopRole::Keeper,
        }),
        ..staff
    })
}

/// Most members one shop may have: each is a row a keeper could add.
pub(crate) const MAX_SHOP_MEMBERS: i64 = 50;

/// Makes a shopkeeper account a member of the keeper's shop, or changes
/// its role there. A shop always keeps at least one keeper.
pub(crate) fn put_member(
    conn: &Connection,
    keeper: &Staff,
    user_id: i64,
    role: ShopRole,
    now: i64,
) -> Result<()> {
    let shop_id = keeper.shop_for(ShopAction::ManageMembers)?.id;
    let user = users::by_id(conn, user_id)?.ok_or_else(|| Error::not_found(Code::UserNotFound))?;
    if user.role != Role::Shopkeeper {
        return Err(Error::bad(Code::MemberNotShopkeeper));
    }
    let (members, keepers) = members::counts(conn, shop_id)?;
    match members::role(conn, shop_id, user_id)? {
        None if members >= MAX_SHOP_MEMBERS => {
            return Err(Error::conflict(Code::ShopTooManyMembers).with("max", MAX_SHOP_MEMBERS));
        }
        Some(ShopRole::Keeper) if role != ShopRole::Keeper && keepers <= 1 => {
            return Err(Error::conflict(Code::ShopNeedsKeeper));
        }
        _ => {}
    }
    Ok(members::put(conn, shop_id, user_id, role, now)?)
}

/// Takes a member off the keeper's shop and ends their sessions, so a
/// removed cook is out at once; its last keeper stays.
pub(crate) fn remove_member(conn: &Connection, keeper: &Staff, user_id: i64) -> Result<()> {
    let shop_id = keeper.shop_for(ShopAction::ManageMembers)?.id;
    let (_, keepers) = members::counts(conn, shop_id)?;
    match members::role(conn, shop_id, user_id)? {
        None => Err(Error::not_found(Code::MemberNotFound)),
        Some(ShopRole::Keeper) if keepers <= 1 => Err(Error::conflict(Code::ShopNeedsKeeper)),
        Some(_) => {
            members::remove(conn, shop_id, user_id)?;
            sessions::delete_for_user(conn, user_id)?;
            Ok(())
        }
    }
}

/// A member of a shop as its staff list shows them.
#[derive(Debug)]
pub(crate) struct MemberView {
    pub(crate) user_id: i64,
    /// The email or username they log in with.
    pub(crate) login: String,
    pub(crate) name: String,
    pub(crate) role: &'static str,
    pub(crate) added_at: i64,
}
json_object!(MemberView: user_id, login, name, role, added_at);

/// The keeper's shop's members, keepers first.
pub(crate) fn member_list(conn: &Connection, keeper: &Staff) -> Result<Vec<MemberView>> {
    let shop_id = keeper.shop_for(ShopAction::ManageMembers)?.id;
    Ok(members::list(conn, shop_id)?
        .into_iter()
        .map(|m| MemberView {
            user_id: m.user_id,
            login: m.login,
            name: m.name,
            role: m.role.as_str(),
            added_at: m.created_at,
        })
        .collect())
}

/// A kitchen staff account a keeper adds: an email or a short username.
#[derive(Debug)]
pub(crate) struct NewStaff {
    pub(crate) email: String,
    pub(crate) username: String,
    pub(crate) name: String,
    pub(crate) password: String,
}

impl FromFields for NewStaff {
    fn from_fields(f: &Fields) -> Result<NewStaff> {
        f.done(NewStaff {
            email: f.text_or_empty("email"),
            username: f.text_or_empty("username"),
            name: f.required_text("name"),
            password: f.required_text("password"),
        })
    }
}

const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=32;

/// What a new staff member logs in with: an email, or a username of 3–32
/// lowercase letters, digits, '.', '_' or '-' (no '@', so it can never be
/// taken for someone's email).
pub(crate) fn staff_login(form: &NewStaff) -> Result<String> {
    if form.username.trim().is_empty() {
        return normalize_email(&form.email);
    }
    let username = form.username.trim().to_ascii_lowercase();
    let valid = USERNAME_CHARS.contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !valid || !form.email.trim().is_empty() {
        return Err(Error::bad(Code::AuthBadUsername));
    }
    Ok(username)
}

/// Creates a staff account and adds it to the keeper's shop. An existing
/// account is never taken over: its login is refused as taken.
pub(crate) async fn add_staff(
    data: &Data,
    limits: &RateLimiter,
    keeper: Staff,
    form: NewStaff,
) -> Result<MemberView> {
    keeper.shop_for(ShopAction::ManageMembers)?;
    let login = staff_login(&form)?;
    check_password_policy(&form.password)?;
    let name = text::required("name", &form.name, 60)?;
    let password = form.password;
    let slot = limits.hashing_slot().await?;
    let hash = blocking("password hashing", move || {
        let _slot = slot;
        hash_password(&password)
    })
    .await?;
    let now = crate::support::time::now_ms();
    data.db
        .write(move |tx| {
            let user_id = create_user(tx, &login, &name, Role::Shopkeeper, &hash, now)?;
            put_member(tx, &keeper, user_id, ShopRole::Staff, now)?;
            Ok(MemberView {
                user_id,
                login,
                name,
                role: ShopRole::Staff.as_str(),
                added_at: now,
            })
        })
        .await
}

/// Creates a shop with `keeper_id` as its keeper.
pub(crate) fn create_shop(
    conn: &Connection,
    keeper_id: i64,
    name: &str,
    description: &str,
    status: ShopStatus,
    now: i64,
) -> Result<i64> {
    let shop_id = shops::insert(conn, keeper_id, name, description, status, now)?;
    members::put(conn, shop_id, keeper_id, ShopRole::Keeper, now)?;
    Ok(shop_id)
}

// Stretching cost: about 0.2 s on a 650 MHz MIPS router; stored with the
// hash so it can be raised later without breaking old passwords.
const PBKDF2_ITERATIONS: u32 = 60_000;
pub(crate) const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 200;
const SESSION_MS: i64 = 14 * 24 * 60 * 60 * 1000;

pub(crate) fn check_password_policy(password: &str) -> Result<()> {
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

pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
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

pub(crate) fn normalize_email(email: &str) -> Result<String> {
    let email = case::lowercase(email.trim());
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
pub(crate) fn create_user(
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
pub(crate) fn staff_for_token(conn: &Connection, token: &str, now: i64) -> Result<Option<Staff>> {
    let Some(user_id) = sessions::user_id(conn, &crypto::token_hash(token), now)? else {
        return Ok(None);
    };
    let Some(user) = users::by_id(conn, user_id)? else {
        return Ok(None);
    };
    let membership = match members::shop_of(conn, user.id)? {
        Some((shop_id, role)) => shops::by_id(conn, shop_id)?.map(|shop| Membership { shop, role }),
        None => None,
    };
    Ok(Some(Staff {
        role: user.role,
        membership,
        user_id: user.id,
        name: user.name,
    }))
}

/// Starts a session; returns its token (only its hash is stored).
pub(crate) fn start_session(conn: &Connection, user_id: i64, now: i64) -> Result<String> {
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

#[derive(Debug)]
pub(crate) struct Credentials {
    pub(crate) email: String,
    pub(crate) password: String,
}

impl FromFields for Credentials {
    fn from_fields(f: &Fields) -> Result<Credentials> {
        f.done(Credentials {
            email: f.required_text("email"),
            password: f.required_text("password"),
        })
    }
}

/// Checks credentials and starts a session: `(token, role)`. Each attempt
/// is charged to the client's address and to the account before its
/// password is hashed, so attempts sent all at once, or from many
/// addresses, cannot all be tried; a success gives its charges back.
pub(crate) async fn login(
    data: &Data,
    limits: &RateLimiter,
    client: IpAddr,
    credentials: Credentials,
) -> Result<(String, Role)> {
    let email = case::lowercase(credentials.email.trim());
    limits.take(Action::LoginAttempt, client)?;
    limits.take_account_attempt(&email, client)?;
    let slot = match limits.hashing_slot().await {
        Ok(slot) => slot,
        Err(e) => {
            // Nothing was tried: a busy server costs the client nothing.
            limits.refund(Action::LoginAttempt, client);
            limits.refund_account_attempt(&email);
            return Err(e);
        }
    };
    let lookup = email.clone();
    let user = data.read(move |c| Ok(users::by_email(c, &lookup)?)).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    // Hash even for unknown users so timing does not reveal who exists.
    let valid = blocking("password check", move || {
        // Held until the hash is done, even if the client has gone.
        let _slot = slot;
        let fallback = "pbkdf2-sha256$60000$00$00";
        Ok(verify_password(
            &credentials.password,
            stored.as_deref().unwrap_or(fallback),
        ))
    })
    .await?;
    let Some(user) = user.filter(|_| valid) else {
        return Err(Error::unauthorized(Code::AuthWrongPassword));
    };
    limits.refund(Action::LoginAttempt, client);
    limits.refund_account_attempt(&email);
    let role = user.role;
    let now = crate::support::time::now_ms();
    let token = data
        .db
        .write(move |tx| start_session(tx, user.id, now))
        .await?;
    Ok((token, role))
}

pub(crate) async fn logout(data: &Data, token: String) -> Result<()> {
    data.db
        .write(move |tx| Ok(sessions::delete(tx, &crypto::token_hash(&token))?))
        .await
}

#[derive(Debug)]
pub(crate) struct Registration {
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) name: String,
    pub(crate) shop_name: String,
    pub(crate) description: String,
}

impl FromFields for Registration {
    fn from_fields(f: &Fields) -> Result<Registration> {
        f.done(Registration {
            email: f.required_text("email"),
            password: f.required_text("password"),
            name: f.required_text("name"),
            shop_name: f.required_text("shop_name"),
            description: f.text_or_empty("description"),
        })
    }
}

/// Registrations waiting for the owner: each is an account, a shop and up
/// to `menu_edit::MAX_ITEMS_PENDING_SHOP` items a stranger can create.
pub(crate) const MAX_PENDING_SHOPS: i64 = 50;

/// A shopkeeper signs up with their shop, which waits for the owner's
/// approval. Returns a session token so they can start on the menu at once.
pub(crate) async fn register(
    data: &Data,
    limits: &RateLimiter,
    form: Registration,
) -> Result<String> {
    let email = normalize_email(&form.email)?;
    check_password_policy(&form.password)?;
    let name = text::required("name", &form.name, 60)?;
    let shop_name = text::required("shop_name", &form.shop_name, 60)?;
    let description = text::optional_text("description", &form.description, 500)?;
    let password = form.password;
    let slot = limits.hashing_slot().await?;
    let hash = blocking("password hashing", move || {
        let _slot = slot;
        hash_password(&password)
    })
    .await?;
    let now = crate::support::time::now_ms();
    let logged = format!("shop '{shop_name}' registered by {email}, waiting for approval");
    let token =
        data.db
            .write(move |tx| {
                if shops::count_with_status(tx, ShopStatus::Pending)? >= MAX_PENDING_SHOPS {
                    return Err(Error::conflict(Code::VenueTooManyPendingShops)
                        .with("max", MAX_PENDING_SHOPS));
                }
                let user_id = create_user(tx, &email, &name, Role::Shopkeeper, &hash, now)?;
                create_shop(
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
pub(crate) fn reset_password(conn: &Connection, email: &str, password: &str) -> Result<()> {
    check_password_policy(password)?;
    let user = users::by_email(conn, &normalize_email(email)?)?
        .ok_or_else(|| Error::not_found(Code::UserNotFound))?;
    users::set_password(conn, user.id, &hash_password(password)?)?;
    sessions::delete_for_user(conn, user.id)?;
    Ok(())
}

/// Creates a venue owner account (command line and demo).
pub(crate) fn create_owner(
    conn: &Connection,
    email: &str,
    name: &str,
    password: &str,
) -> Result<i64> {
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
    use crate::error::{Failed, Failure};

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
        assert_eq!(staff.user_id, id);
        assert_eq!(staff.role, Role::Owner);
        assert!(staff.own_shop().is_err());
        assert!(staff_for_token(&conn, &token, 1_000 + SESSION_MS)
            .unwrap()
            .is_none());
        assert!(staff_for_token(&conn, "nope", 2_000).unwrap().is_none());
    }

    /// A shopkeeper account and a live session: `(user id, token)`.
    fn account(conn: &Connection, email: &str) -> (i64, String) {
        let id = create_user(conn, email, "K", Role::Shopkeeper, "x", 0).unwrap();
        (id, start_session(conn, id, 0).unwrap())
    }

    fn staff(conn: &Connection, token: &str) -> Staff {
        staff_for_token(conn, token, 1).unwrap().unwrap()
    }

    #[test]
    fn suspended_shops_can_be_seen_but_not_managed() {
        let conn = crate::db::test_connection();
        let (keeper, token) = account(&conn, "k@x.y");
        let shop = create_shop(&conn, keeper, "Stall", "", ShopStatus::Pending, 0).unwrap();
        let staff = |status: ShopStatus| {
            shops::set_status(&conn, shop, status).unwrap();
            staff(&conn, &token)
        };
        assert!(staff(ShopStatus::Pending)
            .shop_for(ShopAction::EditMenu)
            .is_ok());
        assert!(staff(ShopStatus::Approved)
            .shop_for(ShopAction::EditMenu)
            .is_ok());
        let suspended = staff(ShopStatus::Suspended);
        assert_eq!(suspended.own_shop().unwrap().id, shop);
        for action in [
            ShopAction::MoveOrders,
            ShopAction::SwitchSoldOut,
            ShopAction::EditMenu,
            ShopAction::EditProfile,
            ShopAction::ManageMembers,
        ] {
            assert!(
                matches!(
                    suspended.shop_for(action).failure(),
                    Err(Failure::Forbidden(_))
                ),
                "{action:?}"
            );
        }
    }

    #[test]
    fn keepers_run_the_shop_and_staff_work_its_board() {
        use ShopAction::*;
        let everything = [
            SeeBoard,
            MoveOrders,
            SwitchSoldOut,
            EditMenu,
            EditProfile,
            ManageMembers,
            TakePayments,
            Refund,
        ];
        for action in everything {
            assert!(action.allowed_for(ShopRole::Keeper), "{action:?}");
            assert_eq!(
                action.allowed_for(ShopRole::Staff),
                matches!(action, SeeBoard | MoveOrders | SwitchSoldOut | TakePayments),
                "{action:?}"
            );
        }
    }

    #[test]
    fn staff_members_act_by_their_role() {
        let conn = crate::db::test_connection();
        let (keeper, keeper_token) = account(&conn, "k@x.y");
        let (cook, cook_token) = account(&conn, "cook@x.y");
        let shop = create_shop(&conn, keeper, "Stall", "", ShopStatus::Approved, 0).unwrap();
        put_member(
            &conn,
            &staff(&conn, &keeper_token),
            cook,
            ShopRole::Staff,
            1,
        )
        .unwrap();
        let cook_staff = staff(&conn, &cook_token);
        assert_eq!(
            cook_staff.membership.as_ref().unwrap().role,
            ShopRole::Staff
        );
        assert_eq!(
            cook_staff.shop_for(ShopAction::MoveOrders).unwrap().id,
            shop
        );
        assert!(cook_staff.shop_for(ShopAction::SwitchSoldOut).is_ok());
        for refused in [
            ShopAction::EditMenu,
            ShopAction::EditProfile,
            ShopAction::ManageMembers,
        ] {
            assert!(
                matches!(
                    cook_staff.shop_for(refused).failure(),
                    Err(Failure::Forbidden(_))
                ),
                "{refused:?}"
            );
        }
        assert!(matches!(
            put_member(&conn, &cook_staff, cook, ShopRole::Keeper, 2).failure(),
            Err(Failure::Forbidden(_))
        ));
        // Removed, the cook is logged out and a shopkeeper without a shop.
        remove_member(&conn, &staff(&conn, &keeper_token), cook).unwrap();
        assert!(staff_for_token(&conn, &cook_token, 1).unwrap().is_none());
        let again = staff(&conn, &start_session(&conn, cook, 1).unwrap());
        assert!(again.membership.is_none());
        assert!(again.own_shop().is_err());
    }

    #[test]
    fn someone_who_keeps_one_shop_and_works_at_another_gets_their_own() {
        let conn = crate::db::test_connection();
        let (a, a_token) = account(&conn, "a@x.y");
        let (b, b_token) = account(&conn, "b@x.y");
        create_shop(&conn, a, "First", "", ShopStatus::Approved, 0).unwrap();
        let own = create_shop(&conn, b, "Second", "", ShopStatus::Approved, 0).unwrap();
        put_member(&conn, &staff(&conn, &a_token), b, ShopRole::Staff, 1).unwrap();
        let b_staff = staff(&conn, &b_token);
        let membership = b_staff.membership.unwrap();
        assert_eq!(
            (membership.shop.id, membership.role),
            (own, ShopRole::Keeper)
        );
    }

    #[test]
    fn a_shop_keeps_a_keeper_and_a_bounded_crew() {
        let conn = crate::db::test_connection();
        let (keeper, keeper_token) = account(&conn, "k@x.y");
        let shop = create_shop(&conn, keeper, "Stall", "", ShopStatus::Approved, 0).unwrap();
        let boss = || staff(&conn, &keeper_token);
        let conflict = |r: Result<()>| matches!(r.failure(), Err(Failure::Conflict(_)));
        assert!(conflict(put_member(
            &conn,
            &boss(),
            keeper,
            ShopRole::Staff,
            1
        )));
        assert!(conflict(remove_member(&conn, &boss(), keeper)));
        let owner = create_owner(&conn, "o@x.y", "O", "long enough").unwrap();
        assert!(matches!(
            put_member(&conn, &boss(), owner, ShopRole::Staff, 1).failure(),
            Err(Failure::BadRequest(_))
        ));
        assert!(matches!(
            put_member(&conn, &boss(), 999, ShopRole::Staff, 1).failure(),
            Err(Failure::NotFound(_))
        ));
        assert!(matches!(
            remove_member(&conn, &boss(), owner).failure(),
            Err(Failure::NotFound(_))
        ));
        // A second keeper lets the first step down.
        let (second, _) = account(&conn, "second@x.y");
        put_member(&conn, &boss(), second, ShopRole::Keeper, 1).unwrap();
        put_member(&conn, &boss(), keeper, ShopRole::Staff, 1).unwrap();
        assert_eq!(
            members::role(&conn, shop, keeper).unwrap(),
            Some(ShopRole::Staff)
        );
        // Up to the limit, and not one more.
        let (mut count, _) = members::counts(&conn, shop).unwrap();
        let lead = staff_for_token(&conn, &start_session(&conn, second, 0).unwrap(), 1)
            .unwrap()
            .unwrap();
        while count < MAX_SHOP_MEMBERS {
            let (id, _) = account(&conn, &format!("crew{count}@x.y"));
            put_member(&conn, &lead, id, ShopRole::Staff, 1).unwrap();
            count += 1;
        }
        let (extra, _) = account(&conn, "extra@x.y");
        assert!(conflict(put_member(
            &conn,
            &lead,
            extra,
            ShopRole::Staff,
            1
        )));
        // Changing a member's role is no new member.
        put_member(&conn, &lead, keeper, ShopRole::Keeper, 2).unwrap();
    }

    #[test]
    fn a_new_shop_has_its_creator_as_keeper() {
        let conn = crate::db::test_connection();
        let (keeper, token) = account(&conn, "k@x.y");
        let shop = create_shop(&conn, keeper, "Stall", "", ShopStatus::Pending, 0).unwrap();
        let membership = staff(&conn, &token).membership.unwrap();
        assert_eq!(
            (membership.shop.id, membership.role),
            (shop, ShopRole::Keeper)
        );
    }

    #[test]
    fn duplicate_emails_and_weak_passwords_are_refused() {
        let conn = crate::db::test_connection();
        create_owner(&conn, "a@b.c", "A", "long enough").unwrap();
        assert!(matches!(
            create_owner(&conn, "A@B.C", "A", "long enough").failure(),
            Err(Failure::Conflict(_))
        ));
        assert!(matches!(
            create_owner(&conn, "x@b.c", "A", "short").failure(),
            Err(Failure::BadRequest(_))
        ));
    }

    #[test]
    fn staff_log_in_with_an_email_or_a_short_username() {
        let form = |email: &str, username: &str| NewStaff {
            email: email.into(),
            username: username.into(),
            name: "Cook".into(),
            password: "long enough".into(),
        };
        assert_eq!(staff_login(&form("Cook@X.y", "")).unwrap(), "cook@x.y");
        assert_eq!(staff_login(&form("", " Grill-2 ")).unwrap(), "grill-2");
        for (email, username) in [
            ("", "ab"),
            ("", "has space"),
            ("", "a@b"),
            ("", &"x".repeat(33)),
            ("c@x.y", "cook"),
            ("", ""),
        ] {
            assert!(
                matches!(
                    staff_login(&form(email, username)).failure(),
                    Err(Failure::BadRequest(_))
                ),
                "{email:?} {username:?}"
            );
        }
    }

    #[test]
    fn the_owner_keeps_any_shop_they_choose_and_others_stay_in_their_own() {
        let conn = crate::db::test_connection();
        let (keeper, keeper_token) = account(&conn, "k@x.y");
        let (other, _) = account(&conn, "o@x.y");
        let own = create_shop(&conn, keeper, "Mine", "", ShopStatus::Approved, 0).unwrap();
        let theirs = create_shop(&conn, other, "Theirs", "", ShopStatus::Approved, 0).unwrap();
        let owner_id = create_owner(&conn, "boss@x.y", "Boss", "long enough").unwrap();
        let owner = staff(&conn, &start_session(&conn, owner_id, 0).unwrap());
        assert!(owner.shop_for(ShopAction::SeeBoard).is_err());
        let acting = in_chosen_shop(&conn, owner.clone(), theirs).unwrap();
        assert_eq!(
            acting.shop_for(ShopAction::ManageMembers).unwrap().id,
            theirs
        );
        assert_eq!(acting.shop_for(ShopAction::Refund).unwrap().id, theirs);
        assert!(matches!(
            in_chosen_shop(&conn, owner, 999).failure(),
            Err(Failure::NotFound(_))
        ));
        let keeper_staff = in_chosen_shop(&conn, staff(&conn, &keeper_token), theirs).unwrap();
        assert_eq!(keeper_staff.own_shop().unwrap().id, own);
    }
}

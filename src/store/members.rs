//! Shop membership: which users work at which shop, and in what role.

use super::{Optional, Result};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, ToSql};

/// A user's role at one shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShopRole {
    /// Runs the shop: its menu, its profile and its members.
    Keeper,
    /// Works the order board.
    Staff,
}

impl ShopRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ShopRole::Keeper => "keeper",
            ShopRole::Staff => "staff",
        }
    }
}

impl ToSql for ShopRole {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for ShopRole {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "keeper" => Ok(ShopRole::Keeper),
            "staff" => Ok(ShopRole::Staff),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

/// Adds `user_id` to the shop, or changes their role there.
pub fn put(conn: &Connection, shop_id: i64, user_id: i64, role: ShopRole, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO shop_members (shop_id, user_id, role, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (shop_id, user_id) DO UPDATE SET role = excluded.role",
        params![shop_id, user_id, role, now],
    )?;
    Ok(())
}

/// Removes `user_id` from the shop; false if they were not a member.
pub fn remove(conn: &Connection, shop_id: i64, user_id: i64) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM shop_members WHERE shop_id = ?1 AND user_id = ?2",
        params![shop_id, user_id],
    )? == 1)
}

/// The user's role at the shop, if they are a member.
pub fn role(conn: &Connection, shop_id: i64, user_id: i64) -> Result<Option<ShopRole>> {
    super::one_row(
        conn,
        "SELECT role FROM shop_members WHERE shop_id = ?1 AND user_id = ?2",
        params![shop_id, user_id],
        |r| r.get(0),
    )
    .optional()
}

/// The shop a user works at, with their role there. Someone who works at
/// several gets the oldest they keep, else the oldest they work at.
pub fn shop_of(conn: &Connection, user_id: i64) -> Result<Option<(i64, ShopRole)>> {
    super::one_row(
        conn,
        "SELECT shop_id, role FROM shop_members WHERE user_id = ?1
         ORDER BY role = 'keeper' DESC, shop_id LIMIT 1",
        params![user_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// How many members, and how many keepers, the shop has.
pub fn counts(conn: &Connection, shop_id: i64) -> Result<(i64, i64)> {
    super::one_row(
        conn,
        "SELECT COUNT(*), COUNT(CASE WHEN role = 'keeper' THEN 1 END)
         FROM shop_members WHERE shop_id = ?1",
        params![shop_id],
        super::int_pair,
    )
}

/// A member with the account they log in with.
#[derive(Debug)]
pub struct MemberRow {
    pub user_id: i64,
    pub login: String,
    pub name: String,
    pub role: ShopRole,
    pub created_at: i64,
}

/// A shop's members, keepers first, then in the order they were added.
/// A shop has at most `MAX_SHOP_MEMBERS` of them.
pub fn list(conn: &Connection, shop_id: i64) -> Result<Vec<MemberRow>> {
    let mut stmt = conn.prepare(
        "SELECT m.user_id, u.email, u.name, m.role, m.created_at
         FROM shop_members m JOIN users u ON u.id = m.user_id
         WHERE m.shop_id = ?1 ORDER BY m.role = 'keeper' DESC, m.created_at, m.user_id",
    )?;
    super::all_rows(&mut stmt, params![shop_id], |r| {
        let role = r.get(3)?;
        let mut c = super::Columns::new(r);
        let row = MemberRow {
            user_id: c.get(0),
            login: c.get(1),
            name: c.get(2),
            role,
            created_at: c.get(4),
        };
        c.done(row)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema as released before membership existed.
    fn schema_before_members() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for sql in [
            include_str!("../db/schema/001_core.sql"),
            include_str!("../db/schema/002_clients.sql"),
            include_str!("../db/schema/003_order_limits.sql"),
            include_str!("../db/schema/004_menu_version.sql"),
        ] {
            crate::db::run_migration(&conn, sql).unwrap();
        }
        conn
    }

    #[test]
    fn the_migration_makes_every_shops_registrant_its_keeper() {
        let conn = schema_before_members();
        conn.execute_batch(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES
                 (1, 'boss@x.y', 'Boss', 'owner', 'x', 0),
                 (2, 'a@x.y', 'A', 'shopkeeper', 'x', 0),
                 (3, 'b@x.y', 'B', 'shopkeeper', 'x', 0);
             INSERT INTO shops (id, owner_user_id, name, status, created_at) VALUES
                 (10, 2, 'Noodles', 'approved', 5),
                 (11, 3, 'Tacos', 'suspended', 6);",
        )
        .unwrap();
        crate::db::run_migration(&conn, include_str!("../db/schema/005_members.sql")).unwrap();
        assert_eq!(role(&conn, 10, 2).unwrap(), Some(ShopRole::Keeper));
        assert_eq!(role(&conn, 11, 3).unwrap(), Some(ShopRole::Keeper));
        assert_eq!(role(&conn, 10, 3).unwrap(), None);
        assert_eq!(role(&conn, 10, 1).unwrap(), None);
        assert_eq!(counts(&conn, 10).unwrap(), (1, 1));
        assert_eq!(shop_of(&conn, 3).unwrap(), Some((11, ShopRole::Keeper)));
        assert_eq!(shop_of(&conn, 1).unwrap(), None);
    }

    #[test]
    fn members_are_added_changed_and_removed() {
        let conn = crate::db::test_connection();
        conn.execute_batch(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES
                 (2, 'a@x.y', 'A', 'shopkeeper', 'x', 0),
                 (3, 'b@x.y', 'B', 'shopkeeper', 'x', 0);
             INSERT INTO shops (id, owner_user_id, name, status, created_at) VALUES
                 (10, 2, 'Noodles', 'approved', 5);",
        )
        .unwrap();
        put(&conn, 10, 2, ShopRole::Keeper, 1).unwrap();
        put(&conn, 10, 3, ShopRole::Staff, 1).unwrap();
        assert_eq!(role(&conn, 10, 3).unwrap(), Some(ShopRole::Staff));
        assert_eq!(counts(&conn, 10).unwrap(), (2, 1));
        assert_eq!(shop_of(&conn, 3).unwrap(), Some((10, ShopRole::Staff)));
        put(&conn, 10, 3, ShopRole::Keeper, 2).unwrap();
        assert_eq!(counts(&conn, 10).unwrap(), (2, 2));
        assert!(remove(&conn, 10, 3).unwrap());
        assert!(!remove(&conn, 10, 3).unwrap());
        assert_eq!(role(&conn, 10, 3).unwrap(), None);
        // Only existing shops and users can have members.
        assert!(put(&conn, 99, 3, ShopRole::Staff, 1).is_err());
        assert!(put(&conn, 10, 99, ShopRole::Staff, 1).is_err());
    }
}

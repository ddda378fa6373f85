//! The audit log: who did what to the venue's accounts, shops, settings
//! and money, when and from where. Entries are only ever added.

use crate::error::Result;
use crate::store::audit::{self, AuditRow, NewAudit};
use crate::support::json::json_object;
use rusqlite::Connection;

/// Most entries one page or API answer lists.
pub const PAGE: i64 = 200;
/// Longest detail kept, in characters.
const MAX_DETAIL_CHARS: usize = 500;

/// Who acted: a staff account, or the command line on the router.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    /// The client's address, or "cli".
    pub address: String,
}

impl Actor {
    pub fn cli() -> Actor {
        Actor {
            user_id: None,
            name: "command line".into(),
            address: "cli".into(),
        }
    }
}

/// One action to record; `action` is a stable word such as `shop.approve`.
pub struct Entry<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub shop_id: Option<i64>,
    pub detail: &'a str,
}

/// Records `entry` now, in the caller's transaction where it has one, so
/// the entry and the change it describes commit together.
pub fn record(conn: &Connection, entry: &Entry) -> Result<()> {
    let detail: String = entry.detail.chars().take(MAX_DETAIL_CHARS).collect();
    audit::insert(
        conn,
        &NewAudit {
            at: crate::support::time::now_ms(),
            user_id: entry.actor.user_id,
            actor: &entry.actor.name,
            address: &entry.actor.address,
            action: entry.action,
            shop_id: entry.shop_id,
            detail: &detail,
        },
    )?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct AuditView {
    pub id: i64,
    pub at: i64,
    pub user_id: Option<i64>,
    pub actor: String,
    pub address: String,
    pub action: String,
    pub shop_id: Option<i64>,
    pub detail: String,
}
json_object!(AuditView: id, at, user_id, actor, address, action, shop_id, detail);

/// The newest entries (below `before`, an entry id), filtered by action
/// and shop where given.
pub fn list(
    conn: &Connection,
    action: Option<&str>,
    shop_id: Option<i64>,
    before: Option<i64>,
) -> Result<Vec<AuditView>> {
    let rows = audit::list(
        conn,
        action.filter(|a| !a.is_empty()),
        shop_id,
        before.unwrap_or(i64::MAX),
        PAGE,
    )?;
    Ok(rows
        .into_iter()
        .map(
            |AuditRow {
                 id,
                 at,
                 user_id,
                 actor,
                 address,
                 action,
                 shop_id,
                 detail,
             }| AuditView {
                id,
                at,
                user_id,
                actor,
                address,
                action,
                shop_id,
                detail,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_listed_newest_first_and_filtered() {
        let conn = crate::db::test_connection();
        let actor = Actor {
            user_id: None,
            name: "Ann".into(),
            address: "192.168.1.20".into(),
        };
        for (action, shop) in [
            ("shop.approve", Some(1)),
            ("venue.settings", None),
            ("shop.suspend", Some(2)),
        ] {
            record(
                &conn,
                &Entry {
                    actor: &actor,
                    action,
                    shop_id: shop,
                    detail: &"x".repeat(600),
                },
            )
            .unwrap();
        }
        let all = list(&conn, None, None, None).unwrap();
        assert_eq!(
            all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["shop.suspend", "venue.settings", "shop.approve"]
        );
        assert_eq!(all[0].detail.chars().count(), 500);
        assert_eq!(all[0].address, "192.168.1.20");
        assert_eq!(
            list(&conn, Some("venue.settings"), None, None)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            list(&conn, None, Some(1), None).unwrap()[0].action,
            "shop.approve"
        );
        assert_eq!(
            list(&conn, Some(""), None, Some(all[1].id)).unwrap().len(),
            1
        );
    }
}

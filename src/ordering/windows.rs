//! Time windows open and close as the venue's clock moves, without any
//! edit to the menu. A menu long-poll's answer is built once per version
//! and shared, so once a minute this moves the menu version of the shops
//! whose items' windows open or close then, and open menus follow.

use super::catalog::menu_changed;
use super::menu::MINUTES_PER_DAY;
use crate::error::Result;
use crate::live::{Changes, Data};
use crate::store::items;
use crate::support::time::now_ms;
use rusqlite::Connection;
use std::time::Duration;

/// Which items' windows to look at after the clock moved from `last` to
/// `minute` (the venue's minutes after midnight): those with an edge at
/// the new minute; after a jump (a daylight-saving change, a new time
/// zone, a late wake-up) every window, since any may have been crossed.
#[derive(Debug, PartialEq)]
enum Check {
    Nothing,
    Minute(i64),
    Every,
}

fn what_to_check(last: i64, minute: i64) -> Check {
    if minute == last {
        Check::Nothing
    } else if minute == (last + 1) % MINUTES_PER_DAY {
        Check::Minute(minute)
    } else {
        Check::Every
    }
}

/// Moves the menu version of every shop `check` concerns; returns them.
fn bump_menus(conn: &Connection, changes: &mut Changes, check: Check) -> Result<Vec<i64>> {
    let minute = match check {
        Check::Nothing => return Ok(Vec::new()),
        Check::Minute(minute) => Some(minute),
        Check::Every => None,
    };
    let shops = items::shops_with_window_edge(conn, minute)?;
    for shop_id in &shops {
        menu_changed(conn, changes, *shop_id)?;
    }
    Ok(shops)
}

/// Runs for the server's life. `clock` gives the venue's local time in
/// minutes after midnight.
pub async fn follow(data: Data, clock: impl Fn() -> i64) {
    let mut last = clock();
    loop {
        // Just past the next whole minute: every time zone's offset is
        // whole minutes, so local minutes turn with UTC ones.
        let into_minute = now_ms().rem_euclid(60_000) as u64;
        tokio::time::sleep(Duration::from_millis(60_000 - into_minute + 20)).await;
        let minute = clock();
        let check = what_to_check(last, minute);
        last = minute;
        if check == Check::Nothing {
            continue;
        }
        let bumped = data
            .write(move |tx, changes| bump_menus(tx, changes, check))
            .await;
        match bumped {
            Ok(shops) if !shops.is_empty() => log::debug!("time windows moved menus {shops:?}"),
            Ok(_) => {}
            Err(e) => log::warn!("cannot follow time windows: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::Topic;
    use crate::ordering::menu_edit::{create_item, delete_item, ItemPatch, WindowPatch};
    use crate::store::shops::{self, ShopStatus};

    fn shop_with_window(conn: &Connection, email: &str, window: Option<(&str, &str)>) -> i64 {
        let user = crate::accounts::create_user(
            conn,
            email,
            "Keeper",
            crate::accounts::Role::Shopkeeper,
            "x",
            0,
        )
        .unwrap();
        let shop = shops::insert(conn, user, "Stall", "", ShopStatus::Approved, 0).unwrap();
        let patch = ItemPatch {
            name: Some("Item".into()),
            price_cents: Some(100),
            window: Some(window.map(|(from, until)| WindowPatch {
                from: from.into(),
                until: until.into(),
            })),
            ..Default::default()
        };
        create_item(conn, &mut Changes::default(), shop, patch, 0).unwrap();
        shop
    }

    #[test]
    fn the_clock_moving_on_checks_the_new_minute_and_a_jump_checks_every_window() {
        assert_eq!(what_to_check(419, 420), Check::Minute(420));
        assert_eq!(what_to_check(1439, 0), Check::Minute(0));
        assert_eq!(what_to_check(420, 420), Check::Nothing);
        // Daylight saving: 01:59 to 03:00, and back from 02:59 to 02:00.
        assert_eq!(what_to_check(119, 180), Check::Every);
        assert_eq!(what_to_check(179, 120), Check::Every);
        assert_eq!(what_to_check(420, 422), Check::Every);
    }

    #[test]
    fn menus_move_when_one_of_their_windows_opens_or_closes() {
        let conn = crate::db::test_connection();
        let breakfast = shop_with_window(&conn, "a@x.y", Some(("07:00", "11:00")));
        let late = shop_with_window(&conn, "b@x.y", Some(("22:00", "24:00")));
        let always = shop_with_window(&conn, "c@x.y", None);
        let gone = shop_with_window(&conn, "d@x.y", Some(("07:00", "08:00")));
        let item = crate::store::items::for_shop(&conn, gone).unwrap()[0].id;
        delete_item(&conn, &mut Changes::default(), gone, item, 1).unwrap();
        let version = |shop| shops::menu_version(&conn, shop).unwrap().unwrap();
        let before = [breakfast, late, always].map(version);

        let bump = |check| {
            let mut changes = Changes::default();
            let shops = bump_menus(&conn, &mut changes, check).unwrap();
            let topics: Vec<_> = shops.iter().map(|s| Topic::ShopMenu(*s)).collect();
            assert_eq!(changes.topics(), topics);
            shops
        };
        assert_eq!(bump(Check::Minute(7 * 60)), [breakfast]);
        assert_eq!(bump(Check::Minute(11 * 60)), [breakfast]);
        assert_eq!(bump(Check::Minute(22 * 60)), [late]);
        // "24:00" closes at the next day's first minute.
        assert_eq!(bump(Check::Minute(0)), [late]);
        assert!(bump(Check::Minute(8 * 60)).is_empty());
        assert!(bump(Check::Nothing).is_empty());
        assert_eq!(bump(Check::Every), [breakfast, late]);
        assert_eq!(version(breakfast), before[0] + 3);
        assert_eq!(version(late), before[1] + 3);
        assert_eq!(version(always), before[2]);
    }
}

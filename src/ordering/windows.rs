//! Time windows open and close, and paused shops reopen, as the venue's
//! clock moves, without any edit to the menu. A menu long-poll's answer is
//! built once per version and shared, so once a minute this moves the menu
//! version of the shops whose items' windows open or close then, or whose
//! pause ends then, and open menus follow.

use super::catalog::menu_changed;
use super::menu::MINUTES_PER_DAY;
use crate::error::{Code, Error, Result};
use crate::live::{Changes, Data};
use crate::store::{items, promotions, shops};
use crate::support::json_read::Json;
use crate::support::time::now_ms;
use rusqlite::Connection;
use std::time::Duration;

/// The longest pause: a shop paused by mistake reopens the same shift.
pub const MAX_PAUSE_MINUTES: i64 = 12 * 60;
const MINUTE_MS: i64 = 60_000;

/// When a pause asked for at `now` (UTC ms; `minute` the venue's minutes
/// after midnight then) ends, as a UTC instant on a whole minute, so the
/// minute ticker reopens the shop right on time: `"13:20"` is the next
/// 13:20 of the venue's clock (within 12 hours; a daylight-saving change
/// in between is not allowed for), a number is that many minutes (1–720,
/// rounded up to the minute), `null` resumes now (`None`).
pub fn pause_end(until: &Json, now: i64, minute: i64) -> Result<Option<i64>> {
    let bad = || Error::bad(Code::ShopBadPause);
    let this_minute = now - now.rem_euclid(MINUTE_MS);
    let minutes = match until {
        Json::Null => return Ok(None),
        Json::Int(minutes) => {
            let minutes = *minutes;
            if !(1..=MAX_PAUSE_MINUTES).contains(&minutes) {
                return Err(bad());
            }
            // Rounded up: a whole-minute end the ticker sees.
            let end = now + minutes * MINUTE_MS;
            return Ok(Some(
                end + (MINUTE_MS - end.rem_euclid(MINUTE_MS)) % MINUTE_MS,
            ));
        }
        Json::Text(text) => {
            let at = super::menu::parse_clock(text).map_err(|_| bad())?;
            (at - minute).rem_euclid(MINUTES_PER_DAY)
        }
        _ => return Err(bad()),
    };
    if !(1..=MAX_PAUSE_MINUTES).contains(&minutes) {
        return Err(bad());
    }
    Ok(Some(this_minute + minutes * MINUTE_MS))
}

/// Pauses the shop until `until` (UTC ms), or resumes it (`None`); open
/// menus follow at once.
pub async fn set_pause(data: &Data, shop_id: i64, until: Option<i64>) -> Result<()> {
    data.write(move |tx, changes| {
        shops::set_paused_until(tx, shop_id, until)?;
        menu_changed(tx, changes, shop_id)
    })
    .await
}

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

/// Reopens the shops whose pause has ended by `now`; returns them.
fn end_pauses(conn: &Connection, changes: &mut Changes, now: i64) -> Result<Vec<i64>> {
    let shops = shops::end_pauses(conn, now)?;
    for shop_id in &shops {
        menu_changed(conn, changes, *shop_id)?;
    }
    Ok(shops)
}

/// Moves the menu of every shop whose promotion started or ended after
/// `after`, up to `now`, so menu pages kept in memory show it; returns them.
fn promotion_edges(
    conn: &Connection,
    changes: &mut Changes,
    after: i64,
    now: i64,
) -> Result<Vec<i64>> {
    let shops = promotions::shops_with_edge(conn, after, now)?;
    for shop_id in &shops {
        menu_changed(conn, changes, *shop_id)?;
    }
    Ok(shops)
}

/// Runs for the server's life. `clock` gives the venue's local time in
/// minutes after midnight.
pub async fn follow(data: Data, clock: impl Fn() -> i64) {
    let mut last = clock();
    let mut last_now = now_ms();
    loop {
        // Just past the next whole minute: every time zone's offset is
        // whole minutes, so local minutes turn with UTC ones.
        let into_minute = now_ms().rem_euclid(60_000) as u64;
        tokio::time::sleep(Duration::from_millis(60_000 - into_minute + 20)).await;
        let minute = clock();
        let check = what_to_check(last, minute);
        last = minute;
        let (after, now) = (last_now, now_ms());
        last_now = now;
        let bumped = data
            .write(move |tx, changes| {
                let mut shops = bump_menus(tx, changes, check)?;
                shops.extend(promotion_edges(tx, changes, after, now)?);
                shops.extend(end_pauses(tx, changes, now)?);
                shops.extend(super::checkout::release_due(tx, changes, now)?);
                Ok(shops)
            })
            .await;
        match bumped {
            Ok(shops) if !shops.is_empty() => {
                log::debug!("time windows and pauses moved menus {shops:?}")
            }
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

    #[test]
    fn pauses_end_on_a_whole_minute_within_twelve_hours() {
        let json = |text: &str| crate::support::json_read::parse(text.as_bytes()).unwrap();
        // 13:05:30 in the venue; the clock minute is 13:05.
        let now = 100 * MINUTES_PER_DAY * MINUTE_MS + (13 * 60 + 5) * MINUTE_MS + 30_000;
        let minute = 13 * 60 + 5;
        let this_minute = now - 30_000;
        assert_eq!(
            pause_end(&json(r#""13:20""#), now, minute).unwrap(),
            Some(this_minute + 15 * MINUTE_MS)
        );
        // Past midnight is the next day's.
        assert_eq!(
            pause_end(&json(r#""00:30""#), 0, 23 * 60).unwrap(),
            Some(90 * MINUTE_MS)
        );
        assert_eq!(
            pause_end(&json("10"), now, minute).unwrap(),
            Some(this_minute + 11 * MINUTE_MS)
        );
        assert_eq!(pause_end(&json("null"), now, minute).unwrap(), None);
        for bad in [
            json(r#""13:05""#),
            json(r#""13:00""#),
            json(r#""25:00""#),
            json(r#""soon""#),
            json("0"),
            json("721"),
            json("1.5"),
            json("true"),
        ] {
            assert!(pause_end(&bad, now, minute).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ended_pauses_reopen_their_shops_and_move_their_menus() {
        let conn = crate::db::test_connection();
        let early = shop_with_window(&conn, "a@x.y", None);
        let late = shop_with_window(&conn, "b@x.y", None);
        shops::set_paused_until(&conn, early, Some(60_000)).unwrap();
        shops::set_paused_until(&conn, late, Some(120_000)).unwrap();
        let mut changes = Changes::default();
        assert!(end_pauses(&conn, &mut changes, 59_999).unwrap().is_empty());
        assert_eq!(end_pauses(&conn, &mut changes, 60_000).unwrap(), [early]);
        assert_eq!(changes.topics(), [Topic::ShopMenu(early)]);
        assert_eq!(
            shops::by_id(&conn, early).unwrap().unwrap().paused_until,
            None
        );
        assert_eq!(
            shops::by_id(&conn, late).unwrap().unwrap().paused_until,
            Some(120_000)
        );
    }
}

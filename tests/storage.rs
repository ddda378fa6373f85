//! The disk holding the database fills up (a router's small overlay). Saving
//! must then be refused with 507 `storage.full` and words a shopkeeper
//! understands, on the API and on pages, while everything already saved is
//! still served; the server must start again on the full disk, tell the
//! owner, and save again as soon as there is room, without a restart.
//!
//! Needs root to mount a small tmpfs. Without it it prints SKIPPED, unless
//! ORDERSPOT_REQUIRE_ROOT=1 (CI), which fails.

mod common;

use common::{Server, TempDir, OWNER, PASSWORD, SHOP1};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// A 4 MiB tmpfs, unmounted and removed on drop.
struct SmallDisk {
    point: PathBuf,
    _point_dir: TempDir,
}

impl SmallDisk {
    fn new() -> Result<SmallDisk, String> {
        if !common::is_root() {
            return Err("needs root to mount a tmpfs".into());
        }
        let point_dir = TempDir::new("small-disk");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(&point_dir.path)
            .status()
            .map_err(|e| format!("mount: {e}"))?;
        if !status.success() {
            return Err(format!("mount -t tmpfs failed: {status}"));
        }
        Ok(SmallDisk {
            point: point_dir.path.clone(),
            _point_dir: point_dir,
        })
    }

    /// Writes zeros to a new file until the filesystem has no room left.
    fn fill(&self, name: &str) -> PathBuf {
        let path = self.point.join(name);
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let chunk = [0u8; 4096];
        for _ in 0..2_000 {
            if let Err(e) = file.write_all(&chunk) {
                assert_eq!(e.raw_os_error(), Some(28), "not ENOSPC: {e}");
                return path;
            }
        }
        panic!("a 4 MiB tmpfs took 8 MiB");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.point).status();
    }
}

fn disk_or_skip() -> Option<SmallDisk> {
    match SmallDisk::new() {
        Ok(disk) => Some(disk),
        Err(why) if std::env::var("ORDERSPOT_REQUIRE_ROOT").as_deref() == Ok("1") => {
            panic!("ORDERSPOT_REQUIRE_ROOT=1 but: {why}")
        }
        Err(why) => {
            println!("SKIPPED: {why}");
            None
        }
    }
}

#[track_caller]
fn assert_storage_full(response: &common::Response) {
    let body = response.expect(507);
    assert_eq!(body["code"], "storage.full", "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("storage is full"),
        "{body}"
    );
}

/// What the owner's admin page says.
fn admin_page(server: &Server, owner: &str) -> String {
    let auth = format!("Bearer {owner}");
    let page = server.request("GET", "/admin", &[("Authorization", &auth)], b"");
    assert_eq!(page.status, 200, "{page:?}");
    page.text()
}

/// Everything already saved is still served: menus, an order's status, the
/// shop's board.
fn reads_work(server: &Server, shop: &str, order: (i64, &str)) {
    server.get("/api/shops", None).expect(200);
    assert!(!server.menu(1).is_empty());
    assert_eq!(server.order(order.0, order.1)["id"], order.0);
    server.get("/api/shop/orders", Some(shop)).expect(200);
    assert_eq!(server.get("/shops/1", None).status, 200);
}

#[test]
fn a_full_disk_refuses_writes_with_507_serves_reads_and_survives_a_restart() {
    let Some(disk) = disk_or_skip() else {
        return;
    };
    let data_dir = Arc::new(TempDir {
        path: disk.point.join("data"),
    });
    let mut server = Server::start_in(data_dir.clone(), true);
    let owner = server.login(OWNER, PASSWORD);
    let shop = server.login(SHOP1, PASSWORD);
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    let (id, token, _) = server.place_ok(1, &[(item, 1)]);
    assert!(!admin_page(&server, &owner).contains("Storage is full"));

    let filler = disk.fill("filler");
    assert_storage_full(&server.place(1, &[(item, 1)], &common::unique_ref()));

    // A person's form post gets a page saying so, and nothing claims the
    // shop was registered.
    let register = server.get("/register", None);
    let csrf = register
        .text()
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf field")
        .to_string();
    let form = format!(
        "csrf={csrf}&shop_name=Soup+Kitchen&description=&name=Ann&email=ann%40full.example&password=a-long-password"
    );
    let page = server.request(
        "POST",
        "/register",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(page.status, 507, "{page:?}");
    assert!(page
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/html"));
    assert!(page.text().contains("storage is full"), "{page:?}");
    assert!(
        !server.log().contains("ann@full.example"),
        "a registration that was not saved is logged:\n{}",
        server.log()
    );

    reads_work(&server, &shop, (id, &token));
    assert!(admin_page(&server, &owner).contains("Storage is full"));

    // Stopping frees the database's side files: fill that room too, so the
    // server starts on a disk with no room at all.
    server.stop();
    let more = disk.fill("filler-2");
    let server = Server::start_in(data_dir.clone(), true);
    assert!(
        server.log().contains("storage full"),
        "the owner is not told in the log:\n{}",
        server.log()
    );
    reads_work(&server, &shop, (id, &token));
    let admin = admin_page(&server, &owner);
    assert!(admin.contains("Storage is full"), "{admin}");
    assert!(admin.contains("Storage: 0 KB free of 4.0 MB"), "{admin}");
    assert_storage_full(&server.place(1, &[(item, 1)], &common::unique_ref()));

    // Room again: saving works at once.
    remove(&filler);
    remove(&more);
    server.place_ok(1, &[(item, 2)]);
    assert!(!admin_page(&server, &owner).contains("Storage is full"));
    assert!(server.log().contains("storage has room again"));
    assert_eq!(
        server.get("/api/shop/orders", Some(&shop)).expect(200)["orders"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

fn remove(path: &Path) {
    std::fs::remove_file(path).expect("remove a filler");
}

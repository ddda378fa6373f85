//! Deflates the text the binary carries (templates, stylesheets and scripts,
//! message catalogues, schema migrations) at build time: stored as it is, it
//! was about 300 KB of the router binary. Each group is one stream
//! (`support::inflate::Packed`), inflated at run time when first needed; each
//! stylesheet and script is a gzip member of its own, sent as it is to
//! browsers that accept gzip (`http::routes::assets`).
//!
//! Every file is stored byte for byte (no whitespace or comment stripping):
//! `<pre>` and `<textarea>` keep their spaces, and a migration's comments
//! end up in `sqlite_master`. Deflate takes most of what stripping would.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

/// Zopfli's deflate streams are about 5% smaller than zlib's best (3 KB of
/// the binary here); it takes about 2 s (Cargo.toml builds it optimised).
fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Deflate,
        bytes,
        &mut out,
    )
    .expect("writing to a Vec");
    out
}

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let mut templates = files("templates", "html");
    templates.sort();
    pack(&out, "templates", &templates, Path::new("templates"));

    // English first: it is the fallback for keys another language lacks.
    let mut catalogues = files("catalogue", "txt");
    catalogues.sort_by_key(|path| (path.file_stem() != Some("en".as_ref()), path.clone()));
    pack(&out, "catalogues", &catalogues, Path::new("catalogue"));

    // A migration's place is its name's: 001_…, 002_…
    let mut migrations = files("src/db/schema", "sql");
    migrations.sort();
    pack(&out, "migrations", &migrations, Path::new("src/db/schema"));

    let mut assets = files("static", "css");
    assets.extend(files("static", "js"));
    assets.sort();
    gzip_each(&out, &assets);
}

/// The files under `dir` (recursively) whose names end in `.ext`; cargo is
/// told to build again when any of them, or the folders, change.
fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![PathBuf::from(dir)];
    while let Some(folder) = folders.pop() {
        println!("cargo:rerun-if-changed={}", folder.display());
        for entry in fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display())) {
            let path = entry.expect("a readable folder").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension() == Some(ext.as_ref()) {
                println!("cargo:rerun-if-changed={}", path.display());
                found.push(path);
            }
        }
    }
    found
}

fn read(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Templates, catalogues and migrations are used as `&str`.
    assert!(
        std::str::from_utf8(&bytes).is_ok(),
        "{} is not UTF-8",
        path.display()
    );
    bytes
}

/// `<group>.rs`: a `Packed` naming each file (relative to `root`, without
/// the extension for catalogues) with its length, and the deflated stream
/// of them all, one after the other, in `<group>.deflate`.
fn pack(out: &Path, group: &str, paths: &[PathBuf], root: &Path) {
    let mut all = Vec::new();
    let mut names = String::new();
    for path in paths {
        let bytes = read(path);
        let relative = path.strip_prefix(root).expect("found under its root");
        let name = if group == "catalogues" {
            relative.with_extension("")
        } else {
            relative.to_path_buf()
        };
        let name = name.to_str().expect("a UTF-8 file name").replace('\\', "/");
        write!(names, "({name:?}, {}), ", bytes.len()).expect("a String");
        all.extend_from_slice(&bytes);
    }
    let blob = out.join(format!("{group}.deflate"));
    write(&blob, &deflate(&all));
    let code = format!(
        "Packed {{ names: &[{names}], deflated: include_bytes!({:?}) }}\n",
        blob.display().to_string()
    );
    write(&out.join(format!("{group}.rs")), code.as_bytes());
}

/// `static.rs`: an `Asset` per stylesheet and script, its gzip member (RFC
/// 1952, no name, no time) in `static/<name>.gz`.
fn gzip_each(out: &Path, paths: &[PathBuf]) {
    fs::create_dir_all(out.join("static")).expect("OUT_DIR is writable");
    let mut code = String::from("&[\n");
    for path in paths {
        let bytes = read(path);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 file name");
        let crc = crc32(&bytes);
        // ID1 ID2, deflate, no flags, no time, best compression (XFL 2), unknown OS.
        let mut member = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];
        member.extend(deflate(&bytes));
        member.extend(crc.to_le_bytes());
        member.extend((bytes.len() as u32).to_le_bytes());
        let gz = out.join("static").join(format!("{name}.gz"));
        write(&gz, &member);
        writeln!(
            code,
            "    Asset {{ name: {name:?}, gzip: include_bytes!({:?}), length: {}, etag: \"\\\"{crc:08x}\\\"\", gzip_etag: \"\\\"{crc:08x}-gz\\\"\" }},",
            gz.display().to_string(),
            bytes.len()
        )
        .expect("a String");
    }
    code.push_str("]\n");
    write(&out.join("static.rs"), code.as_bytes());
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// CRC-32 (ISO 3309, as gzip's trailer wants it), bit by bit: a few KB.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

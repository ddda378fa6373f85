//! Deflates the text the binary carries (templates, stylesheets and scripts,
//! message catalogues, schema migrations) at build time: stored as it is, it
//! was 271 KB of the router binary, deflated 62 KB. Each group is one stream
//! (`support::inflate::Packed`), inflated at run time when first needed; each
//! stylesheet and script is a gzip member of its own, sent as it is to
//! browsers that accept gzip (`http::routes::assets`).
//!
//! Every file is stored byte for byte but the migrations, which lose their
//! comment lines between statements (`strip_sql_comments`), and the
//! catalogues, their comment and blank lines. No indentation
//! is stripped: `<pre>` and `<textarea>` keep their spaces, and the
//! templates' indentation is 377 bytes deflated.

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
    let text =
        String::from_utf8(bytes).unwrap_or_else(|_| panic!("{} is not UTF-8", path.display()));
    if path.extension() == Some("sql".as_ref()) {
        return strip_sql_comments(&text).into_bytes();
    }
    if path.starts_with("catalogue") {
        return strip_catalogue_comments(&text).into_bytes();
    }
    text.into_bytes()
}

/// A catalogue without its comment and blank lines, which
/// `i18n::Catalogue::parse` skips: 862 bytes deflated.
fn strip_catalogue_comments(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|line| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#')
        })
        .collect()
}

/// `sql` without its whole-line `--` comments that stand between
/// statements: 3.6 KB of the deflated migrations. SQLite never sees them
/// (it stores each CREATE's own text, from CREATE to its end, in
/// `sqlite_master`), so no statement, nor any stored text, changes. A line
/// is dropped only when it starts outside any string, quoted name, block
/// comment, statement and BEGIN/CASE … END; where a word misleads the count
/// (a column named `end`), it keeps lines, never drops more.
/// `db::tests::migrations_lose_only_comment_lines_and_keep_the_schema`
/// checks the schema is the same.
fn strip_sql_comments(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut block_comment = false;
    let mut in_statement = false;
    let mut depth = 0i32;
    let mut word = String::new();
    for line in sql.split_inclusive('\n') {
        let between = quote.is_none() && !block_comment && !in_statement && depth == 0;
        if between && line.trim_start().starts_with("--") {
            continue;
        }
        out.push_str(line);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if let Some(close) = quote {
                // '' inside a string closes and opens it again: the same.
                if c == close {
                    quote = None;
                }
                continue;
            }
            if block_comment {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    block_comment = false;
                }
                continue;
            }
            if c.is_alphanumeric() || c == '_' {
                word.push(c);
                continue;
            }
            end_word(&mut word, &mut in_statement, &mut depth);
            match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    in_statement = true;
                }
                '[' => {
                    quote = Some(']');
                    in_statement = true;
                }
                '-' if chars.peek() == Some(&'-') => break,
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    block_comment = true;
                }
                ';' if depth == 0 => in_statement = false,
                c if !c.is_whitespace() => in_statement = true,
                _ => {}
            }
        }
        end_word(&mut word, &mut in_statement, &mut depth);
    }
    out
}

/// The end of a word of SQL: a statement has begun, and BEGIN and CASE open
/// what END closes.
fn end_word(word: &mut String, in_statement: &mut bool, depth: &mut i32) {
    if !word.is_empty() {
        *in_statement = true;
        match word.to_ascii_uppercase().as_str() {
            "BEGIN" | "CASE" => *depth += 1,
            "END" => *depth -= 1,
            _ => {}
        }
        word.clear();
    }
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

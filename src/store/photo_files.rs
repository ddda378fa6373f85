//! Photo files beside the database, in `photos/`: written whole and
//! durably (a temporary file, fsync, rename), read within a bound, removed.
//! Callers pass only names `ordering::photos` made or checked, so no path
//! here comes from a client.

use crate::error::{Error, Failure, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// The directory, inside the data directory.
pub const DIR: &str = "photos";

/// A photo written to a temporary file and not yet under its name; the
/// file goes when this is dropped, so a failed upload leaves nothing.
pub struct Staged {
    path: PathBuf,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // After `place` the file is already gone from this path.
        let _ = fs::remove_file(&self.path);
    }
}

fn failure(what: &str, path: &Path, e: io::Error) -> Error {
    if matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded) {
        log::warn!("cannot {what} {}: {e}", path.display());
        return Error::from(Failure::StorageFull);
    }
    Error::internal(format!("cannot {what} {}: {e}", path.display()))
}

/// Writes `bytes` to a fresh temporary file in `dir` and flushes it to the disk.
pub fn stage(dir: &Path, bytes: &[u8]) -> Result<Staged> {
    // 32 bits: MIPS32 has no 64-bit atomics; with the pid it stays unique.
    static NEXT: AtomicU32 = AtomicU32::new(0);
    fs::create_dir_all(dir).map_err(|e| failure("create", dir, e))?;
    let number = NEXT.fetch_add(1, Ordering::Relaxed);
    let staged = Staged {
        path: dir.join(format!(".upload-{}-{number}", std::process::id())),
    };
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&staged.path)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    written.map_err(|e| failure("write", &staged.path, e))?;
    Ok(staged)
}

/// Gives a staged photo its name in `dir` (replacing a file of that name,
/// which holds the same content) and flushes the directory, so the name
/// survives a power cut.
pub fn place(staged: Staged, dir: &Path, name: &str) -> Result<()> {
    let path = dir.join(name);
    fs::rename(&staged.path, &path).map_err(|e| failure("rename", &path, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| failure("flush", dir, e))
}

/// The photo `name` in `dir`, if there is one of at most `max` bytes.
pub fn read(dir: &Path, name: &str, max: usize) -> Result<Option<Vec<u8>>> {
    let path = dir.join(name);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failure("open", &path, e)),
    };
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| failure("read", &path, e))?;
    Ok((bytes.len() <= max).then_some(bytes))
}

/// Removes the photo `name` from `dir`; one already gone is fine.
pub fn remove(dir: &Path, name: &str) -> Result<()> {
    let path = dir.join(name);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(failure("remove", &path, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "orderspot-photo-files-{label}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_placed_photo_is_there_under_its_name_only() {
        let dir = scratch("place");
        let staged = stage(&dir, b"picture").unwrap();
        place(staged, &dir, "00aa.png").unwrap();
        assert_eq!(names(&dir), ["00aa.png"]);
        assert_eq!(read(&dir, "00aa.png", 100).unwrap().unwrap(), b"picture");
        remove(&dir, "00aa.png").unwrap();
        remove(&dir, "00aa.png").unwrap();
        assert!(names(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_staged_photo_never_placed_leaves_no_file() {
        let dir = scratch("drop");
        drop(stage(&dir, b"picture").unwrap());
        assert!(names(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_are_bounded_and_missing_files_are_none() {
        let dir = scratch("read");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("big.png"), [0u8; 11]).unwrap();
        assert_eq!(read(&dir, "big.png", 10).unwrap(), None);
        assert_eq!(read(&dir, "big.png", 11).unwrap().unwrap().len(), 11);
        assert_eq!(read(&dir, "none.png", 10).unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}

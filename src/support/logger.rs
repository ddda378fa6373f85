//! A minimal `log` backend: one line per record on stderr, which procd hands
//! to the router's logd (it adds the timestamps). Control characters are
//! escaped so that every record stays one line.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        // Messages carry names and emails people typed: escaped, none of
        // them can start a forged log line.
        let message = crate::support::text::for_log(&record.args().to_string());
        // One write a line: stderr is unbuffered, and `writeln!` would
        // write each piece of the format on its own (five syscalls).
        let line = format!("orderspot {level}: {message}\n");
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

pub fn init(level: LevelFilter) {
    if log::set_logger(&StderrLogger).is_ok() {
        log::set_max_level(level);
    }
}

//! The venue as a whole: its settings and demo set-up (and, later,
//! first-run state, tables and backups).

pub mod demo;
pub mod settings;

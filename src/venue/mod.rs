//! The venue as a whole: its settings and demo set-up (and, later,
//! first-run set-up, reports, backups, the audit log and retention).

pub mod audit;
pub mod backup;
pub mod demo;
pub mod reports;
pub mod retention;
pub mod settings;
pub mod setup;
pub mod tables;

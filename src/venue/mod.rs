//! The venue as a whole: its demo set-up (and, later, first-run state,
//! tables and backups).

pub mod demo;

//! OrderSpot: a venue's ordering system (customers, shops, owner) served from
//! one SQLite file, with live order status by HTTP long-poll.
//!
//! Rooms by domain, arrows one way: `cli` → `http` → `app` (built once from
//! a finished `config`) → the domains (`accounts`, `venue`, `ordering`,
//! `portal`) → `live` (the hub, and `Data` whose writes publish after
//! commit) and `store` (all SQL) → `db`; `support` holds leaf helpers that
//! import no domain.
//!
//! Public only what the binary, the integration tests and the fuzz target
//! use: `cli::main`, the DNS codec and rules under `portal`, password
//! hashing and percent-encoding; everything else is `pub(crate)`.
#![forbid(unsafe_code)]

pub mod accounts;
pub(crate) mod app;
pub mod cli;
pub(crate) mod config;
pub(crate) mod db;
pub use db::run_migration;
pub(crate) mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod http;
pub(crate) mod live;
pub(crate) mod ordering;
pub mod portal;
pub(crate) mod store;
pub mod support;
pub(crate) mod venue;

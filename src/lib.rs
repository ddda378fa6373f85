//! OrderSpot: a venue's ordering system (customers, shops, owner) served from
//! one SQLite file, with live order status by HTTP long-poll.
//!
//! Rooms by domain, arrows one way: `http` → the domains (`accounts`,
//! `venue`, `ordering`, `portal`, `live`) → `store` (all SQL) → `db`;
//! `support` holds leaf helpers that import no domain.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod live;
pub mod ordering;
pub mod portal;
pub mod store;
pub mod support;
pub mod venue;

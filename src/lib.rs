//! OrderSpot: a venue's ordering system (customers, shops, owner) served from
//! one SQLite file, with live order status by HTTP long-poll.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod cli;
pub mod clients;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod dns;
pub mod error;
pub mod firewall;
pub mod http;
pub mod i18n;
pub mod live;
pub mod logger;
pub mod money;
pub mod orders;
pub mod portal;
pub mod ratelimit;
pub mod shops;
pub mod store;
pub mod templates;
pub mod text;
pub mod time;

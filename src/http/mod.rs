//! The HTTP side: the server loop (`server`), the route table (`router`),
//! pages and speech (`render`), and one file of thin handlers per area
//! (`routes`): they parse, call the domain modules, and answer.

mod connection;
pub mod identity;
mod lean;
pub mod render;
pub mod request;
pub mod response;
mod router;
pub(crate) mod routes;
mod server;
pub mod templates;
#[cfg(feature = "https")]
pub mod tls;

pub(crate) use server::serve;

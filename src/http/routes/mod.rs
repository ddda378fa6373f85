//! Handlers, one file per area. They stay thin: parse, call a domain use
//! case, answer with a page or JSON.

pub mod account;
pub mod admin;
pub mod assets;
pub mod board;
pub mod cart_pages;
pub mod carts;
pub mod customer;
pub mod photos;
pub mod portal;
pub mod products;
pub mod shop;
pub mod tables;

use crate::http::response::{json, no_content, Response};
use crate::support::json::ToJson;
use hyper::StatusCode;

/// A value to answer as JSON with the status given, its type erased so
/// that the async helpers handing it on are compiled once, not per type.
type Answer = Box<dyn FnOnce(StatusCode) -> Response + Send>;

fn answer<T: ToJson + Send + 'static>(value: T) -> Answer {
    Box::new(move |status| json(status, &value))
}

/// Where nothing is sent back but the status: no content.
fn no_answer() -> Answer {
    Box::new(|_| no_content())
}

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

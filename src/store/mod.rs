//! All SQL lives here, one file per table (order lines and events belong
//! to `orders`). Functions take a connection or transaction and return rows;
//! rules about what is allowed live in the domain modules that call them.

pub mod clients;
pub mod items;
pub mod members;
pub mod orders;
pub mod sessions;
pub mod settings;
pub mod shops;
pub mod users;

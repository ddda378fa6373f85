//! What customers order from and what they order: the catalog (shops and
//! their menus), the menu's rules (tags, time windows, options) and its
//! editor, and orders (stages, placement with options and stock, pickup
//! codes). Carts, checkout, promotions, kitchen stations, payments and
//! reports join them here.

pub mod board;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod menu;
pub mod menu_edit;
pub mod orders;
pub mod payments;
pub mod photos;
pub mod promos;
pub mod stations;
#[cfg(test)]
mod testing;
pub mod windows;

//! What customers order from and what they order: the catalog (shops and
//! their menus) and orders (stages, placement, pickup codes). Options,
//! stock, carts, checkout, promotions, kitchen stations, payments and
//! reports join them here.

pub mod catalog;
pub mod orders;

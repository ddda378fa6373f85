//! Leaf helpers written by hand to keep the binary small; none of them
//! imports a domain module.

pub mod crypto;
pub mod i18n;
pub mod logger;
pub mod money;
pub mod ratelimit;
pub mod text;
pub mod time;

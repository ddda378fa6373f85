//! Leaf helpers written by hand to keep the binary small; none of them
//! imports a domain module.

pub(crate) mod case;
pub(crate) mod crypto;
pub(crate) mod fields;
pub(crate) mod i18n;
pub(crate) mod inflate;
pub(crate) mod json;
pub(crate) mod json_read;
pub(crate) mod logger;
pub(crate) mod money;
pub(crate) mod net;
pub(crate) mod qr;
pub(crate) mod ratelimit;
pub(crate) mod task;
pub mod text;
pub(crate) mod time;

/// A system call's error as std shows it ("Permission denied (os error
/// 13)", musl's `strerror`): shown by nix's `Display` instead, its table of
/// every errno's description cost the mips binary 9 KB.
pub(crate) fn os_error(errno: nix::errno::Errno) -> std::io::Error {
    errno.into()
}

//! The one error type of the service layer. Every variant says what the
//! client did wrong (or that we failed); `http` maps it to a status once.

use std::fmt;

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    BadRequest(String),
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    TooLarge,
    TooManyRequests,
    /// The shop cannot take another order now (too many open orders).
    ShopTooBusy(String),
    /// This device already has as many open orders as the venue allows.
    TooManyOpenOrders(String),
    /// The disk holding the database is full: nothing can be saved.
    StorageFull,
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad(message: impl Into<String>) -> Self {
        Error::BadRequest(message.into())
    }

    pub fn not_found(what: &str) -> Self {
        Error::NotFound(format!("{what} not found"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict(message.into())
    }

    pub fn message(&self) -> &str {
        match self {
            Error::BadRequest(m)
            | Error::Unauthorized(m)
            | Error::Forbidden(m)
            | Error::NotFound(m)
            | Error::Conflict(m)
            | Error::ShopTooBusy(m)
            | Error::TooManyOpenOrders(m) => m,
            Error::TooLarge => "request body too large",
            Error::TooManyRequests => "too many requests, slow down",
            Error::StorageFull => {
                "the router's storage is full, so nothing new can be saved: please tell the venue owner"
            }
            // Internal details go to the log, never to the client.
            Error::Internal(_) => "internal error",
        }
    }
}

impl Error {
    /// A stable, machine-readable name for the kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "request.invalid",
            Error::Unauthorized(_) => "auth.required",
            Error::Forbidden(_) => "auth.forbidden",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::TooLarge => "request.too_large",
            Error::TooManyRequests => "rate_limited",
            Error::ShopTooBusy(_) => "shop.too_busy",
            Error::TooManyOpenOrders(_) => "order.too_many_open",
            Error::StorageFull => "storage.full",
            Error::Internal(_) => "internal",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Internal(detail) => write!(f, "internal error: {detail}"),
            other => f.write_str(other.message()),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            return Error::StorageFull;
        }
        Error::Internal(format!("database: {e}"))
    }
}

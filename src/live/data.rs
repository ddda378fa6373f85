//! The database with the long-poll hub beside it: use cases read and write
//! through `Data`, so what a write changed is published only after it has
//! committed, and never by hand.

use super::{Changes, Live};
use crate::db::{Db, Typed};
use crate::error::Result;
use rusqlite::{Connection, Transaction};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

#[derive(Clone)]
pub struct Data {
    pub db: Db,
    pub live: Live,
}

impl Data {
    pub fn new(db: Db) -> Data {
        Data {
            db,
            live: Live::default(),
        }
    }

    /// Runs `f` on a reader connection. `Db::read`'s own future, not one
    /// more around it for each use.
    pub fn read<T, F>(&self, f: F) -> impl Future<Output = Result<T>> + '_
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.db.read(f)
    }

    /// Runs `f` in a write transaction; once it has committed, wakes whoever
    /// waits on the topics `f` says it changed. Nothing is published when
    /// the transaction fails.
    pub fn write<T, F>(&self, f: F) -> impl Future<Output = Result<T>> + Send + '_
    where
        T: Send + 'static,
        F: FnOnce(&Transaction, &mut Changes) -> Result<T> + Send + 'static,
    {
        Published {
            written: self.db.write(move |tx| {
                let mut changes = Changes::default();
                let value = f(tx, &mut changes)?;
                Ok((value, changes))
            }),
            live: &self.live,
        }
    }
}

/// A write's future that publishes its changes once it has committed: a
/// small future per result type, not an async one per closure type.
struct Published<'a, T> {
    written: Typed<'a, (T, Changes)>,
    live: &'a Live,
}

impl<T: 'static> Future for Published<'_, T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let (value, changes) = std::task::ready!(Pin::new(&mut self.written).poll(cx))?;
        self.live.publish(&changes);
        Poll::Ready(Ok(value))
    }
}

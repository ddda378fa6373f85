//! The database with the long-poll hub beside it: use cases read and write
//! through `Data`, so what a write changed is published only after it has
//! committed, and never by hand.

use super::{Changes, Live};
use crate::db::Db;
use crate::error::Result;
use rusqlite::{Connection, Transaction};
use std::future::Future;

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
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction, &mut Changes) -> Result<T> + Send + 'static,
    {
        let (value, changes) = self
            .db
            .write(move |tx| {
                let mut changes = Changes::default();
                let value = f(tx, &mut changes)?;
                Ok((value, changes))
            })
            .await?;
        self.live.publish(&changes);
        Ok(value)
    }
}

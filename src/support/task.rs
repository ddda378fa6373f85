//! Background tasks, boxed: tokio's code for a task (its poll, wake-up,
//! join and cancel paths, about 1 KB on mips) then exists once for all of
//! them, not once per kind of task.

use std::future::Future;
use std::pin::Pin;
use tokio::runtime::Handle;

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// `tokio::spawn` for a task whose end nobody awaits.
pub(crate) fn spawn(task: impl Future<Output = ()> + Send + 'static) {
    tokio::spawn(Box::pin(task) as Task);
}

/// `spawn` on `runtime`, from a thread outside it.
pub(crate) fn spawn_on(runtime: &Handle, task: impl Future<Output = ()> + Send + 'static) {
    runtime.spawn(Box::pin(task) as Task);
}

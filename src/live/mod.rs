//! Wake-ups for long-poll requests. A waiter subscribes to a topic (one
//! order, or all orders of a shop) and sleeps on a `watch` channel; a commit
//! publishes the topic's new version, and for an order the JSON every waiter
//! answers with, serialised once. No thread per request and no polling: an
//! idle waiter is one small future, and a topic nobody waits on costs
//! nothing.

use hyper::body::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Order(i64),
    Shop(i64),
}

/// What a commit published: the topic's version and, where every waiter
/// sees the same thing, the answer itself.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub version: i64,
    pub body: Option<Bytes>,
}

/// The longest a client may ask us to hold a request.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

#[derive(Clone, Default)]
pub struct Live {
    topics: Arc<Mutex<HashMap<Topic, watch::Sender<Snapshot>>>>,
}

pub struct Subscription {
    topic: Topic,
    receiver: watch::Receiver<Snapshot>,
    live: Live,
}

impl Live {
    /// Subscribe before reading the current state: a change committed after
    /// this call is never missed.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let mut topics = self.lock();
        let receiver = topics
            .entry(topic)
            .or_insert_with(|| watch::channel(Snapshot::default()).0)
            .subscribe();
        Subscription {
            topic,
            receiver,
            live: self.clone(),
        }
    }

    /// Wakes everyone waiting on `topic`.
    pub fn publish(&self, topic: Topic, version: i64, body: Option<Bytes>) {
        if let Some(sender) = self.lock().get(&topic) {
            sender.send_replace(Snapshot { version, body });
        }
    }

    /// Topics with at least one waiter; for tests and diagnostics.
    pub fn waiting_topics(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Topic, watch::Sender<Snapshot>>> {
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Subscription {
    /// Waits until the topic is published or `timeout` passes; returns
    /// whether something was published.
    pub async fn changed(&mut self, timeout: Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, self.receiver.changed()).await,
            Ok(Ok(()))
        )
    }

    /// The last published snapshot.
    pub fn latest(&self) -> Snapshot {
        self.receiver.borrow().clone()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut topics = self.live.lock();
        // Our receiver is still alive here, so "1" means we are the last.
        if topics
            .get(&self.topic)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            topics.remove(&self.topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn publish_wakes_a_waiter_and_topics_are_freed() {
        let live = Live::default();
        let mut sub = live.subscribe(Topic::Order(7));
        let publisher = live.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            publisher.publish(Topic::Order(7), 2, Some(Bytes::from_static(b"{}")));
        });
        assert!(sub.changed(Duration::from_secs(5)).await);
        assert_eq!(sub.latest().version, 2);
        assert_eq!(sub.latest().body.as_deref(), Some(&b"{}"[..]));
        assert_eq!(live.waiting_topics(), 1);
        drop(sub);
        assert_eq!(live.waiting_topics(), 0);
    }

    #[tokio::test]
    async fn other_topics_do_not_wake_and_wait_times_out() {
        let live = Live::default();
        let mut sub = live.subscribe(Topic::Shop(1));
        live.publish(Topic::Shop(2), 5, None);
        live.publish(Topic::Order(1), 5, None);
        assert!(!sub.changed(Duration::from_millis(50)).await);
    }

    #[tokio::test]
    async fn a_publish_between_subscribe_and_wait_is_not_missed() {
        let live = Live::default();
        let mut sub = live.subscribe(Topic::Shop(3));
        live.publish(Topic::Shop(3), 9, None);
        assert!(sub.changed(Duration::from_millis(50)).await);
    }
}

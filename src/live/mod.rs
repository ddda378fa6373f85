//! Wake-ups for long-poll requests. A waiter subscribes to a topic (an
//! order, a shop's orders, a shop's menu) and sleeps on a `watch` channel;
//! after a transaction commits, the topics it changed are published and
//! their waiters wake. Each publish starts a fresh set of answers: the first
//! waiter of an audience to wake builds the answer, the others of that
//! audience share it, so N waiters cost one read and one serialisation.
//! No thread per request and no polling: an idle waiter is one small future,
//! and a topic nobody waits on costs nothing.

mod data;
mod pages;

pub use data::Data;
pub use pages::{Page, PageKind, Pages};

use crate::error::Result;
use crate::support::json::{JsonOut, ToJson};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{watch, OnceCell};
use tokio::time::Instant;

/// What a change can concern. New kinds (a table's cart, a kitchen station)
/// are new variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Order(i64),
    ShopOrders(i64),
    ShopMenu(i64),
    /// The now-serving board: every shop's pickup codes (`None`) or one
    /// shop's.
    NowServing(Option<i64>),
    /// A cart (kept in memory, published by its edits).
    Cart(i64),
}

/// Who an answer is built for: waiters of the same topic and audience get
/// the same bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    /// A customer: their order, a shop's public menu, the now-serving board.
    Customer,
    /// A shop's board, the page of open orders after this order id.
    ShopBoard { after: i64 },
    /// One kitchen station's view of its shop's orders.
    Station { id: i64 },
}

/// A serialised answer, shared by every waiter it is sent to.
pub type Answer = Arc<[u8]>;

/// An answer and the version of the topic it shows.
#[derive(Clone, Debug)]
pub struct Built {
    pub version: i64,
    pub body: Answer,
}

impl Built {
    /// `value` as JSON, showing `version`.
    pub fn json(version: i64, value: &dyn ToJson) -> Built {
        Built {
            version,
            body: JsonOut::write(value).into(),
        }
    }
}

/// The topics a transaction changed, published once it has committed.
#[derive(Debug, Default)]
pub struct Changes {
    topics: Vec<Topic>,
}

impl Changes {
    pub fn add(&mut self, topic: Topic) {
        if !self.topics.contains(&topic) {
            self.topics.push(topic);
        }
        // The now-serving board shows every shop's open orders: whatever
        // changes a shop's orders may change it, so no use case can forget.
        if let Topic::ShopOrders(shop) = topic {
            self.add(Topic::NowServing(None));
            self.add(Topic::NowServing(Some(shop)));
        }
    }

    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }
}

/// The longest a client may ask us to hold a request.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The answers built since a topic's last publish, one per audience.
type Answers = Arc<Mutex<HashMap<Audience, Arc<OnceCell<Built>>>>>;

#[derive(Clone, Default)]
pub struct Live {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    topics: Mutex<HashMap<Topic, watch::Sender<Answers>>>,
    /// Set at shutdown: nobody waits any more.
    closing: AtomicBool,
    pages: Pages,
}

pub struct Subscription {
    topic: Topic,
    receiver: watch::Receiver<Answers>,
    live: Live,
}

impl Live {
    /// Subscribe before reading the current state: a change committed after
    /// this call is never missed.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let mut topics = self.lock();
        let receiver = topics
            .entry(topic)
            .or_insert_with(|| watch::channel(Answers::default()).0)
            .subscribe();
        Subscription {
            topic,
            receiver,
            live: self.clone(),
        }
    }

    /// Wakes everyone waiting on the changed topics. Called once the
    /// transaction that made the changes has committed.
    pub fn publish(&self, changes: &Changes) {
        for topic in changes.topics() {
            if let Topic::ShopMenu(shop) = topic {
                self.shared.pages.forget_shop(*shop);
            }
        }
        let topics = self.lock();
        for topic in changes.topics() {
            if let Some(sender) = topics.get(topic) {
                sender.send_replace(Answers::default());
            }
        }
    }

    /// Shutdown: every waiter answers now with what is current, and later
    /// ones do not wait.
    pub fn close(&self) {
        let topics = self.lock();
        self.shared.closing.store(true, Ordering::SeqCst);
        for sender in topics.values() {
            sender.send_replace(Answers::default());
        }
    }

    /// Menu answers kept until their shop's menu changes.
    pub fn pages(&self) -> &Pages {
        &self.shared.pages
    }

    fn closing(&self) -> bool {
        self.shared.closing.load(Ordering::SeqCst)
    }

    /// Topics with at least one waiter.
    #[cfg(test)]
    pub fn waiting_topics(&self) -> usize {
        self.lock().len()
    }

    /// The answer for `audience` once `topic` has a version above `since`,
    /// waiting up to `wait` (at most `MAX_WAIT`), else the current one.
    /// `version` reads the current version (and checks access); `build`
    /// makes the answer, and after a wake-up it runs once per audience.
    pub async fn answer<B, F>(
        &self,
        topic: Topic,
        audience: Audience,
        since: i64,
        wait: Duration,
        version: impl Future<Output = Result<i64>>,
        build: B,
    ) -> Result<Answer>
    where
        B: Fn() -> F,
        F: Future<Output = Result<Built>>,
    {
        let deadline = Instant::now() + wait.min(MAX_WAIT);
        let mut subscription = self.subscribe(topic);
        if version.await? <= since {
            while subscription
                .changed(deadline.saturating_duration_since(Instant::now()))
                .await
            {
                let built = subscription.shared_answer(audience, &build).await?;
                if built.version > since || self.closing() {
                    return Ok(built.body);
                }
            }
        }
        Ok(build().await?.body)
    }

    /// Like `answer`, for a view over several topics (a checkout over its
    /// shops' orders): any of them wakes it. Its answer is its holder's
    /// alone, built by each waiter; `build`'s version decides.
    pub async fn answer_any<B, F>(
        &self,
        topics: &[Topic],
        since: i64,
        wait: Duration,
        build: B,
    ) -> Result<Answer>
    where
        B: Fn() -> F,
        F: Future<Output = Result<Built>>,
    {
        let deadline = Instant::now() + wait.min(MAX_WAIT);
        let mut subscriptions: Vec<Subscription> =
            topics.iter().map(|t| self.subscribe(*t)).collect();
        loop {
            let built = build().await?;
            if built.version > since || self.closing() {
                return Ok(built.body);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !any_changed(&mut subscriptions, left).await {
                return Ok(build().await?.body);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Topic, watch::Sender<Answers>>> {
        self.shared.topics.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Subscription {
    /// Waits until the topic is published or `timeout` passes; returns
    /// whether something was published. At shutdown it returns at once.
    pub async fn changed(&mut self, timeout: Duration) -> bool {
        if self.live.closing() {
            return false;
        }
        matches!(
            tokio::time::timeout(timeout, self.receiver.changed()).await,
            Ok(Ok(()))
        )
    }

    /// The answer for `audience` since the last publish: built by the first
    /// waiter that asks, shared with the others. A failed build is not
    /// kept, so the next waiter tries again.
    pub async fn shared_answer<B, F>(&mut self, audience: Audience, build: B) -> Result<Built>
    where
        B: FnOnce() -> F,
        F: Future<Output = Result<Built>>,
    {
        let answers = self.receiver.borrow_and_update().clone();
        let cell = answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(audience)
            .or_default()
            .clone();
        cell.get_or_try_init(build).await.cloned()
    }
}

/// Waits until one of `subscriptions` is published or `timeout` passes.
async fn any_changed(subscriptions: &mut [Subscription], timeout: Duration) -> bool {
    if subscriptions.first().is_some_and(|s| s.live.closing()) {
        return false;
    }
    let mut waits: Vec<_> = subscriptions
        .iter_mut()
        .map(|s| Box::pin(s.receiver.changed()))
        .collect();
    let any = std::future::poll_fn(|cx| {
        for wait in waits.iter_mut() {
            if let std::task::Poll::Ready(result) = wait.as_mut().poll(cx) {
                return std::task::Poll::Ready(result.is_ok());
            }
        }
        std::task::Poll::Pending
    });
    matches!(tokio::time::timeout(timeout, any).await, Ok(true))
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
    use std::sync::atomic::AtomicUsize;

    fn changes(topics: &[Topic]) -> Changes {
        let mut changes = Changes::default();
        for topic in topics {
            changes.add(*topic);
        }
        changes
    }

    fn built(version: i64, text: &str) -> Built {
        Built {
            version,
            body: text.as_bytes().into(),
        }
    }

    #[tokio::test]
    async fn publish_wakes_a_waiter_and_topics_are_freed() {
        let live = Live::default();
        let mut sub = live.subscribe(Topic::Order(7));
        let publisher = live.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            publisher.publish(&changes(&[Topic::Order(7)]));
        });
        assert!(sub.changed(Duration::from_secs(5)).await);
        assert_eq!(live.waiting_topics(), 1);
        drop(sub);
        assert_eq!(live.waiting_topics(), 0);
    }

    #[tokio::test]
    async fn other_topics_do_not_wake_and_wait_times_out() {
        let live = Live::default();
        let mut sub = live.subscribe(Topic::ShopOrders(1));
        live.publish(&changes(&[
            Topic::ShopOrders(2),
            Topic::Order(1),
            Topic::ShopMenu(1),
        ]));
        assert!(!sub.changed(Duration::from_millis(50)).await);
    }

    #[tokio::test]
    async fn a_publish_between_subscribe_and_wait_is_not_missed() {
        let live = Live::default();
        let mut sub = live.subscribe(Topic::ShopMenu(3));
        live.publish(&changes(&[Topic::ShopMenu(3)]));
        assert!(sub.changed(Duration::from_millis(50)).await);
    }

    #[test]
    fn changes_name_each_topic_once() {
        let changes = changes(&[Topic::Order(1), Topic::ShopMenu(2), Topic::Order(1)]);
        assert_eq!(changes.topics(), [Topic::Order(1), Topic::ShopMenu(2)]);
    }

    #[test]
    fn a_change_to_a_shops_orders_changes_the_now_serving_boards() {
        let changes = changes(&[Topic::ShopOrders(2), Topic::ShopOrders(3)]);
        assert_eq!(
            changes.topics(),
            [
                Topic::ShopOrders(2),
                Topic::NowServing(None),
                Topic::NowServing(Some(2)),
                Topic::ShopOrders(3),
                Topic::NowServing(Some(3)),
            ]
        );
    }

    /// A store whose version the test moves, counting the answers built.
    #[derive(Clone, Default)]
    struct Fake {
        version: Arc<AtomicUsize>,
        builds: Arc<AtomicUsize>,
    }

    impl Fake {
        async fn version(&self) -> Result<i64> {
            Ok(self.version.load(Ordering::SeqCst) as i64)
        }

        async fn build(&self, audience: Audience) -> Result<Built> {
            self.builds.fetch_add(1, Ordering::SeqCst);
            // Yield so the other waiters find the answer being built.
            tokio::task::yield_now().await;
            let version = self.version.load(Ordering::SeqCst) as i64;
            Ok(built(version, &format!("{audience:?} v{version}")))
        }

        fn wait(
            &self,
            live: &Live,
            audience: Audience,
            since: i64,
            wait: Duration,
        ) -> tokio::task::JoinHandle<Result<Answer>> {
            let (live, fake) = (live.clone(), self.clone());
            tokio::spawn(async move {
                live.answer(
                    Topic::ShopOrders(1),
                    audience,
                    since,
                    wait,
                    fake.version(),
                    || fake.build(audience),
                )
                .await
            })
        }
    }

    /// Until `count` waiters are parked on the fake's topic.
    async fn until_parked(live: &Live, count: usize) {
        let parked = || {
            live.lock()
                .get(&Topic::ShopOrders(1))
                .map_or(0, |sender| sender.receiver_count())
        };
        while parked() < count {
            tokio::task::yield_now().await;
        }
        // Subscribed, then parked once they read the version.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn woken_waiters_share_one_answer_per_audience() {
        let live = Live::default();
        let fake = Fake::default();
        let board = Audience::ShopBoard { after: 0 };
        let next_page = Audience::ShopBoard { after: 50 };
        let waiters: Vec<_> = (0..50)
            .map(|n| {
                let audience = if n % 10 == 0 { next_page } else { board };
                fake.wait(&live, audience, 0, Duration::from_secs(30))
            })
            .collect();
        until_parked(&live, 50).await;
        assert_eq!(
            fake.builds.load(Ordering::SeqCst),
            0,
            "built before a change"
        );
        fake.version.store(1, Ordering::SeqCst);
        live.publish(&changes(&[Topic::ShopOrders(1)]));
        for (n, waiter) in waiters.into_iter().enumerate() {
            let body = waiter.await.unwrap().unwrap();
            let audience = if n % 10 == 0 { next_page } else { board };
            assert_eq!(&*body, format!("{audience:?} v1").as_bytes());
        }
        assert_eq!(
            fake.builds.load(Ordering::SeqCst),
            2,
            "one build per audience"
        );
    }

    #[tokio::test]
    async fn behind_answers_at_once_and_no_change_answers_after_the_wait() {
        let live = Live::default();
        let fake = Fake::default();
        fake.version.store(3, Ordering::SeqCst);
        let started = Instant::now();
        let behind = fake.wait(&live, Audience::Customer, 2, Duration::from_secs(30));
        assert_eq!(&*behind.await.unwrap().unwrap(), b"Customer v3");
        let current = fake.wait(&live, Audience::Customer, 3, Duration::from_millis(100));
        assert_eq!(&*current.await.unwrap().unwrap(), b"Customer v3");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
        assert!(waited < Duration::from_secs(20), "{waited:?}");
    }

    #[tokio::test]
    async fn a_publish_without_a_newer_version_keeps_waiting() {
        let live = Live::default();
        let fake = Fake::default();
        let waiter = fake.wait(&live, Audience::Customer, 0, Duration::from_secs(30));
        until_parked(&live, 1).await;
        live.publish(&changes(&[Topic::ShopOrders(1)]));
        while fake.builds.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!waiter.is_finished(), "answered without a newer version");
        fake.version.store(1, Ordering::SeqCst);
        live.publish(&changes(&[Topic::ShopOrders(1)]));
        assert_eq!(&*waiter.await.unwrap().unwrap(), b"Customer v1");
    }

    #[tokio::test]
    async fn closing_answers_every_waiter_now_and_later_ones_at_once() {
        let live = Live::default();
        let fake = Fake::default();
        let waiters: Vec<_> = (0..5)
            .map(|_| fake.wait(&live, Audience::Customer, 0, Duration::from_secs(60)))
            .collect();
        until_parked(&live, 5).await;
        let started = Instant::now();
        live.close();
        for waiter in waiters {
            assert_eq!(&*waiter.await.unwrap().unwrap(), b"Customer v0");
        }
        let late = fake.wait(&live, Audience::Customer, 0, Duration::from_secs(60));
        assert_eq!(&*late.await.unwrap().unwrap(), b"Customer v0");
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(fake.builds.load(Ordering::SeqCst), 2, "woken ones share");
    }
}

//! One contract suite for every `FlowStore`: each case below runs against the memory store
//! and against a Redis store on its own real `redis-server`. Redis-only behaviour (outages,
//! corrupt records, key expiries) is in `redis_only`.
//!
//! Deadlines leave about a second of slack: Redis expires keys by its own clock, and the
//! machine running the tests may be busy.

mod redis_only;
mod watches;

use watches::{
    watches_are_claimed_once_their_lease_ends, watches_end_when_unwatched_or_past_give_up,
};

use std::sync::Arc;
use std::time::Duration;

use auth_eid::ids::{FlowId, SessionId};
use auth_eid::store::{now_millis, FlowStore, Millis, OutboxEntry, StoreError};

type Store = Arc<dyn FlowStore>;

/// Generates `memory::<case>` and `redis::<case>` tests; the number is the cap on live flows.
macro_rules! conformance {
    ($($case:ident($cap:expr)),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let store = auth_eid::store::memory::MemoryStore::new($cap);
                    super::$case(std::sync::Arc::new(store)).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let server = crate::support::redis::RedisServer::start();
                    super::$case(crate::support::redis::store(&server, $cap).await).await;
                }
            )*
        }
    };
}

conformance! {
    concurrent_updates_have_one_winner(10),
    update_and_enqueue_are_one_step(10),
    flows_expire(10),
    single_use_values_are_taken_once(10),
    readable_values_have_one_first_writer_and_expire(10),
    sessions_extend_end_and_do_not_revive(10),
    outbox_leases_and_reclaims(10),
    outbox_reschedules_and_removes(10),
    outbox_drops_entries_past_give_up(10),
    cap_counts_live_flows_only(2),
    watches_are_claimed_once_their_lease_ends(10),
    watches_end_when_unwatched_or_past_give_up(10),
}

pub fn entry(id: &str, due_at: Millis, give_up_at: Millis) -> OutboxEntry {
    OutboxEntry {
        id: id.into(),
        url: "http://127.0.0.1:1/attr".into(),
        // Non-ASCII and JSON-special bytes must come back byte for byte.
        body: format!("eyJ.{id}.\"é\"\n\\"),
        attempts: 0,
        due_at,
        give_up_at,
        webhook: None,
    }
}

pub async fn new_flow(store: &Store, data: &str) -> FlowId {
    let id = FlowId::new();
    store
        .create_flow(&id, data, now_millis() + 60_000)
        .await
        .unwrap();
    id
}

async fn claim_ids(store: &Store, now: Millis, lease_ms: u64) -> Vec<String> {
    let mut ids: Vec<String> = store
        .claim_deliveries(now, Duration::from_millis(lease_ms), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    ids.sort();
    ids
}

async fn concurrent_updates_have_one_winner(store: Store) {
    let id = new_flow(&store, "created").await;
    let v = store.load_flow(&id).await.unwrap().unwrap();
    assert_eq!((v.version, v.data.as_str()), (1, "created"));

    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move {
                let e = entry(&format!("e{i}"), 0, u64::MAX);
                let won = store
                    .update_flow(&id, 1, &format!("w{i}"), Some(&e))
                    .await
                    .unwrap();
                won.then_some(i)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        winners.extend(t.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "exactly one of 50 writers wins");
    let w = winners[0];

    let now = store.load_flow(&id).await.unwrap().unwrap();
    assert_eq!((now.version, now.data), (2, format!("w{w}")));
    // Only the winner's delivery was enqueued, with its body intact.
    let claimed = store
        .claim_deliveries(now_millis(), Duration::from_secs(5), 100)
        .await
        .unwrap();
    assert_eq!(claimed, vec![entry(&format!("e{w}"), 0, u64::MAX)]);
}

async fn update_and_enqueue_are_one_step(store: Store) {
    let id = new_flow(&store, "a").await;
    // A stale version writes nothing: no data, no outbox entry.
    assert!(!store
        .update_flow(&id, 7, "stale", Some(&entry("stale", 0, u64::MAX)))
        .await
        .unwrap());
    // An unknown flow neither.
    assert!(!store
        .update_flow(&FlowId::new(), 1, "x", Some(&entry("ghost", 0, u64::MAX)))
        .await
        .unwrap());
    assert!(claim_ids(&store, now_millis(), 1_000).await.is_empty());
    assert_eq!(store.next_delivery_due().await.unwrap(), None);

    // Without a delivery only the flow changes; versions keep counting.
    assert!(store.update_flow(&id, 1, "b", None).await.unwrap());
    assert!(store.next_delivery_due().await.unwrap().is_none());
    assert!(store
        .update_flow(&id, 2, "c", Some(&entry("done", 5, u64::MAX)))
        .await
        .unwrap());
    let v = store.load_flow(&id).await.unwrap().unwrap();
    assert_eq!((v.version, v.data.as_str()), (3, "c"));
    assert_eq!(store.next_delivery_due().await.unwrap(), Some(5));
}

async fn flows_expire(store: Store) {
    let now = now_millis();
    let short = FlowId::new();
    store.create_flow(&short, "a", now + 1_000).await.unwrap();
    let gone = FlowId::new();
    store.create_flow(&gone, "a", now - 1).await.unwrap();
    assert_eq!(store.load_flow(&gone).await.unwrap(), None);
    assert!(!store.update_flow(&gone, 1, "b", None).await.unwrap());

    // An update keeps the flow's deadline: it does not extend it.
    assert!(store.update_flow(&short, 1, "b", None).await.unwrap());
    assert!(store.load_flow(&short).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(store.load_flow(&short).await.unwrap(), None);
    assert!(!store.update_flow(&short, 2, "c", None).await.unwrap());

    let now = now_millis();
    store.put_single_use("late", "v", now + 200).await.unwrap();
    store.put_single_use("past", "v", now - 1).await.unwrap();
    assert_eq!(store.take_single_use("past").await.unwrap(), None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.take_single_use("late").await.unwrap(), None);
}

async fn single_use_values_are_taken_once(store: Store) {
    assert_eq!(store.take_single_use("never").await.unwrap(), None);
    store
        .put_single_use("nonce", "value", now_millis() + 60_000)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_single_use("nonce").await.unwrap() })
        })
        .collect();
    let mut taken = Vec::new();
    for t in tasks {
        taken.extend(t.await.unwrap());
    }
    assert_eq!(taken, ["value"]);
}

/// Idempotency keys: of many concurrent first writers exactly one stores its value, the rest
/// are given it; reads do not consume; values go at their deadline.
async fn readable_values_have_one_first_writer_and_expire(store: Store) {
    assert_eq!(store.get_value("never").await.unwrap(), None);
    let until = now_millis() + 60_000;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mine = format!("writer {i}");
                let earlier = store
                    .put_value_if_absent("idem", &mine, until)
                    .await
                    .unwrap();
                (mine, earlier)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut told = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (mine, None) => winners.push(mine),
            (_, Some(earlier)) => told.push(earlier),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert!(told.iter().all(|v| *v == winners[0]));
    for _ in 0..2 {
        assert_eq!(
            store.get_value("idem").await.unwrap().as_deref(),
            Some(winners[0].as_str())
        );
    }
    // A released claim can be claimed anew.
    store.remove_value("idem").await.unwrap();
    assert_eq!(store.get_value("idem").await.unwrap(), None);
    let reclaimed = store.put_value_if_absent("idem", "retry", until);
    assert_eq!(reclaimed.await.unwrap(), None);
    store.remove_value("never").await.unwrap();
    store
        .put_value("subject", "é\"\n{}", now_millis() + 1_000)
        .await
        .unwrap();
    store
        .put_value("subject", "replaced", now_millis() + 1_000)
        .await
        .unwrap();
    assert_eq!(
        store.get_value("subject").await.unwrap().as_deref(),
        Some("replaced")
    );
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(store.get_value("subject").await.unwrap(), None);
    let again = store.put_value_if_absent("subject", "new", now_millis() + 1_000);
    assert_eq!(
        again.await.unwrap(),
        None,
        "an expired value does not block a new one"
    );
}

async fn sessions_extend_end_and_do_not_revive(store: Store) {
    let now = now_millis();
    let live = SessionId::new();
    store
        .create_session(&live, now + 1_000, now + 60_000)
        .await
        .unwrap();
    assert!(store
        .touch_session(&live, now + 500, Duration::from_secs(10))
        .await
        .unwrap());
    assert!(store.end_session(&live).await.unwrap());
    assert!(!store.end_session(&live).await.unwrap());
    assert!(!store
        .touch_session(&live, now + 600, Duration::from_secs(10))
        .await
        .unwrap());
    assert!(!store.end_session(&SessionId::new()).await.unwrap());

    // Touching never extends past the absolute end; idle ones die by themselves.
    let capped = SessionId::new();
    store
        .create_session(&capped, now + 1_000, now + 1_500)
        .await
        .unwrap();
    assert!(store
        .touch_session(&capped, now, Duration::from_secs(60))
        .await
        .unwrap());
    let idle = SessionId::new();
    store
        .create_session(&idle, now + 1_000, now + 60_000)
        .await
        .unwrap();
    // A touch moves the idle end: this one would die at +1 s untouched, and lives to +3 s.
    let extended = SessionId::new();
    store
        .create_session(&extended, now + 1_000, now + 60_000)
        .await
        .unwrap();
    assert!(store
        .touch_session(&extended, now, Duration::from_secs(3))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let later = now_millis();
    assert!(!store
        .touch_session(&capped, later, Duration::from_secs(60))
        .await
        .unwrap());
    assert!(!store
        .touch_session(&idle, later, Duration::from_secs(60))
        .await
        .unwrap());
    assert!(
        store
            .touch_session(&extended, later, Duration::from_secs(3))
            .await
            .unwrap(),
        "a touched session lives past its first idle end"
    );
}

/// Enqueues one delivery per new flow, the way a completing flow does.
pub async fn enqueue(store: &Store, e: &OutboxEntry) {
    let id = new_flow(store, "a").await;
    assert!(store.update_flow(&id, 1, "done", Some(e)).await.unwrap());
}

async fn outbox_leases_and_reclaims(store: Store) {
    let t = now_millis();
    for id in ["a", "b", "c"] {
        enqueue(&store, &entry(id, t, u64::MAX)).await;
    }
    assert!(
        claim_ids(&store, t - 1, 100).await.is_empty(),
        "not due yet"
    );
    let first = store
        .claim_deliveries(t, Duration::from_millis(100), 2)
        .await
        .unwrap();
    assert_eq!(first.len(), 2, "the limit holds");
    let rest = claim_ids(&store, t + 10, 100).await;
    assert_eq!(
        rest.len(),
        1,
        "leased entries are hidden from other workers"
    );
    assert!(claim_ids(&store, t + 50, 100).await.is_empty());
    assert_eq!(store.next_delivery_due().await.unwrap(), Some(t + 100));
    // The first worker died: once its lease ends, its entries are claimable again.
    let mut again: Vec<String> = first.into_iter().map(|e| e.id).collect();
    again.sort();
    assert_eq!(claim_ids(&store, t + 100, 1_000).await, again);
    assert_eq!(claim_ids(&store, t + 110, 1_000).await, rest);
}

async fn outbox_reschedules_and_removes(store: Store) {
    let t = now_millis();
    enqueue(&store, &entry("r", t, u64::MAX)).await;
    let mut claimed = store
        .claim_deliveries(t, Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let mut e = claimed.remove(0);
    e.attempts = 1;
    e.due_at = t + 1_000;
    // Rescheduling releases the lease: the new due time counts, not the 30 s lease.
    store.reschedule_delivery(&e).await.unwrap();
    assert_eq!(store.next_delivery_due().await.unwrap(), Some(t + 1_000));
    assert!(claim_ids(&store, t + 999, 100).await.is_empty());
    let back = store
        .claim_deliveries(t + 1_000, Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(back, vec![e.clone()]);

    store.remove_delivery("r").await.unwrap();
    store.remove_delivery("r").await.unwrap();
    assert_eq!(store.next_delivery_due().await.unwrap(), None);
    // A late reschedule of a removed entry does not bring it back.
    store.reschedule_delivery(&e).await.unwrap();
    assert_eq!(store.next_delivery_due().await.unwrap(), None);
    assert!(claim_ids(&store, t + 10_000, 100).await.is_empty());
}

async fn outbox_drops_entries_past_give_up(store: Store) {
    let t = now_millis();
    enqueue(&store, &entry("expiring", 0, t + 800)).await;
    enqueue(&store, &entry("lasting", t + 60_000, u64::MAX)).await;
    assert_eq!(store.next_delivery_due().await.unwrap(), Some(0));
    // Dropped at the latest when the outbox is next asked for work.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    new_flow(&store, "a write").await;
    let now = now_millis();
    assert!(claim_ids(&store, now, 1_000).await.is_empty());
    assert_eq!(store.next_delivery_due().await.unwrap(), Some(t + 60_000));
}

async fn cap_counts_live_flows_only(store: Store) {
    // Called with a cap of 2.
    let now = now_millis();
    store
        .create_flow(&FlowId::new(), "a", now + 1_000)
        .await
        .unwrap();
    store
        .create_flow(&FlowId::new(), "b", now + 60_000)
        .await
        .unwrap();
    assert_eq!(
        store.create_flow(&FlowId::new(), "c", now + 60_000).await,
        Err(StoreError::Full)
    );
    // Nothing was written for the refused flow, and other kinds of entry are not capped.
    store.put_single_use("n", "v", now + 60_000).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // The expired flow no longer counts.
    let id = FlowId::new();
    store
        .create_flow(&id, "c", now_millis() + 60_000)
        .await
        .unwrap();
    assert!(store.load_flow(&id).await.unwrap().is_some());
    assert_eq!(
        store.create_flow(&FlowId::new(), "d", now + 60_000).await,
        Err(StoreError::Full)
    );
}

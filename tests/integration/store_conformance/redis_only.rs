//! What only the Redis store can show: Redis going away and coming back under a live store,
//! records written by something else, key expiries, and several stores on one Redis.

use std::time::{Duration, Instant};

use ::redis::AsyncCommands;
use auth_eid::ids::{FlowId, SessionId};
use auth_eid::store::redis::RedisStore;
use auth_eid::store::{now_millis, StoreError};

use super::{enqueue, entry, new_flow, Store};
use crate::support::redis::{raw, settings, store, try_store, RedisServer, TIMEOUT};

/// What "fails fast" means here: the timeout plus scheduling slack on a busy machine.
const MARGIN: Duration = Duration::from_millis(700);

fn assert_unavailable<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, StoreError>,
    started: Instant,
    secret: &str,
) {
    let elapsed = started.elapsed();
    match result {
        Err(StoreError::Unavailable(msg)) => {
            assert!(!msg.contains(secret), "{what}: password in error {msg:?}");
        }
        other => panic!("{what}: expected Unavailable, got {other:?}"),
    }
    assert!(elapsed < TIMEOUT + MARGIN, "{what} took {elapsed:?}");
}

async fn wait_until_ready(store: &Store) -> Duration {
    let started = Instant::now();
    while store.ping().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "no recovery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_fails_fast_and_the_same_store_recovers() {
    let secret = "s3cret-Pa55word";
    let mut server = RedisServer::start_with_password(secret);
    let store = try_store(&server.url(), "test:", 10).await.unwrap();
    let before = new_flow(&store, "a").await;

    server.stop();
    let t = Instant::now();
    assert_unavailable("ping", store.ping().await, t, secret);
    let t = Instant::now();
    assert_unavailable("load", store.load_flow(&before).await, t, secret);
    let t = Instant::now();
    let fresh = FlowId::new();
    let r = store.create_flow(&fresh, "b", now_millis() + 60_000);
    assert_unavailable("create", r.await, t, secret);
    let e = entry("x", 0, u64::MAX);
    let t = Instant::now();
    let r = store.update_flow(&before, 1, "b", Some(&e));
    assert_unavailable("update", r.await, t, secret);
    let t = Instant::now();
    assert_unavailable("take", store.take_single_use("n").await, t, secret);
    let t = Instant::now();
    let r = store.claim_deliveries(now_millis(), Duration::from_secs(1), 10);
    assert_unavailable("claim", r.await, t, secret);
    let t = Instant::now();
    assert_unavailable("next due", store.next_delivery_due().await, t, secret);

    server.restart();
    let took = wait_until_ready(&store).await;
    assert!(took < Duration::from_secs(5), "recovery took {took:?}");
    // Redis came back empty (no persistence): the old flow reads as expired, new ones work.
    assert_eq!(store.load_flow(&before).await.unwrap(), None);
    let after = new_flow(&store, "c").await;
    assert!(store.update_flow(&after, 1, "d", None).await.unwrap());
    // Every connection of the pool is back, not just the one ping used.
    for _ in 0..4 {
        assert!(store.load_flow(&after).await.unwrap().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_with_redis_down_fails_fast_or_starts_lazily() {
    let mut server = RedisServer::start();
    server.stop();
    let t = Instant::now();
    let opened = try_store(&server.url(), "test:", 10).await.map(|_| ());
    assert_unavailable("open", opened, t, "none");

    // A lazily built store serves as soon as Redis is there.
    let lazy = RedisStore::new_lazy(&settings(&server.url(), "test:"), 10).unwrap();
    let lazy: Store = std::sync::Arc::new(lazy);
    let t = Instant::now();
    assert_unavailable("lazy ping", lazy.ping().await, t, "none");
    server.restart();
    wait_until_ready(&lazy).await;
    new_flow(&lazy, "a").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_unavailable_without_echoing_it() {
    let server = RedisServer::start_with_password("right-one");
    let url = server.url().replace("right-one", "Wr0ng-Passw0rd");
    let t = Instant::now();
    let opened = try_store(&url, "test:", 10).await.map(|_| ());
    assert_unavailable("open", opened, t, "Wr0ng-Passw0rd");
    let bad_url = try_store("not a url", "test:", 10).await.map(|_| ());
    assert!(matches!(bad_url, Err(StoreError::Unavailable(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_fixed_on_the_redis_side_is_picked_up_without_restart() {
    let server = RedisServer::start_with_password("first-pass");
    let mut admin = raw(&server).await;
    let url = server.url().replace("first-pass", "second-pass");
    let store: Store =
        std::sync::Arc::new(RedisStore::new_lazy(&settings(&url, "test:"), 10).unwrap());
    // Let the handshake failure settle in the connection manager.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        assert!(store.ping().await.is_err());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _: () = ::redis::cmd("CONFIG")
        .arg(&["SET", "requirepass", "second-pass"])
        .query_async(&mut admin)
        .await
        .unwrap();
    wait_until_ready(&store).await;
    new_flow(&store, "a").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_records_read_as_absent() {
    let server = RedisServer::start();
    let store = store(&server, 10).await;
    let mut r = raw(&server).await;

    let bad_version = FlowId::new();
    let key = format!("test:flow:{bad_version}");
    let _: () = r
        .hset_multiple(&key, &[("v", "x"), ("d", "y")])
        .await
        .unwrap();
    assert_eq!(store.load_flow(&bad_version).await.unwrap(), None);
    assert!(!store.update_flow(&bad_version, 1, "z", None).await.unwrap());
    let no_data = FlowId::new();
    let _: () = r
        .hset(format!("test:flow:{no_data}"), "v", "1")
        .await
        .unwrap();
    assert_eq!(store.load_flow(&no_data).await.unwrap(), None);
    // A key of the wrong type is an error of the deployment, not an absent flow.
    let wrong_type = FlowId::new();
    let _: () = r.set(format!("test:flow:{wrong_type}"), "s").await.unwrap();
    let loaded = store.load_flow(&wrong_type).await;
    assert!(matches!(loaded, Err(StoreError::Unavailable(_))));

    let session = SessionId::new();
    let _: () = r
        .hset_multiple(
            format!("test:session:{session}"),
            &[("i", "soon"), ("a", "")],
        )
        .await
        .unwrap();
    let touched = store.touch_session(&session, now_millis(), Duration::from_secs(9));
    assert!(!touched.await.unwrap());

    // An entry that does not parse is dropped; the good one is delivered.
    let _: () = r
        .hset("test:outbox:entries", "bad", "{not json")
        .await
        .unwrap();
    let _: () = r.zadd("test:outbox:due", "bad", 0).await.unwrap();
    let _: () = r
        .zadd("test:outbox:give_up", "bad", 1u64 << 52)
        .await
        .unwrap();
    enqueue(&store, &entry("good", 0, u64::MAX)).await;
    let claimed = store
        .claim_deliveries(now_millis(), Duration::from_secs(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed, vec![entry("good", 0, u64::MAX)]);
    let still: bool = r.hexists("test:outbox:entries", "bad").await.unwrap();
    assert!(!still);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_expires() {
    let server = RedisServer::start();
    let store = store(&server, 10).await;
    let mut r = raw(&server).await;
    let now = now_millis();
    let flow = FlowId::new();
    store.create_flow(&flow, "a", now + 60_000).await.unwrap();
    store.put_single_use("n", "v", now + 60_000).await.unwrap();
    let session = SessionId::new();
    store
        .create_session(&session, now + 60_000, now + 120_000)
        .await
        .unwrap();
    for key in [
        format!("test:flow:{flow}"),
        "test:flows".to_string(),
        "test:once:n".to_string(),
        format!("test:session:{session}"),
    ] {
        let ttl: i64 = r.pttl(&key).await.unwrap();
        assert!((50_000..=60_000).contains(&ttl), "{key}: {ttl}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_share_by_prefix_and_respect_leases() {
    let server = RedisServer::start();
    let a = try_store(&server.url(), "p:", 1).await.unwrap();
    let b = try_store(&server.url(), "p:", 1).await.unwrap();
    let other = try_store(&server.url(), "q:", 1).await.unwrap();

    // Two instances on one prefix see one flow and one cap; another prefix is separate.
    let id = new_flow(&a, "a").await;
    assert!(b.load_flow(&id).await.unwrap().is_some());
    assert_eq!(other.load_flow(&id).await.unwrap(), None);
    let refused = b
        .create_flow(&FlowId::new(), "b", now_millis() + 60_000)
        .await;
    assert_eq!(refused, Err(StoreError::Full));
    new_flow(&other, "c").await;

    // A lease taken through one instance hides the entry from the other until it ends.
    assert!(a
        .update_flow(&id, 1, "done", Some(&entry("e", 0, u64::MAX)))
        .await
        .unwrap());
    let t = now_millis();
    assert_eq!(
        a.claim_deliveries(t, Duration::from_millis(200), 9)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(b
        .claim_deliveries(t + 100, Duration::from_secs(1), 9)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        b.claim_deliveries(t + 200, Duration::from_secs(1), 9)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_past_give_up_are_never_claimed() {
    let server = RedisServer::start();
    let store = store(&server, 10).await;
    let t = now_millis();
    enqueue(&store, &entry("old", 0, t + 100)).await;
    assert!(store
        .claim_deliveries(t + 100, Duration::from_secs(1), 9)
        .await
        .unwrap()
        .is_empty());
    let mut r = raw(&server).await;
    let kept: bool = r.hexists("test:outbox:entries", "old").await.unwrap();
    assert!(!kept, "the given-up entry is removed, not only skipped");
}

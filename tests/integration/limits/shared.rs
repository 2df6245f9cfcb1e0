//! Two instances on one Redis count in one budget: the second does not get a fresh one.

use auth_eid::config::StoreKind;

use super::{start_from, start_limit};
use crate::harness::{Options, TestApp};
use crate::support::redis::RedisServer;

async fn instance(redis: &RedisServer, count: u64) -> TestApp {
    TestApp::spawn(Options {
        store: StoreKind::Redis,
        redis_url: Some(redis.url()),
        limits_toml: start_limit(count, &[]),
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_one_redis_share_the_budget() {
    let redis = RedisServer::start();
    let a = instance(&redis, 4).await;
    let b = instance(&redis, 4).await;
    assert_eq!(start_from(&a.base, None).await.0, 200);
    assert_eq!(start_from(&a.base, None).await.0, 200);
    assert_eq!(start_from(&a.base, None).await.0, 200);
    assert_eq!(start_from(&b.base, None).await.0, 200, "the fourth, on b");
    let (status, retry, body) = start_from(&b.base, None).await;
    assert_eq!(status, 429, "b did not get a fresh budget");
    assert!((1..=60).contains(&retry.unwrap()));
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(start_from(&a.base, None).await.0, 429);

    // The counter is under the keyed hash, never the address itself.
    let mut raw = crate::support::redis::raw(&redis).await;
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("*limit:*")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].contains("limit:start_authentication:"));
    assert!(!keys[0].contains("127.0.0.1"));
}

//! Watches: leased ids of Smart-ID sessions waiting at SK (flow/smart_id/watch.rs). Times are
//! explicit, an hour ahead, so neither store's own clock matters.

use auth_eid::ids::FlowId;
use auth_eid::store::{now_millis, Millis, Watched};

use super::Store;

const HOUR: Millis = 3_600_000;

fn watched(id: &FlowId, give_up_at: Millis) -> Watched {
    Watched {
        id: id.clone(),
        give_up_at,
    }
}

async fn claim(store: &Store, now: Millis, lease_until: Millis) -> Vec<FlowId> {
    let mut ids = store.claim_watches(now, lease_until, 100).await.unwrap();
    ids.sort();
    ids
}

pub async fn watches_are_claimed_once_their_lease_ends(store: Store) {
    let t = now_millis() + HOUR;
    let (a, b) = (FlowId::new(), FlowId::new());
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    let all = [watched(&a, t + HOUR), watched(&b, t + HOUR)];
    store.watch(&all, t + 1_000).await.unwrap();
    assert!(claim(&store, t, t + 5_000).await.is_empty(), "leased");
    assert_eq!(claim(&store, t + 1_000, t + 5_000).await, both);
    assert!(
        claim(&store, t + 2_000, t + 9_000).await.is_empty(),
        "the claimer holds them now"
    );
    // The holder renews one and hands the other back (lease ends now).
    store.watch(&all[..1], t + 20_000).await.unwrap();
    store.watch(&all[1..], t + 3_000).await.unwrap();
    assert_eq!(claim(&store, t + 3_000, t + 9_000).await, vec![b.clone()]);
    // b's new lease ends at t + 9 s; a's renewed one at t + 20 s.
    assert_eq!(claim(&store, t + 9_000, t + 30_000).await, vec![b]);
    assert_eq!(claim(&store, t + 20_000, t + 30_000).await, vec![a]);
}

pub async fn watches_end_when_unwatched_or_past_give_up(store: Store) {
    let t = now_millis() + HOUR;
    let (a, b, c) = (FlowId::new(), FlowId::new(), FlowId::new());
    let all = [
        watched(&a, t + HOUR),
        watched(&b, t + 5_000),
        watched(&c, t + 5_000),
    ];
    store.watch(&all, t).await.unwrap();
    store.unwatch(&a).await.unwrap();
    // Watching again replaces the give-up time.
    store.watch(&[watched(&c, t + HOUR)], t).await.unwrap();
    let mut expected = vec![c.clone()];
    expected.sort();
    assert_eq!(claim(&store, t + 6_000, t + 7_000).await, expected);
    // b went at its give-up time and does not come back.
    assert!(claim(&store, t + HOUR - 1, t + HOUR).await.contains(&c));
    assert!(!claim(&store, t + HOUR - 1, t + HOUR).await.contains(&b));
    // Unwatching an id that is not watched is no error.
    store.unwatch(&b).await.unwrap();
}

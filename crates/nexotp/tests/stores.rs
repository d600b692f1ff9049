//! Rate-limit stores: the conformance suite against the in-memory store and (with the `redis`
//! feature and `NEXOTP_TEST_REDIS_URL`, which `scripts/test-rust` sets) against a real Redis;
//! a fleet of clients sharing one Redis; a Redis that goes away and comes back.

mod common;

use std::sync::Arc;

use nexotp::InMemoryStore;
use nexotp::buckets::conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_memory_store_conforms() {
    let report = conformance::run(Arc::new(InMemoryStore::new()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.passed.len(), conformance::CASES.len());
    println!("in-memory store: {report}");
}

/// A store that never limits or pauses anything fails the suite (the suite can fail).
#[tokio::test]
async fn a_store_that_forgets_fails_the_suite() {
    use nexotp::buckets::{
        Admission, BucketKey, BucketLimit, Pause, RateLimitStore, StoreError, async_trait,
    };
    use std::time::SystemTime;

    #[derive(Debug)]
    struct Forgetful;

    #[async_trait]
    impl RateLimitStore for Forgetful {
        async fn reserve(
            &self,
            _: &BucketKey,
            _: Option<BucketLimit>,
        ) -> Result<Admission, StoreError> {
            Ok(Admission::Go)
        }
        async fn pause_left(&self, _: &BucketKey) -> Result<Option<Pause>, StoreError> {
            Ok(None)
        }
        async fn pause_until(&self, _: &BucketKey, _: SystemTime) -> Result<(), StoreError> {
            Ok(())
        }
    }

    let failure = conformance::run(Arc::new(Forgetful))
        .await
        .expect_err("a store without limits does not conform");
    assert_eq!(failure.case, "limit_holds_under_64_concurrent_callers");
}

#[cfg(feature = "redis")]
mod redis {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use nexotp::buckets::conformance;
    use nexotp::{
        Bucket, BucketLimit, OrderRequest, RateLimitStore, RedisStore, RequestObserver,
        RequestRecord, StoreEvent,
    };
    use nexotp_sandbox::Bucket as SandboxBucket;

    use super::common::*;

    /// The Redis the test command started, or `None` (with a loud message) for a developer
    /// running `cargo test` alone.
    fn redis_url() -> Option<String> {
        match std::env::var("NEXOTP_TEST_REDIS_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                eprintln!(
                    "\n*** SKIPPED: NEXOTP_TEST_REDIS_URL is not set; run scripts/test-rust \
                     (it starts a Redis) to test RedisStore ***\n"
                );
                None
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_redis_store_conforms() {
        let Some(url) = redis_url() else { return };
        let store = RedisStore::connect(&url).await.expect("redis answers");
        let report = conformance::run(Arc::new(store))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.passed.len(), conformance::CASES.len());
        println!("redis store: {report}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clients_sharing_redis_share_limits_and_pauses() {
        let Some(url) = redis_url() else { return };
        let sb = sandbox()
            .rate_limit(SandboxBucket::Poll, 10.0)
            .start()
            .await
            .expect("sandbox");
        // Three "workers", each with its own store object (its own connection), as three
        // processes would have; each alone would send 10/s.
        let mut workers = Vec::new();
        for _ in 0..3 {
            let store = RedisStore::connect(&url).await.expect("redis");
            workers.push(
                client_builder(&sb)
                    .rate_limit_store(Arc::new(store))
                    .bucket_limit(Bucket::Poll, BucketLimit::per_second(10.0).burst(1))
                    .build()
                    .expect("client"),
            );
        }
        let order = workers[0]
            .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
            .await
            .expect("order");
        let tasks: Vec<_> = (0..30)
            .map(|i| {
                let client = workers[i % 3].clone();
                let id = order.id.clone();
                tokio::spawn(async move { client.order(&id).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("poll");
        }
        let polls = requests_to(&sb, "GET", &format!("/order/{}", order.id));
        assert_eq!(polls.len(), 30);
        assert!(
            polls.iter().all(|r| r.status == Some(200)),
            "the server refused {} polls of 30: the workers did not share the limit",
            polls.iter().filter(|r| r.status == Some(429)).count()
        );
        let mut at: Vec<i64> = polls.iter().map(at_ms).collect();
        at.sort_unstable();
        // 30 polls at a shared 10/s with a burst of 1 take at least 2.9 s (not 0.9 s).
        assert!(at[29] - at[0] >= 2700, "30 polls in {} ms", at[29] - at[0]);

        // A 429 one worker meets pauses the others.
        sb.set_faults(script(
            "GET /order/*",
            status_fault(429, Some("1"), true, None),
            1,
        ));
        sb.clear_requests();
        workers[0].order(&order.id).await.expect("waited out");
        let started = Instant::now();
        workers[1].order(&order.id).await.expect("poll");
        let log = requests_to(&sb, "GET", &format!("/order/{}", order.id));
        assert_eq!(log.iter().filter(|r| r.status == Some(429)).count(), 1);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[derive(Default)]
    struct Events(std::sync::Mutex<Vec<StoreEvent>>);

    impl RequestObserver for Events {
        fn on_request(&self, _: &RequestRecord) {}
        fn on_store_event(&self, event: &StoreEvent) {
            self.0.lock().expect("lock").push(event.clone());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_redis_never_fails_a_call_and_is_logged_once() {
        // A port nobody listens on, with a password that must not leak.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let url = format!("redis://:Pa55WORD@127.0.0.1:{port}/0");
        let err = RedisStore::connect(&url).await.expect_err("nobody listens");
        assert!(!err.to_string().contains("Pa55WORD"), "{err}");
        let sb = sandbox()
            .rate_limit(SandboxBucket::Poll, 50.0)
            .start()
            .await
            .expect("sandbox");
        let events = Arc::new(Events::default());
        let client = client_builder(&sb)
            .rate_limit_store_url(url.clone())
            .bucket_limit(Bucket::Poll, BucketLimit::per_second(5.0).burst(1))
            .observer(events.clone())
            .build()
            .expect("client");
        assert!(!format!("{client:?}").contains("Pa55WORD"));
        let order = client
            .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
            .await
            .expect("order without redis");
        let started = Instant::now();
        for _ in 0..6 {
            client.order(&order.id).await.expect("poll without redis");
        }
        // The fallback applies the client-side limit: 6 polls at 5/s take a second.
        assert!(started.elapsed() >= Duration::from_millis(900));
        let events = events.0.lock().expect("lock").clone();
        assert_eq!(events.len(), 1, "one event per outage: {events:?}");
        assert!(
            matches!(&events[0], StoreEvent::Unavailable { error } if !error.contains("Pa55WORD"))
        );
    }

    /// Redis restarted under a client: calls go on from memory, then back to Redis.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_redis_that_comes_back_is_used_again() {
        let Some(_) = redis_url() else { return };
        let Some(server) = RedisServer::start() else {
            return;
        };
        let sb = sandbox().start().await.expect("sandbox");
        let events = Arc::new(Events::default());
        let store = Arc::new(RedisStore::connect(&server.url).await.expect("redis"));
        let client = client_builder(&sb)
            .rate_limit_store(store.clone())
            .observer(events.clone())
            .build()
            .expect("client");
        client.account().await.expect("with redis");
        let port = server.port;
        drop(server);
        for _ in 0..5 {
            client.account().await.expect("redis is down");
        }
        let again = RedisServer::start_on(port).expect("redis again");
        let key = nexotp::BucketKey::new("probe", Bucket::General);
        let deadline = Instant::now() + SOON;
        while store.pause_left(&key).await.is_err() {
            assert!(Instant::now() < deadline, "redis never answered again");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut calls = 0;
        while events.0.lock().expect("lock").len() < 2 && calls < 200 {
            client.account().await.expect("redis is back");
            calls += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let events = events.0.lock().expect("lock").clone();
        assert!(
            matches!(
                events[..],
                [StoreEvent::Unavailable { .. }, StoreEvent::Recovered { .. }]
            ),
            "{events:?}"
        );
        drop(again);
    }

    /// A private `redis-server` on a random port, stopped when dropped.
    struct RedisServer {
        child: std::process::Child,
        port: u16,
        url: String,
    }

    impl RedisServer {
        fn start() -> Option<RedisServer> {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
            let port = listener.local_addr().ok()?.port();
            drop(listener);
            RedisServer::start_on(port)
        }

        fn start_on(port: u16) -> Option<RedisServer> {
            let bin =
                std::env::var("NEXOTP_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
            let child = std::process::Command::new(bin)
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .ok()?;
            let url = format!("redis://127.0.0.1:{port}/0");
            let deadline = Instant::now() + SOON;
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if Instant::now() > deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(RedisServer { child, port, url })
        }
    }

    impl Drop for RedisServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

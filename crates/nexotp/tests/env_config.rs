//! Configuration from the environment (`NEXOTP_API_KEY`, `NEXOTP_BASE_URL`,
//! `NEXOTP_RATE_LIMIT_STORE`, `NEXOTP_RATE_LIMITS`). In its own test
//! binary with a single test, because changing the environment is only sound while no other
//! thread reads it.

mod common;

use common::*;
use nexotp::{Bucket, BucketLimit, Client, ErrorKind};

#[test]
fn missing_key_fails_at_construction_and_the_environment_configures_a_client() {
    // SAFETY: this binary runs this one test; no other thread exists yet.
    unsafe {
        std::env::remove_var("NEXOTP_API_KEY");
        std::env::remove_var("NEXOTP_BASE_URL");
    }
    let err = Client::builder().build().expect_err("no key anywhere");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(matches!(
        err,
        nexotp::Error::InvalidArgument {
            argument: "api_key",
            ..
        }
    ));
    assert!(err.to_string().contains("NEXOTP_API_KEY"));
    let err = Client::from_env().expect_err("no key anywhere");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sb = runtime.block_on(sandbox().start()).expect("sandbox starts");
    // SAFETY: the runtime above is single-threaded and idle between `block_on` calls.
    unsafe {
        std::env::set_var("NEXOTP_API_KEY", KEY);
        std::env::set_var("NEXOTP_BASE_URL", sb.base_url());
    }
    let client = Client::from_env().expect("configured from the environment");
    assert_eq!(client.config().base_url, sb.base_url());
    assert_eq!(client.config().api_key.expose(), KEY);
    let account = runtime.block_on(client.account()).expect("the key works");
    assert_eq!(account.balance, sb.balance());
    assert_eq!(sb.requests().len(), 1);

    // An explicit argument wins over the environment.
    let explicit = Client::builder()
        .api_key("sk_other")
        .base_url("https://example.com/wp-json/nexotp/v1")
        .build()
        .expect("client");
    assert_eq!(explicit.config().api_key.expose(), "sk_other");
    assert_eq!(
        explicit.config().base_url,
        "https://example.com/wp-json/nexotp/v1/"
    );

    // The rate-limit store and limits, read once by the core for every language.
    // SAFETY: as above.
    unsafe {
        std::env::set_var("NEXOTP_RATE_LIMIT_STORE", "ftp://nowhere/");
    }
    let err = Client::from_env().expect_err("not a store URL");
    assert!(matches!(
        err,
        nexotp::Error::InvalidArgument {
            argument: "rate_limit_store",
            ..
        }
    ));
    // A build without the `redis` feature (`cargo test -p nexotp` alone) refuses a Redis URL
    // with a clear error, and is checked with the in-memory store instead.
    #[cfg(feature = "redis")]
    let store_url = "redis://:Pa55WORD@127.0.0.1:1/0";
    #[cfg(not(feature = "redis"))]
    let store_url = {
        // SAFETY: as above.
        unsafe {
            std::env::set_var("NEXOTP_RATE_LIMIT_STORE", "redis://:Pa55WORD@127.0.0.1:1/0");
        }
        let err = Client::from_env().expect_err("no Redis support in this build");
        assert!(err.to_string().contains("cargo feature `redis`"), "{err}");
        "memory"
    };
    // SAFETY: as above.
    unsafe {
        std::env::set_var("NEXOTP_RATE_LIMIT_STORE", store_url);
        std::env::set_var("NEXOTP_RATE_LIMITS", "GENERAL=5/s,burst=1; POLL=20");
    }
    let client = Client::from_env().expect("configured from the environment");
    let config = client.config();
    assert!(config.rate_limit_store.is_some());
    assert!(!format!("{config:?}").contains("Pa55WORD"));
    assert_eq!(
        config.bucket_limits,
        vec![
            (Bucket::General, BucketLimit::per_second(5.0).burst(1)),
            (Bucket::Poll, BucketLimit::per_second(20.0)),
        ]
    );
    // Nobody listens on port 1: the call is answered from memory, and goes through.
    runtime
        .block_on(client.account())
        .expect("redis down never fails a call");
    let explicit = Client::builder()
        .rate_limit_store_url("memory")
        .bucket_limit(Bucket::Order, BucketLimit::per_second(1.0))
        .build()
        .expect("client");
    assert_eq!(
        explicit.config().bucket_limits,
        vec![(Bucket::Order, BucketLimit::per_second(1.0))]
    );
    drop(sb);
}

//! The rate limiter's `burst` and `retry_after` overrides, the counters (`stats`), the order
//! listing on the handle, and the request log's limit.

mod common;

use common::{T, fast};
use nexotp_sandbox::{Bucket, FaultKind, Faults, RateLimit, SandboxStats, ScriptedFault};
use serde_json::{Value, json};

fn order_body() -> Value {
    json!({"service": "svc_telegram", "country": "cty_us"})
}

#[tokio::test]
async fn rate_burst_and_retry_after_override_via_control() {
    let t = T::default().await;
    let r = t
        .control(
            "POST",
            "/__sandbox/rate",
            Some(json!({"bucket": "POLL", "per_second": 1, "burst": 10, "retry_after": "0"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"ok": true, "bucket": "POLL", "per_second": 1.0, "burst": 10, "retry_after": "0"})
    );
    let r = t.control("GET", "/__sandbox/rate", None).await.json();
    assert_eq!(r["POLL"], 1.0);
    assert_eq!(
        r["limits"]["POLL"],
        json!({"per_second": 1.0, "burst": 10, "retry_after": "0"})
    );
    assert_eq!(r["limits"]["GENERAL"], Value::Null);

    // A burst of 10 at 1/s: ten pass at once, the eleventh is refused.
    for i in 0..10 {
        let r = t.get("/order/5001").await;
        assert_eq!(r.status, 404, "request {i}: {}", r.text);
        assert_eq!(r.header("x-ratelimit-limit").as_deref(), Some("10"));
    }
    let r = t.get("/order/5001").await;
    assert_eq!((r.status, r.code()), (429, "rate_limited".into()));
    assert_eq!(r.header("retry-after").as_deref(), Some("0"));
    assert_eq!(r.header("retry-after-ms"), None);
    assert_eq!(r.header("x-ratelimit-bucket").as_deref(), Some("POLL"));
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("0"));
    let stats = t.sb.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.rate_limited_by_bucket[&Bucket::Poll], 1);
    assert_eq!(stats.responses(429), 1);

    // Bad values are refused; `per_second: null` removes the limit.
    for bad in [
        json!({"bucket": "POLL", "per_second": 5, "burst": 0}),
        json!({"bucket": "POLL", "per_second": 5, "burst": 2.5}),
        json!({"bucket": "POLL", "per_second": 5, "retry_after": 0}),
        json!({"bucket": "NOPE", "per_second": 5}),
        json!({"bucket": "POLL", "per_second": -1}),
    ] {
        let r = t
            .control("POST", "/__sandbox/rate", Some(bad.clone()))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    t.control(
        "POST",
        "/__sandbox/rate",
        Some(json!({"bucket": "POLL", "per_second": null})),
    )
    .await;
    assert_eq!(t.sb.rate_limit(Bucket::Poll), None);
    assert_eq!(t.get("/order/5001").await.status, 404);
}

#[tokio::test]
async fn rate_limit_with_from_the_builder_refuses_before_applying() {
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    let limit = RateLimit::new(0.5).with_burst(3).with_retry_after(date);
    let t = T::new(fast().rate_limit_with(Bucket::Order, limit.clone())).await;
    assert_eq!(t.sb.rate_limit(Bucket::Order), Some(limit));
    for _ in 0..3 {
        assert_eq!(t.post("/order", order_body()).await.status, 201);
    }
    let balance = t.sb.balance();
    let r = t.post("/order", order_body()).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after").as_deref(), Some(date));
    assert_eq!(r.header("retry-after-ms"), None);
    assert_eq!(t.sb.orders_count(), 3, "a refused order is not created");
    assert_eq!(t.sb.balance(), balance);
    // Without the override: whole seconds and milliseconds, as before.
    t.sb.set_rate_limit_with(Bucket::Order, Some(RateLimit::new(0.5).with_burst(1)));
    assert_eq!(t.post("/order", order_body()).await.status, 201);
    let r = t.post("/order", order_body()).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after").as_deref(), Some("2"));
    let ms: u64 = r
        .header("retry-after-ms")
        .expect("retry-after-ms")
        .parse()
        .expect("a number");
    assert!(ms > 1000 && ms <= 2000, "{ms}");
    // The default burst is still the rate.
    t.sb.set_rate_limit(Bucket::General, Some(4.0));
    let r = t.get("/account").await;
    assert_eq!(r.header("x-ratelimit-limit").as_deref(), Some("4"));
    // Reset brings back the limits given at start.
    t.sb.reset();
    assert_eq!(t.sb.rate_limit(Bucket::General), None);
    assert!(t.sb.rate_limit(Bucket::Order).is_some());
}

#[tokio::test]
async fn stats_count_requests_answers_faults_and_orders() {
    let t = T::default().await;
    assert_eq!(t.sb.stats(), SandboxStats::default());
    t.sb.set_faults(
        Faults::default()
            .then(ScriptedFault::new(FaultKind::Drop).matching("POST /order"))
            .then(ScriptedFault::new(FaultKind::DropBeforeApply).matching("POST /order"))
            .then(ScriptedFault::new(FaultKind::WpInternalError).matching("POST /order")),
    );
    let send_order = || {
        t.try_send(
            t.req("POST", "/order")
                .header("Content-Type", "application/json")
                .body(order_body().to_string()),
        )
    };
    assert!(send_order().await.is_err(), "dropped after applying");
    assert!(send_order().await.is_err(), "dropped before applying");
    assert_eq!(send_order().await.expect("an answer").status, 500);
    assert_eq!(send_order().await.expect("an answer").status, 201);
    assert_eq!(t.get("/order/5001").await.status, 200);
    assert_eq!(t.get("/account").await.status, 200);
    assert_eq!(t.get("/nope").await.status, 404);

    let stats = t.sb.stats();
    assert_eq!(stats.requests, 7);
    assert_eq!(stats.requests_by_bucket[&Bucket::Order], 4);
    assert_eq!(stats.requests_by_bucket[&Bucket::Poll], 1);
    assert_eq!(stats.requests_by_bucket[&Bucket::General], 1);
    assert_eq!(stats.dropped, 2);
    assert_eq!(
        (stats.responses(200), stats.responses(201)),
        (2, 1),
        "{stats:?}"
    );
    assert_eq!((stats.responses(500), stats.responses(404)), (1, 1));
    assert_eq!(stats.faults_of("drop"), 1);
    assert_eq!(stats.faults_of("drop_before_apply"), 1);
    assert_eq!(stats.faults_of("wp_internal_error"), 1);
    assert_eq!(
        stats.orders_created, 3,
        "drop and wp_internal_error applied theirs"
    );
    assert_eq!(stats.rate_limited, 0);
    assert_eq!(t.sb.orders_count(), 3);
    assert_eq!(t.sb.order_ids(), [5001, 5002, 5003]);

    // The same over HTTP; control requests are not counted.
    let mut over_http = t.control("GET", "/__sandbox/stats", None).await.json();
    // Every connection counts, this control request's own (if new) included.
    let connections = over_http["connections_accepted"].as_u64().unwrap_or(0);
    assert!(connections >= stats.connections_accepted, "{over_http}");
    over_http["connections_accepted"] = stats.connections_accepted.into();
    assert_eq!(over_http, serde_json::to_value(&stats).expect("JSON"));
    assert_eq!(over_http["requests_by_bucket"]["ORDER"], 4);
    assert_eq!(over_http["responses_by_status"]["201"], 1);
    let back: SandboxStats = serde_json::from_value(over_http).expect("reads back");
    assert_eq!(back, stats);

    // DELETE clears the counters only; reset clears everything.
    let r = t.control("DELETE", "/__sandbox/stats", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(t.sb.stats(), SandboxStats::default());
    assert_eq!(t.sb.orders_count(), 3);
    assert_eq!(t.get("/account").await.status, 200);
    assert_eq!(t.sb.stats().requests, 1);
    t.control("POST", "/__sandbox/reset", None).await;
    assert_eq!(t.sb.stats(), SandboxStats::default());
    assert_eq!(t.sb.orders_count(), 0);
    assert!(t.sb.order_ids().is_empty());
}

#[tokio::test]
async fn request_log_keeps_the_newest_up_to_its_limit() {
    const { assert!(nexotp_sandbox::DEFAULT_REQUEST_LOG_LIMIT >= 10_000) };
    let t = T::new(fast().request_log_limit(5)).await;
    for page in 1..=8 {
        let r = t.get(&format!("/account/transactions?page={page}")).await;
        assert_eq!(r.status, 200);
    }
    let log = t.sb.requests();
    let pages: Vec<&str> = log.iter().map(|r| r.query.as_str()).collect();
    assert_eq!(pages, ["page=4", "page=5", "page=6", "page=7", "page=8"]);
    // The counters are not bounded by the log.
    assert_eq!(t.sb.stats().requests, 8);
}

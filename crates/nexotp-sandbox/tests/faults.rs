//! Each fault kind, scripted and random, set from Rust and through the control endpoint.

mod common;

use std::time::{Duration, Instant};

use common::{T, fast};
use nexotp_sandbox::{FaultKind, Faults, ScriptedFault};
use serde_json::{Value, json};

fn order_body() -> String {
    json!({"service": "svc_telegram", "country": "cty_us"}).to_string()
}

async fn post_order(t: &T) -> Result<common::Resp, reqwest::Error> {
    t.try_send(
        t.req("POST", "/order")
            .header("Content-Type", "application/json")
            .body(order_body()),
    )
    .await
}

fn orders_in_state(t: &T) -> usize {
    t.sb.state()["orders"].as_array().unwrap().len()
}

#[tokio::test]
async fn drop_applies_the_request_then_closes_the_connection() {
    let t = T::default().await;
    t.sb.set_faults(
        Faults::default().then(ScriptedFault::new(FaultKind::Drop).matching("POST /order")),
    );
    // Not matching: answered normally, the script stays.
    assert_eq!(t.get("/account").await.status, 200);
    let err = post_order(&t)
        .await
        .err()
        .expect("the connection is dropped");
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    let state = t.control("GET", "/__sandbox/state", None).await.json();
    assert_eq!(
        state["orders"].as_array().unwrap().len(),
        1,
        "the order WAS created"
    );
    assert_eq!(state["orders"][0]["id"], 5001);
    // Consumed: the next one works and is 5002.
    assert_eq!(post_order(&t).await.unwrap().data()["id"], 5002);
    let log = t.sb.requests();
    let dropped = log
        .iter()
        .find(|r| r.method == "POST" && r.status.is_none());
    assert!(dropped.is_some(), "{log:?}");
}

#[tokio::test]
async fn drop_before_apply_creates_nothing() {
    let t = T::default().await;
    t.sb.set_faults(Faults::default().then(ScriptedFault::new(FaultKind::DropBeforeApply)));
    assert!(post_order(&t).await.is_err());
    assert_eq!(orders_in_state(&t), 0);
    assert_eq!(post_order(&t).await.unwrap().status, 201);
}

#[tokio::test]
async fn status_faults_via_control_endpoint() {
    let t = T::default().await;
    let r = t
        .control(
            "POST",
            "/__sandbox/faults",
            Some(json!({"script": [
                {"match": "GET /order/*", "fault": "status", "status": 429, "retry_after": "1"},
                {"match": "POST /order", "fault": "status", "status": 503},
                {"fault": "status", "status": 502, "envelope": false},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = t.get("/order/5001").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "rate_limited");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    let r = post_order(&t).await.unwrap();
    assert_eq!(
        (r.status, r.code()),
        (503, "service_unavailable".to_string())
    );
    assert_eq!(r.json()["success"], false);
    assert_eq!(orders_in_state(&t), 0, "a status fault is not applied");
    let r = t.get("/countries").await;
    assert_eq!(r.status, 502);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(
        r.text
            .contains("There has been a critical error on this website.")
    );
    // Script exhausted.
    assert_eq!(t.get("/countries").await.status, 200);
    assert!(t.sb.faults().script.is_empty());
    // A single fault object is accepted too.
    t.control(
        "POST",
        "/__sandbox/faults",
        Some(json!({"fault": "html500"})),
    )
    .await;
    let r = t.get("/account").await;
    assert_eq!(r.status, 500);
    assert!(r.text.contains("critical error"));
}

#[tokio::test]
async fn malformed_applies_and_answers_invalid_json() {
    let t = T::default().await;
    t.sb.set_faults(
        Faults::default().then(ScriptedFault::new(FaultKind::Malformed).matching("POST /order")),
    );
    let r = post_order(&t).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<Value>(&r.text).is_err(),
        "{}",
        r.text
    );
    assert_eq!(orders_in_state(&t), 1);
}

#[tokio::test]
async fn delay_and_latency() {
    let t = T::new(fast().faults(Faults {
        latency_ms: 50,
        ..Faults::default()
    }))
    .await;
    let start = Instant::now();
    assert_eq!(t.get("/account").await.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(50));
    t.sb.set_faults(
        Faults::default().then(ScriptedFault::new(FaultKind::Delay { ms: 150 }).times(2)),
    );
    let start = Instant::now();
    assert_eq!(t.get("/account").await.status, 200);
    assert_eq!(t.get("/account").await.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    let start = Instant::now();
    assert_eq!(t.get("/account").await.status, 200);
    assert!(start.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn random_faults_follow_their_rates() {
    let t = T::new(fast().faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    }))
    .await;
    for _ in 0..5 {
        let r = t.get("/account").await;
        assert_eq!(
            (r.status, r.code()),
            (503, "service_unavailable".to_string())
        );
    }
    // Control endpoints are never faulted.
    assert_eq!(t.control("GET", "/__sandbox/state", None).await.status, 200);
    t.sb.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    assert!(t.try_send(t.req("GET", "/account")).await.is_err());
    t.sb.set_faults(Faults {
        malformed_rate: 1.0,
        ..Faults::default()
    });
    let r = t.get("/account").await;
    assert!(serde_json::from_str::<Value>(&r.text).is_err());
    // A mix, seeded: about half fail.
    t.sb.set_faults(Faults {
        error_rate: 0.5,
        ..Faults::default()
    });
    let mut failed = 0;
    for _ in 0..100 {
        if t.get("/account").await.status == 503 {
            failed += 1;
        }
    }
    assert!((25..=75).contains(&failed), "{failed}");
    // Reset restores the faults given at start (error_rate 1.0 here).
    t.sb.reset();
    assert_eq!(t.get("/account").await.status, 503);
    t.control("DELETE", "/__sandbox/faults", None).await;
    assert_eq!(t.get("/account").await.status, 200);
}

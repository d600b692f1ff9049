//! Retries: safe calls are re-sent transparently (honouring `Retry-After`); non-idempotent
//! calls are re-sent only when they provably never reached the server or were refused by the
//! rate limiter, and otherwise fail with `OrderOutcomeUnknown`, never a silent duplicate.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nexotp::{Client, ErrorKind, Operation, OrderRequest, OrderStatus};
use nexotp_sandbox::FaultKind;

fn statuses(sb: &nexotp_sandbox::SandboxHandle) -> Vec<Option<u16>> {
    sb.requests().iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn a_503_then_a_200_is_retried_transparently() {
    let (sb, client) = setup().await;
    sb.set_faults(script(
        "GET /account",
        status_fault(503, None, true, None),
        1,
    ));
    let account = client.account().await.expect("retried");
    assert_eq!(account.balance, sb.balance());
    assert_eq!(statuses(&sb), [Some(503), Some(200)]);
}

#[tokio::test]
async fn retry_after_of_a_429_is_honoured() {
    let (sb, client) = setup().await;
    // 2 s, not 1 s: a 429 without Retry-After pauses 1 s by default.
    sb.set_faults(script(
        "GET /countries",
        status_fault(429, Some("2"), true, None),
        1,
    ));
    let started = Instant::now();
    client.countries().await.expect("retried after the pause");
    assert!(started.elapsed() >= Duration::from_millis(1950));
    let log = sb.requests();
    assert_eq!(statuses(&sb), [Some(429), Some(200)]);
    let gap = at_ms(&log[1]) - at_ms(&log[0]);
    assert!(gap >= 1900, "second attempt only {gap} ms after the 429");
}

#[tokio::test]
async fn retry_after_of_a_503_beats_the_backoff() {
    let (sb, client) = setup().await;
    // The first backoff is at most 0.5 s: only Retry-After makes the gap reach ~1 s.
    sb.set_faults(script(
        "GET /services",
        status_fault(503, Some("1"), true, None),
        1,
    ));
    client.services("cty_us").await.expect("retried");
    let log = sb.requests();
    assert_eq!(statuses(&sb), [Some(503), Some(200)]);
    let gap = at_ms(&log[1]) - at_ms(&log[0]);
    assert!(gap >= 900, "second attempt only {gap} ms after the 503");
}

#[tokio::test]
async fn a_get_dropped_before_it_applied_is_retried() {
    let (sb, client) = setup().await;
    sb.set_faults(script("GET /account", FaultKind::DropBeforeApply, 1));
    client.account().await.expect("retried");
    assert_eq!(statuses(&sb), [None, Some(200)]);
}

#[tokio::test]
async fn a_get_that_timed_out_is_retried() {
    let (sb, _) = setup().await;
    let attempts = std::sync::Arc::new(Attempts::default());
    let client = client_builder(&sb)
        .timeout(Duration::from_millis(300))
        .observer(attempts.clone())
        .build()
        .expect("client");
    sb.set_faults(script("GET /account", FaultKind::Delay { ms: 1200 }, 1));
    client.account().await.expect("second attempt in time");
    let seen: Vec<_> = attempts
        .all()
        .iter()
        .map(|r| (r.attempt, r.status))
        .collect();
    assert_eq!(seen, [(1, None), (2, Some(200))]);
    assert!(
        attempts.all()[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("timed out"))
    );
    // (The sandbox forgets a delayed request whose client hung up, so its log shows only the
    // second attempt.)
    assert_eq!(requests_to(&sb, "GET", "/account").len(), 1);
}

#[tokio::test]
async fn a_dropped_create_order_is_outcome_unknown_and_never_resent() {
    let (sb, client) = setup().await;
    sb.set_faults(script("POST /order", FaultKind::Drop, 1));
    let err = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect_err("dropped");
    let nexotp::Error::OrderOutcomeUnknown(info) = &err else {
        panic!("expected OrderOutcomeUnknown, got {err:?}")
    };
    assert_eq!(info.call.operation, Operation::CreateOrder);
    assert_eq!(info.call.service.as_deref(), Some("svc_telegram"));
    assert_eq!(info.call.country.as_deref(), Some("cty_us"));
    assert_eq!(info.call.order_id, None);
    assert_eq!(info.status, None);
    assert_eq!(orders(&sb).len(), 1, "exactly one order");
    assert_eq!(
        requests_to(&sb, "POST", "/order").len(),
        1,
        "exactly one POST"
    );
    let price = orders(&sb)[0]["price"].clone();
    assert_eq!(sb.balance(), dec("25.00") - money(&price), "debited once");
}

#[tokio::test]
async fn a_create_order_dropped_before_apply_is_not_resent_either() {
    let (sb, client) = setup().await;
    sb.set_faults(script("POST /order", FaultKind::DropBeforeApply, 1));
    let err = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect_err("dropped");
    // The client cannot tell this drop from the one after applying.
    assert_eq!(err.kind(), ErrorKind::OrderOutcomeUnknown);
    assert!(orders(&sb).is_empty());
    assert_eq!(requests_to(&sb, "POST", "/order").len(), 1);
}

#[tokio::test]
async fn a_create_order_that_timed_out_after_sending_is_outcome_unknown() {
    let (sb, _) = setup().await;
    let attempts = std::sync::Arc::new(Attempts::default());
    let client = client_builder(&sb)
        .timeout(Duration::from_millis(300))
        .observer(attempts.clone())
        .build()
        .expect("client");
    sb.set_faults(script("POST /order", FaultKind::Delay { ms: 800 }, 1));
    let err = client
        .create_order(&OrderRequest::new("svc_amazon", "cty_gb"))
        .await
        .expect_err("timed out");
    assert_eq!(err.kind(), ErrorKind::OrderOutcomeUnknown);
    assert!(err.to_string().contains("svc_amazon/cty_gb"));
    assert_eq!(attempts.all().len(), 1, "never re-sent");
    assert_eq!(attempts.all()[0].method, "POST");
}

#[tokio::test]
async fn a_create_order_refused_with_429_is_resent() {
    let (sb, client) = setup().await;
    sb.set_faults(script(
        "POST /order",
        status_fault(429, Some("1"), true, None),
        1,
    ));
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("resent after the 429");
    assert_eq!(orders(&sb).len(), 1);
    let posts: Vec<_> = requests_to(&sb, "POST", "/order")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(posts, [Some(429), Some(201)]);
    assert_eq!(order.id, "5001");
}

#[tokio::test]
async fn a_create_order_refused_on_connect_is_resent_and_never_outcome_unknown() {
    let port = closed_port().await;
    let client = Client::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}/"))
        .max_retries(1)
        .log_from_env(false)
        .build()
        .expect("client");
    let err = within(
        SOON,
        client.create_order(&OrderRequest::new("svc_telegram", "cty_us")),
    )
    .await
    .expect_err("refused");
    assert_eq!(
        err.kind(),
        ErrorKind::Connection,
        "provably never sent: {err}"
    );
}

#[tokio::test]
async fn a_create_order_with_a_5xx_envelope_is_a_server_error_not_resent() {
    let (sb, client) = setup().await;
    sb.set_faults(script(
        "POST /order",
        status_fault(503, None, true, None),
        1,
    ));
    let err = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect_err("503");
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.status(), Some(503));
    assert_eq!(requests_to(&sb, "POST", "/order").len(), 1);
    assert!(orders(&sb).is_empty());
}

#[tokio::test]
async fn a_create_order_with_a_gateway_502_is_outcome_unknown() {
    let (sb, client) = setup().await;
    sb.set_faults(script(
        "POST /order",
        status_fault(502, None, false, None),
        1,
    ));
    let err = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect_err("502");
    assert_eq!(err.kind(), ErrorKind::OrderOutcomeUnknown);
    assert_eq!(err.status(), Some(502));
    assert_eq!(requests_to(&sb, "POST", "/order").len(), 1);
}

#[tokio::test]
async fn a_dropped_resend_is_outcome_unknown_with_the_order_id() {
    let (sb, client) = setup().await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    eventually("the code arrives", SOON, || {
        order_state(&sb, &order.id)["status"] == "received"
    })
    .await;
    sb.set_faults(script("POST /order/*/resend", FaultKind::Drop, 1));
    let err = client.resend_order(&order.id).await.expect_err("dropped");
    let nexotp::Error::OrderOutcomeUnknown(info) = &err else {
        panic!("expected OrderOutcomeUnknown, got {err:?}")
    };
    assert_eq!(info.call.operation, Operation::ResendOrder);
    assert_eq!(info.call.order_id.as_deref(), Some(order.id.as_str()));
    assert_eq!(requests_to(&sb, "POST", "/order/5001/resend").len(), 1);
}

#[tokio::test]
async fn a_cancel_whose_answer_was_lost_is_retried_and_succeeds() {
    let (sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(60))).await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    sb.set_faults(script("POST /order/*/cancel", FaultKind::Drop, 1));
    let cancelled = client
        .cancel_order(&order.id)
        .await
        .expect("the retry finds the order cancelled");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(sb.balance(), dec("25.00"), "refunded once");
    assert_eq!(requests_to(&sb, "POST", "/order/5001/cancel").len(), 2);
}

#[tokio::test]
async fn a_cancel_of_a_received_order_is_still_a_conflict_after_a_retry() {
    let (sb, client) = setup().await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    eventually("the code arrives", SOON, || {
        order_state(&sb, &order.id)["status"] == "received"
    })
    .await;
    sb.set_faults(script(
        "POST /order/*/cancel",
        FaultKind::DropBeforeApply,
        1,
    ));
    let err = client.cancel_order(&order.id).await.expect_err("received");
    assert_eq!(err.code(), Some("order_not_cancellable"));
}

#[tokio::test]
async fn a_webhook_delete_whose_answer_was_lost_is_retried_and_succeeds() {
    let (sb, client) = setup().await;
    let hook = client
        .create_webhook("https://example.com/h", &["order.created"])
        .await
        .expect("create");
    sb.set_faults(script("DELETE /webhooks/*", FaultKind::Drop, 1));
    let deleted = client.delete_webhook(&hook.id).await.expect("retried");
    assert!(deleted.deleted);
    assert_eq!(deleted.id.as_deref(), Some(hook.id.as_str()));
    assert_eq!(requests_to(&sb, "DELETE", "/webhooks/1").len(), 2);
    assert!(client.webhooks().await.expect("list").is_empty());
}

#[tokio::test]
async fn deleting_an_unknown_webhook_is_not_found() {
    let (_sb, client) = setup().await;
    let err = client.delete_webhook("42").await.expect_err("unknown");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.code(), Some("webhook_not_found"));
}

#[tokio::test]
async fn a_create_order_with_an_unreadable_2xx_is_outcome_unknown() {
    // The order was applied, then the answer was garbage: the caller must learn it may exist.
    let (sb, client) = setup().await;
    sb.set_faults(script("POST /order", FaultKind::Malformed, 1));
    let err = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect_err("malformed");
    let nexotp::Error::OrderOutcomeUnknown(info) = &err else {
        panic!("expected OrderOutcomeUnknown, got {err:?}")
    };
    assert_eq!(info.call.service.as_deref(), Some("svc_telegram"));
    assert_eq!(orders(&sb).len(), 1, "the order exists");
    assert_eq!(requests_to(&sb, "POST", "/order").len(), 1, "never re-sent");
}

#[tokio::test]
async fn a_gateway_502_with_a_json_body_is_still_outcome_unknown() {
    // A gateway's own JSON (`{"message":"Bad Gateway"}`) is not an API error envelope.
    let server = TinyServer::start(Canned::json(502, r#"{"message":"Bad Gateway"}"#)).await;
    let client = nexotp::Client::builder()
        .api_key(KEY)
        .base_url(&server.url)
        .build()
        .expect("client");
    let err = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect_err("502");
    assert_eq!(err.kind(), ErrorKind::OrderOutcomeUnknown, "{err:?}");
    assert_eq!(server.received().len(), 1, "never re-sent");
}

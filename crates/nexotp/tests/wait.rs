//! `wait_for_code`: success, the order closing, the timeout (with and without cancelling to
//! recover the money), a race between the timeout's cancel and the code, and resends.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nexotp::{ErrorKind, OrderRequest, OrderStatus, WaitOptions};
use nexotp_sandbox::FaultKind;

fn quick() -> WaitOptions {
    WaitOptions::default()
        .timeout(Duration::from_secs(10))
        .poll_interval(Duration::from_millis(50))
}

fn slow_codes() -> nexotp_sandbox::SandboxBuilder {
    sandbox().code_delay(Duration::from_secs(60))
}

#[tokio::test]
async fn returns_the_code_once_it_arrives() {
    let (sb, client) = setup().await;
    let created = Instant::now();
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    let mut progress = Vec::new();
    let done = client
        .wait_for_code_with_progress(&order.id, quick(), |o| progress.push(o.status.clone()))
        .await
        .expect("code");
    assert!(created.elapsed() >= CODE_DELAY, "not before the code delay");
    let state = order_state(&sb, &order.id);
    assert_eq!(done.status, OrderStatus::Received);
    assert_eq!(done.code.as_deref(), state["code"].as_str());
    assert_eq!(done.code.as_deref().map(str::len), Some(6));
    assert!(!progress.is_empty(), "at least one poll saw it pending");
    assert!(progress.iter().all(|s| *s == OrderStatus::Pending));
    let polls = requests_to(&sb, "GET", &format!("/order/{}", order.id));
    assert_eq!(polls.len(), progress.len() + 1);
    assert!(
        polls
            .iter()
            .all(|r| r.bucket == Some(nexotp_sandbox::Bucket::Poll))
    );
}

#[tokio::test]
async fn an_order_that_already_has_a_code_returns_at_once() {
    let (sb, client) = setup_with(slow_codes()).await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    sb.force_code(&order.id, "424242").expect("code");
    let done = client
        .wait_for_code(&order.id, quick())
        .await
        .expect("code");
    assert_eq!(done.code.as_deref(), Some("424242"));
    assert_eq!(requests_to(&sb, "GET", "/order/5001").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_that_expires_ends_the_wait_with_order_closed() {
    let (sb, client) = setup_with(slow_codes()).await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    let waiting = {
        let client = client.clone();
        let id = order.id.clone();
        tokio::spawn(async move { client.wait_for_code(&id, quick()).await })
    };
    eventually("the wait polls", SOON, || {
        !requests_to(&sb, "GET", "/order/5001").is_empty()
    })
    .await;
    sb.expire_order(&order.id).expect("expire");
    let err = within(SOON, waiting)
        .await
        .expect("task")
        .expect_err("closed");
    assert_eq!(err.kind(), ErrorKind::OrderClosed);
    let nexotp::Error::OrderClosed { order: last } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(last.id, order.id);
    assert_eq!(last.status, OrderStatus::Expired);
    assert_eq!(last.code, None);
    assert_eq!(sb.balance(), dec("25.00"), "an expired order is refunded");
    assert!(err.to_string().contains("expired"));
}

#[tokio::test]
async fn a_timeout_can_cancel_the_order_and_recover_the_money() {
    let (sb, client) = setup_with(slow_codes()).await;
    let start = sb.balance();
    let order = client
        .create_order(&OrderRequest::new("svc_google", "cty_us"))
        .await
        .expect("order");
    assert!(sb.balance() < start);
    let began = Instant::now();
    let err = client
        .wait_for_code(
            &order.id,
            WaitOptions::default()
                .timeout(Duration::from_millis(400))
                .poll_interval(Duration::from_millis(100))
                .cancel_on_timeout(true),
        )
        .await
        .expect_err("no code in time");
    assert!(began.elapsed() >= Duration::from_millis(400));
    let nexotp::Error::WaitTimeout {
        order: Some(last),
        cancelled,
        waited,
        ..
    } = &err
    else {
        panic!("expected WaitTimeout with the last state, got {err:?}")
    };
    assert!(*cancelled);
    assert!(*waited >= Duration::from_millis(400));
    assert_eq!(last.status, OrderStatus::Cancelled);
    assert_eq!(last.refund, order.price);
    assert_eq!(sb.balance(), start, "the wallet is back where it started");
    assert_eq!(order_state(&sb, &order.id)["status"], "cancelled");
    assert_eq!(requests_to(&sb, "POST", "/order/5001/cancel").len(), 1);
    assert!(err.to_string().contains("cancelled"));
}

#[tokio::test]
async fn a_timeout_without_cancel_leaves_the_order() {
    let (sb, client) = setup_with(slow_codes()).await;
    let order = client
        .create_order(&OrderRequest::new("svc_google", "cty_us"))
        .await
        .expect("order");
    let err = client
        .wait_for_code(
            &order.id,
            WaitOptions::default()
                .timeout(Duration::from_millis(250))
                .poll_interval(Duration::from_millis(50)),
        )
        .await
        .expect_err("no code in time");
    let nexotp::Error::WaitTimeout {
        order: Some(last),
        cancelled,
        ..
    } = &err
    else {
        panic!("expected WaitTimeout with the last state, got {err:?}")
    };
    assert!(!*cancelled);
    assert_eq!(last.status, OrderStatus::Pending);
    assert!(requests_to(&sb, "POST", "/order/5001/cancel").is_empty());
    assert_eq!(order_state(&sb, &order.id)["status"], "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_arriving_during_the_timeouts_cancel_is_returned() {
    let (sb, client) = setup_with(slow_codes()).await;
    let order = client
        .create_order(&OrderRequest::new("svc_google", "cty_us"))
        .await
        .expect("order");
    // The cancel is held for a moment at the server, during which the code arrives.
    sb.set_faults(script(
        "POST /order/*/cancel",
        FaultKind::Delay { ms: 400 },
        1,
    ));
    let waiting = {
        let client = client.clone();
        let id = order.id.clone();
        tokio::spawn(async move {
            client
                .wait_for_code(
                    &id,
                    WaitOptions::default()
                        .timeout(Duration::from_millis(200))
                        .poll_interval(Duration::from_millis(50))
                        .cancel_on_timeout(true),
                )
                .await
        })
    };
    eventually("the cancel reaches the server", SOON, || {
        sb.faults().script.is_empty()
    })
    .await;
    sb.force_code(&order.id, "135790").expect("code");
    let done = within(SOON, waiting)
        .await
        .expect("task")
        .expect("the code wins over the timeout");
    assert_eq!(done.code.as_deref(), Some("135790"));
    assert_eq!(order_state(&sb, &order.id)["status"], "received");
}

#[tokio::test]
async fn after_a_resend_only_the_new_code_counts() {
    let (sb, client) = setup().await;
    let order = client
        .create_order(&OrderRequest::new("svc_whatsapp", "cty_us"))
        .await
        .expect("order");
    let first = client
        .wait_for_code(&order.id, quick())
        .await
        .expect("code");
    let first_code = first.code.clone().expect("code");
    client.resend_order(&order.id).await.expect("resend");
    let second = client
        .wait_for_code(&order.id, quick())
        .await
        .expect("new code");
    let second_code = second.code.clone().expect("code");
    assert_ne!(second_code, first_code);
    assert_eq!(second.codes, vec![first_code, second_code.clone()]);
    assert_eq!(
        order_state(&sb, &order.id)["code"].as_str(),
        Some(second_code.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_resend_codes_count_by_their_place_not_their_digits() {
    let (sb, client) = setup().await;
    let order = client
        .create_order(&OrderRequest::new("svc_whatsapp", "cty_gb"))
        .await
        .expect("order");
    let first = client
        .wait_for_code(&order.id, quick())
        .await
        .expect("code");
    let old = first.code.clone().expect("code");
    client.resend_order(&order.id).await.expect("resend");
    // The order still lists the old code: a wait must not take it for the new one.
    let path = format!("/order/{}", order.id);
    let polls_before = requests_to(&sb, "GET", &path).len();
    let waiting = {
        let client = client.clone();
        let id = order.id.clone();
        tokio::spawn(async move { client.wait_for_code(&id, quick()).await })
    };
    eventually("the wait polls past the old code", SOON, || {
        requests_to(&sb, "GET", &path).len() >= polls_before + 3
    })
    .await;
    assert!(
        !waiting.is_finished(),
        "the old code was taken for a new one"
    );
    // A second SMS that happens to carry the same digits is a new code all the same.
    sb.force_code(&order.id, &old)
        .expect("same digits, new SMS");
    let done = within(SOON, waiting).await.expect("task").expect("code");
    assert_eq!(done.code.as_deref(), Some(old.as_str()));
    assert_eq!(done.codes, vec![old.clone(), old.clone()]);

    // With the resend forgotten (a new client), a code already there counts again.
    let fresh = client_builder(&sb).build().expect("client");
    let again = fresh.wait_for_code(&order.id, quick()).await.expect("code");
    assert_eq!(again.code.as_deref(), Some(old.as_str()));
}

#[tokio::test]
async fn exclude_codes_are_skipped() {
    let (sb, client) = setup_with(slow_codes()).await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    sb.force_code(&order.id, "111111").expect("code");
    let err = client
        .wait_for_code(
            &order.id,
            WaitOptions::default()
                .timeout(Duration::from_millis(200))
                .poll_interval(Duration::from_millis(50))
                .exclude_codes(["111111".to_owned()]),
        )
        .await
        .expect_err("only an excluded code");
    assert_eq!(err.kind(), ErrorKind::WaitTimeout);
    assert_eq!(err.order().and_then(|o| o.code.as_deref()), Some("111111"));
}

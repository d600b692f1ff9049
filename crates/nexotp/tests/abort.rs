//! Aborting a call ([`nexotp::AbortSignal`], what Node's `AbortSignal` drives): nothing more
//! is sent after an abort, and a create order already sent is an unknown outcome.

mod common;

use std::time::Duration;

use nexotp::{AbortSignal, ErrorKind, OrderRequest};
use nexotp_sandbox::{FaultKind, StatusFault};

fn posts(sb: &nexotp_sandbox::SandboxHandle) -> usize {
    sb.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/order"))
        .count()
}

/// A create order on `client` that `signal` aborts, running.
fn create_order(
    client: &nexotp::Client,
    signal: &AbortSignal,
) -> tokio::task::JoinHandle<nexotp::Result<nexotp::Order>> {
    let abortable = client.with_abort(signal.clone());
    tokio::spawn(async move {
        abortable
            .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
            .await
    })
}

#[tokio::test]
async fn abort_while_paused_by_a_429_sends_nothing_more() {
    let (sb, client) = common::setup().await;
    sb.set_faults(common::script(
        "POST /order",
        StatusFault::new(429).with_retry_after("20").into(),
        1,
    ));
    let signal = AbortSignal::new();
    let call = create_order(&client, &signal);
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal.abort();
    let err = tokio::time::timeout(common::SOON, call)
        .await
        .expect("rejects promptly")
        .expect("joins")
        .expect_err("aborted");
    assert_eq!(err.kind(), ErrorKind::Aborted, "{err}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(posts(&sb), 1);
}

#[tokio::test]
async fn abort_after_create_order_was_sent_is_an_unknown_outcome() {
    let (sb, client) = common::setup().await;
    sb.set_faults(common::script(
        "POST /order",
        FaultKind::SlowAfterApply { ms: 3000 },
        1,
    ));
    let signal = AbortSignal::new();
    let call = create_order(&client, &signal);
    tokio::time::sleep(Duration::from_millis(400)).await;
    signal.abort();
    let err = call.await.expect("joins").expect_err("aborted");
    assert_eq!(err.kind(), ErrorKind::OrderOutcomeUnknown, "{err}");
    assert_eq!(common::orders(&sb).len(), 1, "the order was applied");
    // A safe call on an aborted client is not even sent.
    let before = sb.requests().len();
    let err = client
        .with_abort(signal)
        .account()
        .await
        .expect_err("already aborted");
    assert_eq!(err.kind(), ErrorKind::Aborted);
    assert_eq!(sb.requests().len(), before);
}

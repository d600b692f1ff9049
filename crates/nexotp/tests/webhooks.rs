//! Webhooks end to end: create one (secret returned once, redacted in Debug), receive the
//! sandbox's signed deliveries on a local receiver, verify them with
//! `nexotp::webhook::verify`, and reject a tampered body.

mod common;

use std::time::Duration;

use common::*;
use nexotp::webhook::{DEFAULT_TOLERANCE, SIGNATURE_HEADER, sign, verify};
use nexotp::{ErrorKind, OrderRequest, OrderStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_deliveries_verify_and_tampering_fails() {
    let receiver = TinyServer::start(Canned::json(200, "{}")).await;
    let (sb, client) = setup().await;
    let hook = client
        .create_webhook(
            &format!("{}nexotp/hook", receiver.url),
            &["order.created", "order.code_received"],
        )
        .await
        .expect("create");
    let secret = hook.secret.clone().expect("secret returned on create");
    let debug = format!("{hook:?} {secret:?} {secret}");
    assert!(!debug.contains(secret.expose()), "secret in Debug: {debug}");
    assert!(debug.contains("redacted"));

    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    let done = client
        .wait_for_code(
            &order.id,
            nexotp::WaitOptions::default()
                .timeout(SOON)
                .poll_interval(Duration::from_millis(50)),
        )
        .await
        .expect("code");
    eventually("both deliveries arrive", SOON, || {
        receiver.received().len() >= 2
    })
    .await;
    let mut received = receiver.received();
    received.sort_by_key(|r| r.header("x-nexotp-event").map(str::to_owned));
    let kinds: Vec<_> = received
        .iter()
        .map(|r| r.header("x-nexotp-event").unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["order.code_received", "order.created"]);

    for delivery in &received {
        assert_eq!(delivery.method, "POST");
        assert_eq!(delivery.path, "/nexotp/hook");
        let header = delivery.header(SIGNATURE_HEADER).expect("signature header");
        let event = verify(&delivery.body, header, secret.expose(), DEFAULT_TOLERANCE)
            .expect("a genuine delivery verifies");
        assert_eq!(Some(event.kind.as_str()), delivery.header("x-nexotp-event"));
        assert!(event.id.starts_with("evt_"));
        assert!(event.created_at.is_some());
        let event_order = event.order.as_ref().expect("data is an order");
        assert_eq!(event_order.id, order.id);
        if event.kind == "order.code_received" {
            assert_eq!(event_order.status, OrderStatus::Received);
            assert_eq!(event_order.code, done.code);
        }

        // One byte changed in the body: the signature no longer matches.
        let mut tampered = delivery.body.clone();
        let at = tampered
            .iter()
            .position(|b| b.is_ascii_digit())
            .expect("a digit in the body");
        tampered[at] = if tampered[at] == b'9' {
            b'1'
        } else {
            tampered[at] + 1
        };
        let err = verify(&tampered, header, secret.expose(), DEFAULT_TOLERANCE)
            .expect_err("tampered body");
        assert_eq!(err.kind(), ErrorKind::WebhookVerification);
        assert!(err.to_string().contains("raw request body"));

        // Re-serialised JSON is not the raw body either.
        let reparsed: serde_json::Value =
            serde_json::from_slice(&delivery.body).expect("json body");
        let pretty = serde_json::to_vec_pretty(&reparsed).expect("json");
        assert!(verify(&pretty, header, secret.expose(), DEFAULT_TOLERANCE).is_err());

        // Another webhook's secret does not verify it.
        let err = verify(&delivery.body, header, "whsec_other", DEFAULT_TOLERANCE)
            .expect_err("wrong secret");
        assert_eq!(err.kind(), ErrorKind::WebhookVerification);
        assert!(!err.to_string().contains(secret.expose()));
    }

    let deliveries = sb.deliveries();
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|d| d.state == "delivered"));
    assert!(
        deliveries
            .iter()
            .all(|d| d.webhook_id.to_string() == hook.id)
    );
}

#[tokio::test]
async fn only_subscribed_events_are_delivered() {
    let receiver = TinyServer::start(Canned::json(200, "{}")).await;
    let (sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(60))).await;
    client
        .create_webhook(&format!("{}h", receiver.url), &["order.cancelled"])
        .await
        .expect("create");
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    client.cancel_order(&order.id).await.expect("cancel");
    eventually("the cancel delivery arrives", SOON, || {
        !receiver.received().is_empty()
    })
    .await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "order.created was not subscribed");
    assert_eq!(
        received[0].header("x-nexotp-event"),
        Some("order.cancelled")
    );
    let secret = sb.state()["webhooks"][0]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let event = verify(
        &received[0].body,
        received[0].header(SIGNATURE_HEADER).expect("header"),
        &secret,
        DEFAULT_TOLERANCE,
    )
    .expect("verifies");
    assert_eq!(event.order.map(|o| o.status), Some(OrderStatus::Cancelled));
}

#[test]
fn sign_matches_the_sandbox_scheme() {
    let body = br#"{"id":"evt_1","type":"order.created","created_at":1700000000,"data":{"id":5001,"status":"pending"}}"#;
    let ours = sign(body, "whsec_abc", 1_700_000_000).expect("signs");
    let theirs = nexotp_sandbox::signature_header("whsec_abc", 1_700_000_000, body);
    assert_eq!(ours, theirs);
    let err =
        nexotp::webhook::verify_at(body, &ours, "whsec_abc", DEFAULT_TOLERANCE, 1_700_000_301)
            .expect_err("too old");
    assert!(err.to_string().contains("old"));
    assert!(
        nexotp::webhook::verify_at(body, &ours, "whsec_abc", DEFAULT_TOLERANCE, 1_700_000_299)
            .is_ok()
    );
}

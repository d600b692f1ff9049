//! Money safety against the faults real WordPress stacks produce: every answer to create order,
//! resend and create webhook is either what it says (an order, a typed refusal) or an unknown
//! outcome that `reconcile` resolves, and nothing is ever sent twice.
mod common;

use std::time::Duration;

use common::*;
use nexotp::{Error, ErrorKind, Operation, OrderRequest, Reconciled};
use nexotp_sandbox::{FaultKind, StatusFault};

fn order_request() -> OrderRequest {
    OrderRequest::new("svc_telegram", "cty_us")
}

/// The faults after which the order exists but the answer does not say so.
fn applied_faults() -> Vec<(&'static str, FaultKind)> {
    vec![
        ("dropped connection", FaultKind::Drop),
        (
            "WordPress internal_server_error JSON",
            FaultKind::WpInternalError,
        ),
        (
            "HTML 500 (PHP fatal) after commit",
            StatusFault::new(500)
                .with_envelope(false)
                .with_after_apply(true)
                .into(),
        ),
        (
            "nginx 502 page after commit",
            StatusFault::new(502)
                .with_envelope(false)
                .with_after_apply(true)
                .into(),
        ),
        (
            "Cloudflare 524 after commit",
            StatusFault::new(524)
                .with_envelope(false)
                .with_after_apply(true)
                .into(),
        ),
        ("truncated 201", FaultKind::Truncate { bytes: Some(30) }),
        (
            "answer slower than the timeout",
            FaultKind::SlowAfterApply { ms: 1500 },
        ),
        (
            "empty 500 after commit",
            StatusFault::new(500)
                .with_after_apply(true)
                .with_body("")
                .into(),
        ),
    ]
}

/// The faults that answer before anything happened, without saying "refused".
fn unapplied_faults() -> Vec<(&'static str, FaultKind)> {
    vec![
        (
            "connection dropped before the work",
            FaultKind::DropBeforeApply,
        ),
        (
            "nginx 503 page from a proxy",
            StatusFault::new(503).with_envelope(false).into(),
        ),
        (
            "Cloudflare 520",
            StatusFault::new(520).with_envelope(false).into(),
        ),
        ("HTML 500 before the work", FaultKind::Html500),
    ]
}

fn unknown(err: &Error) -> &nexotp::OrderOutcomeUnknown {
    match err {
        Error::OrderOutcomeUnknown(unknown) => unknown,
        other => panic!("expected OrderOutcomeUnknown, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_may_have_landed_is_unknown_and_reconcile_finds_its_order() {
    for (what, fault) in applied_faults() {
        let (sb, client) = setup().await;
        let client = client
            .with_options(nexotp::RequestOptions::new().timeout(Duration::from_millis(700)))
            .expect("options");
        // An earlier order of the same kind that this client handed out is never the answer.
        let earlier = client.create_order(&order_request()).await.expect("order");
        sb.set_faults(script("POST /order", fault, 1));
        let err = client.create_order(&order_request()).await.expect_err(what);
        let info = unknown(&err);
        assert!(!err.is_retryable(), "{what}: never retryable");
        assert_eq!(info.call.operation, Operation::CreateOrder);
        assert_eq!(sb.orders_count(), 2, "{what}: the order exists, once");
        assert_eq!(
            requests_to(&sb, "POST", "/order").len(),
            2,
            "{what}: not re-sent"
        );
        let ids = sb.order_ids();
        let created = ids.last().expect("an order").to_string();
        match client.reconcile(&info.call).await.expect("reconcile") {
            Reconciled::Order(order) => assert_eq!(order.id, created, "{what}"),
            other => panic!("{what}: expected the order, got {other:?}"),
        }
        assert_ne!(created, earlier.id);
        // Found once, claimed: a second look finds nothing new.
        assert_eq!(
            client.reconcile(&info.call).await.expect("reconcile"),
            Reconciled::NotApplied,
            "{what}: a found order is not found twice"
        );
    }
}

#[tokio::test]
async fn a_create_that_never_landed_is_unknown_and_reconcile_says_so() {
    for (what, fault) in unapplied_faults() {
        let (sb, client) = setup().await;
        sb.set_faults(script("POST /order", fault, 1));
        let err = client.create_order(&order_request()).await.expect_err(what);
        let info = unknown(&err);
        assert_eq!(sb.orders_count(), 0, "{what}");
        assert_eq!(requests_to(&sb, "POST", "/order").len(), 1, "{what}");
        assert_eq!(
            client.reconcile(&info.call).await.expect("reconcile"),
            Reconciled::NotApplied,
            "{what}"
        );
        // Now it is safe to send again, and exactly one order results.
        client.create_order(&order_request()).await.expect("again");
        assert_eq!(sb.orders_count(), 1, "{what}");
    }
}

#[tokio::test]
async fn refusals_are_typed_errors_whatever_the_status() {
    let cases: Vec<(&str, FaultKind, ErrorKind)> = vec![
        (
            "200 success:false insufficient_balance",
            StatusFault::new(200)
                .with_code("insufficient_balance")
                .into(),
            ErrorKind::InsufficientBalance,
        ),
        (
            "200 success:false no_numbers_available",
            StatusFault::new(200)
                .with_code("no_numbers_available")
                .into(),
            ErrorKind::Conflict,
        ),
        (
            "200 success:false rate_limited",
            StatusFault::new(200).with_code("rate_limited").into(),
            ErrorKind::RateLimit,
        ),
        (
            "200 WordPress error object",
            StatusFault::new(200)
                .with_body(r#"{"code":"rest_invalid_param","message":"Invalid parameter(s): service","data":{"status":400,"params":{"service":"Invalid."}}}"#)
                .into(),
            ErrorKind::InvalidRequest,
        ),
        (
            "503 service_unavailable envelope",
            StatusFault::new(503).into(),
            ErrorKind::Server,
        ),
        (
            "403 WAF page",
            StatusFault::new(403).with_envelope(false).into(),
            ErrorKind::PermissionDenied,
        ),
    ];
    for (what, fault, kind) in cases {
        let (sb, client) = setup().await;
        sb.set_faults(script("POST /order", fault, 1));
        let err = client.create_order(&order_request()).await.expect_err(what);
        assert_eq!(err.kind(), kind, "{what}: {err}");
        assert!(
            !err.is_retryable(),
            "{what}: create order is never retryable"
        );
        assert_eq!(sb.orders_count(), 0, "{what}");
        assert_eq!(requests_to(&sb, "POST", "/order").len(), 1, "{what}");
    }
}

#[tokio::test]
async fn a_wordpress_internal_error_to_a_get_is_retried_and_retryable() {
    let (sb, client) = setup().await;
    sb.set_faults(script("GET /account", FaultKind::WpInternalError, 1));
    client.account().await.expect("retried");
    assert_eq!(requests_to(&sb, "GET", "/account").len(), 2);
    sb.set_faults(script("GET /account", FaultKind::WpInternalError, 1));
    let err = no_retries(&client).account().await.expect_err("500");
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.code(), Some("internal_server_error"));
    assert!(err.is_retryable(), "a GET may be sent again");
}

#[tokio::test]
async fn a_lost_resend_is_unknown_and_reconcile_reads_the_order() {
    for (what, fault, applied) in [
        ("dropped after the resend", FaultKind::Drop, true),
        ("dropped before it", FaultKind::DropBeforeApply, false),
    ] {
        let (sb, client) = setup().await;
        let order = client.create_order(&order_request()).await.expect("order");
        sb.force_code(&order.id, "111111").expect("code");
        sb.set_faults(script("POST /order/*/resend", fault, 1));
        let err = client.resend_order(&order.id).await.expect_err(what);
        let info = unknown(&err);
        assert_eq!(info.call.operation, Operation::ResendOrder);
        assert_eq!(info.call.codes_before, vec!["111111".to_owned()]);
        assert!(!err.is_retryable());
        let found = client.reconcile(&info.call).await.expect("reconcile");
        match (applied, found) {
            (true, Reconciled::Order(after)) => assert_eq!(after.id, order.id),
            (false, Reconciled::NotApplied) => {}
            (_, other) => panic!("{what}: {other:?}"),
        }
        // Whatever happened, the next wait never takes the old code for a new one.
        let wait = client
            .wait_for_code(
                &order.id,
                nexotp::WaitOptions::default()
                    .timeout(Duration::from_millis(300))
                    .poll_interval(Duration::from_millis(50)),
            )
            .await;
        if applied {
            let done = wait.expect("the resend brings a new code");
            assert_ne!(done.code.as_deref(), Some("111111"), "{what}");
        } else {
            assert_eq!(
                wait.expect_err("no new code").kind(),
                ErrorKind::WaitTimeout,
                "{what}: the old code is not new"
            );
        }
    }
}

#[tokio::test]
async fn a_resend_answered_with_the_new_code_is_seen_by_the_next_wait() {
    let (sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(60))).await;
    let order = client.create_order(&order_request()).await.expect("order");
    sb.force_code(&order.id, "111111").expect("code");
    sb.set_faults(script("POST /order/*/resend", FaultKind::InstantCode, 1));
    let resent = client.resend_order(&order.id).await.expect("resend");
    assert_eq!(resent.codes.len(), 2, "the answer already has the new code");
    let done = within(
        SOON,
        client.wait_for_code(
            &order.id,
            nexotp::WaitOptions::default()
                .timeout(Duration::from_secs(2))
                .poll_interval(Duration::from_millis(50)),
        ),
    )
    .await
    .expect("the code in the resend's answer counts as new");
    assert_eq!(done.code, resent.codes.last().cloned());
}

#[tokio::test]
async fn a_cut_off_create_webhook_shows_no_byte_of_the_secret() {
    let (sb, client) = setup().await;
    let hook = client
        .create_webhook("https://example.com/a", &["order.created"])
        .await
        .expect("webhook");
    let secret = hook.secret.as_ref().expect("secret").expose().to_owned();
    // The answer's first bytes up to the secret's value (a timestamp has a fixed length), to cut
    // it before, at and inside the secret.
    let whole = format!(
        r#"{{"success":true,"data":{{"id":{},"endpoint_url":"https:\/\/example.com\/b","events":["order.created"],"active":true,"created_at":"2026-12-01T05:37:44Z","secret":""#,
        hook.id.parse::<u64>().expect("numeric id") + 1
    );
    for cut in [
        whole.len() - 12,
        whole.len() - 2,
        whole.len() + 4,
        whole.len() + 20,
    ] {
        sb.set_faults(script(
            "POST /webhooks",
            FaultKind::Truncate { bytes: Some(cut) },
            1,
        ));
        let err = client
            .create_webhook("https://example.com/b", &["order.created"])
            .await
            .expect_err("cut off");
        let info = unknown(&err);
        assert_eq!(info.call.operation, Operation::CreateWebhook);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("whsec_"), "cut at {cut}: {shown}");
        assert!(
            !shown.contains(&secret[6..14]),
            "cut at {cut}: part of a secret in {shown}"
        );
        // Registered once, and found again by its URL and events.
        match client.reconcile(&info.call).await.expect("reconcile") {
            Reconciled::Webhook(found) => {
                assert_eq!(found.endpoint_url.as_deref(), Some("https://example.com/b"));
                assert!(found.secret.is_none());
                client.delete_webhook(&found.id).await.expect("delete");
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    assert_eq!(requests_to(&sb, "POST", "/webhooks").len(), 5);
}

#[tokio::test]
async fn a_lost_create_webhook_is_never_sent_twice() {
    let (sb, client) = setup().await;
    sb.set_faults(script("POST /webhooks", FaultKind::Drop, 1));
    let err = client
        .create_webhook(
            "https://example.com/hook",
            &["order.created", "order.expired"],
        )
        .await
        .expect_err("dropped");
    let info = unknown(&err);
    assert!(!err.is_retryable());
    assert_eq!(
        requests_to(&sb, "POST", "/webhooks").len(),
        1,
        "not re-sent"
    );
    match client.reconcile(&info.call).await.expect("reconcile") {
        Reconciled::Webhook(found) => {
            let listed = client.webhooks().await.expect("list");
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].id, found.id);
        }
        other => panic!("{other:?}"),
    }
    // A webhook with other events is not the one.
    sb.set_faults(script("POST /webhooks", FaultKind::DropBeforeApply, 1));
    let err = client
        .create_webhook("https://example.com/hook", &["order.created"])
        .await
        .expect_err("dropped");
    assert_eq!(
        client
            .reconcile(&unknown(&err).call)
            .await
            .expect("reconcile"),
        Reconciled::NotApplied
    );
}

#[tokio::test]
async fn two_unclaimed_candidates_are_ambiguous() {
    let (sb, client) = setup().await;
    // Another process (a second client) orders the same thing at the same time.
    let other = client_builder(&sb).build().expect("client");
    sb.set_faults(script("POST /order", FaultKind::Drop, 1));
    let err = client
        .create_order(&order_request())
        .await
        .expect_err("dropped");
    other.create_order(&order_request()).await.expect("order");
    match client
        .reconcile(&unknown(&err).call)
        .await
        .expect("reconcile")
    {
        Reconciled::Ambiguous { orders, webhooks } => {
            assert_eq!(orders.len(), 2);
            assert!(webhooks.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // Orders for another service are never candidates.
    let mut call = unknown(&err).call.clone();
    call.service = Some("svc_google".into());
    assert_eq!(
        client.reconcile(&call).await.expect("reconcile"),
        Reconciled::NotApplied
    );
}

#[tokio::test]
async fn the_unknown_outcome_says_how_to_resolve_it() {
    let (sb, client) = setup().await;
    sb.set_faults(script("POST /order", FaultKind::Drop, 1));
    let err = client
        .create_order(&order_request())
        .await
        .expect_err("dropped");
    let text = err.to_string();
    assert!(text.contains("reconcile"), "{text}");
    assert!(text.contains("svc_telegram/cty_us"), "{text}");
    assert!(!text.contains("your orders"), "{text}");
}

#[tokio::test]
async fn a_ledger_mark_keeps_earlier_orders_out() {
    let (sb, client) = setup().await;
    // An order made by an earlier run (another client: this one never saw it).
    let earlier = client_builder(&sb).build().expect("client");
    earlier.create_order(&order_request()).await.expect("order");
    let mark = client
        .transactions(1, 1)
        .await
        .expect("ledger")
        .items
        .first()
        .map(|tx| tx.id.clone());
    sb.set_faults(script("POST /order", FaultKind::DropBeforeApply, 1));
    let err = client
        .create_order(&order_request())
        .await
        .expect_err("dropped");
    let mut call = unknown(&err).call.clone();
    assert!(
        matches!(
            client.reconcile(&call).await.expect("reconcile"),
            Reconciled::Order(_)
        ),
        "without a mark, the earlier order looks like this one"
    );
    call.ledger_mark = mark;
    let fresh = client_builder(&sb).build().expect("client");
    assert_eq!(
        fresh.reconcile(&call).await.expect("reconcile"),
        Reconciled::NotApplied,
        "with the mark, it is known to be older"
    );
}

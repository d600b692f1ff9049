//! The sandbox's named scenarios (magic service ids, country codes and API key), driven through
//! the real client as a user would: each one produces the behaviour its name promises, as the
//! client reports it. Figures are states and counts, never elapsed times.

mod common;

use std::time::Duration;

use common::*;
use nexotp::{Client, Error, ErrorKind, OrderRequest, OrderStatus, WaitOptions};
use nexotp_sandbox::{NO_BALANCE_API_KEY, PRICE_JUMP, SCENARIOS};

fn quick_wait(timeout: Duration) -> WaitOptions {
    WaitOptions::default()
        .timeout(timeout)
        .poll_interval(Duration::from_millis(50))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_code_orders_never_get_one() {
    let (sb, client) = setup().await;
    for (service, country) in [
        ("svc_test_no_code", "cty_us"),
        ("svc_telegram", "cty_test_no_code"),
    ] {
        let order = client
            .create_order(&OrderRequest::new(service, country))
            .await
            .expect("order");
        // Echoed as asked.
        assert_eq!(order.service.as_deref(), Some(service));
        assert_eq!(order.country.as_deref(), Some(country));
        // Five code delays pass without a code.
        let err = client
            .wait_for_code(&order.id, quick_wait(CODE_DELAY * 5))
            .await
            .expect_err("no code comes");
        assert_eq!(err.kind(), ErrorKind::WaitTimeout, "{err}");
        let now = client.order(&order.id).await.expect("read");
        assert_eq!(now.status, OrderStatus::Pending);
        assert!(now.codes.is_empty());
        // It can still be cancelled, and is refunded.
        let cancelled = client.cancel_order(&order.id).await.expect("cancel");
        assert_eq!(cancelled.status, OrderStatus::Cancelled);
    }
    assert_eq!(money(&sb.state()["balance"]), dec("25.00"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_after_n_seconds_ignores_the_code_delay() {
    // A code delay no test waits out: only the scenario can bring a code.
    let (sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(3600))).await;
    let plain = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("plain order");
    let order = client
        .create_order(&OrderRequest::new("svc_test_code_after_1s", "cty_us"))
        .await
        .expect("order");
    assert_eq!(order.status, OrderStatus::Pending);
    let done = client
        .wait_for_code(&order.id, quick_wait(SOON))
        .await
        .expect("the code comes after 1 s");
    assert_eq!(done.status, OrderStatus::Received);
    assert_eq!(done.codes.len(), 1);
    // The ordinary order, created first, still waits for the long code delay.
    assert_eq!(order_state(&sb, &plain.id)["status"], "pending");
    // A resend waits the scenario's time again, not the code delay.
    client.resend_order(&order.id).await.expect("resend");
    let again = client
        .wait_for_code(&order.id, quick_wait(SOON))
        .await
        .expect("a second code after 1 s");
    assert_eq!(again.codes.len(), 2);
    // The country form works the same way.
    let by_country = client
        .create_order(&OrderRequest::new("svc_google", "cty_test_code_after_1s"))
        .await
        .expect("order");
    let done = client
        .wait_for_code(&by_country.id, quick_wait(SOON))
        .await
        .expect("code");
    assert!(done.code.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_codes_arrive_without_a_resend() {
    let (sb, client) = setup().await;
    let order = client
        .create_order(&OrderRequest::new("svc_test_two_codes", "cty_gb"))
        .await
        .expect("order");
    let first = client
        .wait_for_code(&order.id, quick_wait(SOON))
        .await
        .expect("first code");
    let first_code = first.code.clone().expect("a code");
    let second = client
        .wait_for_code(
            &order.id,
            quick_wait(SOON).exclude_codes([first_code.clone()]),
        )
        .await
        .expect("second code");
    assert_eq!(second.codes.len(), 2, "{second:?}");
    assert_eq!(second.codes[0], first_code);
    assert_ne!(second.code.as_deref(), Some(first_code.as_str()));
    assert_eq!(second.status, OrderStatus::Received);
    // No third one: two code delays more, still two.
    tokio::time::sleep(CODE_DELAY * 3).await;
    let later = client.order(&order.id).await.expect("read");
    assert_eq!(later.codes.len(), 2);
    assert_eq!(
        order_state(&sb, &order.id)["codes"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_orders_close_without_a_code_and_are_refunded() {
    let (sb, client) = setup().await;
    let order = client
        .create_order(&OrderRequest::new("svc_test_expires", "cty_in"))
        .await
        .expect("order");
    let err = client
        .wait_for_code(&order.id, quick_wait(SOON))
        .await
        .expect_err("the order expires");
    match &err {
        Error::OrderClosed { order } => {
            assert_eq!(order.status, OrderStatus::Expired);
            assert!(order.codes.is_empty());
        }
        other => panic!("expected OrderClosed, got {other:?}"),
    }
    assert_eq!(money(&sb.state()["balance"]), dec("25.00"), "refunded");
    let kinds: Vec<String> = ledger(&sb)
        .iter()
        .map(|t| t["type"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(kinds, vec!["deposit", "order", "refund"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_fails_is_refused_while_pending() {
    let (sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(3600))).await;
    let order = client
        .create_order(&OrderRequest::new("svc_test_cancel_fails", "cty_us"))
        .await
        .expect("order");
    let err = client.cancel_order(&order.id).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(err.code(), Some("order_not_cancellable"));
    assert!(err.to_string().contains("cancel_fails"), "{err}");
    assert_eq!(order_state(&sb, &order.id)["status"], "pending");
    assert_eq!(
        money(&sb.state()["balance"]),
        dec("25.00") - order.price.expect("a price"),
        "not refunded"
    );
    // An ordinary order in the same sandbox cancels fine.
    let plain = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    client.cancel_order(&plain.id).await.expect("cancel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_no_balance_key_cannot_order() {
    let (sb, client) = setup().await;
    let broke = Client::builder()
        .api_key(NO_BALANCE_API_KEY)
        .base_url(sb.base_url())
        .log_from_env(false)
        .build()
        .expect("client");
    let account = broke.account().await.expect("account");
    assert_eq!(account.balance, dec("0.00"));
    // Prices are readable; ordering is refused.
    broke
        .price("svc_telegram", "cty_us")
        .await
        .expect("a price");
    let err = broke
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect_err("no money");
    assert_eq!(err.kind(), ErrorKind::InsufficientBalance, "{err}");
    assert_eq!(err.code(), Some("insufficient_balance"));
    assert_eq!(sb.orders_count(), 0);
    // The real key still has its wallet.
    assert_eq!(
        client.account().await.expect("account").balance,
        dec("25.00")
    );
    client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order with the real key");
    assert_eq!(sb.orders_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_price_jumps_between_quote_and_order() {
    let (sb, client) = setup().await;
    for (service, country) in [
        ("svc_test_price_jump", "cty_de"),
        ("svc_discord", "cty_test_price_jump"),
    ] {
        let quote = client.price(service, country).await.expect("quote");
        assert_eq!(quote.service.as_deref(), Some(service));
        // Holding the client to the quote: refused, nothing charged.
        let before = sb.orders_count();
        let err = client
            .create_order(&OrderRequest::new(service, country).max_price(quote.price))
            .await
            .expect_err("above the quote");
        assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
        assert_eq!(err.code(), Some("max_price_exceeded"));
        assert_eq!(sb.orders_count(), before);
        // Without a cap: ordered at the jumped price.
        let order = client
            .create_order(&OrderRequest::new(service, country))
            .await
            .expect("order");
        assert_eq!(order.price, Some(quote.price + PRICE_JUMP));
    }
}

#[tokio::test]
async fn unknown_scenarios_are_invalid_and_the_list_is_served() {
    let (sb, client) = setup().await;
    let err = client
        .create_order(&OrderRequest::new("svc_test_nope", "cty_us"))
        .await
        .expect_err("unknown");
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    let text = reqwest::get(format!("{}/__sandbox/scenarios", sb.root_url()))
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    let list: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        list["scenarios"].as_array().map(Vec::len),
        Some(SCENARIOS.len())
    );
    assert_eq!(list["api_keys"][0]["key"], NO_BALANCE_API_KEY);
}

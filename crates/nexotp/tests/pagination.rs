//! The transactions stream and pager across several pages, matching the sandbox's ledger
//! exactly and in order (newest first), with one request per page.

mod common;

use common::*;
use futures_util::StreamExt;
use nexotp::{Client, OrderRequest};

/// Grows the ledger to `orders + 1` entries (the deposit plus one debit per order).
async fn orders_made(client: &Client, orders: usize) {
    for i in 0..orders {
        let service = ["svc_telegram", "svc_google", "svc_discord"][i % 3];
        client
            .create_order(&OrderRequest::new(service, "cty_in"))
            .await
            .expect("order");
    }
}

fn pages_requested(sb: &nexotp_sandbox::SandboxHandle) -> Vec<String> {
    requests_to(sb, "GET", "/account/transactions")
        .into_iter()
        .map(|r| r.query)
        .collect()
}

#[tokio::test]
async fn stream_matches_the_ledger_across_pages() {
    let (sb, client) = setup_with(sandbox().code_delay(std::time::Duration::from_secs(60))).await;
    orders_made(&client, 22).await;
    sb.clear_requests();
    let got: Vec<nexotp::Transaction> = client
        .transactions_stream(5)
        .map(|t| t.expect("transaction"))
        .collect()
        .await;
    let ledger: Vec<_> = ledger(&sb).into_iter().rev().collect();
    assert_eq!(ledger.len(), 23);
    assert_eq!(got.len(), 23);
    for (t, want) in got.iter().zip(&ledger) {
        assert_eq!(t.id, want["id"].to_string());
        assert_eq!(t.amount, money(&want["amount"]));
        assert_eq!(t.balance_after, Some(money(&want["balance_after"])));
        assert_eq!(t.kind.as_deref(), want["type"].as_str());
    }
    assert_eq!(got.last().map(|t| t.id.as_str()), Some("1001"));
    let sum: nexotp::Decimal = got.iter().map(|t| t.amount).sum();
    assert_eq!(
        sum,
        sb.balance(),
        "the signed amounts add up to the balance"
    );
    assert_eq!(
        pages_requested(&sb),
        (1..=5)
            .map(|p| format!("page={p}&per_page=5"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn pager_gives_whole_pages_and_stops_on_an_exact_multiple() {
    let (sb, client) = setup_with(sandbox().code_delay(std::time::Duration::from_secs(60))).await;
    orders_made(&client, 19).await; // 20 entries: exactly 4 pages of 5
    sb.clear_requests();
    let mut pager = client.transaction_pager(5).expect("pager");
    let mut sizes = Vec::new();
    let mut ids = Vec::new();
    while let Some(page) = pager.next_page().await.expect("page") {
        assert_eq!(page.total, Some(20));
        assert_eq!(page.total_pages, Some(4));
        assert_eq!(page.has_more, page.page < 4);
        sizes.push(page.items.len());
        ids.extend(page.items.into_iter().map(|t| t.id));
    }
    assert_eq!(sizes, [5, 5, 5, 5]);
    assert!(pager.next_page().await.expect("done").is_none());
    let want: Vec<String> = ledger(&sb)
        .iter()
        .rev()
        .map(|t| t["id"].to_string())
        .collect();
    assert_eq!(ids, want);
    assert_eq!(
        pages_requested(&sb).len(),
        4,
        "no request for a 5th, empty page"
    );

    // Item by item, the same sequence.
    sb.clear_requests();
    let mut pager = client.transaction_pager(7).expect("pager");
    let mut one_by_one = Vec::new();
    while let Some(t) = pager.next().await.expect("item") {
        one_by_one.push(t.id);
    }
    assert_eq!(one_by_one, want);
    assert_eq!(pages_requested(&sb).len(), 3);
}

#[tokio::test]
async fn a_stream_is_lazy_and_stops_early() {
    let (sb, client) = setup().await;
    orders_made(&client, 6).await;
    sb.clear_requests();
    let stream = client.transactions_stream(2);
    assert!(
        pages_requested(&sb).is_empty(),
        "nothing fetched before polling"
    );
    let first3: Vec<_> = stream.take(3).collect().await;
    assert_eq!(first3.len(), 3);
    assert_eq!(pages_requested(&sb).len(), 2, "only the pages needed");
}

#[tokio::test]
async fn totals_from_headers_only_through_the_client() {
    // A server that answers with a bare list and puts the totals only in X-WP-Total(Pages).
    let body = r#"{"success":true,"data":[
        {"id":3,"type":"order","amount":-0.5,"balance_after":24.5,"order_id":5001},
        {"id":2,"type":"adjustment","amount":"1.00","balance_after":"25.00","order_id":null},
        {"id":1,"type":"deposit","amount":24,"balance_after":"24.00"}]}"#;
    let server = TinyServer::start(
        Canned::json(200, body)
            .header("X-WP-Total", "3")
            .header("X-WP-TotalPages", "1"),
    )
    .await;
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.url.as_str())
        .log_from_env(false)
        .build()
        .expect("client");
    let page = client.transactions(1, 3).await.expect("page");
    assert_eq!(page.total, Some(3));
    assert_eq!(page.total_pages, Some(1));
    assert!(!page.has_more);
    assert_eq!(
        page.items[0].amount,
        dec("-0.5"),
        "a JSON number, decoded exactly"
    );
    assert_eq!(page.items[0].order_id.as_deref(), Some("5001"));
    assert_eq!(page.items[1].order_id, None);
    let all: Vec<_> = client.transactions_stream(3).collect().await;
    assert_eq!(all.len(), 3);
    assert_eq!(
        server.received().len(),
        2,
        "the stream stopped after the only page"
    );
}

//! Every endpoint through the real client against the sandbox, with the decoded typed fields
//! (exact money, ids as strings, `raw` kept) checked against the sandbox's own state.

mod common;

use common::*;
use nexotp::{OrderRequest, OrderStatus, PricingOption};
use serde_json::json;

#[tokio::test]
async fn account_matches_the_wallet() {
    let (sb, client) = setup().await;
    sb.set_balance(dec("12.34"));
    let account = client.account().await.expect("account");
    assert_eq!(account.balance, dec("12.34"));
    assert_eq!(account.balance, sb.balance());
    assert_eq!(account.balance.to_string(), "12.34", "money is exact");
    assert_eq!(
        account.user_id.as_deref(),
        Some("1"),
        "numeric id became a string"
    );
    assert_eq!(account.email.as_deref(), Some("sandbox@nexotp.test"));
    assert_eq!(account.currency.as_deref(), Some("USD"));
    assert_eq!(account.plan.as_deref(), Some("sandbox"));
    assert!(account.usage.is_object());
    assert_eq!(account.usage["orders_total"], json!(0));
    assert_eq!(account.raw.to_value()["balance"], json!("12.34"));
    assert_eq!(
        account.raw.to_value()["user_id"],
        json!(1),
        "raw keeps the wire form"
    );
}

#[tokio::test]
async fn countries_services_and_price_are_consistent() {
    let (_sb, client) = setup().await;
    let countries = client.countries().await.expect("countries");
    let codes: Vec<&str> = countries.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["cty_us", "cty_gb", "cty_de", "cty_in", "cty_br"]);
    let us = &countries[0];
    assert_eq!(us.name.as_deref(), Some("United States"));
    assert_eq!(us.iso.as_deref(), Some("US"));
    assert_eq!(us.dial_code.as_deref(), Some("+1"));
    assert_eq!(us.raw.to_value()["code"], json!("cty_us"));

    let services = client.services("cty_us").await.expect("services");
    let ids: Vec<&str> = services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "svc_telegram",
            "svc_whatsapp",
            "svc_google",
            "svc_facebook",
            "svc_discord",
            "svc_amazon"
        ]
    );
    for service in &services {
        let price = client.price(&service.id, "cty_us").await.expect("price");
        assert_eq!(price.service.as_deref(), Some(service.id.as_str()));
        assert_eq!(price.country.as_deref(), Some("cty_us"));
        assert_eq!(price.currency.as_deref(), Some("USD"));
        assert_eq!(service.price, Some(price.price), "{}", service.id);
        assert_eq!(
            price.raw.to_value()["price"].as_str(),
            Some(price.price.to_string().as_str()),
            "decoded exactly from the string"
        );
        assert!((2..=3).contains(&price.pools.len()));
        assert_eq!(price.pools[0].id, "pool_a");
        let cheapest = price
            .pools
            .iter()
            .filter_map(|p| p.price)
            .min()
            .expect("pool prices");
        assert_eq!(price.price, cheapest);
        assert_eq!(
            price.pools[0].price,
            Some(cheapest),
            "pool_a is the cheapest"
        );
        let stock: u64 = price.pools.iter().filter_map(|p| p.available).sum();
        assert_eq!(price.available, Some(stock));
        assert_eq!(service.available, Some(stock));
        for pool in &price.pools {
            let rate = pool.success_rate.expect("success rate");
            assert!(rate > dec("0") && rate <= dec("1"));
            assert_eq!(pool.raw.to_value()["id"].as_str(), Some(pool.id.as_str()));
        }
    }
    let de = client.price("svc_whatsapp", "cty_de").await.expect("price");
    assert_eq!(de.available, Some(0), "the NO_STOCK pair");
    assert_eq!(nexotp_sandbox::NO_STOCK, ("svc_whatsapp", "cty_de"));
}

#[tokio::test]
async fn create_order_debits_exactly_and_matches_state() {
    let (sb, client) = setup().await;
    let start = sb.balance();
    let price = client.price("svc_telegram", "cty_us").await.expect("price");
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    assert_eq!(order.id, "5001", "numeric id became a string");
    assert_eq!(order.raw.to_value()["id"], json!(5001));
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.service.as_deref(), Some("svc_telegram"));
    assert_eq!(order.country.as_deref(), Some("cty_us"));
    assert_eq!(order.pool.as_deref(), Some("pool_a"));
    assert_eq!(order.price, Some(price.price));
    assert_eq!(order.code, None);
    assert!(order.codes.is_empty());
    assert!(order.expires_at.is_some() && order.created_at.is_some());
    assert_eq!(sb.balance(), start - price.price, "debited exactly once");

    let state = order_state(&sb, &order.id);
    assert_eq!(state["phone"].as_str(), order.phone.as_deref());
    assert_eq!(money(&state["price"]), price.price);
    assert_eq!(state["status"], json!("pending"));
    let last = ledger(&sb).pop().expect("ledger");
    assert_eq!(last["type"], json!("order"));
    assert_eq!(money(&last["amount"]), -price.price);
    assert_eq!(last["order_id"], json!(5001));
}

#[tokio::test]
async fn create_order_options_pick_the_pool() {
    let (sb, client) = setup().await;
    let price = client.price("svc_google", "cty_gb").await.expect("price");
    let best = price
        .pools
        .iter()
        .max_by_key(|p| p.success_rate)
        .expect("pools");

    let by_rate = client
        .create_order(
            &OrderRequest::new("svc_google", "cty_gb").pricing_option(PricingOption::BestRate),
        )
        .await
        .expect("best rate");
    assert_eq!(by_rate.pool.as_deref(), Some(best.id.as_str()));
    assert_eq!(by_rate.price, best.price);

    let cheapest = client
        .create_order(
            &OrderRequest::new("svc_google", "cty_gb").pricing_option(PricingOption::Cheapest),
        )
        .await
        .expect("cheapest");
    assert_eq!(cheapest.pool.as_deref(), Some("pool_a"));
    assert_eq!(cheapest.price, Some(price.price));

    let second = &price.pools[1];
    let pinned = client
        .create_order(
            &OrderRequest::new("svc_google", "cty_gb")
                .pool(second.id.clone())
                .max_price(second.price.expect("price")),
        )
        .await
        .expect("explicit pool at exactly max_price");
    assert_eq!(pinned.pool.as_deref(), Some(second.id.as_str()));
    assert_eq!(pinned.price, second.price);

    let states = orders(&sb);
    assert_eq!(states.len(), 3);
    let pools: Vec<&str> = states.iter().filter_map(|o| o["pool"].as_str()).collect();
    assert_eq!(pools, [best.id.as_str(), "pool_a", second.id.as_str()]);
    let spent: nexotp::Decimal = states.iter().map(|o| money(&o["price"])).sum();
    assert_eq!(sb.balance(), dec("25.00") - spent);
}

#[tokio::test]
async fn order_shows_the_code_when_it_arrives() {
    let (sb, client) = setup().await;
    let created = client
        .create_order(&OrderRequest::new("svc_discord", "cty_in"))
        .await
        .expect("order");
    let fetched = client.order(&created.id).await.expect("order");
    assert_eq!(fetched.id, created.id);
    assert_eq!(fetched.phone, created.phone);
    eventually("the code arrives", SOON, || {
        order_state(&sb, &created.id)["status"] == "received"
    })
    .await;
    let received = client.order(&created.id).await.expect("order");
    let state = order_state(&sb, &created.id);
    assert_eq!(received.status, OrderStatus::Received);
    assert_eq!(received.code.as_deref(), state["code"].as_str());
    assert_eq!(received.codes, vec![received.code.clone().expect("code")]);
    assert_eq!(received.sms.as_deref(), state["sms"].as_str());
    assert_eq!(requests_to(&sb, "GET", "/order/5001").len(), 2);
}

#[tokio::test]
async fn cancel_refunds_exactly() {
    let (sb, client) = setup_with(sandbox().code_delay(std::time::Duration::from_secs(60))).await;
    let start = sb.balance();
    let order = client
        .create_order(&OrderRequest::new("svc_amazon", "cty_br"))
        .await
        .expect("order");
    let price = order.price.expect("price");
    assert_eq!(sb.balance(), start - price);
    let cancelled = client.cancel_order(&order.id).await.expect("cancel");
    assert_eq!(cancelled.id, order.id);
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.refund, Some(price));
    assert_eq!(sb.balance(), start);
    assert_eq!(order_state(&sb, &order.id)["status"], json!("cancelled"));
    let last = ledger(&sb).pop().expect("ledger");
    assert_eq!(last["type"], json!("refund"));
    assert_eq!(money(&last["amount"]), price);
    assert_eq!(money(&last["balance_after"]), start);
}

#[tokio::test]
async fn resend_goes_back_to_pending_keeping_history() {
    let (sb, client) = setup().await;
    let order = client
        .create_order(&OrderRequest::new("svc_facebook", "cty_us"))
        .await
        .expect("order");
    eventually("the code arrives", SOON, || {
        order_state(&sb, &order.id)["status"] == "received"
    })
    .await;
    let first = order_state(&sb, &order.id)["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let resent = client.resend_order(&order.id).await.expect("resend");
    assert_eq!(resent.status, OrderStatus::Pending);
    assert_eq!(resent.code, None);
    assert_eq!(resent.codes, vec![first.clone()]);
    assert_eq!(order_state(&sb, &order.id)["status"], json!("pending"));
    assert_eq!(requests_to(&sb, "POST", "/order/5001/resend").len(), 1);
}

#[tokio::test]
async fn webhooks_list_create_delete() {
    let (sb, client) = setup().await;
    assert!(client.webhooks().await.expect("list").is_empty());
    let created = client
        .create_webhook(
            "https://example.com/nexotp",
            &["order.code_received", "order.expired"],
        )
        .await
        .expect("create");
    assert_eq!(created.id, "1");
    assert_eq!(created.raw.to_value()["id"], json!(1));
    assert_eq!(
        created.endpoint_url.as_deref(),
        Some("https://example.com/nexotp")
    );
    assert_eq!(created.events, ["order.code_received", "order.expired"]);
    assert_eq!(created.active, Some(true));
    let state = sb.state();
    let secret = created.secret.as_ref().expect("secret returned once");
    assert_eq!(
        Some(secret.expose()),
        state["webhooks"][0]["secret"].as_str()
    );
    assert!(secret.expose().starts_with("whsec_"));
    assert!(
        created.raw.to_value().get("secret").is_none(),
        "secret kept out of raw"
    );

    let listed = client.webhooks().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "1");
    assert_eq!(listed[0].events, created.events);
    assert!(listed[0].secret.is_none(), "the list never has the secret");

    let deleted = client.delete_webhook(&created.id).await.expect("delete");
    assert!(deleted.deleted);
    assert_eq!(deleted.id.as_deref(), Some("1"));
    assert!(client.webhooks().await.expect("list").is_empty());
    assert_eq!(sb.state()["webhooks"], json!([]));
}

#[tokio::test]
async fn transactions_page_matches_the_ledger() {
    let (sb, client) = setup().await;
    for _ in 0..3 {
        client
            .create_order(&OrderRequest::new("svc_telegram", "cty_gb"))
            .await
            .expect("order");
    }
    let page = client.transactions(1, 3).await.expect("page");
    let ledger = ledger(&sb);
    assert_eq!(ledger.len(), 4);
    assert_eq!(page.page, 1);
    assert_eq!(page.per_page, 3);
    assert_eq!(page.total, Some(4));
    assert_eq!(page.total_pages, Some(2));
    assert!(page.has_more);
    let newest_first: Vec<_> = ledger.iter().rev().take(3).collect();
    for (got, want) in page.items.iter().zip(newest_first) {
        assert_eq!(got.id, want["id"].to_string());
        assert_eq!(got.kind.as_deref(), want["type"].as_str());
        assert_eq!(got.amount, money(&want["amount"]));
        assert_eq!(got.balance_after, Some(money(&want["balance_after"])));
        assert_eq!(got.order_id, Some(want["order_id"].to_string()));
        assert_eq!(got.description.as_deref(), want["description"].as_str());
        assert_eq!(got.created_at.as_deref(), want["created_at"].as_str());
        assert_eq!(got.raw, *want);
    }
    let last = client.transactions(2, 3).await.expect("page 2");
    assert_eq!(last.items.len(), 1);
    assert!(!last.has_more);
    assert_eq!(last.items[0].id, "1001");
    assert_eq!(last.items[0].kind.as_deref(), Some("deposit"));
    assert_eq!(last.items[0].amount, dec("25.00"));
    assert_eq!(last.items[0].order_id, None);
    let q: Vec<String> = requests_to(&sb, "GET", "/account/transactions")
        .into_iter()
        .map(|r| r.query)
        .collect();
    assert_eq!(q, ["page=1&per_page=3", "page=2&per_page=3"]);
}

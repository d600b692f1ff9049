//! What WordPress needs on the wire (DESIGN §9), checked in the sandbox's request log after
//! driving every endpoint through the real client.

mod common;

use common::*;
use nexotp::{OrderRequest, PricingOption};
use nexotp_sandbox::RecordedRequest;
use serde_json::{Value, json};

fn body_json(r: &RecordedRequest) -> serde_json::Map<String, Value> {
    match serde_json::from_str(&r.body) {
        Ok(Value::Object(map)) => map,
        other => panic!(
            "{} {}: body is not a JSON object: {other:?}",
            r.method, r.path
        ),
    }
}

/// Drives all 12 endpoints; returns the order id used.
async fn every_endpoint(client: &nexotp::Client, sb: &nexotp_sandbox::SandboxHandle) {
    client.account().await.expect("account");
    client.transactions(1, 10).await.expect("transactions");
    client.countries().await.expect("countries");
    client.services("cty_us").await.expect("services");
    client.price("svc_telegram", "cty_us").await.expect("price");
    let plain = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("plain order");
    client
        .create_order(
            &OrderRequest::new("svc_telegram", "cty_us")
                .pool("pool_a")
                .pricing_option(PricingOption::BestRate)
                .max_price(dec("20.10")),
        )
        .await
        .expect("order with options");
    client
        .create_order(
            &OrderRequest::new("svc_google", "cty_us").pricing_option(PricingOption::Cheapest),
        )
        .await
        .expect("cheapest");
    client.order(&plain.id).await.expect("order");
    let cancel_me = client
        .create_order(&OrderRequest::new("svc_discord", "cty_us"))
        .await
        .expect("order");
    client.cancel_order(&cancel_me.id).await.expect("cancel");
    sb.force_code(&plain.id, "123456").expect("code");
    client.resend_order(&plain.id).await.expect("resend");
    client.webhooks().await.expect("webhooks");
    let hook = client
        .create_webhook(
            "https://example.com/hook",
            &["order.created", "order.expired"],
        )
        .await
        .expect("create webhook");
    client
        .delete_webhook(&hook.id)
        .await
        .expect("delete webhook");
}

#[tokio::test]
async fn the_wire_is_what_wordpress_needs() {
    let (sb, client) = setup_with(sandbox().code_delay(std::time::Duration::from_secs(60))).await;
    every_endpoint(&client, &sb).await;
    let log = sb.requests();
    // 15 calls; the resend reads its order first.
    assert_eq!(log.len(), 16);
    assert!(
        log.iter().all(|r| r.status.is_some_and(|s| s < 300)),
        "all succeeded"
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(nexotp::config::VERSION, version);

    for r in &log {
        let what = format!("{} {}?{}", r.method, r.path, r.query);
        assert_eq!(r.header("accept"), Some("application/json"), "{what}");
        let agent = r.header("user-agent").unwrap_or_default();
        assert!(
            agent.starts_with(&format!("nexotp-rust/{version} (")) && agent.ends_with(')'),
            "{what}: user agent {agent:?}"
        );
        assert_eq!(r.header("x-nexotp-api-key"), Some(nexotp_sandbox::REDACTED));
        assert_eq!(r.header("x-http-method-override"), None, "{what}");
        for param in ["_method", "_envelope", "_fields", "_jsonp"] {
            assert!(
                !r.query
                    .split('&')
                    .any(|kv| kv.split('=').next() == Some(param)),
                "{what}: sends {param}"
            );
        }
        match r.method.as_str() {
            "POST" => {
                let ct = r.header("content-type").unwrap_or_default();
                assert!(
                    ct.starts_with("application/json"),
                    "{what}: content type {ct:?}"
                );
                let body = body_json(r);
                assert!(!body.contains_key("id"), "{what}: id in the body");
                assert!(!r.body.contains("null"), "{what}: null in {}", r.body);
                for key in ["_method", "_envelope", "_fields", "_jsonp"] {
                    assert!(!body.contains_key(key), "{what}: {key} in the body");
                }
            }
            "GET" | "DELETE" => {
                assert!(r.body.is_empty(), "{what}: body {:?}", r.body);
                assert_eq!(r.header("content-type"), None, "{what}");
            }
            other => panic!("unexpected method {other}"),
        }
    }

    // Cancel and resend carry exactly `{}`.
    for path in ["/order/5004/cancel", "/order/5001/resend"] {
        let r = &requests_to(&sb, "POST", path)[0];
        assert_eq!(r.body, "{}", "{path}");
    }

    // Absent options are omitted; present ones have their wire types.
    let creates = requests_to(&sb, "POST", "/order");
    assert_eq!(creates.len(), 4);
    let plain = body_json(&creates[0]);
    assert_eq!(
        Value::Object(plain),
        json!({"service": "svc_telegram", "country": "cty_us"}),
        "no pool, pricing_option or max_price key when unset"
    );
    let full = body_json(&creates[1]);
    assert_eq!(full["service"], json!("svc_telegram"));
    assert_eq!(full["pool"], json!("pool_a"));
    assert!(full["pricing_option"].is_u64(), "an integer, not a string");
    assert_eq!(full["pricing_option"], json!(1));
    assert!(full["max_price"].is_number(), "a JSON number");
    assert!(
        creates[1].body.contains("\"max_price\":20.10"),
        "exact digits: {}",
        creates[1].body
    );
    assert!(creates[1].body.contains("\"pricing_option\":1"));
    let cheapest = body_json(&creates[2]);
    assert_eq!(cheapest["pricing_option"], json!(0));
    assert!(!cheapest.contains_key("pool"));

    let hook = &requests_to(&sb, "POST", "/webhooks")[0];
    let body = body_json(hook);
    assert_eq!(
        body["events"],
        json!(["order.created", "order.expired"]),
        "an array"
    );
    assert_eq!(body["endpoint_url"], json!("https://example.com/hook"));
    assert_eq!(body.len(), 2);

    // Queries are the documented ones, percent-encoded.
    assert_eq!(
        requests_to(&sb, "GET", "/account/transactions")[0].query,
        "page=1&per_page=10"
    );
    assert_eq!(
        requests_to(&sb, "GET", "/services")[0].query,
        "country=cty_us"
    );
    assert_eq!(
        requests_to(&sb, "GET", "/price")[0].query,
        "service=svc_telegram&country=cty_us"
    );
    assert_eq!(requests_to(&sb, "DELETE", "/webhooks/1").len(), 1);
}

#[tokio::test]
async fn ids_and_query_values_are_percent_encoded() {
    let (sb, client) = setup().await;
    let err = client.order("é5001").await.expect_err("not numeric");
    assert_eq!(err.kind(), nexotp::ErrorKind::NotFound);
    assert_eq!(err.code(), Some("rest_no_route"));
    let err = client
        .services("cty+us&x=1")
        .await
        .expect_err("not a country code");
    // WordPress checks the route's pattern before the plugin sees the value.
    assert_eq!(err.code(), Some("rest_invalid_param"));
    let log = sb.requests();
    assert_eq!(
        log[0].path,
        format!("{}/order/%C3%A95001", nexotp_sandbox::API_PREFIX)
    );
    assert_eq!(
        log[1].query, "country=cty%2Bus%26x%3D1",
        "one parameter, not two"
    );
}

#[tokio::test]
async fn a_cancel_body_never_overrides_the_path_id() {
    // WordPress reads body parameters before the path: the SDK's `{}` keeps the id where the
    // caller put it.
    let (sb, client) = setup_with(sandbox().code_delay(std::time::Duration::from_secs(60))).await;
    let a = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    let b = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    let cancelled = client.cancel_order(&b.id).await.expect("cancel");
    assert_eq!(cancelled.id, b.id);
    assert_eq!(order_state(&sb, &a.id)["status"], "pending");
    assert_eq!(order_state(&sb, &b.id)["status"], "cancelled");
}

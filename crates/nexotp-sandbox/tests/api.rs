//! The API as WordPress + the plugin would answer it: auth, routing, parameters, lifecycle,
//! rate limits, determinism, and robustness against garbage.

mod common;

use std::time::Duration;

use common::{T, fast};
use nexotp_sandbox::{Bucket, Sandbox};
use serde_json::{Value, json};

#[tokio::test]
async fn auth_failures_have_wordpress_shape() {
    let t = T::default().await;
    let no_key = t.send(t.http.get(t.url("/account"))).await;
    assert_eq!(no_key.status, 401);
    let v = no_key.json();
    assert_eq!(v["code"], "rest_forbidden");
    assert!(v["message"].as_str().unwrap().len() > 5);
    assert_eq!(v["data"], json!({"status": 401}));

    let wrong = t
        .send(
            t.http
                .get(t.url("/account"))
                .header("X-NexOTP-API-Key", "nope"),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.code(), "rest_forbidden");

    // Validation runs before the permission check.
    let bad_param = t.send(t.http.get(t.url("/services"))).await;
    assert_eq!(bad_param.status, 400);
    assert_eq!(bad_param.code(), "rest_missing_callback_param");
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_bad_ids_are_rest_no_route() {
    let t = T::default().await;
    let cases = [
        ("GET", "/nothing"),
        ("GET", "/order"),
        ("DELETE", "/account"),
        ("GET", "/order/abc"),
        ("POST", "/order/abc/cancel"),
        ("DELETE", "/webhooks/x1"),
        ("GET", "/order/5001/extra/segment"),
        ("GET", "/account//transactions"),
    ];
    for (m, p) in cases {
        let r = t.send(t.req(m, p)).await;
        assert_eq!(r.status, 404, "{m} {p}: {}", r.text);
        let v = r.json();
        assert_eq!(v["code"], "rest_no_route", "{m} {p}");
        assert_eq!(
            v["message"],
            "No route was found matching the URL and request method."
        );
        assert_eq!(v["data"], json!({"status": 404}));
    }
    // `//` anywhere (the helper trims leading slashes, so build these by hand).
    for url in [
        format!("{}/account", t.sb.base_url()),
        format!("{}//wp-json/nexotp/v1/account", t.sb.root_url()),
    ] {
        let r = t
            .send(
                t.http
                    .get(url.clone())
                    .header("X-NexOTP-API-Key", t.sb.api_key()),
            )
            .await;
        assert_eq!(r.status, 404, "{url}");
        assert_eq!(r.code(), "rest_no_route", "{url}");
    }
    // Numeric but unknown ids reach the plugin.
    let r = t.get("/order/999999").await;
    assert_eq!((r.status, r.code()), (404, "order_not_found".to_string()));
    assert_eq!(r.json()["success"], false);
    let r = t.delete("/webhooks/42").await;
    assert_eq!((r.status, r.code()), (404, "webhook_not_found".to_string()));
}

#[tokio::test]
async fn paths_are_case_insensitive_and_accept_a_trailing_slash() {
    let t = T::default().await;
    for p in [
        "/ACCOUNT",
        "/account/",
        "/Account/Transactions/",
        "/countries",
    ] {
        let r = t.get(p).await;
        assert_eq!(r.status, 200, "{p}: {}", r.text);
    }
    let url = format!("{}/wp-json/NEXOTP/V1/account", t.sb.root_url());
    let r = t
        .send(t.http.get(url).header("X-NexOTP-API-Key", t.sb.api_key()))
        .await;
    assert_eq!(r.status, 200);
    let url = format!("{}/?rest_route=/nexotp/v1/account", t.sb.root_url());
    let r = t
        .send(t.http.get(url).header("X-NexOTP-API-Key", t.sb.api_key()))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn success_envelope_and_account_shape() {
    let t = T::default().await;
    let r = t.get("/account").await;
    assert_eq!(
        r.header("content-type").unwrap(),
        "application/json; charset=UTF-8"
    );
    let v = r.json();
    assert_eq!(v["success"], true);
    let rid = v["meta"]["request_id"].as_str().unwrap();
    assert!(rid.starts_with("req_"));
    assert_eq!(r.header("x-request-id").as_deref(), Some(rid));
    let a = &v["data"];
    assert_eq!(a["balance"], "25.00");
    assert_eq!(a["currency"], "USD");
    assert_eq!(a["user_id"], 1);
    assert!(a["usage"]["orders_total"].is_u64());
}

#[tokio::test]
async fn missing_and_invalid_parameter_shapes() {
    let t = T::default().await;
    let r = t.post("/order", json!({})).await;
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["code"], "rest_missing_callback_param");
    assert_eq!(v["data"]["params"], json!(["service", "country"]));
    assert_eq!(v["data"]["status"], 400);

    let r = t
        .post(
            "/order",
            json!({"service": 5, "country": "cty_us", "pricing_option": null}),
        )
        .await;
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["code"], "rest_invalid_param");
    assert!(v["data"]["params"]["service"].is_string(), "{v}");
    assert!(v["data"]["params"]["pricing_option"].is_string(), "{v}");
    assert_eq!(v["data"]["details"]["service"]["code"], "rest_invalid_type");

    let r = t.get("/account/transactions?per_page=101").await;
    assert_eq!(
        (r.status, r.code()),
        (400, "rest_invalid_param".to_string())
    );
    assert!(r.json()["data"]["params"]["per_page"].is_string());
    let r = t.get("/account/transactions?page=0").await;
    assert_eq!(r.code(), "rest_invalid_param");
    let r = t.get("/account/transactions?page=x").await;
    assert_eq!(r.code(), "rest_invalid_param");
    // Integers may be 1, "1" or 1.0.
    for body in [
        json!({"pricing_option": 1}),
        json!({"pricing_option": "1"}),
        json!({"pricing_option": 1.0}),
    ] {
        let mut b = body.clone();
        b["service"] = json!("svc_telegram");
        b["country"] = json!("cty_us");
        let r = t.post("/order", b).await;
        assert_eq!(r.status, 201, "{body}: {}", r.text);
    }
    let r = t
        .post(
            "/order",
            json!({"service": "svc_telegram", "country": "cty_us", "pricing_option": 2}),
        )
        .await;
    assert_eq!(r.code(), "rest_invalid_param");
    let r = t
        .post(
            "/order",
            json!({"service": "svc_telegram", "country": "cty_us", "max_price": -1}),
        )
        .await;
    assert_eq!(r.code(), "rest_invalid_param");
    let r = t
        .post(
            "/order",
            json!({"service": "svc_telegram", "country": "cty_us", "max_price": "abc"}),
        )
        .await;
    assert_eq!(r.code(), "rest_invalid_param");
    // Invalid JSON.
    let r = t
        .send(
            t.req("POST", "/order")
                .header("Content-Type", "application/json")
                .body("{oops"),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "rest_invalid_json".to_string()));
    // Webhook parameters.
    let r = t
        .post(
            "/webhooks",
            json!({"endpoint_url": "http://example.com/h", "events": ["order.created"]}),
        )
        .await;
    assert_eq!(r.code(), "rest_invalid_param", "{}", r.text);
    let r = t
        .post(
            "/webhooks",
            json!({"endpoint_url": "https://example.com/h", "events": []}),
        )
        .await;
    assert_eq!(r.code(), "rest_invalid_param");
    let r = t.post("/webhooks", json!({"endpoint_url": "https://example.com/h", "events": "order.created,order.expired"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.data()["events"],
        json!(["order.created", "order.expired"])
    );
}

#[tokio::test]
async fn body_is_ignored_without_json_content_type() {
    let t = T::default().await;
    let body = json!({"service": "svc_telegram", "country": "cty_us"}).to_string();
    let r = t
        .send(
            t.req("POST", "/order")
                .header("Content-Type", "text/plain")
                .body(body.clone()),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["data"]["params"], json!(["service", "country"]));
    let r = t.send(t.req("POST", "/order").body(body.clone())).await;
    assert_eq!(r.status, 400);
    let r = t
        .send(
            t.req("POST", "/order")
                .header("Content-Type", "application/json; charset=utf-8")
                .body(body),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn method_override_and_body_id_override() {
    let t = T::default().await;
    let hook = t
        .post(
            "/webhooks",
            json!({"endpoint_url": "https://example.com/h", "events": ["order.created"]}),
        )
        .await
        .data();
    let id = hook["id"].clone();
    assert_eq!(id, 1);
    // A GET with X-HTTP-Method-Override: DELETE deletes the webhook.
    let r = t
        .send(
            t.req("GET", &format!("/webhooks/{id}"))
                .header("X-HTTP-Method-Override", "DELETE"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.data(), json!({"id": 1, "deleted": true}));
    let hook2 = t
        .post(
            "/webhooks",
            json!({"endpoint_url": "https://example.com/h", "events": ["order.created"]}),
        )
        .await
        .data();
    let r = t
        .send(t.req("GET", &format!("/webhooks/{}?_method=DELETE", hook2["id"])))
        .await;
    assert_eq!(r.data()["deleted"], true);
    assert_eq!(t.get("/webhooks").await.data(), json!([]));

    // A body `id` on POST /order/A/cancel cancels order B.
    let a = t.order("svc_telegram", "cty_us").await;
    let b = t.order("svc_telegram", "cty_us").await;
    let r = t
        .post(
            &format!("/order/{}/cancel", a["id"]),
            json!({"id": b["id"]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.data()["id"], b["id"]);
    assert_eq!(
        t.get(&format!("/order/{}", a["id"])).await.data()["status"],
        "pending"
    );
}

#[tokio::test]
async fn order_receives_a_code_after_the_delay() {
    let t = T::default().await;
    let o = t.order("svc_telegram", "cty_us").await;
    assert_eq!(o["id"], 5001);
    assert_eq!(o["status"], "pending");
    assert_eq!(o["code"], Value::Null);
    assert_eq!(o["codes"], json!([]));
    assert!(o["phone"].as_str().unwrap().starts_with("+1555"));
    assert_eq!(o["pool"], "pool_a");
    let price = o["price"].as_str().unwrap().to_string();
    let got = t.wait_order(&o["id"], |o| o["status"] == "received").await;
    let code = got["code"].as_str().unwrap();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(got["codes"], json!([code]));
    assert_eq!(got["sms"], format!("Your code is {code}"));

    let txs = t.get("/account/transactions?per_page=10").await;
    assert_eq!(txs.header("x-wp-total").as_deref(), Some("2"));
    assert_eq!(txs.header("x-wp-totalpages").as_deref(), Some("1"));
    let page = txs.data();
    assert_eq!(page["total"], 2);
    assert_eq!(page["page"], 1);
    assert_eq!(page["per_page"], 10);
    assert_eq!(page["total_pages"], 1);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["type"], "order");
    assert_eq!(items[0]["amount"], format!("-{price}"));
    assert_eq!(items[0]["order_id"], 5001);
    assert_eq!(items[1]["type"], "deposit");
    assert_eq!(items[1]["id"], 1001);
    assert_eq!(items[1]["order_id"], Value::Null);
}

#[tokio::test]
async fn pending_order_expires_and_is_refunded() {
    let t = T::new(
        Sandbox::builder()
            .code_delay(Duration::from_secs(30))
            .order_ttl(Duration::from_millis(200)),
    )
    .await;
    let o = t.order("svc_google", "cty_gb").await;
    let expired = t.wait_order(&o["id"], |o| o["status"] == "expired").await;
    assert_eq!(expired["code"], Value::Null);
    assert_eq!(t.get("/account").await.data()["balance"], "25.00");
    let items = t.get("/account/transactions").await.data()["items"].clone();
    assert_eq!(items[0]["type"], "refund");
    assert_eq!(items[0]["amount"], o["price"]);
    // Closed orders cannot be cancelled or resent.
    let r = t
        .post(&format!("/order/{}/cancel", o["id"]), json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "order_not_cancellable".to_string())
    );
    let r = t
        .post(&format!("/order/{}/resend", o["id"]), json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "resend_not_supported".to_string())
    );
}

#[tokio::test]
async fn cancel_refunds_and_only_pending_orders_cancel() {
    let t = T::new(Sandbox::builder().code_delay(Duration::from_secs(30))).await;
    let o = t.order("svc_telegram", "cty_in").await;
    let r = t
        .post(&format!("/order/{}/cancel", o["id"]), json!({}))
        .await;
    assert_eq!(r.status, 200);
    let c = r.data();
    assert_eq!(c["status"], "cancelled");
    assert_eq!(c["refund"], o["price"]);
    assert_eq!(t.get("/account").await.data()["balance"], "25.00");
    let r = t
        .post(&format!("/order/{}/cancel", o["id"]), json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "order_not_cancellable".to_string())
    );
    // A received order cannot be cancelled either.
    let o2 = t.order("svc_telegram", "cty_in").await;
    t.sb.force_code(o2["id"].as_u64().unwrap(), "111222")
        .unwrap();
    let r = t
        .post(&format!("/order/{}/cancel", o2["id"]), json!({}))
        .await;
    assert_eq!(r.code(), "order_not_cancellable");
}

#[tokio::test]
async fn resend_brings_a_new_different_code() {
    let t = T::default().await;
    let o = t.order("svc_discord", "cty_br").await;
    let r = t
        .post(&format!("/order/{}/resend", o["id"]), json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "resend_not_supported".to_string())
    );
    let first = t.wait_order(&o["id"], |o| o["status"] == "received").await;
    let r = t
        .post(&format!("/order/{}/resend", o["id"]), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let again = r.data();
    assert_eq!(again["status"], "pending");
    assert_eq!(again["code"], Value::Null);
    assert_eq!(again["codes"], first["codes"]);
    let second = t.wait_order(&o["id"], |o| o["status"] == "received").await;
    assert_ne!(second["code"], first["code"]);
    assert_eq!(second["codes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_resent_order_is_not_cancellable() {
    let t = T::default().await;
    let o = t.order("svc_discord", "cty_br").await;
    t.wait_order(&o["id"], |o| o["status"] == "received").await;
    let before = t.get("/account").await.data()["balance"].clone();
    let r = t
        .post(&format!("/order/{}/resend", o["id"]), json!({}))
        .await;
    assert_eq!(r.data()["status"], "pending");
    let r = t
        .post(&format!("/order/{}/cancel", o["id"]), json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "order_not_cancellable".to_string())
    );
    assert_eq!(t.get("/account").await.data()["balance"], before);
}

#[tokio::test]
async fn absurd_balances_do_not_panic() {
    let t = T::default().await;
    for balance in [
        "-79228162514264337593543950335",
        "79228162514264337593543950335",
    ] {
        let r = t
            .control(
                "POST",
                "/__sandbox/balance",
                Some(json!({"balance": balance})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let o = t.order("svc_telegram", "cty_us").await;
    let r = t
        .post(&format!("/order/{}/cancel", o["id"]), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(t.get("/account").await.status, 200);
}

#[tokio::test]
async fn order_conflicts_and_choices() {
    let t = T::default().await;
    let (svc, cty) = nexotp_sandbox::NO_STOCK;
    let r = t
        .post("/order", json!({"service": svc, "country": cty}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "no_numbers_available".to_string())
    );
    let price = t
        .get("/price?service=svc_telegram&country=cty_us")
        .await
        .data();
    let pools = price["pools"].as_array().unwrap();
    assert!(pools.len() >= 2);
    assert_eq!(price["price"], pools[0]["price"]);
    let r = t
        .post(
            "/order",
            json!({"service": "svc_telegram", "country": "cty_us", "max_price": 0.01}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "max_price_exceeded".to_string())
    );
    let r = t
        .post(
            "/order",
            json!({"service": "svc_telegram", "country": "cty_us", "pool": "pool_z"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_parameter".to_string()));
    let r = t
        .post(
            "/order",
            json!({"service": "svc_nope", "country": "cty_us"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_parameter".to_string()));
    let best = t
        .post(
            "/order",
            json!({"service": "svc_telegram", "country": "cty_us", "pricing_option": 1}),
        )
        .await
        .data();
    assert_eq!(best["pool"], pools.last().unwrap()["id"]);
    let chosen = t
        .post(
            "/order",
            json!({"service": "svc_telegram", "country": "cty_us", "pool": "pool_b"}),
        )
        .await
        .data();
    assert_eq!(chosen["price"], pools[1]["price"]);
    t.sb.set_balance(rust_decimal::Decimal::ZERO);
    let r = t
        .post(
            "/order",
            json!({"service": "svc_telegram", "country": "cty_us"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (402, "insufficient_balance".to_string())
    );
    let services = t.get("/services?country=cty_de").await.data();
    let whatsapp = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "svc_whatsapp")
        .unwrap()
        .clone();
    assert_eq!(whatsapp["available"], 0);
    let r = t.get("/services?country=cty_zz").await;
    assert_eq!(r.code(), "invalid_parameter");
}

#[tokio::test]
async fn rate_limit_answers_429_with_headers() {
    let t = T::new(fast().rate_limit(Bucket::Poll, 2.0)).await;
    let o = t.order("svc_telegram", "cty_us").await;
    let path = format!("/order/{}", o["id"]);
    let a = t.get(&path).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("x-ratelimit-limit").as_deref(), Some("2"));
    assert_eq!(a.header("x-ratelimit-bucket").as_deref(), Some("POLL"));
    assert_eq!(t.get(&path).await.status, 200);
    let r = t.get(&path).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.code(), "rate_limited");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    let ms: u64 = r.header("retry-after-ms").unwrap().parse().unwrap();
    assert!(ms > 0 && ms <= 500, "{ms}");
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("0"));
    assert!(
        r.header("x-ratelimit-reset")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 1_700_000_000
    );
    assert_eq!(r.header("x-ratelimit-bucket").as_deref(), Some("POLL"));
    assert!(r.header("x-request-id").is_some());
    // Other buckets are not affected; the bucket refills.
    assert_eq!(t.get("/account").await.status, 200);
    tokio::time::sleep(Duration::from_millis(ms + 20)).await;
    assert_eq!(t.get(&path).await.status, 200);
    // The control endpoint removes the limit.
    t.control(
        "POST",
        "/__sandbox/rate",
        Some(json!({"bucket": "POLL", "per_second": null})),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(t.get(&path).await.status, 200);
    }
}

#[tokio::test]
async fn same_seed_same_world() {
    async fn world(seed: u64) -> Vec<String> {
        let t = T::new(fast().seed(seed).code_delay(Duration::from_millis(50))).await;
        let mut out = vec![t.get("/countries").await.text];
        for c in ["cty_us", "cty_de"] {
            out.push(
                t.get(&format!("/services?country={c}"))
                    .await
                    .data()
                    .to_string(),
            );
        }
        out.push(
            t.get("/price?service=svc_google&country=cty_in")
                .await
                .data()
                .to_string(),
        );
        let hook = t
            .post(
                "/webhooks",
                json!({"endpoint_url": "https://example.com/h", "events": ["order.created"]}),
            )
            .await
            .data();
        out.push(hook["secret"].to_string());
        let o = t.order("svc_telegram", "cty_us").await;
        out.push(o["phone"].to_string());
        let got = t.wait_order(&o["id"], |o| o["status"] == "received").await;
        out.push(got["code"].to_string());
        out
    }
    let a = world(7).await;
    let b = world(7).await;
    assert_eq!(a, b);
    let c = world(8).await;
    assert_ne!(a[2..], c[2..]);
    assert!(
        a[4].starts_with("\"whsec_") && a[4].len() == 6 + 32 + 2,
        "{}",
        a[4]
    );
}

#[tokio::test]
async fn json_escapes_slashes_and_control_state() {
    let t = T::default().await;
    let r = t
        .post(
            "/webhooks",
            json!({"endpoint_url": "https://example.com/a/b", "events": ["order.created"]}),
        )
        .await;
    assert!(
        r.text
            .contains(r#""endpoint_url":"https:\/\/example.com\/a\/b""#),
        "{}",
        r.text
    );
    let list = t.get("/webhooks").await;
    assert!(!list.text.contains("secret"), "{}", list.text);
    let state = t.control("GET", "/__sandbox/state", None).await.json();
    assert_eq!(state["balance"], "25.00");
    assert!(
        state["webhooks"][0]["secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_")
    );
}

#[tokio::test]
async fn request_log_redacts_the_key_and_skips_control() {
    let t = T::default().await;
    t.get("/account").await;
    t.post(
        "/order",
        json!({"service": "svc_telegram", "country": "cty_us"}),
    )
    .await;
    t.control("GET", "/__sandbox/state", None).await;
    let log = t.sb.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[0].header("x-nexotp-api-key"),
        Some(nexotp_sandbox::REDACTED)
    );
    assert_eq!(log[0].bucket, Some(Bucket::General));
    assert_eq!(log[0].status, Some(200));
    assert_eq!(log[1].bucket, Some(Bucket::Order));
    assert_eq!(log[1].method, "POST");
    assert_eq!(log[1].path, "/wp-json/nexotp/v1/order");
    assert!(log[1].body.contains("svc_telegram"));
    let json_log = t.control("GET", "/__sandbox/requests", None).await.json();
    assert_eq!(
        json_log[1]["headers"]["x-nexotp-api-key"],
        nexotp_sandbox::REDACTED
    );
    assert_eq!(json_log[1]["status"], 201);
    assert!(
        !t.control("GET", "/__sandbox/requests", None)
            .await
            .text
            .contains(t.sb.api_key())
    );
    t.control("DELETE", "/__sandbox/requests", None).await;
    assert!(t.sb.requests().is_empty());
}

#[tokio::test]
async fn control_endpoints_steer_the_world() {
    let t = T::new(Sandbox::builder().code_delay(Duration::from_secs(30))).await;
    let r = t
        .control(
            "POST",
            "/__sandbox/balance",
            Some(json!({"balance": "10.00"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(t.get("/account").await.data()["balance"], "10.00");
    let o = t.order("svc_telegram", "cty_us").await;
    let r = t
        .control(
            "POST",
            &format!("/__sandbox/orders/{}/code", o["id"]),
            Some(json!({"code": "123456"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = t.get(&format!("/order/{}", o["id"])).await.data();
    assert_eq!(
        (got["status"].clone(), got["code"].clone()),
        (json!("received"), json!("123456"))
    );
    let o2 = t.order("svc_telegram", "cty_us").await;
    let r = t
        .control(
            "POST",
            &format!("/__sandbox/orders/{}/expire", o2["id"]),
            None,
        )
        .await;
    assert_eq!(r.json()["status"], "expired");
    assert_eq!(
        t.control("POST", "/__sandbox/orders/99/expire", None)
            .await
            .status,
        404
    );
    t.control("POST", "/__sandbox/reset", None).await;
    assert_eq!(t.get("/account").await.data()["balance"], "25.00");
    assert_eq!(t.get("/order/5001").await.code(), "order_not_found");
    assert_eq!(t.order("svc_telegram", "cty_us").await["id"], 5001);
    assert_eq!(t.control("GET", "/__sandbox/nope", None).await.status, 404);
}

#[tokio::test]
async fn garbage_bodies_on_every_endpoint() {
    let t = T::default().await;
    t.order("svc_telegram", "cty_us").await;
    let endpoints = [
        ("GET", "/account/transactions"),
        ("GET", "/services"),
        ("GET", "/price"),
        ("POST", "/order"),
        ("GET", "/order/5001"),
        ("POST", "/order/5001/cancel"),
        ("POST", "/order/5001/resend"),
        ("POST", "/webhooks"),
        ("DELETE", "/webhooks/1"),
    ];
    let values = [
        "null",
        "true",
        "-1",
        "0",
        "1e999",
        "1e-999",
        "-0",
        "1.5",
        "\"\"",
        "\" 1\"",
        "\"1e400\"",
        "\"abc\"",
        "[]",
        "[1]",
        "{}",
        "99999999999999999999999999",
        "\"http://localhost:1/x\"",
        "\"ftp://a\"",
        "\"a b,c\"",
    ];
    let names = [
        "id",
        "page",
        "per_page",
        "service",
        "country",
        "pool",
        "pricing_option",
        "max_price",
        "endpoint_url",
        "events",
    ];
    let mut rng = fastrand::Rng::with_seed(99);
    for (m, p) in endpoints {
        for _ in 0..25 {
            let mut fields = Vec::new();
            for n in names {
                if rng.bool() {
                    fields.push(format!("\"{n}\":{}", values[rng.usize(..values.len())]));
                }
            }
            let body = format!("{{{}}}", fields.join(","));
            let r = t
                .send(
                    t.req(m, p)
                        .header("Content-Type", "application/json")
                        .body(body.clone()),
                )
                .await;
            assert!(
                [200, 201, 400, 402, 404, 409].contains(&r.status),
                "{m} {p} {body}: {} {}",
                r.status,
                r.text
            );
            assert!(serde_json::from_str::<Value>(&r.text).is_ok());
            let query: Vec<String> = names
                .iter()
                .map(|n| format!("{n}={}", rng.u32(..)))
                .collect();
            let r = t.send(t.req(m, &format!("{p}?{}", query.join("&")))).await;
            assert!(r.status < 500, "{m} {p}: {}", r.text);
        }
    }
    assert_eq!(t.get("/account").await.status, 200);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let t = T::default().await;
    let url = t.url("/account");
    assert_eq!(t.get("/account").await.status, 200);
    let common::T { sb, http } = t;
    sb.shutdown().await;
    assert!(http.get(url.clone()).send().await.is_err());
    // Dropping a handle stops it too.
    let sb = Sandbox::builder().start().await.unwrap();
    let url = format!("{}account", sb.base_url());
    drop(sb);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(http.get(url).send().await.is_err());
}

#[tokio::test]
async fn garbage_never_breaks_the_server() {
    let t = T::default().await;
    let mut rng = fastrand::Rng::with_seed(1234);
    let methods = ["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD"];
    let pieces = [
        "order",
        "5001",
        "cancel",
        "resend",
        "webhooks",
        "account",
        "transactions",
        "%00",
        "%ff",
        "..",
        "",
        "ü",
        "%2F",
        "999999999999999999999999",
        "-1",
        "1e5",
        "price",
        "services",
        "countries",
        "__sandbox",
        "?_method=DELETE",
    ];
    let bodies = [
        "",
        "{",
        "[]",
        "null",
        "1",
        "\"x\"",
        r#"{"id":"abc"}"#,
        r#"{"id":[1]}"#,
        r#"{"service":{},"country":[]}"#,
        r#"{"events":[1,2]}"#,
        r#"{"max_price":1e999}"#,
        r#"{"pricing_option":"1e400"}"#,
        r#"{"id":1e300}"#,
        r#"{"endpoint_url":"http://[::1]:1/x","events":"a,b"}"#,
        "\u{0}\u{1}\u{2}",
    ];
    for i in 0..300 {
        let depth = rng.usize(0..5);
        let mut path = String::new();
        for _ in 0..depth {
            path.push('/');
            path.push_str(pieces[rng.usize(..pieces.len())]);
        }
        let method = methods[rng.usize(..methods.len())];
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = t.http.request(
            m,
            format!("{}{}", t.sb.base_url().trim_end_matches('/'), path),
        );
        if rng.bool() {
            rb = rb.header("X-NexOTP-API-Key", t.sb.api_key());
        }
        if rng.bool() {
            rb = rb.header("Content-Type", "application/json");
        }
        if rng.u8(..) < 30 {
            rb = rb.header(
                "X-HTTP-Method-Override",
                methods[rng.usize(..methods.len())],
            );
        }
        rb = rb.body(bodies[rng.usize(..bodies.len())]);
        let r = t
            .try_send(rb)
            .await
            .unwrap_or_else(|e| panic!("request {i} {method} {path}: {e}"));
        assert!(
            [200, 201, 400, 401, 402, 404, 409].contains(&r.status),
            "{method} {path} -> {} {}",
            r.status,
            r.text
        );
        if method != "HEAD" {
            assert!(
                serde_json::from_str::<Value>(&r.text).is_ok(),
                "{method} {path}: {}",
                r.text
            );
        }
    }
    // Garbage on the control endpoints too.
    for (m, p, b) in [
        ("POST", "/__sandbox/faults", "{\"script\":7}"),
        ("POST", "/__sandbox/rate", "[]"),
        ("POST", "/__sandbox/balance", "{"),
    ] {
        let meth = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
        let r = t.send(t.http.request(meth, t.root(p)).body(b)).await;
        assert_eq!(r.status, 400, "{p}: {}", r.text);
    }
    assert_eq!(t.get("/account").await.status, 200);
}

//! Each fault kind, scripted and random, set from Rust and through the control endpoint: the
//! answer on the wire and whether the request took effect (order created, wallet debited).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use common::{T, fast};
use nexotp_sandbox::{FaultKind, Faults, ScriptedFault};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn order_body() -> String {
    json!({"service": "svc_telegram", "country": "cty_us"}).to_string()
}

async fn post_order(t: &T) -> Result<common::Resp, reqwest::Error> {
    t.try_send(
        t.req("POST", "/order")
            .header("Content-Type", "application/json")
            .body(order_body()),
    )
    .await
}

fn orders_in_state(t: &T) -> usize {
    t.sb.state()["orders"].as_array().unwrap().len()
}

#[tokio::test]
async fn drop_applies_the_request_then_closes_the_connection() {
    let t = T::default().await;
    t.sb.set_faults(
        Faults::default().then(ScriptedFault::new(FaultKind::Drop).matching("POST /order")),
    );
    // Not matching: answered normally, the script stays.
    assert_eq!(t.get("/account").await.status, 200);
    let err = post_order(&t)
        .await
        .err()
        .expect("the connection is dropped");
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    let state = t.control("GET", "/__sandbox/state", None).await.json();
    assert_eq!(
        state["orders"].as_array().unwrap().len(),
        1,
        "the order WAS created"
    );
    assert_eq!(state["orders"][0]["id"], 5001);
    // Consumed: the next one works and is 5002.
    assert_eq!(post_order(&t).await.unwrap().data()["id"], 5002);
    let log = t.sb.requests();
    let dropped = log
        .iter()
        .find(|r| r.method == "POST" && r.status.is_none());
    assert!(dropped.is_some(), "{log:?}");
}

#[tokio::test]
async fn drop_before_apply_creates_nothing() {
    let t = T::default().await;
    t.sb.set_faults(Faults::default().then(ScriptedFault::new(FaultKind::DropBeforeApply)));
    assert!(post_order(&t).await.is_err());
    assert_eq!(orders_in_state(&t), 0);
    assert_eq!(post_order(&t).await.unwrap().status, 201);
}

#[tokio::test]
async fn status_faults_via_control_endpoint() {
    let t = T::default().await;
    let r = t
        .control(
            "POST",
            "/__sandbox/faults",
            Some(json!({"script": [
                {"match": "GET /order/*", "fault": "status", "status": 429, "retry_after": "1"},
                {"match": "POST /order", "fault": "status", "status": 503},
                {"fault": "status", "status": 502, "envelope": false},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = t.get("/order/5001").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "rate_limited");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    let r = post_order(&t).await.unwrap();
    assert_eq!(
        (r.status, r.code()),
        (503, "service_unavailable".to_string())
    );
    assert_eq!(r.json()["success"], false);
    assert_eq!(orders_in_state(&t), 0, "a status fault is not applied");
    let r = t.get("/countries").await;
    assert_eq!(r.status, 502);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text.contains("<h1>502 Bad Gateway</h1>"), "{}", r.text);
    // Script exhausted.
    assert_eq!(t.get("/countries").await.status, 200);
    assert!(t.sb.faults().script.is_empty());
    // A single fault object is accepted too.
    t.control(
        "POST",
        "/__sandbox/faults",
        Some(json!({"fault": "html500"})),
    )
    .await;
    let r = t.get("/account").await;
    assert_eq!(r.status, 500);
    assert!(r.text.contains("critical error"));
}

#[tokio::test]
async fn malformed_applies_and_answers_invalid_json() {
    let t = T::default().await;
    t.sb.set_faults(
        Faults::default().then(ScriptedFault::new(FaultKind::Malformed).matching("POST /order")),
    );
    let r = post_order(&t).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<Value>(&r.text).is_err(),
        "{}",
        r.text
    );
    assert_eq!(orders_in_state(&t), 1);
}

#[tokio::test]
async fn delay_and_latency() {
    let t = T::new(fast().faults(Faults {
        latency_ms: 50,
        ..Faults::default()
    }))
    .await;
    let start = Instant::now();
    assert_eq!(t.get("/account").await.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(50));
    t.sb.set_faults(
        Faults::default().then(ScriptedFault::new(FaultKind::Delay { ms: 150 }).times(2)),
    );
    let start = Instant::now();
    assert_eq!(t.get("/account").await.status, 200);
    assert_eq!(t.get("/account").await.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    let start = Instant::now();
    assert_eq!(t.get("/account").await.status, 200);
    assert!(start.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn random_faults_follow_their_rates() {
    let t = T::new(fast().faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    }))
    .await;
    for _ in 0..5 {
        let r = t.get("/account").await;
        assert_eq!(
            (r.status, r.code()),
            (503, "service_unavailable".to_string())
        );
    }
    // Control endpoints are never faulted.
    assert_eq!(t.control("GET", "/__sandbox/state", None).await.status, 200);
    t.sb.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    assert!(t.try_send(t.req("GET", "/account")).await.is_err());
    t.sb.set_faults(Faults {
        malformed_rate: 1.0,
        ..Faults::default()
    });
    let r = t.get("/account").await;
    assert!(serde_json::from_str::<Value>(&r.text).is_err());
    // A mix, seeded: about half fail.
    t.sb.set_faults(Faults {
        error_rate: 0.5,
        ..Faults::default()
    });
    let mut failed = 0;
    for _ in 0..100 {
        if t.get("/account").await.status == 503 {
            failed += 1;
        }
    }
    assert!((25..=75).contains(&failed), "{failed}");
    // Reset restores the faults given at start (error_rate 1.0 here).
    t.sb.reset();
    assert_eq!(t.get("/account").await.status, 503);
    t.control("DELETE", "/__sandbox/faults", None).await;
    assert_eq!(t.get("/account").await.status, 200);
}

// ---- Faults that imitate WordPress behind nginx / Cloudflare ----

const WP_FATAL_JSON: &str = r#"{"code":"internal_server_error","message":"<p>There has been a critical error on this website.<\/p><p><a href=\"https:\/\/wordpress.org\/documentation\/article\/faq-troubleshooting\/\">Learn more about troubleshooting WordPress.<\/a><\/p>","data":{"status":500},"additional_errors":[]}"#;

const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// Sets a one-entry script through the control endpoint (the JSON form under test).
async fn script(t: &T, fault: Value) {
    let r = t.control("POST", "/__sandbox/faults", Some(fault)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The balance and the number of orders: what "applied" changes.
fn effect(t: &T) -> (Decimal, usize) {
    (t.sb.balance(), t.sb.orders_count())
}

/// The price of the order just created (the last one).
fn last_price(t: &T) -> Decimal {
    let state = t.sb.state();
    let orders = state["orders"].as_array().expect("orders");
    let price = orders.last().expect("an order")["price"]
        .as_str()
        .expect("a price string");
    price.parse().expect("a decimal price")
}

#[tokio::test]
async fn wp_internal_error_applies_then_answers_wordpress_fatal_json() {
    let t = T::default().await;
    let (balance, _) = effect(&t);
    script(
        &t,
        json!({"match": "POST /order", "fault": "wp_internal_error"}),
    )
    .await;
    let r = post_order(&t).await.expect("an answer");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=UTF-8")
    );
    assert_eq!(r.text, WP_FATAL_JSON);
    assert_eq!(
        r.header("x-request-id"),
        None,
        "a PHP fatal sends no plugin header"
    );
    // Applied: the order exists and was paid for.
    assert_eq!(t.sb.orders_count(), 1);
    assert_eq!(t.sb.balance(), balance - last_price(&t));
    assert_eq!(t.sb.stats().faults_of("wp_internal_error"), 1);
}

#[tokio::test]
async fn status_after_apply_replaces_the_real_answer() {
    let t = T::default().await;
    let (balance, _) = effect(&t);
    script(
        &t,
        json!({"match": "POST /order", "fault": "status", "status": 503, "after_apply": true}),
    )
    .await;
    let r = post_order(&t).await.expect("an answer");
    assert_eq!((r.status, r.code()), (503, "service_unavailable".into()));
    assert_eq!(r.json()["success"], false);
    assert_eq!(t.sb.orders_count(), 1, "after_apply: the order WAS created");
    assert_eq!(t.sb.balance(), balance - last_price(&t));

    // An nginx 502 page after the order went through.
    script(
        &t,
        json!({"fault": "status", "status": 502, "envelope": false, "after_apply": true}),
    )
    .await;
    let r = post_order(&t).await.expect("an answer");
    assert_eq!(r.status, 502);
    assert_eq!(r.text, NGINX_502);
    assert_eq!(r.header("content-type").as_deref(), Some("text/html"));
    assert_eq!(r.header("server").as_deref(), Some("nginx"));
    assert_eq!(r.header("x-request-id"), None);
    assert_eq!(t.sb.orders_count(), 2);

    // Default (after_apply false): nothing happens.
    let before = effect(&t);
    script(
        &t,
        json!({"fault": "status", "status": 504, "envelope": false}),
    )
    .await;
    let r = post_order(&t).await.expect("an answer");
    assert_eq!(r.status, 504);
    assert!(
        r.text.contains("<title>504 Gateway Time-out</title>"),
        "{}",
        r.text
    );
    assert_eq!(effect(&t), before);
}

/// `GET path` under a `status` fault with `envelope: false`.
async fn html_fault(t: &T, status: u16, path: &str) -> common::Resp {
    script(
        t,
        json!({"fault": "status", "status": status, "envelope": false}),
    )
    .await;
    let r = t.get(path).await;
    assert_eq!(r.status, status);
    r
}

#[tokio::test]
async fn html_pages_fit_the_status() {
    let t = T::default().await;
    for (status, needle) in [
        (503, "<h1>503 Service Temporarily Unavailable</h1>"),
        (429, "<h1>429 Too Many Requests</h1>"),
        (500, "There has been a critical error on this website."),
        (418, "There has been a critical error on this website."),
    ] {
        let r = html_fault(&t, status, "/account").await;
        assert!(r.text.contains(needle), "{status}: {}", r.text);
        let content_type = r.header("content-type").expect("a content type");
        assert!(content_type.starts_with("text/html"));
    }
    for (status, title) in [
        (520, "520: Web server is returning an unknown error"),
        (521, "521: Web server is down"),
        (522, "522: Connection timed out"),
        (523, "523: Origin is unreachable"),
        (524, "524: A timeout occurred"),
    ] {
        let r = html_fault(&t, status, "/countries").await;
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/html; charset=UTF-8")
        );
        assert_eq!(r.header("server").as_deref(), Some("cloudflare"));
        let ray = r.header("cf-ray").expect("a CF-RAY header");
        let ray = ray.strip_suffix("-FRA").expect("a colo suffix");
        assert!(
            r.text
                .contains(&format!("<title>127.0.0.1 | {title}</title>")),
            "{}",
            r.text
        );
        assert!(r.text.contains(&format!(
            "Cloudflare Ray ID: <strong class=\"font-semibold\">{ray}</strong>"
        )));
    }
}

#[tokio::test]
async fn status_body_is_sent_verbatim() {
    let t = T::default().await;
    script(
        &t,
        json!({"fault": "status", "status": 502, "body": "upstream said no", "content_type": "text/plain"}),
    )
    .await;
    let r = t.get("/account").await;
    assert_eq!((r.status, r.text.as_str()), (502, "upstream said no"));
    assert_eq!(r.header("content-type").as_deref(), Some("text/plain"));
    // A JSON body defaults to the JSON type; after_apply still applies the request.
    let (balance, _) = effect(&t);
    script(
        &t,
        json!({"fault": "status", "status": 500, "body": "{\"oops\":1}", "after_apply": true}),
    )
    .await;
    let r = post_order(&t).await.expect("an answer");
    assert_eq!((r.status, r.text.as_str()), (500, "{\"oops\":1}"));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=UTF-8")
    );
    assert_eq!(t.sb.orders_count(), 1);
    assert_eq!(t.sb.balance(), balance - last_price(&t));
}

#[tokio::test]
async fn status_200_with_success_false_is_an_error_envelope() {
    let t = T::default().await;
    let before = effect(&t);
    script(
        &t,
        json!({"match": "POST /order", "fault": "status", "status": 200, "code": "insufficient_balance"}),
    )
    .await;
    let r = post_order(&t).await.expect("an answer");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["success"], false);
    assert_eq!(v["error"]["code"], "insufficient_balance");
    assert!(v["error"]["message"].is_string());
    assert!(v["error"]["details"].is_object());
    let rid = v["meta"]["request_id"].as_str().expect("a request id");
    assert_eq!(r.header("x-request-id").as_deref(), Some(rid));
    assert_eq!(effect(&t), before, "not applied");
}

#[tokio::test]
async fn retry_after_is_sent_verbatim() {
    let t = T::default().await;
    for value in ["0", "Wed, 21 Oct 2015 07:28:00 GMT", "120"] {
        script(
            &t,
            json!({"fault": "status", "status": 429, "retry_after": value}),
        )
        .await;
        let r = post_order(&t).await.expect("an answer");
        assert_eq!((r.status, r.code()), (429, "rate_limited".into()));
        assert_eq!(r.header("retry-after").as_deref(), Some(value));
        assert_eq!(r.header("retry-after-ms"), None);
    }
    assert_eq!(t.sb.orders_count(), 0);
}

#[tokio::test]
async fn slow_after_apply_creates_the_order_before_the_client_gives_up() {
    let t = T::default().await;
    let (balance, _) = effect(&t);
    script(
        &t,
        json!({"match": "POST /order", "fault": "slow_after_apply", "ms": 600}),
    )
    .await;
    let started = Instant::now();
    let Err(err) = post_order_within(&t, Duration::from_millis(150)).await else {
        panic!("the client should time out");
    };
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(550));
    assert_eq!(t.sb.orders_count(), 1, "created before the wait");
    assert_eq!(t.sb.balance(), balance - last_price(&t));
    // A patient client gets the real answer, late.
    script(&t, json!({"fault": "slow_after_apply", "ms": 200})).await;
    let started = Instant::now();
    let r = post_order(&t).await.expect("an answer");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(r.status, 201);
    assert_eq!(r.data()["id"], 5002);
    let log = t.sb.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[0].status,
        Some(201),
        "logged with what it would have sent"
    );
}

async fn post_order_within(t: &T, timeout: Duration) -> Result<common::Resp, reqwest::Error> {
    t.try_send(
        t.req("POST", "/order")
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .body(order_body()),
    )
    .await
}

#[tokio::test]
async fn truncate_cuts_a_webhook_secret_in_half() {
    let t = T::default().await;
    let hook = json!({"endpoint_url": "https://example.com/hook", "events": ["order.created"]});
    let whole = t.post("/webhooks", hook.clone()).await;
    assert_eq!(whole.status, 201);
    // The second webhook's answer has the same layout: cut 10 bytes into its secret.
    let cut = whole.text.find("\"secret\":\"whsec_").expect("a secret") + 20;
    script(
        &t,
        json!({"match": "POST /webhooks", "fault": "truncate", "bytes": cut}),
    )
    .await;
    let r = t.post("/webhooks", hook).await;
    assert_eq!(r.status, 201, "the real status");
    assert_eq!(r.text.len(), cut);
    assert_eq!(r.header("content-length"), Some(cut.to_string()));
    assert!(r.header("x-request-id").is_some(), "the real headers");
    assert!(serde_json::from_str::<Value>(&r.text).is_err());
    let partial = r
        .text
        .rsplit("\"secret\":\"")
        .next()
        .expect("a partial secret");
    assert_eq!(partial.len(), 10);
    // Applied: the webhook exists, with a secret that starts with what was sent.
    let state = t.sb.state();
    let hooks = state["webhooks"].as_array().expect("webhooks");
    assert_eq!(hooks.len(), 2);
    let secret = hooks[1]["secret"].as_str().expect("a secret");
    assert!(secret.starts_with(partial));

    // Without `bytes`: half of the real body.
    let full = t.get("/account").await.text;
    script(&t, json!({"fault": "truncate"})).await;
    let r = t.get("/account").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text.len(), full.len() / 2);
    assert_eq!(r.text, full[..full.len() / 2]);
}

#[tokio::test]
async fn instant_code_answers_with_the_code_already_there() {
    let t = T::new(fast().code_delay(Duration::from_secs(60))).await;
    let (balance, _) = effect(&t);
    script(&t, json!({"fault": "instant_code", "times": 3})).await;
    let r = post_order(&t).await.expect("an answer");
    assert_eq!(r.status, 201);
    let order = r.data();
    assert_eq!(order["status"], "received");
    let first = order["code"].as_str().expect("a code").to_string();
    assert_eq!(first.len(), 6);
    assert_eq!(order["codes"], json!([first]));
    assert_eq!(order["sms"], format!("Your code is {first}"));
    assert_eq!(t.sb.balance(), balance - last_price(&t));
    assert_eq!(t.sb.state()["orders"][0]["code"], first);

    // A resend answers with the next code.
    let r = t.post("/order/5001/resend", json!({})).await;
    assert_eq!(r.status, 200);
    let order = r.data();
    assert_eq!(order["status"], "received");
    let second = order["code"].as_str().expect("a code");
    assert_ne!(second, first);
    assert_eq!(order["codes"], json!([first, second]));

    // Any other request: answered normally (the fault is consumed all the same).
    let r = t.get("/account").await;
    assert_eq!(r.status, 200);
    assert!(t.sb.faults().script.is_empty());
    assert_eq!(t.sb.stats().faults_of("instant_code"), 3);
}

#[tokio::test]
async fn every_fault_works_on_every_kind_of_endpoint() {
    let t = T::default().await;
    // (fault, expected status or None for a dropped connection)
    let faults = [
        (json!({"fault": "status", "status": 503}), Some(503)),
        (
            json!({"fault": "status", "status": 524, "envelope": false, "after_apply": true}),
            Some(524),
        ),
        (json!({"fault": "wp_internal_error"}), Some(500)),
        (json!({"fault": "drop"}), None),
        (json!({"fault": "drop_before_apply"}), None),
        (json!({"fault": "html500"}), Some(500)),
    ];
    let webhook = json!({"endpoint_url": "https://example.com/h", "events": ["order.created"]});
    for (fault, want) in faults {
        for (method, path, body) in [
            ("GET", "/account", None),
            ("GET", "/order/5001", None),
            ("POST", "/webhooks", Some(webhook.clone())),
            ("DELETE", "/webhooks/99", None),
            ("POST", "/order/5001/cancel", Some(json!({}))),
            ("GET", "/no/such/route", None),
        ] {
            script(&t, fault.clone()).await;
            let mut rb = t.req(method, path);
            if let Some(b) = body {
                rb = rb
                    .header("Content-Type", "application/json")
                    .body(b.to_string());
            }
            let got = t.try_send(rb).await.ok().map(|r| r.status);
            assert_eq!(got, want, "{fault} on {method} {path}");
        }
    }
    // The ones that keep the real status.
    for fault in [
        json!({"fault": "truncate", "bytes": 5}),
        json!({"fault": "slow_after_apply", "ms": 1}),
        json!({"fault": "delay", "ms": 1}),
        json!({"fault": "instant_code"}),
    ] {
        for (path, want) in [("/countries", 200), ("/order/777", 404), ("/nope", 404)] {
            script(&t, fault.clone()).await;
            assert_eq!(t.get(path).await.status, want, "{fault} on {path}");
        }
    }
    assert!(t.sb.faults().script.is_empty());
}

/// Sends `n` `GET /account` one after the other over plain keep-alive HTTP/1.1 (cheaper than
/// reqwest in a debug build; a new connection after each drop) and returns what the sandbox
/// answered, in order, and its fault counts.
async fn random_run(seed: u64, n: usize) -> (Vec<Option<u16>>, BTreeMap<String, u64>) {
    let table = json!({"random": [
        {"rate": 0.2, "match": "GET /**", "fault": "status", "status": 503},
        {"rate": 0.1, "fault": "malformed"},
        {"rate": 0.05, "fault": "drop"},
        {"rate": 0.3, "match": "POST /order", "fault": "wp_internal_error"},
    ]});
    let faults: Faults = serde_json::from_value(table).expect("a Faults object");
    let t = T::new(fast().seed(seed).faults(faults)).await;
    let request = format!(
        "GET {}account HTTP/1.1\r\nHost: {}\r\nX-NexOTP-API-Key: {}\r\n\r\n",
        nexotp_sandbox::API_PREFIX.to_string() + "/",
        t.sb.addr(),
        t.sb.api_key()
    );
    let mut conn = None;
    for _ in 0..n {
        let stream = match conn.take() {
            Some(s) => s,
            None => BufReader::new(TcpStream::connect(t.sb.addr()).await.expect("connect")),
        };
        conn = raw_exchange(stream, request.as_bytes()).await;
    }
    let statuses = t.sb.requests().iter().map(|r| r.status).collect();
    (statuses, t.sb.stats().faults)
}

/// One request and its answer on a keep-alive connection; `None` when the server closed it.
async fn raw_exchange(
    mut stream: BufReader<TcpStream>,
    request: &[u8],
) -> Option<BufReader<TcpStream>> {
    stream.get_mut().write_all(request).await.ok()?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_table_is_seeded_and_follows_its_rates() {
    const N: usize = 2000;
    let (a, b, c) = tokio::join!(random_run(7, N), random_run(7, N), random_run(8, 300));
    let (seq, counts) = a;
    assert_eq!(seq.len(), N);
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    // Expected 400 / 200 / 100 of 2000; the bands are about 4 standard deviations wide.
    assert!((320..=480).contains(&count("status")), "{counts:?}");
    assert!((140..=260).contains(&count("malformed")), "{counts:?}");
    assert!((60..=140).contains(&count("drop")), "{counts:?}");
    assert_eq!(count("wp_internal_error"), 0, "its match never fits a GET");
    // What the wire saw agrees with the counts.
    let seen = |s: Option<u16>| seq.iter().filter(|x| **x == s).count() as u64;
    assert_eq!(seen(Some(503)), count("status"));
    assert_eq!(seen(None), count("drop"));
    // The same seed gives the same faults on the same requests; another seed does not.
    assert_eq!((&seq, &counts), (&b.0, &b.1));
    assert_ne!(seq[..300], c.0);
}

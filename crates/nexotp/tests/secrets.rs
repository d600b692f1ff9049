//! The API key and webhook secrets never show in Debug output, error text or request records.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use nexotp::{ApiKey, Client, OrderRequest};
use nexotp_sandbox::FaultKind;

fn assert_clean(what: &str, text: &str) {
    for secret in [KEY, "SUPERSECRET"] {
        assert!(!text.contains(secret), "{what} shows the key: {text}");
    }
}

#[tokio::test]
async fn the_key_never_shows_in_debug() {
    let (sb, client) = setup().await;
    client.account().await.expect("the key works");
    assert_eq!(sb.requests()[0].status, Some(200));

    assert_clean("Client", &format!("{client:?} {client:#?}"));
    assert_clean("ClientConfig", &format!("{:?}", client.config()));
    assert_eq!(client.config().api_key.expose(), KEY, "kept, only hidden");
    let builder = Client::builder().api_key(KEY).base_url(sb.base_url());
    assert_clean("ClientBuilder", &format!("{builder:?} {builder:#?}"));
    let key = ApiKey::new(KEY).expect("key");
    assert_clean("ApiKey", &format!("{key:?} {key}"));
    let sibling = client
        .with_options(
            nexotp::RequestOptions::new()
                .timeout(Duration::from_secs(1))
                .max_retries(0),
        )
        .expect("sibling");
    assert_clean("with_options client", &format!("{sibling:?}"));
}

#[tokio::test]
async fn the_key_never_shows_in_errors_or_records() {
    let sb = sandbox().start().await.expect("sandbox");
    let attempts = Arc::new(Attempts::default());
    let client = client_builder(&sb)
        .observer(attempts.clone())
        .timeout(Duration::from_millis(300))
        .max_retries(0)
        .build()
        .expect("client");
    let mut errors = Vec::new();

    errors.push(client.order("999999").await.expect_err("not found"));
    sb.set_faults(script("GET /account", FaultKind::Delay { ms: 1000 }, 1));
    errors.push(client.account().await.expect_err("timeout"));
    sb.set_faults(script("POST /order", FaultKind::Drop, 1));
    errors.push(
        client
            .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
            .await
            .expect_err("outcome unknown"),
    );
    sb.set_faults(script("GET /countries", FaultKind::Html500, 1));
    errors.push(client.countries().await.expect_err("server"));
    sb.set_faults(script("GET /countries", FaultKind::Malformed, 1));
    errors.push(client.countries().await.expect_err("unexpected"));
    sb.set_faults(script(
        "GET /webhooks",
        status_fault(429, Some("90"), true, None),
        1,
    ));
    errors.push(client.webhooks().await.expect_err("rate limited"));
    errors.push(client.transactions(0, 1).await.expect_err("invalid"));

    let port = closed_port().await;
    let refused = Client::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}/"))
        .max_retries(0)
        .log_from_env(false)
        .build()
        .expect("client");
    errors.push(refused.account().await.expect_err("connection"));

    let wrong = Client::builder()
        .api_key("sk_test_SUPERSECRET_999")
        .base_url(sb.base_url())
        .log_from_env(false)
        .build()
        .expect("client");
    errors.push(wrong.account().await.expect_err("auth"));

    for bad in ["sk_test SUPERSECRET_123", "sk_test_SUPERSECRET_\u{e9}"] {
        let err = Client::builder()
            .api_key(bad)
            .base_url(sb.base_url())
            .build()
            .expect_err("bad key");
        errors.push(err);
    }

    let kinds: Vec<_> = errors.iter().map(|e| e.kind()).collect();
    use nexotp::ErrorKind::*;
    assert_eq!(
        kinds,
        [
            NotFound,
            Timeout,
            OrderOutcomeUnknown,
            Server,
            UnexpectedResponse,
            RateLimit,
            InvalidArgument,
            Connection,
            Authentication,
            InvalidArgument,
            InvalidArgument
        ]
    );
    for err in &errors {
        assert_clean(err.kind().class_name(), &renderings(err));
    }
    let records = attempts.all();
    assert!(records.len() >= 6);
    for record in &records {
        assert_clean("RequestRecord", &format!("{record:?} {}", record.to_line()));
    }
    // The sandbox saw the key header on every request (and redacts it in its log).
    assert!(
        sb.requests()
            .iter()
            .all(|r| r.header("x-nexotp-api-key") == Some(nexotp_sandbox::REDACTED))
    );
}

#[tokio::test]
async fn webhook_secrets_never_show() {
    let (sb, client) = setup().await;
    let hook = client
        .create_webhook("https://example.com/h", &["order.created"])
        .await
        .expect("create");
    let secret = hook.secret.clone().expect("secret");
    let state_secret = sb.state()["webhooks"][0]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert_eq!(secret.expose(), state_secret);
    let shown = format!("{hook:?} {hook:#?} {secret:?} {secret} {}", hook.raw);
    assert!(!shown.contains(&state_secret), "{shown}");

    let body = br#"{"id":"evt_1","type":"order.created","created_at":1,"data":{}}"#;
    let header = nexotp::webhook::sign(body, secret.expose(), 1).expect("signs");
    let err = nexotp::webhook::verify(body, &header, secret.expose(), Duration::from_secs(300))
        .expect_err("stale");
    assert!(!renderings(&err).contains(&state_secret));
    let err = nexotp::webhook::verify(
        b"{}",
        &header,
        &format!("{}\n", secret.expose()),
        Duration::from_secs(300),
    )
    .expect_err("whitespace");
    assert!(!renderings(&err).contains(&state_secret));
}

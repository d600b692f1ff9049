//! Every error class of `nexotp::ErrorKind`, reached through the real client, with
//! `is_retryable`, `status`, `code` and `request_id`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nexotp::{Client, ErrorKind, OrderRequest};
use nexotp_sandbox::FaultKind;
use serde_json::json;

#[tokio::test]
async fn invalid_argument() {
    let (sb, client) = setup().await;
    let err = client.transactions(0, 20).await.expect_err("page 0");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(matches!(
        err,
        nexotp::Error::InvalidArgument {
            argument: "page",
            ..
        }
    ));
    assert!(!err.is_retryable());
    assert_eq!(
        (err.status(), err.code(), err.request_id()),
        (None, None, None)
    );
    assert!(sb.requests().is_empty());
}

#[tokio::test]
async fn authentication_with_a_wrong_key() {
    let sb = sandbox().start().await.expect("sandbox");
    let client = Client::builder()
        .api_key("sk_test_WRONG_456")
        .base_url(sb.base_url())
        .log_from_env(false)
        .build()
        .expect("client");
    let err = client.account().await.expect_err("wrong key");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), Some("rest_forbidden"));
    assert!(!err.is_retryable());
    assert_eq!(sb.requests().len(), 1, "401 is not retried");
    assert!(!format!("{err} {err:?}").contains("WRONG_456"));
}

#[tokio::test]
async fn permission_denied_from_a_403_envelope() {
    let (sb, client) = setup().await;
    sb.set_faults(script(
        "GET /account",
        status_fault(403, None, true, Some("forbidden")),
        1,
    ));
    let err = client.account().await.expect_err("403");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.code(), Some("forbidden"));
    assert!(err.request_id().is_some_and(|id| id.starts_with("req_")));
    assert!(!err.is_retryable());
    assert_eq!(sb.requests().len(), 1);
}

#[tokio::test]
async fn not_found_for_an_unknown_order() {
    let (sb, client) = setup().await;
    let err = client.order("999999").await.expect_err("unknown");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some("order_not_found"));
    assert!(err.request_id().is_some_and(|id| id.starts_with("req_")));
    let api = err.api_error().expect("api error");
    assert_eq!(api.details["order_id"], json!(999999));
    assert!(!err.is_retryable());
    assert_eq!(requests_to(&sb, "GET", "/order/999999").len(), 1);
}

#[tokio::test]
async fn invalid_request_for_an_unknown_pool() {
    let (sb, client) = setup().await;
    let err = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us").pool("pool_zz"))
        .await
        .expect_err("unknown pool");
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("invalid_parameter"));
    assert_eq!(
        err.api_error().map(|a| &a.details["param"]),
        Some(&json!("pool"))
    );
    assert!(orders(&sb).is_empty());
    assert_eq!(sb.balance(), dec("25.00"));
}

#[tokio::test]
async fn invalid_request_wordpress_shape_keeps_params() {
    let body = r#"{"code":"rest_invalid_param","message":"Invalid parameter(s): per_page","data":{"status":400,"params":{"per_page":"per_page must be between 1 (inclusive) and 100 (inclusive)"},"details":{"per_page":{"code":"rest_out_of_bounds","message":"per_page must be between 1 (inclusive) and 100 (inclusive)","data":null}}}}"#;
    let server =
        TinyServer::start(Canned::json(400, body).header("X-Request-Id", "req_wp_1")).await;
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.url.as_str())
        .log_from_env(false)
        .build()
        .expect("client");
    let err = client.transactions(1, 50).await.expect_err("400");
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("rest_invalid_param"));
    assert_eq!(err.request_id(), Some("req_wp_1"), "from X-Request-Id");
    let api = err.api_error().expect("api error");
    assert_eq!(
        api.params.get("per_page").map(String::as_str),
        Some("per_page must be between 1 (inclusive) and 100 (inclusive)")
    );
    assert_eq!(api.details["per_page"]["code"], json!("rest_out_of_bounds"));
    assert!(err.to_string().contains("per_page must be between"));
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn insufficient_balance() {
    let (sb, client) = setup().await;
    sb.set_balance(dec("0"));
    let err = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect_err("no money");
    assert_eq!(err.kind(), ErrorKind::InsufficientBalance);
    assert_eq!(err.status(), Some(402));
    assert_eq!(err.code(), Some("insufficient_balance"));
    assert!(!err.is_retryable());
    assert!(orders(&sb).is_empty());
    assert_eq!(sb.balance(), dec("0"));
}

#[tokio::test]
async fn conflicts() {
    let (sb, client) = setup().await;
    let (service, country) = nexotp_sandbox::NO_STOCK;
    let err = client
        .create_order(&OrderRequest::new(service, country))
        .await
        .expect_err("no stock");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.code(), Some("no_numbers_available"));

    let err = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us").max_price(dec("0.01")))
        .await
        .expect_err("too cheap");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(err.code(), Some("max_price_exceeded"));

    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    let err = client.resend_order(&order.id).await.expect_err("pending");
    assert_eq!(err.code(), Some("resend_not_supported"));
    assert_eq!(err.kind(), ErrorKind::Conflict);

    eventually("the code arrives", SOON, || {
        order_state(&sb, &order.id)["status"] == "received"
    })
    .await;
    let err = client.cancel_order(&order.id).await.expect_err("received");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(err.code(), Some("order_not_cancellable"));
    assert!(!err.is_retryable());
    assert_eq!(order_state(&sb, &order.id)["status"], json!("received"));
    assert_eq!(orders(&sb).len(), 1);
}

#[tokio::test]
async fn rate_limit_with_a_long_retry_after_fails_at_once() {
    let (sb, client) = setup().await;
    sb.set_faults(script(
        "GET /account",
        status_fault(429, Some("120"), true, None),
        1,
    ));
    let started = Instant::now();
    let err = client.account().await.expect_err("429");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "did not wait 120 s"
    );
    assert_eq!(err.kind(), ErrorKind::RateLimit);
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.code(), Some("rate_limited"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(
        err.api_error().and_then(|a| a.bucket),
        Some(nexotp::Bucket::General)
    );
    assert!(err.is_retryable());
    assert_eq!(sb.requests().len(), 1);
}

#[tokio::test]
async fn rate_limit_without_retries() {
    let (sb, client) = setup().await;
    let client = no_retries(&client);
    sb.set_faults(script(
        "GET /order/*",
        status_fault(429, Some("1"), true, None),
        1,
    ));
    let err = client.order("5001").await.expect_err("429");
    assert_eq!(err.kind(), ErrorKind::RateLimit);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(
        err.api_error().and_then(|a| a.bucket),
        Some(nexotp::Bucket::Poll)
    );
    assert_eq!(sb.requests().len(), 1);
}

#[tokio::test]
async fn server_error_envelope_after_retries() {
    let (sb, client) = setup().await;
    sb.set_faults(script(
        "GET /countries",
        status_fault(500, None, true, None),
        3,
    ));
    let err = client.countries().await.expect_err("500");
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.code(), Some("server_error"));
    assert!(err.request_id().is_some());
    assert!(err.is_retryable());
    let statuses: Vec<_> = sb.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(500); 3], "the first try and 2 retries");
}

#[tokio::test]
async fn server_error_from_an_html_500() {
    let (sb, client) = setup().await;
    let client = no_retries(&client);
    sb.set_faults(script("GET /account", FaultKind::Html500, 1));
    let err = client.account().await.expect_err("html");
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.code(), None);
    let text = err.to_string();
    assert!(text.contains("critical error"), "snippet kept: {text}");
    assert!(text.len() < 600, "a snippet, not the page: {text}");
}

#[tokio::test]
async fn connection_error_on_a_closed_port() {
    let port = closed_port().await;
    let client = Client::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}/wp-json/nexotp/v1/"))
        .max_retries(0)
        .log_from_env(false)
        .build()
        .expect("client");
    let err = within(SOON, client.account()).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert!(err.is_retryable());
    assert_eq!(err.status(), None);
}

#[tokio::test]
async fn timeout_when_the_answer_is_late() {
    let (sb, _) = setup().await;
    let client = client_builder(&sb)
        .timeout(Duration::from_millis(300))
        .max_retries(0)
        .build()
        .expect("client");
    sb.set_faults(script("GET /account", FaultKind::Delay { ms: 1500 }, 1));
    let started = Instant::now();
    let err = client.account().await.expect_err("timeout");
    assert!(started.elapsed() < Duration::from_millis(1400));
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn order_outcome_unknown_carries_what_to_reconcile() {
    let (sb, client) = setup().await;
    sb.set_faults(script("POST /order", FaultKind::Drop, 1));
    let err = client
        .create_order(&OrderRequest::new("svc_google", "cty_de"))
        .await
        .expect_err("dropped");
    assert_eq!(err.kind(), ErrorKind::OrderOutcomeUnknown);
    assert!(!err.is_retryable(), "check first, then decide");
    let nexotp::Error::OrderOutcomeUnknown(info) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(info.call.operation, nexotp::Operation::CreateOrder);
    assert_eq!(info.call.service.as_deref(), Some("svc_google"));
    assert_eq!(info.call.country.as_deref(), Some("cty_de"));
    assert!(err.to_string().contains("svc_google/cty_de"));
    assert_eq!(orders(&sb).len(), 1, "the dropped order exists once");
}

#[tokio::test]
async fn unexpected_response_from_a_malformed_body() {
    let (sb, client) = setup().await;
    // A cut-off 2xx to a GET is a transient fault: retried.
    sb.set_faults(script("GET /account", FaultKind::Malformed, 1));
    client
        .account()
        .await
        .expect("the retry reads a whole answer");
    assert_eq!(sb.requests().len(), 2);
    sb.clear_requests();
    sb.set_faults(script("GET /account", FaultKind::Malformed, 1));
    let err = no_retries(&client).account().await.expect_err("malformed");
    assert_eq!(err.kind(), ErrorKind::UnexpectedResponse);
    assert_eq!(err.status(), Some(200));
    let nexotp::Error::UnexpectedResponse { snippet, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(snippet.contains("success"), "snippet: {snippet}");
    assert!(!err.is_retryable());
    assert_eq!(sb.requests().len(), 1);
}

#[tokio::test]
async fn wait_errors_carry_the_order() {
    let (sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(60))).await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    let options = nexotp::WaitOptions::default()
        .timeout(Duration::from_millis(200))
        .poll_interval(Duration::from_millis(50));
    let err = client
        .wait_for_code(&order.id, options.clone())
        .await
        .expect_err("timeout");
    assert_eq!(err.kind(), ErrorKind::WaitTimeout);
    assert_eq!(err.order().map(|o| o.id.as_str()), Some(order.id.as_str()));
    assert!(!err.is_retryable());

    sb.expire_order(&order.id).expect("expire");
    let err = client
        .wait_for_code(&order.id, options)
        .await
        .expect_err("closed");
    assert_eq!(err.kind(), ErrorKind::OrderClosed);
    assert_eq!(err.order().map(|o| o.status.as_str()), Some("expired"));
}

#[tokio::test]
async fn webhook_verification() {
    let body = br#"{"id":"evt_1","type":"order.created","created_at":1,"data":{}}"#;
    let err = nexotp::webhook::verify(body, "t=1,v1=00", "whsec_x", Duration::from_secs(300))
        .expect_err("stale and wrong");
    assert_eq!(err.kind(), ErrorKind::WebhookVerification);
    assert_eq!((err.status(), err.code()), (None, None));
    assert!(!err.is_retryable());
}

#[test]
fn class_names_are_the_shared_ones() {
    let names: Vec<&str> = [
        ErrorKind::InvalidArgument,
        ErrorKind::Authentication,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::InvalidRequest,
        ErrorKind::InsufficientBalance,
        ErrorKind::Conflict,
        ErrorKind::RateLimit,
        ErrorKind::Server,
        ErrorKind::Connection,
        ErrorKind::Timeout,
        ErrorKind::OrderOutcomeUnknown,
        ErrorKind::UnexpectedResponse,
        ErrorKind::WaitTimeout,
        ErrorKind::OrderClosed,
        ErrorKind::WebhookVerification,
    ]
    .iter()
    .map(|k| k.class_name())
    .collect();
    assert_eq!(
        names,
        [
            "InvalidArgumentError",
            "AuthenticationError",
            "PermissionDeniedError",
            "NotFoundError",
            "InvalidRequestError",
            "InsufficientBalanceError",
            "ConflictError",
            "RateLimitError",
            "ServerError",
            "APIConnectionError",
            "APITimeoutError",
            "OrderOutcomeUnknownError",
            "UnexpectedResponseError",
            "WaitTimeoutError",
            "OrderClosedError",
            "WebhookVerificationError",
        ]
    );
}

//! Bad arguments fail before any request: each case must be `InvalidArgument` naming the
//! argument, and the sandbox must have received nothing.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use nexotp::{
    Bucket, BucketLimit, Client, ErrorKind, OrderRequest, PricingOption, RequestOptions,
    WaitOptions,
};

type Outcome = Pin<Box<dyn Future<Output = nexotp::Result<()>> + Send>>;

struct Case {
    name: &'static str,
    argument: &'static str,
    run: Outcome,
}

fn case<T, F>(name: &'static str, argument: &'static str, fut: F) -> Case
where
    F: Future<Output = nexotp::Result<T>> + Send + 'static,
{
    Case {
        name,
        argument,
        run: Box::pin(async move { fut.await.map(|_| ()) }),
    }
}

fn order(service: &str, country: &str) -> OrderRequest {
    OrderRequest::new(service, country)
}

fn wait(timeout_ms: u64, poll_ms: u64) -> WaitOptions {
    WaitOptions::default()
        .timeout(Duration::from_millis(timeout_ms))
        .poll_interval(Duration::from_millis(poll_ms))
}

/// The whole table; `c` is a working client for the sandbox at `base`.
fn cases(c: &Client, base: &str) -> Vec<Case> {
    let c = || c.clone();
    let b = || client_builder_for(base);
    let (c1, c2, c3, c4, c5, c6, c7, c8) = (c(), c(), c(), c(), c(), c(), c(), c());
    let (c9, c10, c11, c12, c13, c14, c15, c16) = (c(), c(), c(), c(), c(), c(), c(), c());
    let (c17, c18, c19, c20, c21, c22, c23, c24) = (c(), c(), c(), c(), c(), c(), c(), c());
    let (c25, c26, c27, c28, c29, c30, c31, c32) = (c(), c(), c(), c(), c(), c(), c(), c());
    let (c33, c34, c35, c36, c37, c38) = (c(), c(), c(), c(), c(), c());
    let hook = "https://example.com/hook";
    vec![
        case(
            "page 0",
            "page",
            async move { c1.transactions(0, 20).await },
        ),
        case("per_page 0", "per_page", async move {
            c2.transactions(1, 0).await
        }),
        case("per_page 101", "per_page", async move {
            c3.transactions(1, 101).await
        }),
        case("pager per_page 0", "per_page", async move {
            c4.transaction_pager(0)
        }),
        case("stream per_page 101", "per_page", async move {
            match Box::pin(c5.transactions_stream(101)).next().await {
                Some(Err(e)) => Err::<(), _>(e),
                other => panic!("expected an error item, got {other:?}"),
            }
        }),
        case("empty id", "id", async move { c6.order("").await }),
        case("id with /", "id", async move { c7.order("50/01").await }),
        case("id with ?", "id", async move {
            c8.cancel_order("5001?x=1").await
        }),
        case("id with #", "id", async move {
            c9.resend_order("5001#top").await
        }),
        case("id ..", "id", async move { c10.order("..").await }),
        case(
            "id with a space",
            "id",
            async move { c11.order("50 01").await },
        ),
        case("id with a control char", "id", async move {
            c12.order("5001\n").await
        }),
        case("id with %", "id", async move {
            c13.delete_webhook("%2e%2e").await
        }),
        case("webhook id with /", "id", async move {
            c14.delete_webhook("1/2").await
        }),
        case("empty country (services)", "country", async move {
            c15.services("").await
        }),
        case("empty service (price)", "service", async move {
            c16.price("", "cty_us").await
        }),
        case("country with a space (price)", "country", async move {
            c17.price("svc_telegram", "cty us").await
        }),
        case("empty service (order)", "service", async move {
            c18.create_order(&order("", "cty_us")).await
        }),
        case("empty country (order)", "country", async move {
            c19.create_order(&order("svc_telegram", "")).await
        }),
        case("bad pool", "pool", async move {
            c20.create_order(&order("svc_telegram", "cty_us").pool("pool/a"))
                .await
        }),
        case("empty pool", "pool", async move {
            c21.create_order(&order("svc_telegram", "cty_us").pool(""))
                .await
        }),
        case("negative max_price", "max_price", async move {
            c22.create_order(&order("svc_telegram", "cty_us").max_price(dec("-0.01")))
                .await
        }),
        case(
            "http webhook URL to a remote host",
            "endpoint_url",
            async move {
                c23.create_webhook("http://example.com/hook", &["order.created"])
                    .await
            },
        ),
        case("ftp webhook URL", "endpoint_url", async move {
            c24.create_webhook("ftp://example.com/hook", &["order.created"])
                .await
        }),
        case("webhook URL with credentials", "endpoint_url", async move {
            c25.create_webhook("https://user:pw@example.com/hook", &["order.created"])
                .await
        }),
        case("relative webhook URL", "endpoint_url", async move {
            c26.create_webhook("/hook", &["order.created"]).await
        }),
        case(
            "webhook URL with a leading space",
            "endpoint_url",
            async move {
                c27.create_webhook(" https://example.com/hook", &["order.created"])
                    .await
            },
        ),
        case("no events", "events", async move {
            c28.create_webhook(hook, &[] as &[&str]).await
        }),
        case("empty event", "events", async move {
            c29.create_webhook(hook, &["order.created", ""]).await
        }),
        case("event with a space", "events", async move {
            c30.create_webhook(hook, &["order created"]).await
        }),
        case("event with a comma", "events", async move {
            c31.create_webhook(hook, &["order.created,order.expired"])
                .await
        }),
        case("wait timeout 0", "timeout", async move {
            c32.wait_for_code("5001", wait(0, 100)).await
        }),
        case("wait poll_interval 0", "poll_interval", async move {
            c33.wait_for_code("5001", wait(1000, 0)).await
        }),
        case("wait timeout beyond any deadline", "timeout", async move {
            c38.wait_for_code("5001", WaitOptions::default().timeout(Duration::MAX))
                .await
        }),
        case("wait bad id", "id", async move {
            c34.wait_for_code("a/b", wait(1000, 100)).await
        }),
        case("with_options timeout 0", "timeout", async move {
            c35.with_options(RequestOptions::new().timeout(Duration::ZERO))
        }),
        case("pricing option name", "pricing_option", async move {
            "fastest".parse::<PricingOption>()
        }),
        case("pricing option wire value", "pricing_option", async move {
            PricingOption::from_wire(2)
        }),
        case("http base_url to a remote host", "base_url", {
            let b = b().base_url("http://example.com/wp-json/nexotp/v1/");
            async move { b.build() }
        }),
        case("ftp base_url", "base_url", {
            let b = b().base_url("ftp://127.0.0.1/");
            async move { b.build() }
        }),
        case("base_url not a URL", "base_url", {
            let b = b().base_url("not a url");
            async move { b.build() }
        }),
        case("base_url with credentials", "base_url", {
            let b = b().base_url("https://user:pw@example.com/");
            async move { b.build() }
        }),
        case("base_url with a query", "base_url", {
            let b = b().base_url("https://example.com/wp-json/nexotp/v1/?_method=DELETE");
            async move { b.build() }
        }),
        case("empty API key", "api_key", {
            let b = b().api_key("");
            async move { b.build() }
        }),
        case("API key with a space", "api_key", {
            let b = b().api_key("sk_test a");
            async move { b.build() }
        }),
        case("zero client timeout", "timeout", {
            let b = b().timeout(Duration::ZERO);
            async move { b.build() }
        }),
        case("zero connect timeout", "connect_timeout", {
            let b = b().connect_timeout(Duration::ZERO);
            async move { b.build() }
        }),
        case("zero bucket rate", "bucket_limit", {
            let b = b().bucket_limit(
                Bucket::Poll,
                BucketLimit {
                    per_second: 0.0,
                    burst: 1,
                },
            );
            async move { b.build() }
        }),
        case("webhook URL with a tab", "endpoint_url", async move {
            c36.create_webhook("https://example.com/ho\tok", &["order.created"])
                .await
        }),
        case("webhook URL with a fragment", "endpoint_url", async move {
            c37.create_webhook("https://example.com/hook#x", &["order.created"])
                .await
        }),
        case("absurdly slow bucket rate", "bucket_limit", {
            let b = b().bucket_limit(
                Bucket::General,
                BucketLimit {
                    per_second: 1e-300,
                    burst: 1,
                },
            );
            async move { b.build() }
        }),
        case("zero bucket burst", "bucket_limit", {
            let b = b().bucket_limit(
                Bucket::Order,
                BucketLimit {
                    per_second: 1.0,
                    burst: 0,
                },
            );
            async move { b.build() }
        }),
    ]
}

fn client_builder_for(base: &str) -> nexotp::ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .base_url(base)
        .log_from_env(false)
}

#[tokio::test]
async fn every_bad_input_fails_before_any_request() {
    let (sb, client) = setup().await;
    // An order that exists, so a leaked request would succeed rather than fail.
    client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    let table = cases(&client, sb.base_url());
    assert!(table.len() >= 20);
    let mut failures = Vec::new();
    for Case {
        name,
        argument,
        run,
    } in table
    {
        sb.clear_requests();
        let result = within(Duration::from_secs(5), run).await;
        match result {
            Err(nexotp::Error::InvalidArgument {
                argument: got,
                rule,
            }) => {
                if got != argument {
                    failures.push(format!("{name}: names `{got}`, expected `{argument}`"));
                }
                let text = nexotp::Error::InvalidArgument {
                    argument: got,
                    rule: rule.clone(),
                }
                .to_string();
                if !text.contains(argument) || rule.is_empty() {
                    failures.push(format!("{name}: message does not name it: {text}"));
                }
            }
            Err(other) => failures.push(format!("{name}: {:?} instead: {other}", other.kind())),
            Ok(()) => failures.push(format!("{name}: accepted")),
        }
        let sent = sb.requests();
        if !sent.is_empty() {
            failures.push(format!(
                "{name}: {} request(s) reached the sandbox: {} {}",
                sent.len(),
                sent[0].method,
                sent[0].path
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "bad input cases:\n{}",
        failures.join("\n")
    );
    assert_eq!(orders(&sb).len(), 1);
}

#[tokio::test]
async fn good_edge_values_are_accepted() {
    let (sb, client) = setup().await;
    client.transactions(1, 1).await.expect("per_page 1");
    client.transactions(1, 100).await.expect("per_page 100");
    client
        .create_webhook("http://localhost:9/hook", &["order.created"])
        .await
        .expect("http to localhost is fine");
    // Any non-empty event name is sent (the real server may know more); the sandbox knows five.
    let err = client
        .create_webhook("http://127.0.0.1:9/hook", &["custom.event"])
        .await
        .expect_err("the sandbox refuses an unknown event");
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    let order = client
        .create_order(
            &OrderRequest::new("svc_telegram", "cty_us")
                .max_price(dec("0"))
                .pool("pool_a"),
        )
        .await
        .expect_err("max_price 0 is valid input; the server refuses it");
    assert_eq!(order.kind(), ErrorKind::Conflict);
    assert_eq!(sb.requests().len(), 5);
}

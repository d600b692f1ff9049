//! The same bytes from every language: the core's run of `spec/same-bytes.json`.
//!
//! Runs every call of the table against an in-process sandbox and compares the requests the
//! sandbox logged with the table's `expect`. With `NEXOTP_BLESS=1` it writes them there
//! instead: the core is the reference the Python, Node and CLI runners are held to.

mod common;
#[path = "common/same_bytes.rs"]
mod table;

use std::str::FromStr;
use std::time::Duration;

use nexotp::{AbortSignal, Client, OrderRequest, PricingOption, RequestOptions, WaitOptions};
use nexotp_sandbox::Sandbox;
use serde_json::Value;

fn s(args: &Value, name: &str) -> String {
    table::text(&args[name]).unwrap_or_default()
}

/// One call of the table through the core's API; errors are the sandbox's answers and do not
/// matter here, only what was sent.
async fn run(client: &Client, call: &str, args: &Value) -> nexotp::Result<()> {
    let page = |name: &str| args[name].as_u64().map(|n| n as u32);
    match call {
        "account" => client.account().await.map(drop),
        "transactions" => client
            .transactions(
                page("page").unwrap_or(1),
                page("per_page").unwrap_or(nexotp::DEFAULT_PAGE_SIZE),
            )
            .await
            .map(drop),
        "iter_transactions" => {
            let mut pager = client
                .transaction_pager(page("per_page").unwrap_or(nexotp::DEFAULT_ITER_PAGE_SIZE))?;
            while pager.next().await?.is_some() {}
            Ok(())
        }
        "countries" => client.countries().await.map(drop),
        "services" => client.services(&s(args, "country")).await.map(drop),
        "price" => client
            .price(&s(args, "service"), &s(args, "country"))
            .await
            .map(drop),
        "create_order" => {
            let mut request = OrderRequest::new(s(args, "service"), s(args, "country"));
            if let Some(pool) = table::text(&args["pool"]) {
                request = request.pool(pool);
            }
            if let Some(option) = table::text(&args["pricing_option"]) {
                request = request.pricing_option(PricingOption::from_str(&option)?);
            }
            if let Some(max) = table::text(&args["max_price"]) {
                request = request.max_price(nexotp::args::parse_decimal("max_price", &max)?);
            }
            client.create_order(&request).await.map(drop)
        }
        "get_order" => client.order(&s(args, "id")).await.map(drop),
        "cancel_order" => client.cancel_order(&s(args, "id")).await.map(drop),
        "resend_order" => client.resend_order(&s(args, "id")).await.map(drop),
        "wait_for_code" => {
            let mut options = WaitOptions::default();
            if let Some(t) = args["timeout"].as_f64() {
                options = options.timeout(Duration::from_secs_f64(t));
            }
            if let Some(t) = args["poll_interval"].as_f64() {
                options = options.poll_interval(Duration::from_secs_f64(t));
            }
            client
                .wait_for_code(&s(args, "id"), options)
                .await
                .map(drop)
        }
        "webhooks" => client.webhooks().await.map(drop),
        "create_webhook" => {
            let events: Vec<String> = match &args["events"] {
                Value::String(list) => nexotp::split_events(list),
                other => other
                    .as_array()
                    .map(|a| a.iter().filter_map(table::text).collect())
                    .unwrap_or_default(),
            };
            client
                .create_webhook(&s(args, "endpoint_url"), &events)
                .await
                .map(drop)
        }
        "delete_webhook" => client.delete_webhook(&s(args, "id")).await.map(drop),
        other => panic!("the table names an unknown call {other:?}"),
    }
}

/// The call's own options: a sibling client with them (and an abort signal that never fires).
fn with_call_options(client: &Client, options: &Value) -> Client {
    let mut request = RequestOptions::new();
    if let Some(t) = options["timeout"].as_f64() {
        request = request.timeout(Duration::from_secs_f64(t));
    }
    if let Some(n) = options["max_retries"].as_u64() {
        request = request.max_retries(n as u32);
    }
    if let Some(t) = options["deadline"].as_f64() {
        request = request.deadline(Duration::from_secs_f64(t));
    }
    let client = client.with_options(request).expect("valid options");
    if options["signal"].as_bool() == Some(true) {
        client.with_abort(AbortSignal::new())
    } else {
        client
    }
}

#[tokio::test]
async fn every_call_sends_the_tables_bytes() {
    let mut doc = table::load();
    let config = &doc["sandbox"];
    let sb = Sandbox::builder()
        .api_key(common::KEY)
        .seed(config["seed"].as_u64().expect("sandbox.seed"))
        .code_delay(Duration::from_millis(
            config["code_delay_ms"]
                .as_u64()
                .expect("sandbox.code_delay_ms"),
        ))
        .initial_balance(common::dec(
            config["balance"].as_str().expect("sandbox.balance"),
        ))
        .start()
        .await
        .expect("sandbox starts");
    let client = common::client(&sb);
    let calls = table::calls(&doc);
    assert!(calls.len() >= 30, "the table has {} calls", calls.len());
    let mut got = Vec::new();
    for call in &calls {
        sb.clear_requests();
        let name = call["call"].as_str().expect("call");
        let client = with_call_options(&client, &call["options"]);
        let _ = run(&client, name, &call["args"]).await;
        got.push(
            sb.requests()
                .iter()
                .map(table::normalise)
                .collect::<Vec<_>>(),
        );
    }
    for (call, sent) in calls.iter().zip(&got) {
        assert!(!sent.is_empty(), "{} sent nothing", call["name"]);
    }
    if std::env::var_os("NEXOTP_BLESS").is_some() {
        let list = doc["calls"].as_array_mut().expect("calls");
        for (call, sent) in list.iter_mut().zip(got) {
            call["expect"] = Value::Array(sent);
        }
        let text = serde_json::to_string_pretty(&doc).expect("serialises") + "\n";
        std::fs::write(table::path(), text).expect("writes spec/same-bytes.json");
        return;
    }
    let diffs = table::differences(&doc, &got);
    assert!(diffs.is_empty(), "Rust core differs:\n{}", diffs.join("\n"));
    sb.shutdown().await;
}

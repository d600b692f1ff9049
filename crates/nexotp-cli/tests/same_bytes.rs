//! The same bytes from every language: the CLI's run of `spec/same-bytes.json`.
//!
//! Each call of the table is one `nexotp` run against a sandbox started as the table says; the
//! requests the sandbox logged must be the table's `expect`. One difference is by design and
//! dropped here: `order create` first reads the newest ledger entry (a run has no memory of
//! earlier runs, and reconcile needs a mark), `GET account/transactions?page=1&per_page=1`.

#[path = "../../nexotp/tests/common/same_bytes.rs"]
mod table;

use std::str::FromStr;
use std::time::Duration;

use assert_cmd::Command;
use nexotp_sandbox::Sandbox;
use serde_json::Value;

const KEY: &str = "sk_test_cli_same_bytes_0123456789";
const BIN: &str = env!("CARGO_BIN_EXE_nexotp");

/// The command line of one call.
fn argv(call: &str, a: &Value) -> Vec<String> {
    let text = |name: &str| table::text(&a[name]);
    let mut args: Vec<String> = Vec::new();
    let flag = |args: &mut Vec<String>, name: &str, value: Option<String>| {
        if let Some(v) = value {
            args.push(format!("--{name}"));
            args.push(v);
        }
    };
    match call {
        "account" | "countries" => args.push(call.into()),
        "transactions" => {
            args.push("transactions".into());
            flag(&mut args, "page", text("page"));
            flag(&mut args, "per-page", text("per_page"));
        }
        "iter_transactions" => {
            args.extend(["transactions".into(), "--all".into()]);
            flag(&mut args, "per-page", text("per_page"));
        }
        "services" => {
            args.push("services".into());
            flag(&mut args, "country", text("country"));
        }
        "price" => {
            args.push("price".into());
            flag(&mut args, "service", text("service"));
            flag(&mut args, "country", text("country"));
        }
        "create_order" => {
            args.extend(["order".into(), "create".into()]);
            flag(&mut args, "service", text("service"));
            flag(&mut args, "country", text("country"));
            flag(&mut args, "pool", text("pool"));
            flag(&mut args, "pricing", text("pricing_option"));
            flag(&mut args, "max-price", text("max_price"));
        }
        "get_order" | "cancel_order" | "resend_order" => {
            let sub = call.trim_end_matches("_order");
            args.extend(["order".into(), sub.into(), text("id").unwrap_or_default()]);
        }
        "wait_for_code" => {
            args.extend([
                "order".into(),
                "wait".into(),
                text("id").unwrap_or_default(),
            ]);
            flag(&mut args, "timeout", text("timeout"));
            flag(&mut args, "poll-interval", text("poll_interval"));
        }
        "webhooks" => args.extend(["webhooks".into(), "list".into()]),
        "create_webhook" => {
            args.extend(["webhooks".into(), "create".into()]);
            flag(&mut args, "url", text("endpoint_url"));
            let events = match &a["events"] {
                Value::Array(list) => list
                    .iter()
                    .filter_map(table::text)
                    .collect::<Vec<_>>()
                    .join(","),
                other => table::text(other).unwrap_or_default(),
            };
            flag(&mut args, "events", Some(events));
        }
        "delete_webhook" => args.extend([
            "webhooks".into(),
            "delete".into(),
            text("id").unwrap_or_default(),
        ]),
        other => panic!("the table names an unknown call {other:?}"),
    }
    args
}

#[test]
fn every_call_sends_the_tables_bytes() {
    let doc = table::load();
    let config = &doc["sandbox"];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sb = rt
        .block_on(
            Sandbox::builder()
                .api_key(KEY)
                .seed(config["seed"].as_u64().expect("seed"))
                .code_delay(Duration::from_millis(
                    config["code_delay_ms"].as_u64().expect("code_delay_ms"),
                ))
                .initial_balance(
                    rust_decimal::Decimal::from_str(config["balance"].as_str().expect("balance"))
                        .expect("a decimal balance"),
                )
                .start(),
        )
        .expect("sandbox starts");
    let home = tempfile::tempdir().expect("temp dir");
    let calls = table::calls(&doc);
    assert!(calls.len() >= 30);
    let mut got = Vec::new();
    for call in &calls {
        sb.clear_requests();
        let name = call["call"].as_str().expect("call");
        let mut cmd = Command::new(BIN);
        for (var, _) in std::env::vars() {
            if var.starts_with("NEXOTP_") {
                cmd.env_remove(var);
            }
        }
        // The exit code is the sandbox's answer (an error is fine): only the requests count.
        let out = cmd
            .env("XDG_CONFIG_HOME", home.path())
            .env("HOME", home.path())
            .args(["--base-url", sb.base_url(), "--api-key", KEY, "--json"])
            .args(argv(name, &call["args"]))
            // Of the per-call options the CLI has only --deadline.
            .args(
                table::text(&call["options"]["deadline"])
                    .map(|d| ["--deadline".to_owned(), d])
                    .into_iter()
                    .flatten(),
            )
            .timeout(Duration::from_secs(60))
            .output()
            .expect("runs");
        assert!(
            out.status.code().is_some(),
            "{} was killed: {}",
            call["name"],
            String::from_utf8_lossy(&out.stderr)
        );
        let mut sent: Vec<Value> = sb.requests().iter().map(table::normalise).collect();
        if name == "create_order"
            && sent.first().is_some_and(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/account/transactions"))
                    && r["query"] == "page=1&per_page=1"
            })
        {
            sent.remove(0);
        }
        got.push(sent);
    }
    let diffs = table::differences(&doc, &got);
    assert!(diffs.is_empty(), "the CLI differs:\n{}", diffs.join("\n"));
    rt.block_on(sb.shutdown());
}

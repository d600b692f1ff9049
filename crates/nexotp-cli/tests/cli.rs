//! The `nexotp` binary, run as a user runs it, against a sandbox listening on loopback.
//!
//! Each test starts its own sandbox (in this process, so the test can read the sandbox's state
//! and set balances or faults directly) and spawns the CLI binary with a private config dir.
//! Every run goes through [`Harness::run`], which fails the test if the API key shows up in
//! stdout or stderr, whatever the command.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command as StdCommand, Stdio};
use std::str::FromStr;
use std::time::Duration;

use assert_cmd::Command;
use nexotp_sandbox::{FaultKind, Faults, Sandbox, SandboxBuilder, SandboxHandle, ScriptedFault};
use rust_decimal::Decimal;
use serde_json::Value;

/// The key the sandboxes accept: long and unusual, so a leak cannot hide.
const KEY: &str = "sk_test_cli_9f8e7d6c5b4a3210_secret";
const BIN: &str = env!("CARGO_BIN_EXE_nexotp");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    fn failed_with(self, code: i32, class: &str) -> Run {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(class),
            "stderr lacks {class}:\n{}",
            self.stderr
        );
        self
    }
}

fn assert_no_key(text: &str) {
    assert!(!text.contains(KEY), "the API key leaked:\n{text}");
    assert!(
        !text.contains("9f8e7d6c5b4a3210"),
        "part of the API key leaked:\n{text}"
    );
}

fn finish(output: std::process::Output) -> Run {
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_no_key(&run.stdout);
    assert_no_key(&run.stderr);
    run
}

struct Harness {
    sandbox: SandboxHandle,
    home: tempfile::TempDir,
    // Declared last: dropped after the sandbox, whose tasks run on it.
    _rt: tokio::runtime::Runtime,
}

impl Harness {
    fn new() -> Harness {
        Harness::with(|b| b)
    }

    fn with(configure: impl FnOnce(SandboxBuilder) -> SandboxBuilder) -> Harness {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let builder = Sandbox::builder()
            .api_key(KEY)
            .code_delay(Duration::from_millis(300));
        let sandbox = rt
            .block_on(configure(builder).start())
            .expect("sandbox starts");
        Harness {
            sandbox,
            home: tempfile::tempdir().expect("temp dir"),
            _rt: rt,
        }
    }

    /// The CLI with this sandbox's URL and key in the environment and a private config dir.
    fn cmd(&self) -> Command {
        let mut cmd = Command::new(BIN);
        for (name, _) in std::env::vars() {
            if name.starts_with("NEXOTP_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("XDG_CONFIG_HOME", self.home.path())
            .env("HOME", self.home.path())
            .env("NEXOTP_BASE_URL", self.sandbox.base_url())
            .env("NEXOTP_API_KEY", KEY)
            .timeout(Duration::from_secs(60));
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        finish(self.cmd().args(args).output().expect("runs"))
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        self.run(&all).ok().json()
    }

    fn state(&self) -> Value {
        self.sandbox.state()
    }

    fn balance(&self) -> Decimal {
        self.sandbox.balance()
    }

    fn state_order(&self, id: &Value) -> Value {
        let id = id_string(id);
        self.state()["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .find(|o| id_string(&o["id"]) == id)
            .cloned()
            .unwrap_or_else(|| panic!("order {id} not in the sandbox"))
    }

    fn create_order(&self) -> String {
        let order = self.json(&[
            "order",
            "create",
            "--service",
            "svc_telegram",
            "--country",
            "cty_us",
        ]);
        id_string(&order["id"])
    }
}

fn id_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn money(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().expect("money as a string")).expect("decimal")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Reads lines of a child's stream until one contains `needle`; returns them all.
fn read_until(reader: &mut impl BufRead, needle: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("reads");
        assert!(n > 0, "stream ended before {needle:?}; got:\n{seen}");
        seen.push_str(&line);
        if line.contains(needle) {
            return seen;
        }
    }
}

/// The CLI as a plain `std` command (for the stdio setters), set up like [`Harness::cmd`].
fn std_cmd(h: &Harness, args: &[&str]) -> StdCommand {
    let mut cmd = StdCommand::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("NEXOTP_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("XDG_CONFIG_HOME", h.home.path())
        .env("HOME", h.home.path())
        .env("NEXOTP_BASE_URL", h.sandbox.base_url())
        .env("NEXOTP_API_KEY", KEY)
        .args(args);
    cmd
}

fn spawn(h: &Harness, args: &[&str]) -> Child {
    std_cmd(h, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns")
}

fn wait_child(mut child: Child) -> Run {
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut s) = child.stdout.take() {
        s.read_to_string(&mut stdout).expect("stdout");
    }
    if let Some(mut s) = child.stderr.take() {
        s.read_to_string(&mut stderr).expect("stderr");
    }
    let status = child.wait().expect("exits");
    assert_no_key(&stdout);
    assert_no_key(&stderr);
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

#[test]
fn account_json_is_the_api_data_and_text_is_exact_money() {
    let h = Harness::new();
    let account = h.json(&["account"]);
    assert_eq!(money(&account["balance"]), h.balance());
    assert_eq!(account["balance"], h.state()["balance"]);
    assert!(account["usage"].is_object());

    h.sandbox
        .set_balance(Decimal::from_str("12.30").expect("decimal"));
    let text = h.run(&["account"]).ok().stdout;
    assert!(text.contains("balance  12.30 USD"), "{text}");
}

#[test]
fn catalogue_commands_print_tables_and_json() {
    let h = Harness::new();
    let countries = h.json(&["countries"]);
    let codes: Vec<&str> = countries
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"cty_us") && codes.contains(&"cty_de"),
        "{codes:?}"
    );
    let table = h.run(&["countries"]).ok().stdout;
    let header = table.lines().next().expect("header");
    assert!(
        header.starts_with("CODE") && header.contains("DIAL"),
        "{table}"
    );
    assert_eq!(table.lines().count(), codes.len() + 1);
    // Aligned: every row's second column starts where the header's does.
    let col = header.find("NAME").expect("NAME column");
    for line in table.lines().skip(1) {
        assert_ne!(line.as_bytes()[col], b' ', "misaligned: {line:?}");
        assert_eq!(&line[col - 2..col], "  ", "misaligned: {line:?}");
    }

    let services = h.json(&["services", "--country", "cty_us"]);
    let services = services.as_array().expect("list");
    assert!(services.iter().any(|s| s["id"] == "svc_telegram"));

    let price = h.json(&["price", "--service", "svc_telegram", "--country", "cty_us"]);
    let pools = price["pools"].as_array().expect("pools");
    let cheapest = pools
        .iter()
        .map(|p| money(&p["price"]))
        .min()
        .expect("a pool");
    assert_eq!(money(&price["price"]), cheapest);
    let text = h
        .run(&["price", "--service", "svc_telegram", "--country", "cty_us"])
        .ok()
        .stdout;
    // The exact decimal string of the API, currency appended.
    let exact = price["price"].as_str().expect("string");
    assert!(text.contains(&format!("price      {exact} USD")), "{text}");
    assert!(text.contains("POOL") && text.contains("pool_a"), "{text}");
}

#[test]
fn order_lifecycle_matches_the_sandbox() {
    let h = Harness::new();
    let before = h.balance();
    let order = h.json(&[
        "order",
        "create",
        "--service",
        "svc_telegram",
        "--country",
        "cty_us",
        "--pricing",
        "best-rate",
        "--max-price",
        "5.00",
    ]);
    let id = id_string(&order["id"]);
    let state = h.state_order(&order["id"]);
    assert_eq!(order["phone"], state["phone"]);
    assert_eq!(order["pool"], state["pool"]);
    assert_eq!(before - money(&order["price"]), h.balance());
    // best-rate picks the last pool (the best success rate).
    let price = h.json(&["price", "--service", "svc_telegram", "--country", "cty_us"]);
    let last_pool = price["pools"]
        .as_array()
        .and_then(|p| p.last())
        .expect("pools");
    assert_eq!(order["pool"], last_pool["id"]);

    let got = h.json(&["order", "get", &id]);
    assert_eq!(got["status"], "pending");

    let waited = h.json(&[
        "order",
        "wait",
        &id,
        "--poll-interval",
        "0.1",
        "--timeout",
        "20",
    ]);
    let state = h.state_order(&order["id"]);
    assert_eq!(waited["status"], "received");
    assert_eq!(waited["code"], state["code"]);
    assert!(waited["code"].is_string());

    let resent = h.json(&["order", "resend", &id]);
    assert_eq!(resent["status"], "pending");
    assert_eq!(h.state_order(&order["id"])["status"], "pending");
    let again = h.json(&[
        "order",
        "wait",
        &id,
        "--poll-interval",
        "0.1",
        "--timeout",
        "20",
    ]);
    assert_ne!(again["code"], waited["code"]);
    assert_eq!(again["codes"].as_array().map(Vec::len), Some(2));

    // A received order cannot be cancelled: a conflict, exit 6, nothing refunded.
    let balance = h.balance();
    h.run(&["order", "cancel", &id])
        .failed_with(6, "ConflictError");
    assert_eq!(h.balance(), balance);
}

#[test]
fn cancel_refunds_and_text_output_shows_it() {
    let h = Harness::with(|b| b.code_delay(Duration::from_secs(600)));
    let before = h.balance();
    let id = h.create_order();
    assert!(h.balance() < before);
    let text = h.run(&["order", "cancel", &id]).ok().stdout;
    assert!(text.contains("status   cancelled"), "{text}");
    assert!(text.contains("refund"), "{text}");
    assert_eq!(h.balance(), before);
    assert_eq!(h.state_order(&Value::String(id))["status"], "cancelled");
}

#[test]
fn create_with_wait_and_resend_with_wait() {
    let h = Harness::new();
    let run = h
        .run(&[
            "order",
            "create",
            "--service",
            "svc_google",
            "--country",
            "cty_gb",
            "--wait",
            "--poll-interval",
            "0.1",
        ])
        .ok();
    assert!(run.stdout.contains("status   received"), "{}", run.stdout);
    // Not a terminal: plain progress lines on stderr, none on stdout.
    assert!(
        run.stderr.contains("waiting for a code for order"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("waiting for a code"), "{}", run.stdout);
    let state = h.state();
    let order = &state["orders"][0];
    assert!(run.stdout.contains(order["code"].as_str().expect("code")));

    let id = id_string(&order["id"]);
    let first = order["code"].clone();
    let resent = h.json(&["order", "resend", &id, "--wait", "--poll-interval", "0.1"]);
    assert_ne!(resent["code"], first);
    assert_eq!(resent["code"], h.state_order(&order["id"])["code"]);
}

#[test]
fn transactions_pages_and_all() {
    let h = Harness::with(|b| b.code_delay(Duration::from_secs(600)));
    for _ in 0..2 {
        let id = h.create_order();
        h.json(&["order", "cancel", &id]);
    }
    let ledger = h.state()["transactions"].as_array().expect("ledger").len();
    assert_eq!(ledger, 5, "deposit + 2 orders + 2 refunds");

    let page = h.json(&["transactions", "--page", "1", "--per-page", "2"]);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["total"], 5);
    assert_eq!(page["total_pages"], 3);
    assert_eq!(page["has_more"], true);
    let last = h.json(&["transactions", "--page", "3", "--per-page", "2"]);
    assert_eq!(last["has_more"], false);

    let all = h.json(&["transactions", "--all", "--per-page", "2"]);
    let all = all.as_array().expect("list");
    assert_eq!(all.len(), 5);
    let mut ids: Vec<String> = all.iter().map(|t| id_string(&t["id"])).collect();
    ids.dedup();
    assert_eq!(ids.len(), 5, "no transaction twice across pages");

    let text = h.run(&["transactions", "--per-page", "2"]).ok().stdout;
    assert!(
        text.contains("page 1 of 3, 5 transactions; next: --page 2"),
        "{text}"
    );
    assert!(
        text.lines().next().is_some_and(|l| l.contains("AMOUNT")),
        "{text}"
    );
    // Signed exact amounts, as the ledger has them.
    let refund = all
        .iter()
        .find(|t| t["type"] == "refund")
        .expect("a refund");
    assert!(money(&refund["amount"]) > Decimal::ZERO);
}

#[test]
fn webhooks_create_list_delete() {
    let h = Harness::new();
    let created = h.json(&[
        "webhooks",
        "create",
        "--url",
        "https://example.com/hook",
        "--events",
        "order.created, order.cancelled",
    ]);
    let secret = created["secret"].as_str().expect("the secret, shown once");
    let state = h.state();
    let hook = &state["webhooks"][0];
    assert_eq!(hook["secret"], secret);
    assert_eq!(
        created["events"],
        serde_json::json!(["order.created", "order.cancelled"])
    );

    let list = h.json(&["webhooks", "list"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert!(
        list[0].get("secret").is_none(),
        "a list never carries the secret"
    );
    let table = h.run(&["webhooks", "list"]).ok().stdout;
    assert!(table.contains("https://example.com/hook"), "{table}");
    assert!(!table.contains(secret));

    let id = id_string(&created["id"]);
    let deleted = h.json(&["webhooks", "delete", &id]);
    assert_eq!(deleted["deleted"], true);
    assert_eq!(h.state()["webhooks"].as_array().map(Vec::len), Some(0));
    h.run(&["webhooks", "delete", &id])
        .failed_with(4, "NotFoundError");
    // The SDK's validation: plain http to a public host is refused before any request.
    h.run(&[
        "webhooks",
        "create",
        "--url",
        "http://example.com/x",
        "--events",
        "order.created",
    ])
    .failed_with(2, "InvalidArgumentError");
    assert_eq!(h.state()["webhooks"].as_array().map(Vec::len), Some(0));
}

#[test]
fn webhooks_verify_accepts_a_signed_payload_and_rejects_others() {
    let h = Harness::new();
    let body = br#"{"id":"evt_1","type":"order.code_received","created_at":1,"data":{"id":5001,"status":"received","code":"123456"}}"#;
    let path = h.home.path().join("payload.json");
    std::fs::write(&path, body).expect("writes");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .expect("clock");
    let header = nexotp::webhook::sign(body, "whsec_test", now).expect("signs");
    let file = path.to_str().expect("utf-8 path");

    let event = h.json(&[
        "webhooks",
        "verify",
        "--secret",
        "whsec_test",
        "--signature",
        &header,
        "--payload-file",
        file,
    ]);
    assert_eq!(event, serde_json::from_slice::<Value>(body).expect("json"));
    let text = h
        .run(&[
            "webhooks",
            "verify",
            "--secret",
            "whsec_test",
            "--signature",
            &header,
            "--payload-file",
            file,
        ])
        .ok()
        .stdout;
    assert!(
        text.contains("order.code_received evt_1 (order 5001, received, code 123456)"),
        "{text}"
    );

    // From stdin, with the secret from the environment.
    let run = finish(
        h.cmd()
            .env("NEXOTP_WEBHOOK_SECRET", "whsec_test")
            .args([
                "webhooks",
                "verify",
                "--signature",
                &header,
                "--payload-file",
                "-",
            ])
            .write_stdin(body.to_vec())
            .output()
            .expect("runs"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    h.run(&[
        "webhooks",
        "verify",
        "--secret",
        "whsec_other",
        "--signature",
        &header,
        "--payload-file",
        file,
    ])
    .failed_with(1, "WebhookVerificationError");
    let stale = nexotp::webhook::sign(body, "whsec_test", now - 3600).expect("signs");
    h.run(&[
        "webhooks",
        "verify",
        "--secret",
        "whsec_test",
        "--signature",
        &stale,
        "--payload-file",
        file,
    ])
    .failed_with(1, "WebhookVerificationError");
}

#[test]
fn webhooks_listen_verifies_real_deliveries_and_rejects_forged_ones() {
    let h = Harness::new();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hooks/nexotp");
    let created = h.json(&[
        "webhooks",
        "create",
        "--url",
        &url,
        "--events",
        "order.created",
    ]);
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let port_arg = port.to_string();
    let mut child = spawn(
        &h,
        &[
            "webhooks", "listen", "--port", &port_arg, "--secret", &secret, "--count", "2",
            "--json",
        ],
    );
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    // With --json every stdout line is JSON, the URL line included.
    let first = read_until(&mut stdout, "http://");
    let first: Value = serde_json::from_str(&first).expect("the URL line is JSON");
    assert_eq!(first["url"], format!("http://127.0.0.1:{port}/webhook"));

    let id = h.create_order();
    let line = read_until(&mut stdout, "\n");
    let delivery: Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(delivery["verified"], true, "{line}");
    assert_eq!(delivery["path"], "/hooks/nexotp");
    assert_eq!(delivery["event"]["type"], "order.created");
    assert_eq!(id_string(&delivery["event"]["data"]["id"]), id);

    // A forged delivery is answered 400 and printed as rejected.
    let forged = br#"{"id":"evt_x","type":"order.created","created_at":1,"data":{}}"#;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    write!(
        stream,
        "POST /hooks/nexotp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-NexOTP-Signature: t=1,v1=00\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        forged.len()
    )
    .expect("writes");
    stream.write_all(forged).expect("writes");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reads");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let line = read_until(&mut stdout, "\n");
    let rejected: Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(rejected["verified"], false);
    assert!(
        rejected["error"]
            .as_str()
            .is_some_and(|e| e.contains("webhook verification failed"))
    );

    child.stdout = Some(stdout.into_inner());
    let run = wait_child(child);
    assert_eq!(
        run.code, 0,
        "--count 2 exits after two deliveries: {}",
        run.stderr
    );
    // The sandbox saw its delivery acknowledged.
    let deliveries = h.sandbox.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].state, "delivered");
}

#[test]
fn exit_codes_follow_the_error_class() {
    let h = Harness::new();
    // 2: usage errors (clap) and the SDK's InvalidArgumentError.
    assert_eq!(
        h.run(&["order", "create", "--service", "svc_telegram"])
            .code,
        2
    );
    h.run(&[
        "order",
        "create",
        "--service",
        "s",
        "--country",
        "c",
        "--pricing",
        "fastest",
    ])
    .failed_with(2, "pricing_option");
    h.run(&["transactions", "--per-page", "1000"])
        .failed_with(2, "InvalidArgumentError");
    h.run(&[
        "order",
        "create",
        "--service",
        "svc_telegram",
        "--country",
        "cty_us",
        "--max-price=-1",
    ])
    .failed_with(2, "InvalidArgumentError");
    h.run(&["order", "wait", "5001", "--timeout", "0"])
        .failed_with(2, "InvalidArgumentError");
    // 2 also for the server's own validation errors.
    h.run(&["services", "--country", "cty_xx"])
        .failed_with(2, "InvalidRequestError");
    // 3: a key the server refuses.
    let run = finish(
        h.cmd()
            .args(["account"])
            .env("NEXOTP_API_KEY", "sk_wrong_key")
            .output()
            .expect("runs"),
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("AuthenticationError"));
    assert!(!run.stderr.contains("sk_wrong_key"));
    // 4: not found.
    h.run(&["order", "get", "999999"])
        .failed_with(4, "NotFoundError");
    // 6: conflicts and insufficient balance.
    let (svc, cty) = nexotp_sandbox::NO_STOCK;
    h.run(&["order", "create", "--service", svc, "--country", cty])
        .failed_with(6, "ConflictError");
    h.run(&[
        "order",
        "create",
        "--service",
        "svc_telegram",
        "--country",
        "cty_us",
        "--max-price",
        "0.01",
    ])
    .failed_with(6, "ConflictError");
    h.sandbox.set_balance(Decimal::ZERO);
    h.run(&[
        "order",
        "create",
        "--service",
        "svc_telegram",
        "--country",
        "cty_us",
    ])
    .failed_with(6, "InsufficientBalanceError");
    // 5: rate limited, with a wait longer than the SDK waits out by itself.
    h.sandbox.set_faults(
        Faults::default().then(
            ScriptedFault::new(FaultKind::Status {
                status: 429,
                retry_after: Some("120".into()),
                envelope: true,
                code: None,
            })
            .matching("GET /account")
            .times(5),
        ),
    );
    h.run(&["account"]).failed_with(5, "RateLimitError");
    // 1: a server error that outlasts the retries.
    h.sandbox.set_faults(
        Faults::default().then(
            ScriptedFault::new(FaultKind::Html500)
                .matching("GET /countries")
                .times(10),
        ),
    );
    h.run(&["countries"]).failed_with(1, "ServerError");
    h.sandbox.set_faults(Faults::none());
    // 0 again once the faults are gone.
    h.run(&["countries"]).ok();
}

#[test]
fn network_errors_exit_7_and_json_errors_are_json() {
    let h = Harness::new();
    let port = free_port();
    let dead = format!("http://127.0.0.1:{port}/wp-json/nexotp/v1/");
    let run = finish(
        h.cmd()
            .args(["--json", "account"])
            .env("NEXOTP_BASE_URL", &dead)
            .output()
            .expect("runs"),
    );
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let err: Value = serde_json::from_str(run.stderr.trim()).expect("stderr is JSON");
    assert_eq!(err["error"]["class"], "APIConnectionError");
    assert_eq!(err["error"]["exit_code"], 7);

    let run = h.run(&["--json", "order", "get", "424242"]);
    assert_eq!(run.code, 4);
    let err: Value = serde_json::from_str(run.stderr.trim()).expect("stderr is JSON");
    assert_eq!(err["error"]["status"], 404);
    assert!(err["error"]["code"].is_string());
    assert!(err["error"]["request_id"].is_string());
}

#[test]
fn wait_timeout_exits_7_and_can_cancel() {
    let h = Harness::with(|b| b.code_delay(Duration::from_secs(600)));
    let before = h.balance();
    let id = h.create_order();
    let run = h.run(&[
        "order",
        "wait",
        &id,
        "--timeout",
        "0.5",
        "--poll-interval",
        "0.1",
    ]);
    let run = run.failed_with(7, "WaitTimeoutError");
    assert!(run.stderr.contains("is still pending"), "{}", run.stderr);
    assert_eq!(
        h.state_order(&Value::String(id.clone()))["status"],
        "pending"
    );

    let run = h.run(&[
        "order",
        "wait",
        &id,
        "--timeout",
        "0.5",
        "--poll-interval",
        "0.1",
        "--cancel-on-timeout",
    ]);
    let run = run.failed_with(7, "WaitTimeoutError");
    assert!(run.stderr.contains("was cancelled"), "{}", run.stderr);
    assert_eq!(
        h.state_order(&Value::String(id.clone()))["status"],
        "cancelled"
    );
    assert_eq!(h.balance(), before);
    // Waiting on an order that ended without a code: OrderClosedError, exit 6.
    h.run(&["order", "wait", &id, "--poll-interval", "0.1"])
        .failed_with(6, "OrderClosedError");
}

fn interrupt(child: &Child) {
    let status = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn ctrl_c_stops_the_wait_and_says_what_became_of_the_order() {
    let h = Harness::with(|b| b.code_delay(Duration::from_secs(600)));
    let before = h.balance();

    // Without --cancel-on-timeout: the order stays active.
    let id = h.create_order();
    let mut child = spawn(&h, &["order", "wait", &id, "--poll-interval", "0.1"]);
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    read_until(&mut stderr, "waiting for a code");
    interrupt(&child);
    child.stderr = Some(stderr.into_inner());
    let run = wait_child(child);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.stderr.contains("is still active"), "{}", run.stderr);
    assert_eq!(
        h.state_order(&Value::String(id.clone()))["status"],
        "pending"
    );
    h.json(&["order", "cancel", &id]);

    // With it: the order is cancelled and the money comes back.
    let mut child = spawn(
        &h,
        &[
            "order",
            "create",
            "--service",
            "svc_telegram",
            "--country",
            "cty_us",
            "--wait",
            "--poll-interval",
            "0.1",
            "--cancel-on-timeout",
        ],
    );
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    read_until(&mut stderr, "waiting for a code");
    interrupt(&child);
    child.stderr = Some(stderr.into_inner());
    let run = wait_child(child);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        run.stderr.contains("was cancelled (refund"),
        "{}",
        run.stderr
    );
    let orders = h.state()["orders"].clone();
    assert!(
        orders
            .as_array()
            .expect("orders")
            .iter()
            .all(|o| o["status"] == "cancelled")
    );
    assert_eq!(h.balance(), before);
}

#[test]
fn profiles_hold_the_key_and_config_show_masks_it() {
    let h = Harness::new();
    // Without a key anywhere: exit 2 with advice.
    let run = finish(
        h.cmd()
            .env_remove("NEXOTP_API_KEY")
            .args(["account"])
            .output()
            .expect("runs"),
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no API key"), "{}", run.stderr);

    // Saved from stdin into the default profile, with the base URL.
    let run = finish(
        h.cmd()
            .env_remove("NEXOTP_API_KEY")
            .args(["config", "set", "api-key", "-"])
            .write_stdin(format!("{KEY}\n"))
            .output()
            .expect("runs"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("****"), "{}", run.stdout);
    h.run(&["config", "set", "base-url", h.sandbox.base_url()])
        .ok();
    let file = h.home.path().join("nexotp").join("config.toml");
    let text = std::fs::read_to_string(&file).expect("config file");
    assert!(text.contains("[profiles.default]"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The profile alone is enough.
    let run = finish(
        h.cmd()
            .env_remove("NEXOTP_API_KEY")
            .env_remove("NEXOTP_BASE_URL")
            .args(["--json", "account"])
            .output()
            .expect("runs"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(money(&run.json()["balance"]), h.balance());

    let show = finish(
        h.cmd()
            .env_remove("NEXOTP_API_KEY")
            .args(["--json", "config", "show"])
            .output()
            .expect("runs"),
    )
    .ok()
    .json();
    assert_eq!(show["api_key"], "****cret");
    assert_eq!(show["api_key_source"], "profile");
    assert_eq!(show["base_url_source"], "environment");
    assert_eq!(show["path"], file.to_str().expect("utf-8"));
    let show = h.run(&["config", "show"]).ok().stdout;
    assert!(show.contains("(environment)"), "{show}");

    // A named profile; a missing one is a usage error.
    h.run(&[
        "--profile",
        "staging",
        "config",
        "set",
        "base-url",
        "https://staging.example.com/wp-json/nexotp/v1/",
    ])
    .ok();
    let show = h.json(&["--profile", "staging", "config", "show"]);
    assert_eq!(show["profile"], "staging");
    h.run(&["--profile", "nope", "account"])
        .failed_with(2, "profile \"nope\"");
    // The SDK's rules apply before anything is saved.
    h.run(&["config", "set", "base-url", "http://example.com/"])
        .failed_with(2, "InvalidArgumentError");
    h.run(&["config", "unset", "api-key"]).ok();
    let run = finish(
        h.cmd()
            .env_remove("NEXOTP_API_KEY")
            .args(["account"])
            .output()
            .expect("runs"),
    );
    assert_eq!(run.code, 2);

    // HOME alone locates the file too (~/.config on Linux).
    #[cfg(target_os = "linux")]
    {
        let run = finish(
            h.cmd()
                .env_remove("XDG_CONFIG_HOME")
                .args(["config", "set", "api-key", "sk_home_profile_key_0001"])
                .output()
                .expect("runs"),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(h.home.path().join(".config/nexotp/config.toml").exists());
    }
}

#[test]
fn help_never_shows_the_key_and_completions_generate() {
    let h = Harness::new();
    let help = h.run(&["--help"]).ok().stdout;
    assert!(
        help.contains("Exit codes:") && help.contains("130"),
        "{help}"
    );
    h.run(&["order", "create", "--help"]).ok();
    for shell in ["bash", "zsh", "fish"] {
        let script = h.run(&["completions", shell]).ok().stdout;
        assert!(
            script.contains("nexotp") && script.contains("webhooks"),
            "{shell}"
        );
    }
    assert_eq!(h.run(&["completions", "tcsh-9"]).code, 2);
}

#[test]
fn sandbox_subcommand_serves_the_api() {
    let h = Harness::new();
    let mut child = spawn(
        &h,
        &[
            "sandbox",
            "--port",
            "0",
            "--api-key",
            KEY,
            "--seed",
            "7",
            "--exit-on-stdin-close",
        ],
    );
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let url = read_until(&mut stdout, "http://").trim().to_owned();
    assert!(url.ends_with("/wp-json/nexotp/v1/"), "{url}");
    let run = finish(
        h.cmd()
            .env("NEXOTP_BASE_URL", &url)
            .args(["--json", "account"])
            .output()
            .expect("runs"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["balance"], "25.00");
    drop(child.stdin.take());
    child.stdout = Some(stdout.into_inner());
    let run = wait_child(child);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The console's URL, beside the API URL (stderr: the first stdout line stays the API URL).
    let console = url.replace("/wp-json/nexotp/v1/", "/__sandbox/ui/");
    assert!(
        run.stderr.contains(&format!("console: {console}")),
        "{}",
        run.stderr
    );
}

#[test]
fn demo_runs_the_whole_flow() {
    let h = Harness::new();
    let run = finish(
        h.cmd()
            .env_remove("NEXOTP_API_KEY")
            .env_remove("NEXOTP_BASE_URL")
            .args(["demo", "--code-delay-ms", "200"])
            .output()
            .expect("runs"),
    )
    .ok();
    let out = &run.stdout;
    for n in 1..=10 {
        assert!(
            out.contains(&format!("[{n}/10]")),
            "step {n} missing:\n{out}"
        );
    }
    for needle in [
        "balance  25.00 USD",
        "arrived after",
        "new code",
        "cancelled: refund",
        "DESCRIPTION",
        "verified: order.created",
        "verified: order.cancelled",
        "rejected: WebhookVerificationError",
        "deleted: true; webhooks left: 0",
        "Done in",
        "signing secret whsec_… (returned once)",
        "/__sandbox/ui/ (watch the flow in a browser while it runs)",
    ] {
        assert!(out.contains(needle), "{needle:?} missing:\n{out}");
    }
    assert_eq!(h.run(&["demo", "--json"]).code, 2);
}

#[test]
fn rate_limit_bucket_argument_parses_like_the_sandbox_binary() {
    // `nexotp sandbox` takes the sandbox's own flags: a bad one is a usage error.
    let h = Harness::new();
    let run = h.run(&["sandbox", "--rate", "NOPE=1/s"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--rate"), "{}", run.stderr);
}

#[test]
fn completions_survive_a_closed_pipe() {
    // `nexotp completions bash | head -2`: the reader goes away before the script is written.
    let mut child = StdCommand::new(BIN)
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr).expect("stderr");
    }
    let status = child.wait().expect("wait");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success(), "{status:?}: {stderr}");
}

#[test]
fn huge_or_negative_numbers_are_usage_errors_not_crashes() {
    let h = Harness::new();
    // Seconds beyond the SDK's cap (a year) used to overflow the deadline and panic.
    for args in [
        &["order", "wait", "5003", "--timeout", "1.8e19"][..],
        &["order", "wait", "5003", "--poll-interval", "1e12"],
        &["order", "wait", "5003", "--timeout", "-1"],
        &["order", "resend", "5003", "--wait", "--timeout", "inf"],
    ] {
        let run = h.run(args).failed_with(2, "InvalidArgumentError");
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let run = h
        .run(&["order", "wait", "5003", "--timeout", "1.8e19"])
        .failed_with(2, "at most a year");
    assert!(run.stderr.contains("timeout"), "{}", run.stderr);
    // `--max-price -1` (with a space) reaches the SDK's rule instead of clap's "unexpected
    // argument", and nothing is ordered.
    let orders_before = h.state()["orders"].as_array().map_or(0, Vec::len);
    h.run(&[
        "order",
        "create",
        "--service",
        "svc_telegram",
        "--country",
        "cty_us",
        "--max-price",
        "-1",
    ])
    .failed_with(2, "max_price");
    assert_eq!(
        h.state()["orders"].as_array().map_or(0, Vec::len),
        orders_before
    );
}

#[test]
fn usage_errors_are_invalid_argument_errors_and_json_with_json() {
    let h = Harness::new();
    let run = h
        .run(&["order", "create", "--service", "svc_telegram"])
        .failed_with(2, "error: InvalidArgumentError: ");
    assert!(run.stderr.contains("--country"), "{}", run.stderr);

    for args in [
        &["--json", "order", "create", "--service", "svc_telegram"][..],
        &["order", "wait", "5003", "--timeout", "1.8e19", "--json"],
        &["--json", "no-such-command"],
    ] {
        let run = h.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        let err: Value = serde_json::from_str(run.stderr.trim())
            .unwrap_or_else(|e| panic!("{args:?}: stderr is not JSON ({e}):\n{}", run.stderr));
        assert_eq!(err["error"]["class"], "InvalidArgumentError");
        assert_eq!(err["error"]["exit_code"], 2);
        assert!(err["error"]["message"].is_string());
    }
    // Help and version are still clap's, on stdout, exit 0.
    let help = h.run(&["--json", "order", "--help"]).ok().stdout;
    assert!(help.contains("Usage:"), "{help}");
    let version = h.run(&["--version"]).ok().stdout;
    assert!(version.starts_with("nexotp "), "{version}");
}

/// Runs the CLI with stderr going to `stderr` and stdout discarded; gives the exit code.
fn run_with_stderr(h: &Harness, args: &[&str], stderr: Stdio) -> i32 {
    let mut child = std_cmd(h, args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawns");
    child.wait().expect("exits").code().unwrap_or(-1)
}

#[test]
fn errors_survive_a_closed_or_full_stderr() {
    let h = Harness::new();
    // stderr is a pipe whose reader is gone (`nexotp ... 2>&1 >/dev/null | true`).
    let closed_pipe = || {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        Stdio::from(writer)
    };
    assert_eq!(
        run_with_stderr(&h, &["order", "get", "999999"], closed_pipe()),
        4
    );
    assert_eq!(
        run_with_stderr(&h, &["--json", "order", "get", "999999"], closed_pipe()),
        4
    );
    assert_eq!(
        run_with_stderr(&h, &["order", "create", "--service", "x"], closed_pipe()),
        2
    );
    // A wait's progress lines go to stderr too.
    let id = h.create_order();
    assert_eq!(
        run_with_stderr(
            &h,
            &["order", "wait", &id, "--poll-interval", "0.1"],
            closed_pipe()
        ),
        0
    );
    // stderr on a full device.
    #[cfg(target_os = "linux")]
    {
        let full = || Stdio::from(std::fs::File::create("/dev/full").expect("/dev/full"));
        assert_eq!(
            run_with_stderr(&h, &["--json", "order", "get", "999999"], full()),
            4
        );
        assert_eq!(
            run_with_stderr(
                &h,
                &["order", "wait", "5003", "--timeout", "1.8e19"],
                full()
            ),
            2
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_an_error_but_a_closed_pipe_is_not() {
    let h = Harness::new();
    let run = finish(
        std_cmd(&h, &["--json", "account"])
            .stdout(std::fs::File::create("/dev/full").expect("/dev/full"))
            .output()
            .expect("runs"),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("writing to stdout"), "{}", run.stderr);
    // A reader that went away is not worth an error.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let status = std_cmd(&h, &["--json", "account"])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::null())
        .status()
        .expect("runs");
    assert!(status.success(), "{status:?}");
}

#[test]
fn json_wait_interrupted_keeps_the_order_id() {
    let h = Harness::with(|b| b.code_delay(Duration::from_secs(600)));
    let mut child = spawn(
        &h,
        &[
            "--json",
            "order",
            "create",
            "--service",
            "svc_telegram",
            "--country",
            "cty_us",
            "--wait",
            "--poll-interval",
            "0.1",
        ],
    );
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    // With --json, the "order created" notice is on stderr (stdout keeps one document).
    let seen = read_until(&mut stderr, "waiting for a code");
    interrupt(&child);
    child.stderr = Some(stderr.into_inner());
    let run = wait_child(child);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let orders = h.state()["orders"].as_array().cloned().expect("orders");
    assert_eq!(orders.len(), 1);
    let id = id_string(&orders[0]["id"]);
    assert!(
        seen.contains(&format!("order {id} created")),
        "notice missing:\n{seen}"
    );
    let last = run.stderr.lines().last().unwrap_or_default();
    let err: Value = serde_json::from_str(last).expect("the error is JSON");
    assert_eq!(err["error"]["class"], "Interrupted");
    assert_eq!(err["error"]["exit_code"], 130);
    assert_eq!(err["error"]["order_id"], id.as_str());
    assert_eq!(err["error"]["cancelled"], false);
    assert_eq!(orders[0]["status"], "pending");

    // With --cancel-on-timeout, `cancelled` says the order was refunded.
    let mut child = spawn(
        &h,
        &[
            "--json",
            "order",
            "wait",
            &id,
            "--poll-interval",
            "0.1",
            "--cancel-on-timeout",
        ],
    );
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    read_until(&mut stderr, "waiting for a code");
    interrupt(&child);
    child.stderr = Some(stderr.into_inner());
    let run = wait_child(child);
    assert_eq!(run.code, 130, "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    let err: Value = serde_json::from_str(last).expect("the error is JSON");
    assert_eq!(err["error"]["order_id"], id.as_str());
    assert_eq!(err["error"]["cancelled"], true);
    assert_eq!(
        h.state_order(&Value::String(id.clone()))["status"],
        "cancelled"
    );
}

#[test]
fn a_lost_order_create_is_looked_up_in_the_ledger() {
    let h = Harness::new();
    let create = [
        "order",
        "create",
        "--service",
        "svc_telegram",
        "--country",
        "cty_us",
    ];
    // The order was made, the answer lost: the CLI finds it and carries on as if it had come.
    h.sandbox.set_faults(
        Faults::default().then(ScriptedFault::new(FaultKind::Drop).matching("POST /order")),
    );
    let mut json_args = create.to_vec();
    json_args.push("--json");
    let run = h.run(&json_args).ok();
    let order = run.json();
    let ids = h.sandbox.order_ids();
    assert_eq!(ids.len(), 1, "not sent twice");
    assert_eq!(order["id"].as_u64(), Some(ids[0]));
    assert!(run.stderr.contains("found it"), "{}", run.stderr);

    // Nothing was made: the CLI says it is safe to run again.
    h.sandbox.set_faults(
        Faults::default()
            .then(ScriptedFault::new(FaultKind::DropBeforeApply).matching("POST /order")),
    );
    let run = h.run(&create).failed_with(7, "OrderOutcomeUnknownError");
    assert!(
        run.stderr.contains("safe to run the command again"),
        "{}",
        run.stderr
    );
    assert_eq!(h.sandbox.orders_count(), 1);
    h.sandbox.set_faults(
        Faults::default()
            .then(ScriptedFault::new(FaultKind::DropBeforeApply).matching("POST /order")),
    );
    let run = h.run(&json_args).failed_with(7, "OrderOutcomeUnknownError");
    let error: Value = serde_json::from_str(run.stderr.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("stderr ends in a JSON error ({e}):\n{}", run.stderr));
    assert_eq!(error["error"]["created"], Value::Bool(false));
}

#[test]
fn deadline_bounds_each_call() {
    let h = Harness::new();
    h.sandbox.set_faults(
        Faults::default()
            .then(ScriptedFault::new(FaultKind::Delay { ms: 5000 }).matching("GET /account")),
    );
    let started = std::time::Instant::now();
    let run = h
        .run(&["account", "--deadline", "0.5"])
        .failed_with(7, "APITimeoutError");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(run.stderr.contains("deadline"), "{}", run.stderr);
    h.run(&["account", "--deadline", "0"])
        .failed_with(2, "InvalidArgumentError");
}

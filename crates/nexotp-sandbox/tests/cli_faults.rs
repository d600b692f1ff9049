//! The binary's `--faults` takes every fault kind and `--rate` the burst and Retry-After
//! options; what it was given shows on the control endpoints and on the wire.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// Kills the child even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nexotp-sandbox"))
        .args(["--port", "0", "--exit-on-stdin-close"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a first line");
    (Running(child), line.trim().to_string())
}

async fn json_of(
    answer: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>,
) -> Value {
    let text = answer
        .await
        .expect("an answer")
        .text()
        .await
        .expect("a body");
    serde_json::from_str(&text).expect("JSON")
}

fn every_fault() -> Value {
    json!({
        "latency_ms": 0,
        "script": [
            {"match": "POST /order", "fault": "wp_internal_error", "times": 1},
            {"fault": "status", "status": 502, "envelope": false, "after_apply": true, "times": 1},
            {"fault": "status", "status": 200, "envelope": true, "code": "insufficient_balance", "times": 1},
            {"fault": "status", "status": 429, "retry_after": "0", "envelope": true, "times": 1},
            {"fault": "status", "status": 500, "envelope": true, "body": "x", "content_type": "text/plain", "times": 1},
            {"fault": "slow_after_apply", "ms": 5, "times": 1},
            {"fault": "truncate", "bytes": 12, "times": 1},
            {"fault": "truncate", "times": 1},
            {"fault": "instant_code", "times": 1},
            {"fault": "drop", "times": 1},
            {"fault": "drop_before_apply", "times": 1},
            {"fault": "malformed", "times": 1},
            {"fault": "html500", "times": 1},
            {"fault": "delay", "ms": 5, "times": 1},
        ],
        "random": [
            {"rate": 0.0, "match": "GET /**", "fault": "status", "status": 503, "envelope": true},
            {"rate": 0.0, "fault": "instant_code"},
        ],
    })
}

#[tokio::test]
async fn faults_and_rate_options_from_flags() {
    let faults = every_fault();
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    let rate = format!("order=0.5/s,burst=2,retry_after={date}");
    let (_child, base) = spawn(&[
        "--faults",
        &faults.to_string(),
        "--rate",
        &rate,
        "--rate",
        "POLL=7/s",
        "--request-log-limit",
        "20000",
    ]);
    let root = base
        .split("/wp-json")
        .next()
        .expect("a root URL")
        .to_string();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client");
    let control = |path: &str| json_of(http.get(format!("{root}/__sandbox/{path}")).send());
    let got = control("faults").await;
    let mut want = faults;
    want["error_rate"] = json!(0.0);
    want["drop_rate"] = json!(0.0);
    want["malformed_rate"] = json!(0.0);
    assert_eq!(got, want);
    let limits = control("rate").await;
    assert_eq!(
        limits["limits"],
        json!({"GENERAL": null, "ORDER": {"per_second": 0.5, "burst": 2, "retry_after": date},
               "POLL": {"per_second": 7.0}})
    );

    // The first scripted fault, on the wire: applied, then WordPress's fatal-error JSON.
    let r = http
        .post(format!("{base}order"))
        .header("X-NexOTP-API-Key", nexotp_sandbox::DEFAULT_API_KEY)
        .header("Content-Type", "application/json")
        .body(r#"{"service":"svc_telegram","country":"cty_us"}"#)
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status(), 500);
    let body: Value = serde_json::from_str(&r.text().await.expect("a body")).expect("JSON");
    assert_eq!(body["code"], "internal_server_error");
    let state = control("state").await;
    assert_eq!(state["orders"].as_array().map(Vec::len), Some(1));
}

#[test]
fn bad_fault_and_rate_flags_fail_with_a_reason() {
    for (args, reason) in [
        (
            vec!["--faults", r#"{"random":[{"rate":1.5,"fault":"drop"}]}"#],
            "between 0 and 1",
        ),
        (vec!["--faults", r#"{"fault":"nope"}"#], "unknown variant"),
        (
            vec!["--rate", "POLL=5/s,burst=0"],
            "burst must be at least 1",
        ),
        (
            vec!["--rate", "POLL=5/s,burst=x"],
            "burst must be a whole number",
        ),
        (vec!["--rate", "POLL=5/s,speed=2"], "unknown rate option"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_nexotp-sandbox"))
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("the binary runs");
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}

//! The binary prints its base URL first, serves, and exits on stdin close or SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(base: &str, path: &str) -> String {
    let rest = base.strip_prefix("http://").unwrap();
    let (host, prefix) = rest.split_once('/').unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /{prefix}{path} HTTP/1.1\r\nHost: {host}\r\nX-NexOTP-API-Key: k1\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the sandbox did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn(extra: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nexotp-sandbox"))
        .args([
            "--port",
            "0",
            "--api-key",
            "k1",
            "--balance",
            "7.50",
            "--rate",
            "poll=5/s",
        ])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_string())
}

#[test]
fn prints_base_url_and_exits_when_stdin_closes() {
    let (mut child, base) = spawn(&["--exit-on-stdin-close"]);
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/wp-json/nexotp/v1/"),
        "{base}"
    );
    let answer = get(&base, "account");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""balance":"7.50""#), "{answer}");
    drop(child.stdin.take());
    assert!(wait_exit(&mut child).success());
}

#[cfg(unix)]
#[test]
fn exits_cleanly_on_sigterm() {
    let (mut child, base) = spawn(&[]);
    assert!(get(&base, "countries").starts_with("HTTP/1.1 200"));
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert!(wait_exit(&mut child).success());
}

#[test]
fn bad_flags_fail() {
    let out = Command::new(env!("CARGO_BIN_EXE_nexotp-sandbox"))
        .args(["--rate", "NOPE=1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown rate bucket"));
}

#[test]
fn countries_flag_makes_a_large_catalogue() {
    let (mut child, base) = spawn(&["--exit-on-stdin-close", "--countries", "250"]);
    let answer = get(&base, "countries");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    let list = value["data"].as_array().unwrap();
    assert_eq!(list.len(), 250);
    assert_eq!(list[0]["code"], "cty_us", "the named countries come first");
    assert_eq!(list[249]["code"], "cty_x0249");
    assert!(
        (15_000..30_000).contains(&body.len()),
        "about 20 KB: {}",
        body.len()
    );
    // A made-up country is a real one: it has services and prices, and can be ordered.
    let price = get(&base, "price?service=svc_telegram&country=cty_x0100");
    assert!(price.starts_with("HTTP/1.1 200"), "{price}");
    drop(child.stdin.take());
    assert!(wait_exit(&mut child).success());
}

/// Spawns the binary with exactly these arguments and reads its first stdout line.
fn spawn_raw(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nexotp-sandbox"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_string())
}

fn body_of(answer: &str) -> &str {
    &answer[answer.find("\r\n\r\n").unwrap() + 4..]
}

#[test]
fn record_and_replay_subcommands_round_trip() {
    let out = std::env::temp_dir().join(format!("nexotp-cli-traffic-{}.json", std::process::id()));
    let out_arg = out.to_str().unwrap();
    let (mut upstream, upstream_url) = spawn(&["--exit-on-stdin-close"]);
    let (mut proxy, proxy_url) = spawn_raw(&[
        "record",
        "--upstream",
        &upstream_url,
        "--out",
        out_arg,
        "--exit-on-stdin-close",
    ]);
    assert!(proxy_url.ends_with("/wp-json/nexotp/v1/"), "{proxy_url}");
    assert_ne!(proxy_url, upstream_url);
    let account = get(&proxy_url, "account");
    assert!(account.contains(r#""balance":"7.50""#), "{account}");
    let price = get(&proxy_url, "price?service=svc_telegram&country=cty_us");
    assert!(price.starts_with("HTTP/1.1 200"), "{price}");
    drop(proxy.stdin.take());
    assert!(wait_exit(&mut proxy).success());
    drop(upstream.stdin.take());
    assert!(wait_exit(&mut upstream).success());

    let text = std::fs::read_to_string(&out).unwrap();
    let traffic: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(traffic["exchanges"].as_array().unwrap().len(), 2);
    assert!(!text.contains("\"k1\""), "the key is redacted");

    let (mut replay, replay_url) = spawn_raw(&["replay", out_arg, "--exit-on-stdin-close"]);
    let again = get(&replay_url, "account");
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    assert_eq!(body_of(&again), body_of(&account));
    let missing = get(&replay_url, "price?service=svc_telegram&country=cty_gb");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    assert!(missing.contains("replay_no_match"), "{missing}");
    assert!(
        missing.contains("closest recorded request (exchange 2)"),
        "{missing}"
    );
    drop(replay.stdin.take());
    assert!(wait_exit(&mut replay).success());
    let _ = std::fs::remove_file(&out);
}

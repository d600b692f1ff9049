//! The console: its page and files, its event stream (live, never the API key, no task left
//! behind), and the control endpoints its buttons use. The page itself is driven in a real
//! browser by `console-tests/` (scripts/test-console).

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{T, fast};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// A long, unusual key: a leak cannot hide.
const KEY: &str = "sk_test_console/Secret+Key_9f3b2c";

/// An open event stream and what it sent so far.
struct Events {
    resp: reqwest::Response,
    text: String,
}

impl Events {
    async fn open(t: &T) -> Events {
        let resp = t
            .http
            .get(t.root("/__sandbox/events"))
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .expect("stream opens");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        Events {
            resp,
            text: String::new(),
        }
    }

    /// Reads until `pred` holds on everything received (at most 5 s).
    async fn until(&mut self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !pred(&self.text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.resp.chunk()).await {
                Ok(Ok(Some(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(other) => panic!("stream ended waiting for {what}: {other:?}\n{}", self.text),
                Err(_) => panic!("no {what} within 5 s:\n{}", self.text),
            }
        }
    }

    /// The data of every event of this name received so far.
    fn data(&self, event: &str) -> Vec<Value> {
        self.text
            .split("\n\n")
            .filter_map(|frame| {
                let mut lines = frame.lines();
                let name = lines.find_map(|l| l.strip_prefix("event: "))?;
                let data = lines.find_map(|l| l.strip_prefix("data: "))?;
                (name == event).then(|| serde_json::from_str(data).expect("JSON data"))
            })
            .collect()
    }
}

#[tokio::test]
async fn the_page_and_its_files_are_served_embedded_with_a_strict_policy() {
    let t = T::default().await;
    assert_eq!(
        t.sb.console_url(),
        format!("{}/__sandbox/ui/", t.sb.root_url())
    );
    let mut total = 0;
    for (path, kind) in [
        ("/__sandbox/ui/", "text/html; charset=utf-8"),
        ("/__sandbox/ui/index.html", "text/html; charset=utf-8"),
        ("/__sandbox/ui/console.js", "text/javascript; charset=utf-8"),
        ("/__sandbox/ui/console.css", "text/css; charset=utf-8"),
        ("/__sandbox/ui/icon.svg", "image/svg+xml"),
    ] {
        let r = t.control("GET", path, None).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type").as_deref(), Some(kind), "{path}");
        let csp = r.header("content-security-policy").expect("CSP");
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert_eq!(
            r.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(r.header("cache-control").as_deref(), Some("no-cache"));
        let etag = r.header("etag").expect("ETag");
        let again = t
            .send(t.http.get(t.root(path)).header("If-None-Match", &etag))
            .await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.text.is_empty());
        if path != "/__sandbox/ui/index.html" {
            total += r.text.len();
        }
    }
    assert!(total < 200 * 1024, "the page weighs {total} bytes");
    let page = t.control("GET", "/__sandbox/ui/", None).await.text;
    assert!(page.contains("<script src=\"console.js\" defer></script>"));
    assert!(!page.contains(KEY) && !page.contains(t.sb.api_key()));

    for path in ["/__sandbox", "/__sandbox/", "/__sandbox/ui"] {
        let no_follow = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = t.send(no_follow.get(t.root(path))).await;
        assert_eq!(r.status, 302, "{path}");
        assert_eq!(r.header("location").as_deref(), Some("/__sandbox/ui/"));
    }
    let head = t
        .send(t.http.head(t.root("/__sandbox/ui/console.js")))
        .await;
    assert_eq!(head.status, 200);
    assert!(head.text.is_empty());
    assert_eq!(
        t.control("GET", "/__sandbox/ui/nope.js", None).await.status,
        404
    );
    let head = t.send(t.http.head(t.root("/__sandbox/events"))).await;
    assert_eq!(head.status, 404, "no stream for a HEAD");
    assert_eq!(t.sb.console_streams(), 0);
    // Page requests are control requests: never in the request log nor counted.
    assert!(t.sb.requests().is_empty());
    assert_eq!(t.sb.stats().requests, 0);
}

#[tokio::test]
async fn the_stream_shows_requests_and_orders_as_they_happen_without_the_key() {
    let t = T::new(fast().api_key(KEY).code_delay(Duration::from_secs(600))).await;
    let mut events = Events::open(&t).await;
    events
        .until("the first state", |s| s.contains("event: state"))
        .await;
    let hello = &events.data("hello")[0];
    assert_eq!(hello["api_prefix"], "/wp-json/nexotp/v1/");
    assert_eq!(hello["code_delay_ms"], 600_000);

    let order = t.order("svc_telegram", "cty_us").await;
    let id = order["id"].as_u64().unwrap();
    events
        .until("the order", |s| {
            s.contains(&format!("\"id\":{id},\"status\":\"pending\""))
        })
        .await;
    let state = events.data("state").pop().unwrap();
    let shown = &state["world"]["orders"][0];
    assert_eq!(shown["id"], id);
    let now = state["now_ms"].as_u64().unwrap();
    let due = shown["code_due_ms"].as_u64().unwrap();
    assert!(due > now && due <= now + 600_000, "{due} vs {now}");
    assert!(shown["expires_ms"].as_u64().unwrap() > due);

    // The key, anywhere a client may put it: the header, the query, another header, the body;
    // and a wrong key (a real one, say) presented to the sandbox.
    let wrong = "sk_live_Production_Key_1234567890";
    t.send(
        t.req(
            "POST",
            &format!("/order/{id}/resend?api_key={}", urlencode(KEY)),
        )
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Content-Type", "application/json")
        .body(json!({"api_key": KEY, "note": "key/with/slashes"}).to_string()),
    )
    .await;
    t.send(
        t.http
            .get(t.url(&format!("/account?k={wrong}")))
            .header("X-NexOTP-API-Key", wrong)
            .body(format!("{{\"again\":\"{wrong}\"}}")),
    )
    .await;
    events
        .until("both requests", |s| s.matches("\"method\":").count() >= 3)
        .await;
    let requests: Vec<Value> = events
        .data("requests")
        .into_iter()
        .flat_map(|f| f["items"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    let create = &requests[0];
    assert_eq!(create["method"], "POST");
    assert_eq!(create["status"], 201);
    assert_eq!(create["bucket"], "ORDER");
    assert!(create["request_id"].as_str().unwrap().starts_with("req_"));
    assert!(create["latency_ms"].is_u64());
    assert_eq!(
        create["request"]["headers"]["x-nexotp-api-key"],
        "[REDACTED]"
    );
    assert!(
        create["response"]["body"]
            .as_str()
            .unwrap()
            .contains("\"pending\"")
    );
    let resend = &requests[1];
    assert_eq!(resend["status"], 409, "{resend}");
    assert_eq!(resend["query"], "api_key=[REDACTED]");
    assert_eq!(
        resend["request"]["headers"]["authorization"],
        "Bearer [REDACTED]"
    );
    assert!(
        resend["request"]["body"]
            .as_str()
            .unwrap()
            .contains("[REDACTED]")
    );
    let refused = &requests[2];
    assert_eq!(refused["status"], 401);
    assert_eq!(refused["query"], "k=[REDACTED]");
    for secret in [KEY, &urlencode(KEY), "Secret+Key", "Secret%2BKey", wrong] {
        assert!(!events.text.contains(secret), "{secret} in the stream");
    }
    // The request log redacts the same way.
    let log = serde_json::to_string(&t.sb.requests()).unwrap();
    assert!(!log.contains("Secret") && !log.contains(wrong), "{log}");
    // Control requests are not in it.
    t.control(
        "POST",
        "/__sandbox/balance",
        Some(json!({"balance": "3.00"})),
    )
    .await;
    events
        .until("the new balance", |s| s.contains("\"balance\":\"3.00\""))
        .await;
    assert_eq!(t.sb.requests().len(), 3);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_closed_stream_ends_its_task_and_open_ones_do_not_hold_up_shutdown() {
    let t = T::default().await;
    let mut events = Events::open(&t).await;
    events
        .until("a state", |s| s.contains("event: state"))
        .await;
    assert_eq!(t.sb.console_streams(), 1);
    drop(events);
    // The next change (or the heartbeat) finds the closed connection.
    t.order("svc_telegram", "cty_us").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while t.sb.console_streams() > 0 {
        assert!(
            Instant::now() < deadline,
            "the stream's task is still there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut open = Vec::new();
    for _ in 0..3 {
        let mut e = Events::open(&t).await;
        e.until("a state", |s| s.contains("event: state")).await;
        open.push(e);
    }
    assert_eq!(t.sb.console_streams(), 3);
    let started = Instant::now();
    let T { sb, http: _ } = t;
    sb.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    for mut e in open {
        // Each stream ends (the server closed it) instead of hanging.
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(Some(_)) = e.resp.chunk().await {}
        })
        .await;
        assert!(end.is_ok(), "a stream outlived the sandbox");
    }
}

#[tokio::test]
async fn too_many_streams_are_refused() {
    let t = T::default().await;
    let mut open = Vec::new();
    for _ in 0..16 {
        open.push(Events::open(&t).await);
    }
    let r = t.control("GET", "/__sandbox/events", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    drop(open);
}

#[tokio::test]
async fn cancel_an_order_from_the_control_api() {
    let t = T::new(fast().code_delay(Duration::from_secs(600))).await;
    let o = t.order("svc_telegram", "cty_us").await;
    let r = t
        .control(
            "POST",
            &format!("/__sandbox/orders/{}/cancel", o["id"]),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["status"], "cancelled");
    assert_eq!(r.json()["refund"], o["price"]);
    assert_eq!(t.sb.balance().to_string(), "25.00");
    let again = t
        .control(
            "POST",
            &format!("/__sandbox/orders/{}/cancel", o["id"]),
            None,
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["code"], "order_not_cancellable");
    let missing = t.control("POST", "/__sandbox/orders/9/cancel", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "order_not_found");
    // The Rust handle does the same.
    let o = t.order("svc_telegram", "cty_us").await;
    t.sb.cancel_order(o["id"].as_u64().unwrap())
        .expect("cancelled");
    assert!(t.sb.cancel_order(o["id"].as_u64().unwrap()).is_err());
    // Control requests stay out of the log.
    assert_eq!(t.sb.requests().len(), 2);
}

#[tokio::test]
async fn faults_can_be_patched_and_scripted_one_at_a_time() {
    let t = T::default().await;
    let added = t
        .control(
            "POST",
            "/__sandbox/faults/script",
            Some(json!({"match": "POST /order", "fault": "status", "status": 503})),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    let patched = t
        .control(
            "PATCH",
            "/__sandbox/faults",
            Some(json!({"error_rate": 0.25, "latency_ms": 5})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let faults = t.sb.faults();
    assert_eq!(faults.error_rate, 0.25);
    assert_eq!(faults.latency_ms, 5);
    assert_eq!(faults.script.len(), 1, "the script stays");
    let bad = t
        .control("PATCH", "/__sandbox/faults", Some(json!({"error_rate": 2})))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(t.sb.faults().error_rate, 0.25, "unchanged");
    let bad = t
        .control(
            "POST",
            "/__sandbox/faults/script",
            Some(json!({"fault": "nope"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    t.control("PATCH", "/__sandbox/faults", Some(json!({"error_rate": 0})))
        .await;
    let r = t
        .post(
            "/order",
            json!({"service": "svc_telegram", "country": "cty_us"}),
        )
        .await;
    assert_eq!(r.status, 503, "the scripted fault applies");
    assert!(t.sb.faults().script.is_empty(), "and is used up");
}

/// A receiver that answers `fail_first` requests with 500, then 200, keeping each body.
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<(String, Bytes)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<(String, Bytes)>>> = Arc::default();
    let seen = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let sig = req.headers()["x-nexotp-signature"]
                            .to_str()
                            .unwrap()
                            .to_string();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let n = {
                            let mut s = seen.lock().unwrap();
                            s.push((sig, body));
                            s.len()
                        };
                        let mut resp = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
                        if n <= fail_first {
                            *resp.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (url, got)
}

#[tokio::test]
async fn a_delivery_can_be_replayed_and_shows_its_payload_and_signature() {
    let t = T::new(fast().code_delay(Duration::from_secs(600))).await;
    let (url, got) = receiver(0).await;
    let hook = t
        .post(
            "/webhooks",
            json!({"endpoint_url": url, "events": ["order.created"]}),
        )
        .await;
    let secret = hook.data()["secret"].as_str().unwrap().to_string();
    t.order("svc_telegram", "cty_us").await;
    let first = wait(|| {
        let d = t.sb.deliveries();
        (d.first().map(|d| d.state.as_str()) == Some("delivered")).then(|| d[0].clone())
    })
    .await;
    assert!(first.payload.contains("\"type\":\"order.created\""));
    let sig = first.signature.clone().expect("the signature sent");
    assert!(sig.starts_with("t=") && sig.contains(",v1="));
    assert_eq!(got.lock().unwrap()[0].0, sig);
    assert_eq!(got.lock().unwrap()[0].1, first.payload.as_bytes());

    let r = t
        .control("POST", "/__sandbox/deliveries/1/replay", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["id"], 2);
    assert_eq!(r.json()["replay_of"], 1);
    assert_eq!(r.json()["event_id"], first.event_id.as_str());
    let second = wait(|| {
        let d = t.sb.deliveries();
        (d.get(1).map(|d| d.state.as_str()) == Some("delivered")).then(|| d[1].clone())
    })
    .await;
    assert_eq!(second.payload, first.payload, "the same event");
    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].1, received[0].1);
    assert_eq!(
        Some(received[1].0.clone()),
        second.signature,
        "signed afresh and recorded"
    );
    let t_part = received[1]
        .0
        .split(',')
        .next()
        .unwrap()
        .trim_start_matches("t=");
    assert_eq!(
        nexotp_sandbox::signature_header(&secret, t_part.parse().unwrap(), &received[1].1),
        received[1].0
    );

    assert_eq!(
        t.control("POST", "/__sandbox/deliveries/9/replay", None)
            .await
            .status,
        404
    );
    t.delete("/webhooks/1").await;
    let gone = t
        .control("POST", "/__sandbox/deliveries/1/replay", None)
        .await;
    assert_eq!(gone.status, 409, "{}", gone.text);
    assert_eq!(gone.json()["code"], "webhook_not_found");
    assert!(t.sb.replay_delivery(1).is_err());
}

async fn wait<R>(f: impl Fn() -> Option<R>) -> R {
    for _ in 0..250 {
        if let Some(r) = f() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out");
}

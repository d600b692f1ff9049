//! Webhook deliveries reach a local receiver, correctly signed, with retries.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::T;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::Sha256;

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, Bytes)>>>);

/// A receiver that answers `fail_first` requests with 500, then 200.
async fn receiver(fail_first: usize) -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Received::default();
    let seen = got.clone();
    let count = Arc::new(Mutex::new(0usize));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            let count = count.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    let count = count.clone();
                    async move {
                        let sig = req
                            .headers()
                            .get("x-nexotp-signature")
                            .map(|v| v.to_str().unwrap().to_string())
                            .unwrap_or_default();
                        assert_eq!(req.headers()["content-type"], "application/json");
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let n = {
                            let mut c = count.lock().unwrap();
                            *c += 1;
                            *c
                        };
                        let status = if n <= fail_first { 500 } else { 200 };
                        seen.0.lock().unwrap().push((sig, body));
                        let mut resp = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
                        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
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

fn verify(secret: &str, header: &str, body: &[u8]) -> u64 {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = Some(x.to_string()),
            Some(("v1", x)) => v1 = Some(x.to_string()),
            _ => {}
        }
    }
    let (t, v1) = (t.expect("t="), v1.expect("v1="));
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    assert_eq!(hex::encode(mac.finalize().into_bytes()), v1, "signature");
    t.parse().unwrap()
}

async fn wait_for(got: &Received, n: usize) -> Vec<(String, Bytes)> {
    for _ in 0..200 {
        let v = got.0.lock().unwrap().clone();
        if v.len() >= n {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "expected {n} deliveries, got {}",
        got.0.lock().unwrap().len()
    );
}

#[tokio::test]
async fn events_are_delivered_signed_without_polling() {
    let t = T::default().await;
    let (url, got) = receiver(0).await;
    let hook = t
        .post(
            "/webhooks",
            json!({"endpoint_url": url, "events": ["order.created", "order.code_received"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let secret = hook.data()["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_") && secret.len() == 38);
    let o = t.order("svc_telegram", "cty_us").await;
    // Nobody polls: the code arrives by the ticker and is delivered.
    let deliveries = wait_for(&got, 2).await;
    let mut types = Vec::new();
    for (sig, body) in &deliveries {
        let ts = verify(&secret, sig, body);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(ts.abs_diff(now) < 10);
        let event: Value = serde_json::from_slice(body).unwrap();
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));
        assert!(event["created_at"].is_u64());
        assert_eq!(event["data"]["id"], o["id"]);
        types.push(event["type"].as_str().unwrap().to_string());
        if event["type"] == "order.code_received" {
            assert_eq!(event["data"]["status"], "received");
            assert_eq!(event["data"]["code"].as_str().unwrap().len(), 6);
        }
    }
    assert_eq!(types, ["order.created", "order.code_received"]);
    let records = t.control("GET", "/__sandbox/deliveries", None).await.json();
    assert_eq!(records.as_array().unwrap().len(), 2);
    for _ in 0..50 {
        if t.sb.deliveries().iter().all(|d| d.state == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = t.sb.deliveries();
    assert!(
        d.iter()
            .all(|d| d.state == "delivered" && d.attempts == 1 && d.last_status == Some(200)),
        "{d:?}"
    );
    // Unsubscribed events are not sent; a deleted webhook gets nothing.
    let o2 = t.order("svc_telegram", "cty_us").await;
    t.post(&format!("/order/{}/cancel", o2["id"]), json!({}))
        .await;
    wait_for(&got, 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let all = got.0.lock().unwrap().clone();
    assert_eq!(all.len(), 3, "order.cancelled is not subscribed");
}

#[tokio::test]
async fn failed_deliveries_are_retried() {
    let t = T::default().await;
    let (url, got) = receiver(2).await;
    let hook = t
        .post(
            "/webhooks",
            json!({"endpoint_url": url, "events": ["order.cancelled"]}),
        )
        .await
        .data();
    let secret = hook["secret"].as_str().unwrap().to_string();
    let o = t.order("svc_google", "cty_us").await;
    t.post(&format!("/order/{}/cancel", o["id"]), json!({}))
        .await;
    let deliveries = wait_for(&got, 3).await;
    for (sig, body) in &deliveries {
        verify(&secret, sig, body);
    }
    for _ in 0..50 {
        if t.sb
            .deliveries()
            .first()
            .is_some_and(|d| d.state == "delivered")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = &t.sb.deliveries()[0];
    assert_eq!(
        (d.attempts, d.last_status, d.state.as_str()),
        (3, Some(200), "delivered"),
        "{d:?}"
    );
    assert_eq!(d.event_type, "order.cancelled");
}

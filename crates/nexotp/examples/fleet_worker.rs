//! A fleet worker (Rust), for `scripts/test-fleet`: `FLEET_POLLS` polls of `FLEET_ORDER_ID` and
//! `FLEET_ORDERS` new orders, as fast as the client lets it, then one JSON line of what
//! happened. The client is configured from the environment alone (`NEXOTP_API_KEY`,
//! `NEXOTP_BASE_URL`, `NEXOTP_RATE_LIMIT_STORE`, `NEXOTP_RATE_LIMITS`), as a worker of a real
//! fleet would be.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use nexotp::{Client, OrderRequest};
use tokio::sync::Mutex;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[derive(Default)]
struct Report {
    polls: u64,
    orders: Vec<String>,
    errors: Vec<String>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let order_id = var("FLEET_ORDER_ID");
    let polls = Arc::new(AtomicI64::new(
        var("FLEET_POLLS").parse().expect("FLEET_POLLS"),
    ));
    let orders = Arc::new(AtomicI64::new(
        var("FLEET_ORDERS").parse().expect("FLEET_ORDERS"),
    ));
    let concurrency: usize = std::env::var("FLEET_CONCURRENCY")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(8);
    let client = Client::from_env().expect("client from the environment");
    let report = Arc::new(Mutex::new(Report::default()));
    let first = Arc::new(AtomicI64::new(i64::MAX));
    let last = Arc::new(AtomicI64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, polls, report, id) = (
            client.clone(),
            polls.clone(),
            report.clone(),
            order_id.clone(),
        );
        let (first, last) = (first.clone(), last.clone());
        tasks.push(tokio::spawn(async move {
            while polls.fetch_sub(1, Ordering::SeqCst) > 0 {
                let started = now_ms();
                match client.order(&id).await {
                    Ok(_) => {
                        first.fetch_min(started, Ordering::SeqCst);
                        last.fetch_max(now_ms(), Ordering::SeqCst);
                        report.lock().await.polls += 1;
                    }
                    Err(e) => report.lock().await.errors.push(format!("poll: {e}")),
                }
            }
        }));
    }
    for _ in 0..2 {
        let (client, orders, report) = (client.clone(), orders.clone(), report.clone());
        tasks.push(tokio::spawn(async move {
            while orders.fetch_sub(1, Ordering::SeqCst) > 0 {
                let request = OrderRequest::new("svc_telegram", "cty_us");
                match client.create_order(&request).await {
                    Ok(order) => report.lock().await.orders.push(order.id),
                    Err(e) => report.lock().await.errors.push(format!("order: {e}")),
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("worker task");
    }
    let report = report.lock().await;
    let first = first.load(Ordering::SeqCst);
    let json = serde_json::json!({
        "worker": "rust",
        "polls": report.polls,
        "orders": report.orders,
        "errors": report.errors,
        "first_ms": if first == i64::MAX { 0 } else { first },
        "last_ms": last.load(Ordering::SeqCst),
    });
    println!("{json}");
}

//! The baseline of `bench/python_bench.py`: a plain reqwest loop doing what
//! `Client.get_order` does on the wire (GET with the key header, read the body, decode JSON),
//! with none of the SDK around it.
//!
//! ```sh
//! cargo run --release -p nexotp --example reqwest_loop -- URL API_KEY COUNT
//! ```
//! `URL` is the full order URL (e.g. `http://127.0.0.1:PORT/wp-json/nexotp/v1/order/5001`).
//! Prints `req/s: N` on the last line.
//!
//! With `--sdk` as a fourth argument it makes the same calls through `nexotp::Client::order`
//! instead (URL is then the base URL and the order id comes last: `URL KEY COUNT --sdk ID`),
//! which separates the cost of the SDK core from that of the Python binding.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(key), Some(count)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: reqwest_loop URL API_KEY COUNT");
        std::process::exit(2);
    };
    let count: u32 = count.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
        let get = || async {
            let body = client
                .get(&url)
                .header("X-NexOTP-API-Key", &key)
                .header("Accept", "application/json")
                .send()
                .await?
                .bytes()
                .await?;
            let value: serde_json::Value = serde_json::from_slice(&body)?;
            Ok::<_, Box<dyn std::error::Error>>(value)
        };
        for _ in 0..(count / 10).max(1) {
            get().await?; // warm-up: connection and allocator
        }
        let started = Instant::now();
        for _ in 0..count {
            let value = get().await?;
            std::hint::black_box(value);
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!("req/s: {:.0}", f64::from(count) / elapsed);
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

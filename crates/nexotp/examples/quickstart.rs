//! The whole flow against an embedded sandbox: no key, no network.
//!
//! `cargo run --example quickstart -p nexotp`

use std::time::Duration;

use nexotp::{Client, OrderRequest, PricingOption, WaitOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = nexotp_sandbox::Sandbox::builder()
        .code_delay(Duration::from_millis(500))
        .start()
        .await?;
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .build()?;
    println!("sandbox at {}", sandbox.base_url());

    let account = client.account().await?;
    println!(
        "1. balance {} {}",
        account.balance,
        account.currency.unwrap_or_default()
    );

    let countries = client.countries().await?;
    let names: Vec<&str> = countries.iter().map(|c| c.code.as_str()).collect();
    println!("2. countries: {}", names.join(", "));
    let services = client.services("cty_us").await?;
    println!("3. {} services in cty_us", services.len());
    let price = client.price("svc_telegram", "cty_us").await?;
    println!("4. svc_telegram in cty_us costs {}", price.price);

    let order = client
        .create_order(
            &OrderRequest::new("svc_telegram", "cty_us")
                .pricing_option(PricingOption::Cheapest)
                .max_price(price.price),
        )
        .await?;
    println!(
        "5. order {} for {}",
        order.id,
        order.phone.as_deref().unwrap_or("?")
    );
    let options = WaitOptions::default()
        .timeout(Duration::from_secs(10))
        .poll_interval(Duration::from_millis(200));
    let done = client.wait_for_code(&order.id, options.clone()).await?;
    println!("6. code {}", done.code.as_deref().unwrap_or("?"));
    client.resend_order(&order.id).await?;
    let again = client.wait_for_code(&order.id, options).await?;
    println!(
        "7. after a resend, new code {}",
        again.code.as_deref().unwrap_or("?")
    );

    let second = client
        .create_order(&OrderRequest::new("svc_google", "cty_gb"))
        .await?;
    let before = client.account().await?.balance;
    let cancelled = client.cancel_order(&second.id).await?;
    let after = client.account().await?.balance;
    println!(
        "8. order {} {}; balance {before} -> {after}",
        cancelled.id, cancelled.status
    );

    let mut pager = client.transaction_pager(50)?;
    println!("9. transactions:");
    while let Some(tx) = pager.next().await? {
        println!(
            "   {:>6} {:<8} {:>7} -> {}",
            tx.id,
            tx.kind.unwrap_or_default(),
            tx.amount,
            tx.balance_after.map(|b| b.to_string()).unwrap_or_default()
        );
    }

    sandbox.shutdown().await;
    Ok(())
}

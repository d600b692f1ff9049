//! `nexotp demo`: the whole flow against a sandbox started in this process, so a newcomer sees
//! every part of the API work without a key or a network: account, catalogue, price, an order
//! waiting for its code, a resend, a cancelled order and its refund, the ledger, and a webhook
//! whose signed delivery is received and verified by a local receiver. Every call goes through
//! the same SDK client and the same renderers as the other commands.

use std::time::{Duration, Instant};

use nexotp::{Client, OrderRequest, PricingOption, WaitOptions};
use nexotp_sandbox::Sandbox;

use crate::cli::DemoArgs;
use crate::commands::describe_event;
use crate::error::{CliError, CliResult, local};
use crate::output::{self, print};
use crate::receiver::Receiver;
use crate::waiting::{self, Lines};

const STEPS: usize = 10;
const INDENT: usize = 2;

fn step(n: usize, title: &str) {
    print(&format!("\n[{n}/{STEPS}] {title}\n"));
}

fn say(text: &str) {
    print(&format!("{}{text}\n", " ".repeat(INDENT)));
}

/// Runs the demo.
pub async fn run(args: &DemoArgs) -> CliResult {
    let started = Instant::now();
    let code_delay = Duration::from_millis(args.code_delay_ms);
    let sandbox = Sandbox::builder()
        .seed(args.seed)
        .code_delay(code_delay)
        .start()
        .await
        .map_err(|e| local("starting the embedded sandbox", e))?;
    print(&format!(
        "nexotp demo: the whole NexOTP flow against an embedded sandbox (no key, no network)\n\
         sandbox {} (seed {}, codes arrive {:.1}s after ordering)\n\
         console {} (watch the flow in a browser while it runs)\n",
        sandbox.base_url(),
        sandbox.seed(),
        code_delay.as_secs_f64(),
        sandbox.console_url()
    ));
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .sdk_language("cli", "rust")
        .build()?;
    let result = flow(&client, code_delay).await;
    sandbox.shutdown().await;
    result?;
    print(&format!(
        "\nDone in {:.1}s. Run your own code against a sandbox: `nexotp sandbox`, then\n\
         NEXOTP_BASE_URL=<the URL it prints> NEXOTP_API_KEY={} nexotp account\n",
        started.elapsed().as_secs_f64(),
        nexotp_sandbox::DEFAULT_API_KEY
    ));
    Ok(())
}

async fn flow(client: &Client, code_delay: Duration) -> CliResult {
    let poll = WaitOptions::default()
        .timeout(code_delay + Duration::from_secs(20))
        .poll_interval(Duration::from_millis(200));

    step(1, "Account");
    let account = client.account().await?;
    print(&output::account(&account, INDENT));
    let currency = account.currency.clone();

    step(2, "Countries");
    let countries = client.countries().await?;
    print(&output::countries(&countries, INDENT));
    let country = countries
        .first()
        .map(|c| c.code.clone())
        .ok_or_else(|| CliError::Local("the sandbox listed no countries".into()))?;

    step(3, &format!("Services in {country}"));
    let services = client.services(&country).await?;
    print(&output::services(&services, INDENT));
    let service = services
        .iter()
        .find(|s| s.available.is_none_or(|n| n > 0))
        .map(|s| s.id.clone())
        .ok_or_else(|| CliError::Local(format!("no service has stock in {country}")))?;

    step(4, &format!("Price of {service} in {country}"));
    let price = client.price(&service, &country).await?;
    print(&output::price(&price, INDENT));

    step(
        5,
        "Order a number (best success rate) and wait for its code",
    );
    let request =
        OrderRequest::new(service.clone(), country.clone()).pricing_option(PricingOption::BestRate);
    let order = client.create_order(&request).await?;
    say(&format!(
        "order {} from {}: give the service {} (paid {})",
        order.id,
        order.pool.as_deref().unwrap_or("?"),
        order.phone.as_deref().unwrap_or("?"),
        order
            .price
            .map(|p| output::money(p, &currency))
            .unwrap_or_default()
    ));
    let waited = Instant::now();
    let done =
        waiting::wait_for_code(client, &order.id, poll.clone(), Lines::Stdout(INDENT)).await?;
    say(&format!(
        "code {} arrived after {:.1}s (status {}); sms: {}",
        done.code.as_deref().unwrap_or("?"),
        waited.elapsed().as_secs_f64(),
        done.status,
        done.sms.as_deref().unwrap_or("-")
    ));

    step(6, "Resend: another code on the same number");
    let resent = client.resend_order(&order.id).await?;
    say(&format!(
        "order {} is {} again; codes so far: {}",
        resent.id,
        resent.status,
        resent.codes.join(", ")
    ));
    let waited = Instant::now();
    let again =
        waiting::wait_for_code(client, &order.id, poll.clone(), Lines::Stdout(INDENT)).await?;
    say(&format!(
        "new code {} after {:.1}s; codes: {}",
        again.code.as_deref().unwrap_or("?"),
        waited.elapsed().as_secs_f64(),
        again.codes.join(", ")
    ));

    step(
        7,
        "A second order, cancelled: the refund shows in the balance",
    );
    let before = client.account().await?.balance;
    let second = client
        .create_order(&OrderRequest::new(service.clone(), country.clone()))
        .await?;
    let charged = client.account().await?.balance;
    say(&format!(
        "order {} created for {}: balance {} -> {}",
        second.id,
        second.price.map(|p| p.to_string()).unwrap_or_default(),
        output::money(before, &currency),
        output::money(charged, &currency)
    ));
    let cancelled = client.cancel_order(&second.id).await?;
    let after = client.account().await?.balance;
    say(&format!(
        "order {} {}: refund {}, balance back to {}",
        cancelled.id,
        cancelled.status,
        cancelled
            .refund
            .map(|r| r.to_string())
            .unwrap_or_else(|| "?".into()),
        output::money(after, &currency)
    ));

    step(8, "Transaction history");
    let page = client.transactions(1, 20).await?;
    print(&output::transaction_page(&page, INDENT));

    step(9, "Webhook: a signed delivery, received and verified");
    webhook_step(client, &service, &country).await?;

    Ok(())
}

async fn webhook_step(client: &Client, service: &str, country: &str) -> CliResult {
    // The receiver needs the secret before the webhook exists; it starts with a placeholder and
    // the deliveries are verified below with the real one, exactly as a handler would.
    let mut receiver = Receiver::start(
        "127.0.0.1",
        0,
        "unused".into(),
        nexotp::webhook::DEFAULT_TOLERANCE,
    )
    .await
    .map_err(|e| local("starting the local webhook receiver", e))?;
    say(&format!("local receiver listening on {}", receiver.url()));
    let events = ["order.created", "order.cancelled"];
    let hook = client.create_webhook(&receiver.url(), &events).await?;
    let secret = hook
        .secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .ok_or_else(|| CliError::Local("the webhook was created without a secret".into()))?;
    // Only the secret's prefix (`whsec_`): none of its secret characters reach the terminal.
    let prefix = secret
        .split_once('_')
        .map(|(kind, _)| format!("{kind}_"))
        .unwrap_or_default();
    say(&format!(
        "webhook {} created for {}; signing secret {prefix}… (returned once)",
        hook.id,
        events.join(", "),
    ));
    let third = client
        .create_order(&OrderRequest::new(service, country))
        .await?;
    client.cancel_order(&third.id).await?;
    say(&format!(
        "order {} created and cancelled: two events to deliver",
        third.id
    ));
    let mut first = true;
    for _ in 0..events.len() {
        let delivery = tokio::time::timeout(Duration::from_secs(10), receiver.next())
            .await
            .ok()
            .flatten()
            .ok_or_else(|| CliError::Local("no webhook delivery arrived within 10 s".into()))?;
        let header = delivery.signature.clone().unwrap_or_default();
        let event = nexotp::webhook::verify(
            &delivery.body,
            &header,
            &secret,
            nexotp::webhook::DEFAULT_TOLERANCE,
        )?;
        say(&format!(
            "received POST {} ({} bytes), {}: {}...",
            delivery.path,
            delivery.body.len(),
            nexotp::webhook::SIGNATURE_HEADER,
            header.chars().take(30).collect::<String>()
        ));
        say(&format!("  verified: {}", describe_event(&event)));
        let mut tampered = delivery.body.to_vec();
        tampered.extend_from_slice(b" ");
        if first
            && let Err(e) = nexotp::webhook::verify(
                &tampered,
                &header,
                &secret,
                nexotp::webhook::DEFAULT_TOLERANCE,
            )
        {
            say(&format!(
                "  the same body with one byte added is rejected: {}",
                e.kind()
            ));
        }
        first = false;
    }

    step(10, "Delete the webhook");
    let deleted = client.delete_webhook(&hook.id).await?;
    let left = client.webhooks().await?;
    say(&format!(
        "webhook {} deleted: {}; webhooks left: {}",
        deleted.id.as_deref().unwrap_or(&hook.id),
        deleted.deleted,
        left.len()
    ));
    Ok(())
}

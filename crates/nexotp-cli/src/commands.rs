//! One function per subcommand: call the SDK, print the result. No rule of the API is decided
//! here; every check and every retry is the SDK's.

use std::io::{BufRead, Read};

use clap::CommandFactory;
use nexotp::{Client, OrderRequest};
use serde_json::{Value, json};

use crate::cli::{
    Cli, ConfigCommand, ConfigKey, CreateArgs, GlobalOpts, ListenArgs, OrderCommand,
    TransactionsArgs, WebhooksCommand,
};
use crate::error::{CliError, CliResult, local};
use crate::output::{self, print, print_json};
use crate::receiver::{Delivery, Receiver};
use crate::settings::{self, Settings};
use crate::waiting;

/// How to print: JSON or text.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// `--json`.
    pub json: bool,
}

impl Out {
    /// Prints `json` with `--json`, else `text`.
    pub fn show(self, json: impl FnOnce() -> Value, text: impl FnOnce() -> String) {
        if self.json {
            print_json(&json());
        } else {
            print(&text());
        }
    }

    /// A line about progress: on stdout for people, on stderr with `--json` (where stdout holds
    /// only the result).
    pub fn notice(self, text: &str) {
        if self.json {
            output::eprint(text);
        } else {
            print(&format!("{text}\n"));
        }
    }
}

/// `nexotp account`.
pub async fn account(client: &Client, out: Out) -> CliResult {
    let a = client.account().await?;
    out.show(|| a.raw.to_value(), || output::account(&a, 0));
    Ok(())
}

/// `nexotp transactions`.
pub async fn transactions(client: &Client, args: &TransactionsArgs, out: Out) -> CliResult {
    if args.all {
        let mut pager = client.transaction_pager(args.per_page.unwrap_or(100))?;
        let mut all = Vec::new();
        while let Some(tx) = pager.next().await? {
            all.push(tx);
        }
        out.show(
            || output::raw_list(all.iter().map(|t| &t.raw)),
            || {
                let mut text = output::transactions(&all, 0);
                text.push_str(&format!("{} transactions\n", all.len()));
                text
            },
        );
    } else {
        let page = client
            .transactions(args.page, args.per_page.unwrap_or(20))
            .await?;
        out.show(
            || output::page_json(&page),
            || output::transaction_page(&page, 0),
        );
    }
    Ok(())
}

/// `nexotp countries`.
pub async fn countries(client: &Client, out: Out) -> CliResult {
    let list = client.countries().await?;
    out.show(
        || output::raw_list(list.iter().map(|c| &c.raw)),
        || output::countries(&list, 0),
    );
    Ok(())
}

/// `nexotp services`.
pub async fn services(client: &Client, country: &str, out: Out) -> CliResult {
    let list = client.services(country).await?;
    out.show(
        || output::raw_list(list.iter().map(|s| &s.raw)),
        || output::services(&list, 0),
    );
    Ok(())
}

/// `nexotp price`.
pub async fn price(client: &Client, service: &str, country: &str, out: Out) -> CliResult {
    let p = client.price(service, country).await?;
    out.show(|| p.raw.to_value(), || output::price(&p, 0));
    Ok(())
}

/// `nexotp order ...`.
pub async fn order(client: &Client, command: &OrderCommand, out: Out) -> CliResult {
    match command {
        OrderCommand::Create(args) => create_order(client, args, out).await,
        OrderCommand::Get { id } => {
            let o = client.order(id).await?;
            out.show(|| o.raw.to_value(), || output::order(&o, 0));
            Ok(())
        }
        OrderCommand::Cancel { id } => {
            let o = client.cancel_order(id).await?;
            out.show(|| o.raw.to_value(), || output::order(&o, 0));
            Ok(())
        }
        OrderCommand::Resend {
            id,
            wait,
            wait_opts,
        } => {
            let mut o = client.resend_order(id).await?;
            if *wait {
                out.notice(&format!("order {} resent; waiting for a new code", o.id));
                o = waiting::wait_for_code(
                    client,
                    id,
                    waiting::options(wait_opts),
                    waiting::Lines::Stderr,
                )
                .await?;
            }
            out.show(|| o.raw.to_value(), || output::order(&o, 0));
            Ok(())
        }
        OrderCommand::Wait { id, wait_opts } => {
            let o = waiting::wait_for_code(
                client,
                id,
                waiting::options(wait_opts),
                waiting::Lines::Stderr,
            )
            .await?;
            out.show(|| o.raw.to_value(), || output::order(&o, 0));
            Ok(())
        }
    }
}

async fn create_order(client: &Client, args: &CreateArgs, out: Out) -> CliResult {
    let mut request = OrderRequest::new(args.service.clone(), args.country.clone());
    if let Some(pool) = &args.pool {
        request = request.pool(pool.clone());
    }
    if let Some(option) = args.pricing {
        request = request.pricing_option(option);
    }
    if let Some(max) = args.max_price {
        request = request.max_price(max);
    }
    // A run has no memory of earlier runs' orders: the newest ledger entry before ordering
    // tells them apart from this one if the answer is lost.
    let mark = client
        .transactions(1, 1)
        .await
        .ok()
        .and_then(|page| page.items.into_iter().next())
        .map(|tx| tx.id);
    let created = match client.create_order(&request).await {
        Ok(order) => order,
        Err(nexotp::Error::OrderOutcomeUnknown(mut unknown)) => {
            unknown.call.ledger_mark = mark;
            reconciled_order(client, *unknown, out).await?
        }
        Err(e) => return Err(e.into()),
    };
    if !args.wait {
        out.show(|| created.raw.to_value(), || output::order(&created, 0));
        return Ok(());
    }
    // With --json the notice goes to stderr: stdout keeps one document, and a script that is
    // interrupted still has the order's id.
    out.notice(&format!(
        "order {} created: {} for {}",
        created.id,
        created.phone.as_deref().unwrap_or("(no number yet)"),
        created
            .price
            .map(|p| p.to_string())
            .unwrap_or_else(|| "?".into())
    ));
    let done = waiting::wait_for_code(
        client,
        &created.id,
        waiting::options(&args.wait_opts),
        waiting::Lines::Stderr,
    )
    .await?;
    out.show(|| done.raw.to_value(), || output::order(&done, 0));
    Ok(())
}

/// After a create whose outcome is unknown, looks in the ledger and says what it found: the
/// order (the command then goes on as if the answer had arrived), none (safe to run again),
/// or several candidates to check by hand.
async fn reconciled_order(
    client: &Client,
    unknown: nexotp::OrderOutcomeUnknown,
    out: Out,
) -> CliResult<nexotp::Order> {
    out.notice(&format!(
        "the answer to the order was lost ({}); looking for it in the ledger...",
        unknown.message
    ));
    let found = match client.reconcile(&unknown.call).await {
        Ok(found) => found,
        Err(e) => {
            out.notice(&format!("could not look it up ({e})"));
            return Err(nexotp::Error::OrderOutcomeUnknown(Box::new(unknown)).into());
        }
    };
    match found {
        nexotp::Reconciled::Order(order) => {
            out.notice(&format!(
                "found it: order {} was created (it was not sent twice)",
                order.id
            ));
            Ok(*order)
        }
        nexotp::Reconciled::NotApplied => Err(CliError::Unresolved {
            message: format!(
                "no order was created and nothing was charged: it is safe to run the command again ({})",
                unknown.message
            ),
            candidates: Vec::new(),
        }),
        nexotp::Reconciled::Ambiguous { orders, .. } => Err(CliError::Unresolved {
            message: format!(
                "the order may have been created: {} orders for {}/{} were made in that time ({}); check them with `nexotp order get ID`",
                orders.len(),
                unknown.call.service.as_deref().unwrap_or("?"),
                unknown.call.country.as_deref().unwrap_or("?"),
                orders
                    .iter()
                    .map(|o| o.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            candidates: orders.into_iter().map(|o| o.id).collect(),
        }),
        _ => Err(nexotp::Error::OrderOutcomeUnknown(Box::new(unknown)).into()),
    }
}

/// `nexotp webhooks ...` (all but `verify` and `listen`, which need no client).
pub async fn webhooks(client: &Client, command: &WebhooksCommand, out: Out) -> CliResult {
    match command {
        WebhooksCommand::List => {
            let list = client.webhooks().await?;
            out.show(
                || output::raw_list(list.iter().map(|w| &w.raw)),
                || output::webhooks(&list, 0),
            );
        }
        WebhooksCommand::Create { url, events } => {
            let events: Vec<String> = events
                .iter()
                .flat_map(|e| nexotp::split_events(e))
                .collect();
            let w = client.create_webhook(url, &events).await?;
            out.show(|| output::webhook_json(&w), || output::webhook(&w, 0));
        }
        WebhooksCommand::Delete { id } => {
            let d = client.delete_webhook(id).await?;
            out.show(
                || d.raw.to_value(),
                || {
                    format!(
                        "webhook {} {}\n",
                        d.id.as_deref().unwrap_or(id),
                        if d.deleted { "deleted" } else { "not deleted" }
                    )
                },
            );
        }
        WebhooksCommand::Verify { .. } | WebhooksCommand::Listen(_) => {
            return Err(CliError::Local("internal: handled without a client".into()));
        }
    }
    Ok(())
}

/// `nexotp webhooks verify`.
pub fn verify(
    secret: &str,
    signature: &str,
    payload_file: &str,
    tolerance: std::time::Duration,
    out: Out,
) -> CliResult {
    let payload = if payload_file == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| local("reading the payload from stdin", e))?;
        buf
    } else {
        std::fs::read(payload_file).map_err(|e| local(&format!("reading {payload_file}"), e))?
    };
    let event = nexotp::webhook::verify(&payload, signature, secret, tolerance)?;
    out.show(
        || event.raw.to_value(),
        || format!("verified: {}\n", describe_event(&event)),
    );
    Ok(())
}

/// One line about a verified event: `order.code_received evt_1 (order 5001, received, code 123456)`.
pub fn describe_event(event: &nexotp::WebhookEvent) -> String {
    let mut text = format!("{} {}", event.kind, event.id);
    if let Some(order) = &event.order {
        text.push_str(&format!(" (order {}, {}", order.id, order.status));
        if let Some(code) = &order.code {
            text.push_str(&format!(", code {code}"));
        }
        text.push(')');
    }
    text
}

/// A delivery as one JSON line (for `listen --json`).
fn delivery_json(d: &Delivery) -> Value {
    match &d.result {
        Ok(event) => json!({"verified": true, "path": d.path, "event": event.raw.to_value()}),
        Err(e) => {
            let body: Value = serde_json::from_slice(&d.body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&d.body).into_owned()));
            json!({"verified": false, "path": d.path, "error": e.to_string(), "body": body})
        }
    }
}

/// `nexotp webhooks listen`: prints the URL first, then one line per delivery.
pub async fn listen(args: &ListenArgs, out: Out) -> CliResult {
    let interrupt = crate::waiting::interrupt_signal();
    tokio::pin!(interrupt);
    let mut receiver = Receiver::start(&args.host, args.port, args.secret.clone(), args.tolerance)
        .await
        .map_err(|e| local(&format!("listening on {}:{}", args.host, args.port), e))?;
    // First line: the URL, as JSON with --json so stdout is JSON Lines throughout.
    if out.json {
        print(&format!("{}\n", json!({"url": receiver.url()})));
    } else {
        print(&format!("{}\n", receiver.url()));
    }
    output::eprint(&format!(
        "listening for webhook deliveries on {} (any path); Ctrl-C to stop",
        receiver.url()
    ));
    let mut seen: u64 = 0;
    loop {
        if args.count.is_some_and(|n| seen >= n) {
            return Ok(());
        }
        let delivery = tokio::select! {
            d = receiver.next() => d,
            _ = &mut interrupt => return Ok(()),
        };
        let Some(delivery) = delivery else {
            return Ok(());
        };
        seen += 1;
        if out.json {
            print(&format!("{}\n", delivery_json(&delivery)));
        } else {
            match &delivery.result {
                Ok(event) => print(&format!("verified  {}\n", describe_event(event))),
                Err(e) => print(&format!("REJECTED  POST {}: {e}\n", delivery.path)),
            }
        }
    }
}

/// `nexotp config ...`.
pub fn config(command: &ConfigCommand, global: &GlobalOpts, out: Out) -> CliResult {
    match command {
        ConfigCommand::Set { key, value } => {
            let value = if value == "-" {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| local("reading the value from stdin", e))?;
                line.trim().to_owned()
            } else {
                value.trim().to_owned()
            };
            // The SDK's own checks, before anything is saved.
            match key {
                ConfigKey::ApiKey => {
                    nexotp::ApiKey::new(value.clone())?;
                }
                ConfigKey::BaseUrl => {
                    nexotp::config::check_base_url(&value)?;
                }
            }
            let shown = match key {
                ConfigKey::ApiKey => settings::mask(&value),
                ConfigKey::BaseUrl => value.clone(),
            };
            let path = settings::update(&global.profile, *key, Some(value))?;
            out.show(
                || json!({"profile": global.profile, "key": key.file_name(), "value": shown, "path": path.display().to_string()}),
                || format!("saved {} = {shown} in profile {:?} ({})\n", key.file_name(), global.profile, path.display()),
            );
            Ok(())
        }
        ConfigCommand::Unset { key } => {
            let path = settings::update(&global.profile, *key, None)?;
            out.show(
                || json!({"profile": global.profile, "key": key.file_name(), "value": null, "path": path.display().to_string()}),
                || format!("removed {} from profile {:?} ({})\n", key.file_name(), global.profile, path.display()),
            );
            Ok(())
        }
        ConfigCommand::Show => {
            let s = settings::resolve(global)?;
            show_config(&s, out);
            Ok(())
        }
    }
}

fn show_config(s: &Settings, out: Out) {
    let key = s.api_key.as_deref().map(settings::mask);
    let base = s
        .base_url
        .clone()
        .unwrap_or_else(|| nexotp::config::DEFAULT_BASE_URL.to_owned());
    let path = s.path.as_ref().map(|p| p.display().to_string());
    out.show(
        || {
            json!({
                "profile": s.profile,
                "path": path,
                "api_key": key,
                "api_key_source": s.api_key_source.describe(),
                "base_url": base,
                "base_url_source": s.base_url_source.describe(),
            })
        },
        || {
            output::pairs(
                &[
                    ("profile", Some(s.profile.clone())),
                    (
                        "api_key",
                        Some(format!(
                            "{} ({})",
                            key.clone().unwrap_or_else(|| "(none)".into()),
                            s.api_key_source.describe()
                        )),
                    ),
                    (
                        "base_url",
                        Some(format!(
                            "{base} ({})",
                            match s.base_url_source {
                                settings::Source::Unset => "default",
                                other => other.describe(),
                            }
                        )),
                    ),
                    (
                        "file",
                        Some(path.clone().unwrap_or_else(|| "(no config dir)".into())),
                    ),
                ],
                0,
            )
        },
    );
}

/// `nexotp completions SHELL`.
pub fn completions(shell: clap_complete::Shell) {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "nexotp", &mut script);
    // Written in one go, ignoring a closed pipe (`nexotp completions bash | head`): `generate`
    // writing straight to stdout would panic on it.
    print(&String::from_utf8_lossy(&script));
}

/// `nexotp sandbox`: the sandbox's own flags and server, in this binary.
pub async fn sandbox(args: nexotp_sandbox::SandboxArgs) -> CliResult {
    if args.api_key == nexotp_sandbox::DEFAULT_API_KEY {
        output::eprint(&format!(
            "nexotp sandbox: Ctrl-C to stop. Point the CLI at it with NEXOTP_BASE_URL=<the URL below> NEXOTP_API_KEY={}; open the console URL in a browser to watch and drive it",
            nexotp_sandbox::DEFAULT_API_KEY
        ));
    }
    nexotp_sandbox::serve_from_args(args)
        .await
        .map_err(|e| local("running the sandbox", e))
}

/// Resolves the settings and builds a client.
pub fn client(global: &GlobalOpts) -> CliResult<Client> {
    let s = settings::resolve(global)?;
    settings::client(&s)
}

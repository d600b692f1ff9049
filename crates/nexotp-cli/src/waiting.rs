//! Waiting for a code, as a person at a terminal sees it.
//!
//! The waiting itself is the SDK's (`Client::wait_for_code_with_progress`); this module only
//! shows it: a spinner with the elapsed time and the order's status when stderr and stdout are
//! a terminal, plain lines on stderr otherwise (so stdout keeps only the result), and Ctrl-C
//! raced against the wait so an interrupted wait says what became of the order.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use nexotp::{Client, ErrorKind, Order, OrderStatus, WaitOptions};

use crate::cli::WaitArgs;
use crate::error::{CliError, CliResult};

/// Whether to draw a spinner (both streams are a terminal).
pub fn interactive() -> bool {
    std::io::stderr().is_terminal() && std::io::stdout().is_terminal()
}

/// The SDK's wait options from the flags.
pub fn options(args: &WaitArgs) -> WaitOptions {
    WaitOptions::default()
        .timeout(args.timeout)
        .poll_interval(args.poll_interval)
        .cancel_on_timeout(args.cancel_on_timeout)
}

/// Where plain progress lines go when there is no terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// To stderr, so stdout keeps only the result (the order commands).
    Stderr,
    /// To stdout, indented by this much (the demo, whose whole story is on stdout).
    Stdout(usize),
}

impl Lines {
    fn emit(self, text: &str) {
        match self {
            Lines::Stderr => crate::output::eprint(text),
            Lines::Stdout(indent) => {
                crate::output::print(&format!("{}{text}\n", " ".repeat(indent)))
            }
        }
    }
}

enum Progress {
    Spinner(ProgressBar),
    Lines {
        to: Lines,
        last: Option<OrderStatus>,
    },
}

impl Progress {
    fn start(id: &str, timeout: Duration, to: Lines) -> Progress {
        if interactive() {
            let bar = ProgressBar::new_spinner();
            let indent = match to {
                Lines::Stdout(indent) => " ".repeat(indent),
                Lines::Stderr => String::new(),
            };
            let template = format!("{indent}{{spinner:.cyan}} {{msg}} [{{elapsed}}]");
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style);
            }
            bar.set_message(format!("waiting for a code for order {id}"));
            bar.enable_steady_tick(Duration::from_millis(100));
            Progress::Spinner(bar)
        } else {
            to.emit(&format!(
                "waiting for a code for order {id} (timeout {:.0?})",
                timeout
            ));
            Progress::Lines { to, last: None }
        }
    }

    fn update(&mut self, order: &Order, started: Instant) {
        match self {
            Progress::Spinner(bar) => bar.set_message(format!(
                "waiting for a code for order {} ({}{})",
                order.id,
                order.status,
                order
                    .phone
                    .as_ref()
                    .map(|p| format!(", {p}"))
                    .unwrap_or_default()
            )),
            Progress::Lines { to, last } => {
                if last.as_ref() != Some(&order.status) {
                    to.emit(&format!(
                        "order {}: {} after {:.1}s",
                        order.id,
                        order.status,
                        started.elapsed().as_secs_f64()
                    ));
                    *last = Some(order.status.clone());
                }
            }
        }
    }

    fn finish(&self) {
        if let Progress::Spinner(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// Waits for a code on order `id`; on Ctrl-C, cancels the order when `options.cancel_on_timeout`
/// is set (and says so), else says the order is still active. Returns the order with its code.
pub async fn wait_for_code(
    client: &Client,
    id: &str,
    options: WaitOptions,
    lines: Lines,
) -> CliResult<Order> {
    let started = Instant::now();
    let cancel_on_interrupt = options.cancel_on_timeout;
    // Listening before the first line is printed: a Ctrl-C from then on stops the wait cleanly.
    let interrupt = interrupt_signal();
    let progress = std::sync::Arc::new(std::sync::Mutex::new(Progress::start(
        id,
        options.timeout,
        lines,
    )));
    let reporter = std::sync::Arc::clone(&progress);
    let wait = client.wait_for_code_with_progress(id, options, move |order| {
        if let Ok(mut p) = reporter.lock() {
            p.update(order, started);
        }
    });
    let outcome = tokio::select! {
        result = wait => Some(result),
        _ = interrupt => None,
    };
    if let Ok(p) = progress.lock() {
        p.finish();
    }
    let elapsed = started.elapsed().as_secs_f64();
    match outcome {
        Some(Ok(order)) => {
            if !interactive() && lines == Lines::Stderr {
                crate::output::eprint(&format!(
                    "order {}: code {} after {elapsed:.1}s",
                    order.id,
                    order.code.as_deref().unwrap_or("?")
                ));
            }
            Ok(order)
        }
        Some(Err(e)) => {
            explain_wait_error(&e, id);
            Err(e.into())
        }
        None => Err(interrupted(client, id, cancel_on_interrupt, elapsed).await),
    }
}

/// After Ctrl-C: cancel when asked to, and say what became of the order.
async fn interrupted(client: &Client, id: &str, cancel: bool, elapsed: f64) -> CliError {
    let stopped = |message: String, cancelled: bool| CliError::Interrupted {
        message,
        order_id: id.to_owned(),
        cancelled,
    };
    if !cancel {
        return stopped(
            format!(
                "stopped waiting after {elapsed:.1}s; order {id} is still active: `nexotp order wait {id}` to wait again, `nexotp order cancel {id}` to cancel it"
            ),
            false,
        );
    }
    match client.cancel_order(id).await {
        Ok(order) => stopped(
            format!(
                "stopped waiting after {elapsed:.1}s; order {id} was cancelled{}",
                order
                    .refund
                    .map(|r| format!(" (refund {r})"))
                    .unwrap_or_default()
            ),
            true,
        ),
        Err(e) if e.kind() == ErrorKind::Conflict => stopped(
            format!(
                "stopped waiting after {elapsed:.1}s; order {id} could not be cancelled ({e}): a code may have arrived, see `nexotp order get {id}`"
            ),
            false,
        ),
        Err(e) => stopped(
            format!(
                "stopped waiting after {elapsed:.1}s; cancelling order {id} failed ({e}): it may still be active, see `nexotp order get {id}`"
            ),
            false,
        ),
    }
}

/// A line of advice on stderr for the errors that end a wait.
fn explain_wait_error(e: &nexotp::Error, id: &str) {
    if let nexotp::Error::WaitTimeout {
        order, cancelled, ..
    } = e
    {
        let order = order.as_deref();
        if *cancelled {
            crate::output::eprint(&format!(
                "order {id} was cancelled{}",
                order
                    .and_then(|o| o.refund)
                    .map(|r| format!("; refund {r}"))
                    .unwrap_or_default()
            ));
        } else {
            let status = order.map_or_else(
                || "in an unknown state (no poll succeeded)".to_owned(),
                |o| o.status.to_string(),
            );
            if order.is_none_or(|o| !o.status.is_closed()) {
                crate::output::eprint(&format!(
                    "order {id} is still {status}: `nexotp order wait {id}` to wait again, `nexotp order cancel {id}` to cancel it"
                ));
            }
        }
    }
}

/// A future that completes on Ctrl-C (SIGINT). On Unix the handler is installed before this
/// returns, not at the first poll, so no signal in between falls to the default action.
pub fn interrupt_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let listener = signal(SignalKind::interrupt());
        async move {
            match listener {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

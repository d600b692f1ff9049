//! Waiting for a code: poll one order until a new code, the order's end, or the deadline.
//!
//! Polls go through the POLL bucket like any `order` call, so a client-side limit or a 429
//! slows the loop instead of breaking it. Transient failures are retried by the transport and,
//! if they persist, polling simply continues until the deadline; only errors that will not heal
//! (auth, not found, bad id) end the wait early. Dropping the future stops the wait: that is
//! how bindings implement asyncio cancellation and `AbortSignal`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::models::{Order, OrderStatus, WaitOptions};
use crate::validate;

/// How long one poll may run past the deadline (its own retries included).
const POLL_GRACE: Duration = Duration::from_secs(2);

/// The first code of `order` that is not in `skip`.
fn new_code<'a>(order: &'a Order, skip: &HashSet<String>) -> Option<&'a str> {
    order
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && !skip.contains(*c))
}

impl Client {
    /// Polls order `id` until it has a code not seen before (returned with the order), the order
    /// ends without one ([`Error::OrderClosed`]), or `options.timeout` passes
    /// ([`Error::WaitTimeout`], after cancelling the order when `cancel_on_timeout` is set).
    pub async fn wait_for_code(&self, id: &str, options: WaitOptions) -> Result<Order> {
        self.wait_for_code_with_progress(id, options, |_| {}).await
    }

    /// [`Client::wait_for_code`], calling `on_poll` with the order after every successful poll
    /// that did not end the wait, so an interactive caller (the CLI's spinner) can show the
    /// order's status without polling a second time.
    pub async fn wait_for_code_with_progress<F>(
        &self,
        id: &str,
        options: WaitOptions,
        mut on_poll: F,
    ) -> Result<Order>
    where
        F: FnMut(&Order) + Send,
    {
        validate::path_segment("id", id)?;
        validate::positive_duration("timeout", options.timeout)?;
        validate::positive_duration("poll_interval", options.poll_interval)?;
        let started = Instant::now();
        let deadline = started.checked_add(options.timeout).ok_or_else(|| {
            Error::invalid(
                "timeout",
                "is too long to wait for (at most a year makes sense)",
            )
        })?;
        let mut skip: HashSet<String> = options.exclude_codes.iter().cloned().collect();
        skip.extend(self.resent_codes(id));
        let mut last: Option<Order> = None;
        loop {
            let mut pause = options.poll_interval;
            // One poll may retry inside the transport; it must not outlive the deadline by much.
            let budget = deadline.saturating_duration_since(Instant::now()) + POLL_GRACE;
            let polled = tokio::time::timeout(budget, self.order(id)).await;
            match polled {
                Err(_elapsed) => tracing::debug!("poll outlived the deadline; stopping"),
                Ok(Ok(order)) => {
                    if new_code(&order, &skip).is_some() {
                        self.forget_codes(id);
                        return Ok(order);
                    }
                    if order.status.is_closed() {
                        self.forget_codes(id);
                        return Err(Error::OrderClosed {
                            order: Box::new(order),
                        });
                    }
                    on_poll(&order);
                    last = Some(order);
                }
                Ok(Err(e)) if e.is_retryable() || e.kind() == ErrorKind::UnexpectedResponse => {
                    tracing::debug!(error = %e, "poll failed; polling on");
                    // A 429 that outlasted the transport's retries: wait as long as it asked.
                    pause = pause.max(e.retry_after().unwrap_or_default());
                }
                Ok(Err(e)) => return Err(e),
            }
            let now = Instant::now();
            if now >= deadline {
                return self.time_out(id, &options, last, started, &skip).await;
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            if Instant::now() >= deadline {
                // One last look, so a code that arrived during the final sleep is not missed.
                if let Ok(order) = self.order(id).await {
                    if new_code(&order, &skip).is_some() {
                        self.forget_codes(id);
                        return Ok(order);
                    }
                    last = Some(order);
                }
                return self.time_out(id, &options, last, started, &skip).await;
            }
        }
    }

    async fn time_out(
        &self,
        id: &str,
        options: &WaitOptions,
        last: Option<Order>,
        started: Instant,
        skip: &HashSet<String>,
    ) -> Result<Order> {
        let mut order = last;
        let mut cancelled = false;
        if options.cancel_on_timeout {
            match self.cancel_order(id).await {
                Ok(after) => {
                    cancelled = after.status == OrderStatus::Cancelled;
                    order = Some(after);
                }
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    // Not cancellable any more: most likely the code just arrived.
                    let latest = self.order(id).await?;
                    if new_code(&latest, skip).is_some() {
                        self.forget_codes(id);
                        return Ok(latest);
                    }
                    order = Some(latest);
                }
                Err(e) => return Err(e),
            }
        }
        let order = match order {
            Some(order) => order,
            None => self.order(id).await?,
        };
        Err(Error::WaitTimeout {
            order: Box::new(order),
            waited: started.elapsed(),
            cancelled,
        })
    }
}

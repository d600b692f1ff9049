//! Waiting for a code: poll one order until a new code, the order's end, or the deadline.
//!
//! Polls go through the POLL bucket like any `order` call, so a client-side limit or a 429
//! slows the loop instead of breaking it. Transient failures are retried by the transport and,
//! if they persist, polling simply continues until the deadline; only errors that will not heal
//! (auth, not found, bad id) end the wait early. All of it, the last look and the cancel on
//! timeout included, ends within the wait's timeout plus one attempt's timeout: a caller that
//! asked for two minutes is never held for ten. Dropping the future stops the wait: that is how
//! bindings implement asyncio cancellation and `AbortSignal`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::client::{Client, Shared};
use crate::error::{Error, ErrorKind, Result};
use crate::models::{Order, OrderStatus, WaitOptions};
use crate::validate;

/// The codes that do not count as new for one wait (or one order of a watcher).
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    /// The order's codes before this client resent it, oldest first.
    before: Vec<String>,
    /// Codes the caller excluded, by their digits.
    excluded: HashSet<String>,
}

impl Seen {
    /// What does not count for order `id`: the codes it had before this client resent it
    /// (else `known`, codes already handed out for it), and the caller's `exclude_codes`.
    pub(crate) fn for_order(
        shared: &Shared,
        id: &str,
        known: Option<Vec<String>>,
        exclude: &[String],
    ) -> Seen {
        let before = shared
            .codes_before_resend
            .get(&id.to_owned())
            .map(|(codes, _)| codes)
            .or(known)
            .unwrap_or_default();
        Seen {
            before,
            excluded: exclude.iter().cloned().collect(),
        }
    }

    /// Whether `order` has a code that was not there before. When the order keeps its history
    /// in `codes`, a new code is one after those known before the resend (so a new code with
    /// the same digits as an old one counts); otherwise its latest `code` is compared by digits.
    fn has_new_code(&self, order: &Order) -> bool {
        let fresh = |c: &String| !c.is_empty() && !self.excluded.contains(c);
        let before = self.before.as_slice();
        if !before.is_empty()
            && order.codes.len() >= before.len()
            && order.codes.starts_with(before)
        {
            return order.codes[before.len()..].iter().any(fresh);
        }
        order
            .code
            .as_ref()
            .is_some_and(|c| fresh(c) && !self.before.contains(c))
    }

    /// What one look at the order means: a new code, the order's end, still open, a failure
    /// to look past (with the least pause before the next look), or a failure that ends it.
    pub(crate) fn judge(&self, looked: Result<Order>) -> Look {
        match looked {
            Ok(order) if self.has_new_code(&order) => Look::Code(order),
            Ok(order) if order.status.is_closed() => Look::Closed(order),
            Ok(order) => Look::Open(order),
            Err(e) if e.is_retryable() || e.kind() == ErrorKind::UnexpectedResponse => {
                tracing::debug!(error = %e, "poll failed; polling on");
                // A 429 that outlasted the transport's retries: wait as long as it asked.
                Look::Failed(e.retry_after().unwrap_or_default())
            }
            Err(e) => Look::Fatal(e),
        }
    }
}

/// The meaning of one poll, shared by [`Client::wait_for_code`] and the watcher.
pub(crate) enum Look {
    /// A code not seen before.
    Code(Order),
    /// The order ended without one.
    Closed(Order),
    /// Nothing new yet.
    Open(Order),
    /// The poll failed in a way that may heal: poll on, after at least this pause.
    Failed(Duration),
    /// The poll failed in a way that will not heal (auth, not found, bad id).
    Fatal(Error),
}

/// How a wait that ran out of time ended.
pub(crate) enum Settled {
    /// A code came after all (during the last look, or it is why the cancel was refused).
    Code(Order),
    /// No code: the last state seen, and whether `cancel_on_timeout` cancelled the order.
    TimedOut {
        order: Option<Order>,
        cancelled: bool,
    },
}

/// The instants a wait of `options` starting now ends by: its deadline, and the hard end (the
/// deadline plus one attempt's timeout) by which the last look and the cancel are over.
pub(crate) fn deadlines(
    client: &Client,
    id: &str,
    options: &WaitOptions,
) -> Result<(Instant, Instant)> {
    validate::path_segment("id", id)?;
    validate::positive_duration("timeout", options.timeout)?;
    validate::positive_duration("poll_interval", options.poll_interval)?;
    let too_long = || {
        Error::invalid(
            "timeout",
            "is too long to wait for (at most a year makes sense)",
        )
    };
    let deadline = Instant::now()
        .checked_add(options.timeout)
        .ok_or_else(too_long)?;
    let hard = deadline
        .checked_add(client.config().timeout)
        .ok_or_else(too_long)?;
    Ok((deadline, hard))
}

/// Forgets the order's pre-resend codes when the wait ends, whichever way it ends (returned,
/// failed, or dropped), so the memory never outgrows the waits in flight.
struct ForgetOnEnd<'a> {
    shared: &'a Shared,
    id: String,
}

impl Drop for ForgetOnEnd<'_> {
    fn drop(&mut self) {
        self.shared.codes_before_resend.remove(&self.id);
    }
}

impl Client {
    /// Polls order `id` until it has a code not seen before (returned with the order), the order
    /// ends without one ([`Error::OrderClosed`]), or `options.timeout` passes
    /// ([`Error::WaitTimeout`], after cancelling the order when `cancel_on_timeout` is set).
    ///
    /// For many orders at once, [`Client::watch`] follows them all in one loop.
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
        let started = Instant::now();
        let (deadline, hard) = deadlines(self, id, &options)?;
        let _forget = ForgetOnEnd {
            shared: self.shared(),
            id: id.to_owned(),
        };
        let seen = Seen::for_order(self.shared(), id, None, &options.exclude_codes);
        let mut last: Option<Order> = None;
        loop {
            let mut pause = options.poll_interval;
            match seen.judge(self.order_within(id, hard).await) {
                Look::Code(order) => return Ok(order),
                Look::Closed(order) => {
                    return Err(Error::OrderClosed {
                        order: Box::new(order),
                    });
                }
                Look::Open(order) => {
                    on_poll(&order);
                    last = Some(order);
                }
                Look::Failed(at_least) => pause = pause.max(at_least),
                Look::Fatal(e) => return Err(e),
            }
            let now = Instant::now();
            let look_again = if now >= deadline {
                false
            } else {
                tokio::time::sleep(pause.min(deadline - now)).await;
                if Instant::now() < deadline {
                    continue;
                }
                // One last look, so a code that arrived during the final sleep is not missed.
                true
            };
            let settled = self
                .settle_timeout(id, options.cancel_on_timeout, last, hard, &seen, look_again)
                .await;
            return match settled {
                Settled::Code(order) => Ok(order),
                Settled::TimedOut { order, cancelled } => Err(Error::WaitTimeout {
                    order_id: id.to_owned(),
                    order: order.map(Box::new),
                    waited: started.elapsed(),
                    cancelled,
                }),
            };
        }
    }

    /// Ends a wait that ran out of time, within `hard`: one last look first when `look_again`,
    /// then the cancel if asked. A failure here never hides the timeout: the outcome stays
    /// [`Settled::TimedOut`], with `cancelled` saying whether the cancel went through.
    pub(crate) async fn settle_timeout(
        &self,
        id: &str,
        cancel_on_timeout: bool,
        last: Option<Order>,
        hard: Instant,
        seen: &Seen,
        look_again: bool,
    ) -> Settled {
        let mut order = last;
        if look_again {
            match self.order_within(id, hard).await {
                Ok(latest) if seen.has_new_code(&latest) => return Settled::Code(latest),
                Ok(latest) => order = Some(latest),
                Err(e) => tracing::debug!(error = %e, "last look failed"),
            }
        }
        let mut cancelled = false;
        if cancel_on_timeout && Instant::now() < hard {
            match self.cancel_within(id, Some(hard)).await {
                Ok(after) => {
                    cancelled = after.status == OrderStatus::Cancelled;
                    order = Some(after);
                }
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    // Not cancellable any more: most likely the code just arrived.
                    match self.order_within(id, hard).await {
                        Ok(latest) if seen.has_new_code(&latest) => {
                            return Settled::Code(latest);
                        }
                        Ok(latest) => order = Some(latest),
                        Err(e) => tracing::debug!(error = %e, "look after a refused cancel failed"),
                    }
                }
                Err(e) => tracing::debug!(error = %e, "cancel on timeout failed"),
            }
        }
        Settled::TimedOut { order, cancelled }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order(code: Option<&str>, codes: &[&str]) -> Order {
        crate::models::decode(
            &json!({"id": 1, "status": "received", "code": code, "codes": codes}).to_string(),
        )
        .expect("decodes")
    }

    fn seen(before: &[&str], excluded: &[&str]) -> Seen {
        Seen {
            before: before.iter().map(|s| s.to_string()).collect(),
            excluded: excluded.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn new_codes_by_place_then_by_digits() {
        // Nothing seen: any code is new.
        assert!(seen(&[], &[]).has_new_code(&order(Some("111"), &["111"])));
        assert!(!seen(&[], &[]).has_new_code(&order(None, &[])));
        // After a resend: the old code, still shown, is not new; a second one is, even with the
        // same digits.
        let s = seen(&["111"], &[]);
        assert!(!s.has_new_code(&order(Some("111"), &["111"])));
        assert!(!s.has_new_code(&order(None, &["111"])));
        assert!(s.has_new_code(&order(Some("222"), &["111", "222"])));
        assert!(s.has_new_code(&order(Some("111"), &["111", "111"])));
        // A server without a history: digits decide.
        assert!(!s.has_new_code(&order(Some("111"), &[])));
        assert!(s.has_new_code(&order(Some("333"), &[])));
        // Excluded codes never count.
        let s = seen(&["111"], &["222"]);
        assert!(!s.has_new_code(&order(Some("222"), &["111", "222"])));
        assert!(!seen(&[], &["9"]).has_new_code(&order(Some("9"), &["9"])));
    }

    /// 10,000 orders through resend and wait, every way a wait can end (a new code, a
    /// timeout, a refused cancel, a resend whose outcome is unknown): afterwards the client
    /// remembers no order's codes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        debug_assertions,
        ignore = "60,000 requests: scripts/test-rust runs it in release"
    )]
    async fn ten_thousand_resends_and_waits_leave_no_memory_behind() {
        use futures_util::StreamExt;
        use nexotp_sandbox::{FaultKind, Faults, RandomFault};

        const ORDERS: usize = 10_000;
        let sb = nexotp_sandbox::Sandbox::builder()
            .api_key("k")
            .code_delay(Duration::from_secs(3600))
            .stock(1_000_000)
            .request_log_limit(1)
            .start()
            .await
            .expect("sandbox");
        sb.set_balance(rust_decimal::Decimal::from(1_000_000));
        sb.set_faults(
            Faults::none().with_random(
                RandomFault::new(0.25, FaultKind::Drop).matching("POST /order/*/resend"),
            ),
        );
        let client = crate::Client::builder()
            .api_key("k")
            .base_url(sb.base_url())
            .log_from_env(false)
            .build()
            .expect("client");
        let quick = || {
            WaitOptions::default()
                .timeout(Duration::from_millis(30))
                .poll_interval(Duration::from_millis(10))
        };
        let outcomes = futures_util::stream::iter(0..ORDERS)
            .map(|i| {
                let client = client.clone();
                let sb = &sb;
                async move {
                    let request = crate::OrderRequest::new("svc_telegram", "cty_us");
                    let order = client.create_order(&request).await.expect("order");
                    sb.force_code(&order.id, "111111").expect("code");
                    let resent = client.resend_order(&order.id).await;
                    let unknown = matches!(resent, Err(Error::OrderOutcomeUnknown(_)));
                    if !unknown {
                        resent.expect("resend");
                    }
                    let waited = match i % 3 {
                        0 if !unknown => {
                            sb.force_code(&order.id, "222222").expect("code");
                            client.wait_for_code(&order.id, quick()).await
                        }
                        1 => {
                            client
                                .wait_for_code(&order.id, quick().cancel_on_timeout(true))
                                .await
                        }
                        _ => client.wait_for_code(&order.id, quick()).await,
                    };
                    (unknown, waited.is_ok())
                }
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await;
        let unknowns = outcomes.iter().filter(|(unknown, _)| *unknown).count();
        let codes = outcomes.iter().filter(|(_, code)| *code).count();
        assert!(
            unknowns > 1_000,
            "{unknowns} resends had an unknown outcome"
        );
        assert!(codes > 2_000, "{codes} waits ended with a code");
        assert_eq!(client.shared().codes_before_resend.len(), 0);
    }
}

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
use std::time::Instant;

use crate::client::{Client, Shared};
use crate::error::{Error, ErrorKind, Result};
use crate::models::{Order, OrderStatus, WaitOptions};
use crate::validate;

/// The codes that do not count as new for one wait.
struct Seen {
    /// The order's codes before this client resent it, oldest first.
    before: Vec<String>,
    /// Codes the caller excluded, by their digits.
    excluded: HashSet<String>,
}

impl Seen {
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
        let too_long = || {
            Error::invalid(
                "timeout",
                "is too long to wait for (at most a year makes sense)",
            )
        };
        let deadline = started.checked_add(options.timeout).ok_or_else(too_long)?;
        // The last look and the cancel end by here: the wait's timeout plus one attempt's.
        let hard = deadline
            .checked_add(self.config().timeout)
            .ok_or_else(too_long)?;
        let _forget = ForgetOnEnd {
            shared: self.shared(),
            id: id.to_owned(),
        };
        let seen = Seen {
            before: self
                .shared()
                .codes_before_resend
                .get(&id.to_owned())
                .map(|(codes, _)| codes)
                .unwrap_or_default(),
            excluded: options.exclude_codes.iter().cloned().collect(),
        };
        let mut last: Option<Order> = None;
        loop {
            let mut pause = options.poll_interval;
            match self.order_within(id, hard).await {
                Ok(order) => {
                    if seen.has_new_code(&order) {
                        return Ok(order);
                    }
                    if order.status.is_closed() {
                        return Err(Error::OrderClosed {
                            order: Box::new(order),
                        });
                    }
                    on_poll(&order);
                    last = Some(order);
                }
                Err(e) if e.is_retryable() || e.kind() == ErrorKind::UnexpectedResponse => {
                    tracing::debug!(error = %e, "poll failed; polling on");
                    // A 429 that outlasted the transport's retries: wait as long as it asked.
                    pause = pause.max(e.retry_after().unwrap_or_default());
                }
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            if now >= deadline {
                return self
                    .time_out(id, &options, last, started, hard, &seen)
                    .await;
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            if Instant::now() >= deadline {
                // One last look, so a code that arrived during the final sleep is not missed.
                match self.order_within(id, hard).await {
                    Ok(order) if seen.has_new_code(&order) => return Ok(order),
                    Ok(order) => last = Some(order),
                    Err(e) => tracing::debug!(error = %e, "last look failed"),
                }
                return self
                    .time_out(id, &options, last, started, hard, &seen)
                    .await;
            }
        }
    }

    /// Ends a wait that ran out of time: cancels the order if asked (within `hard`), and
    /// reports the last state seen. A failure here never hides the timeout: the error stays
    /// [`Error::WaitTimeout`], with `cancelled` saying whether the cancel went through.
    async fn time_out(
        &self,
        id: &str,
        options: &WaitOptions,
        last: Option<Order>,
        started: Instant,
        hard: Instant,
        seen: &Seen,
    ) -> Result<Order> {
        let mut order = last;
        let mut cancelled = false;
        if options.cancel_on_timeout && Instant::now() < hard {
            match self.cancel_within(id, Some(hard)).await {
                Ok(after) => {
                    cancelled = after.status == OrderStatus::Cancelled;
                    order = Some(after);
                }
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    // Not cancellable any more: most likely the code just arrived.
                    match self.order_within(id, hard).await {
                        Ok(latest) if seen.has_new_code(&latest) => return Ok(latest),
                        Ok(latest) => order = Some(latest),
                        Err(e) => tracing::debug!(error = %e, "look after a refused cancel failed"),
                    }
                }
                Err(e) => tracing::debug!(error = %e, "cancel on timeout failed"),
            }
        }
        Err(Error::WaitTimeout {
            order_id: id.to_owned(),
            order: order.map(Box::new),
            waited: started.elapsed(),
            cancelled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

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

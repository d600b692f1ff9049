//! The retry decision: one pure function from what an attempt produced to what happens next.
//!
//! Money depends on this table. An idempotent call (a GET, cancel, webhook delete) may be sent
//! again after any transient failure. A non-idempotent one (create order, resend, create
//! webhook) may be sent again only when it provably never reached the server (the connection
//! was never made) or the server's rate limiter refused it (429); any other failure after it may
//! have reached the server, unless the answer says it was refused, is an unknown outcome that
//! the caller reconciles. Keeping every rule in [`classify`] (no I/O, no clock, no randomness:
//! jitter is an input) lets the table test below cover them all, and the transport only obeys.

use std::time::Duration;

use crate::config::MAX_RETRY_AFTER;

/// Most 429 refusals one call waits out (with at most [`MAX_RETRY_AFTER`] of waiting in all).
pub(crate) const MAX_RATE_LIMIT_WAITS: u32 = 16;
/// The shortest pause after a 429, whatever `Retry-After` said (absent, `0`, or a past date):
/// without it, refused calls come straight back and collect the next 429.
pub(crate) const MIN_RATE_PAUSE: Duration = Duration::from_millis(250);
/// API error codes of a 5xx that mean "not processed" (the request was refused before it did
/// anything), listed in `spec/contract.md`. Any other 5xx may have come after the work was done.
pub(crate) const NOT_PROCESSED_CODES: &[&str] = &["service_unavailable"];

/// What one attempt produced, as far as the decision is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attempt<'a> {
    /// The connection was never made: the request did not leave this machine.
    NotSent,
    /// The connection was refused for a reason trying again does not fix (the server's
    /// certificate is not trusted, the proxy refused its credentials): not sent either.
    Refused,
    /// Sent (or possibly sent), then no usable answer: reset, dropped, cut off, or timed out.
    Lost {
        /// The attempt's timeout (or the call's deadline) ran out.
        timed_out: bool,
    },
    /// An answer came back.
    Answered {
        /// The HTTP status.
        status: u16,
        /// What the body is.
        body: Body<'a>,
        /// The server's `Retry-After` (or `retry-after-ms`), if it gave one; a past date is zero.
        retry_after: Option<Duration>,
    },
}

/// What an answer's body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body<'a> {
    /// A success payload (a 2xx envelope with `success: true`, or a bare payload).
    Payload,
    /// The API's own error: a NexOTP error envelope (`success: false`, whatever the status) or
    /// a WordPress error object, with its code.
    ApiError { code: Option<&'a str> },
    /// Not the contract: HTML, empty, not JSON, a gateway's JSON, a cut-off body.
    Unreadable,
    /// Larger than the client accepts (it was not read).
    TooLarge,
}

/// The call being made and what it has used up so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Context {
    /// GET, cancel, webhook delete: sending it twice does no harm.
    pub idempotent: bool,
    /// Retries spent on failures so far.
    pub retries: u32,
    /// The most retries allowed on failures (`max_retries`).
    pub max_retries: u32,
    /// 429 refusals waited out so far.
    pub rate_limit_waits: u32,
    /// Time spent waiting out 429s so far.
    pub rate_limited_for: Duration,
    /// Time left before the call's deadline, when it has one.
    pub time_left: Option<Duration>,
    /// Delay before the first retry; doubled each retry.
    pub initial_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// A number in `[0, 1)`: the backoff is scaled by `0.5 + jitter / 2`.
    pub jitter: f64,
}

/// What the transport does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Hand the payload to the caller.
    Succeed,
    /// Send again after `delay`.
    Retry { delay: Duration },
    /// The rate limiter refused it: pause the bucket for `pause` (every caller waits), then send
    /// again when the bucket lets it go.
    WaitRateLimit { pause: Duration },
    /// Pause the bucket for `pause`, then fail with the 429 (its budget is spent, or the pause
    /// is longer than the call may wait).
    FailRateLimited { pause: Duration },
    /// Fail with the error this attempt carries (`retryable` says whether a caller may send the
    /// same call again).
    Fail { retryable: bool },
    /// Fail with "outcome unknown": the call may have taken effect.
    OutcomeUnknown,
}

/// Decides what happens after one attempt. Pure: same input, same answer.
pub(crate) fn classify(call: &Context, attempt: Attempt<'_>) -> Decision {
    match attempt {
        Attempt::NotSent => retry_or_fail(call, None, true),
        Attempt::Refused => Decision::Fail { retryable: false },
        Attempt::Lost { .. } if !call.idempotent => Decision::OutcomeUnknown,
        Attempt::Lost { .. } => retry_or_fail(call, None, true),
        Attempt::Answered {
            status,
            body,
            retry_after,
        } => answered(call, status, body, retry_after),
    }
}

fn answered(
    call: &Context,
    status: u16,
    body: Body<'_>,
    retry_after: Option<Duration>,
) -> Decision {
    let rate_limited = status == 429
        || matches!(
            body,
            Body::ApiError {
                code: Some("rate_limited")
            }
        ) && !(200..300).contains(&status);
    if rate_limited {
        // A refusal by the rate limiter, from the API or a proxy in front of it: never applied.
        return rate_limit(call, retry_after);
    }
    let success = (200..300).contains(&status);
    match body {
        Body::Payload if success => Decision::Succeed,
        Body::ApiError { code } => {
            let transient = transient_status(status) && !success;
            if call.idempotent {
                return if transient {
                    retry_or_fail(call, retry_after, true)
                } else {
                    Decision::Fail { retryable: false }
                };
            }
            if refused(status, code) {
                Decision::Fail { retryable: false }
            } else {
                Decision::OutcomeUnknown
            }
        }
        // Too large to read: the same answer would come again.
        Body::TooLarge if call.idempotent || (400..500).contains(&status) => {
            Decision::Fail { retryable: false }
        }
        Body::TooLarge => Decision::OutcomeUnknown,
        // A 2xx that is not readable (cut off, not JSON), or any 5xx page: for an idempotent
        // call, a transient fault worth another try.
        Body::Payload | Body::Unreadable if call.idempotent => {
            if success || transient_status(status) {
                retry_or_fail(call, retry_after, true)
            } else {
                Decision::Fail { retryable: false }
            }
        }
        // Non-idempotent, and the answer does not say "refused": a 4xx page (a WAF, a proxy's
        // 413) came from something that stopped the request; anything else may follow the work.
        Body::Payload | Body::Unreadable => {
            if (400..500).contains(&status) {
                Decision::Fail { retryable: false }
            } else {
                Decision::OutcomeUnknown
            }
        }
    }
}

/// Whether an API error answer to a non-idempotent call says it was not applied: a 4xx domain
/// or validation error, or a 5xx (or `success: false` 2xx) whose code means "not processed".
/// WordPress's `internal_server_error` (its fatal-error handler, possibly after the insert) and
/// every other 5xx are not refusals.
fn refused(status: u16, code: Option<&str>) -> bool {
    let not_processed = code.is_some_and(|c| NOT_PROCESSED_CODES.contains(&c));
    match status {
        400..=499 => true,
        200..=299 => not_processed || code.is_some_and(is_refusal_code),
        _ => not_processed,
    }
}

/// A code that names a refusal of the request itself (bad input, auth, money, stock).
fn is_refusal_code(code: &str) -> bool {
    !matches!(
        crate::envelope::kind_from_code(Some(code)),
        crate::error::ErrorKind::Api | crate::error::ErrorKind::Server
    )
}

/// Statuses that may heal by themselves: timeouts, server and gateway errors (Cloudflare's
/// 52x included).
fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 500..=599)
}

fn rate_limit(call: &Context, retry_after: Option<Duration>) -> Decision {
    let pause = retry_after.unwrap_or_default().max(MIN_RATE_PAUSE);
    let spent = call.rate_limited_for.saturating_add(pause);
    let fits_deadline = call.time_left.is_none_or(|left| pause < left);
    if call.max_retries == 0
        || pause > MAX_RETRY_AFTER
        || spent > MAX_RETRY_AFTER
        || call.rate_limit_waits >= MAX_RATE_LIMIT_WAITS
        || !fits_deadline
    {
        Decision::FailRateLimited { pause }
    } else {
        Decision::WaitRateLimit { pause }
    }
}

/// Retries when the budgets allow, else fails; `retryable` is what the error then says.
fn retry_or_fail(call: &Context, retry_after: Option<Duration>, retryable: bool) -> Decision {
    let fail = Decision::Fail {
        retryable: retryable && call.idempotent,
    };
    if call.retries >= call.max_retries {
        return fail;
    }
    let wait = retry_after.unwrap_or_default();
    if wait > MAX_RETRY_AFTER {
        return fail;
    }
    let delay = backoff(call, call.retries + 1).max(wait);
    if call.time_left.is_some_and(|left| delay >= left) {
        return fail;
    }
    Decision::Retry { delay }
}

/// `min(initial · 2^(n-1), max)` scaled by a jitter in `[0.5, 1)`.
pub(crate) fn backoff(call: &Context, retry: u32) -> Duration {
    let exp = call
        .initial_backoff
        .saturating_mul(1u32 << retry.saturating_sub(1).min(20));
    exp.min(call.max_backoff)
        .mul_f64(0.5 + 0.5 * call.jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn ctx(idempotent: bool) -> Context {
        Context {
            idempotent,
            retries: 0,
            max_retries: 2,
            rate_limit_waits: 0,
            rate_limited_for: Duration::ZERO,
            time_left: None,
            initial_backoff: ms(500),
            max_backoff: Duration::from_secs(8),
            jitter: 1.0,
        }
    }

    const SAFE: bool = true;
    const UNSAFE: bool = false;

    fn answer(status: u16, body: Body<'static>) -> Attempt<'static> {
        Attempt::Answered {
            status,
            body,
            retry_after: None,
        }
    }
    fn after(status: u16, body: Body<'static>, secs: f64) -> Attempt<'static> {
        Attempt::Answered {
            status,
            body,
            retry_after: Some(Duration::from_secs_f64(secs)),
        }
    }
    fn env(code: &'static str) -> Body<'static> {
        Body::ApiError { code: Some(code) }
    }
    const PAGE: Body<'static> = Body::Unreadable;
    const OK: Body<'static> = Body::Payload;
    const NO_CODE: Body<'static> = Body::ApiError { code: None };

    const RETRY: Decision = Decision::Retry { delay: ms(500) };
    const FAIL: Decision = Decision::Fail { retryable: false };
    const FAIL_RETRYABLE: Decision = Decision::Fail { retryable: true };
    const UNKNOWN: Decision = Decision::OutcomeUnknown;
    const WAIT_MIN: Decision = Decision::WaitRateLimit {
        pause: MIN_RATE_PAUSE,
    };

    /// Budget shorthands for the table.
    fn spent(mut c: Context) -> Context {
        c.retries = c.max_retries;
        c
    }
    fn no_retries(mut c: Context) -> Context {
        c.max_retries = 0;
        c
    }
    fn deadline(mut c: Context, millis: u64) -> Context {
        c.time_left = Some(ms(millis));
        c
    }
    fn waited(mut c: Context, waits: u32, secs: u64) -> Context {
        c.rate_limit_waits = waits;
        c.rate_limited_for = Duration::from_secs(secs);
        c
    }

    #[test]
    #[rustfmt::skip]
    fn the_table() {
        let s = ctx(SAFE);
        let u = ctx(UNSAFE);
        let rows: Vec<(u32, Context, Attempt<'static>, Decision)> = vec![
            // Successes.
            (line!(), s, answer(200, OK), Decision::Succeed),
            (line!(), u, answer(201, OK), Decision::Succeed),
            (line!(), u, answer(204, OK), Decision::Succeed),
            // Never sent: both kinds may go again.
            (line!(), s, Attempt::NotSent, RETRY),
            (line!(), u, Attempt::NotSent, RETRY),
            (line!(), spent(s), Attempt::NotSent, FAIL_RETRYABLE),
            (line!(), spent(u), Attempt::NotSent, FAIL),
            // Refused (untrusted certificate, proxy credentials): trying again cannot help.
            (line!(), s, Attempt::Refused, FAIL),
            (line!(), u, Attempt::Refused, FAIL),
            // Lost after sending.
            (line!(), s, Attempt::Lost { timed_out: false }, RETRY),
            (line!(), s, Attempt::Lost { timed_out: true }, RETRY),
            (line!(), spent(s), Attempt::Lost { timed_out: true }, FAIL_RETRYABLE),
            (line!(), u, Attempt::Lost { timed_out: false }, UNKNOWN),
            (line!(), u, Attempt::Lost { timed_out: true }, UNKNOWN),
            (line!(), spent(u), Attempt::Lost { timed_out: true }, UNKNOWN),
            // A typed API error is a typed error whatever its status.
            (line!(), s, answer(200, env("insufficient_balance")), FAIL),
            (line!(), u, answer(200, env("insufficient_balance")), FAIL),
            (line!(), u, answer(200, env("no_numbers_available")), FAIL),
            (line!(), u, answer(200, env("service_unavailable")), FAIL),
            (line!(), u, answer(200, env("rest_invalid_param")), FAIL),
            (line!(), u, answer(200, env("internal_server_error")), UNKNOWN),
            (line!(), u, answer(200, env("something_new")), UNKNOWN),
            (line!(), u, answer(200, NO_CODE), UNKNOWN),
            (line!(), s, answer(400, env("rest_invalid_param")), FAIL),
            (line!(), u, answer(400, env("rest_missing_callback_param")), FAIL),
            (line!(), s, answer(401, env("rest_forbidden")), FAIL),
            (line!(), u, answer(401, env("invalid_api_key")), FAIL),
            (line!(), u, answer(402, env("insufficient_balance")), FAIL),
            (line!(), s, answer(404, env("rest_no_route")), FAIL),
            (line!(), u, answer(404, env("order_not_found")), FAIL),
            (line!(), u, answer(409, env("no_numbers_available")), FAIL),
            (line!(), u, answer(409, env("max_price_exceeded")), FAIL),
            (line!(), s, answer(409, env("order_not_cancellable")), FAIL),
            (line!(), u, answer(422, NO_CODE), FAIL),
            // 5xx envelopes: an idempotent call retries; a non-idempotent one is refused only
            // by a "not processed" code.
            (line!(), s, answer(500, env("internal_server_error")), RETRY),
            (line!(), u, answer(500, env("internal_server_error")), UNKNOWN),
            (line!(), u, answer(500, env("server_error")), UNKNOWN),
            (line!(), u, answer(500, NO_CODE), UNKNOWN),
            (line!(), s, answer(503, env("service_unavailable")), RETRY),
            (line!(), u, answer(503, env("service_unavailable")), FAIL),
            (line!(), u, answer(502, env("service_unavailable")), FAIL),
            (line!(), u, answer(502, env("bad_gateway")), UNKNOWN),
            (line!(), spent(s), answer(503, env("service_unavailable")), FAIL_RETRYABLE),
            (line!(), s, after(503, env("service_unavailable"), 2.0), Decision::Retry { delay: ms(2000) }),
            (line!(), s, after(503, env("service_unavailable"), 61.0), FAIL_RETRYABLE),
            // Pages and empty bodies (HTML 500, proxies' 502/503/504, Cloudflare's 52x).
            (line!(), s, answer(500, PAGE), RETRY),
            (line!(), s, answer(502, PAGE), RETRY),
            (line!(), s, answer(503, PAGE), RETRY),
            (line!(), s, answer(504, PAGE), RETRY),
            (line!(), s, answer(520, PAGE), RETRY),
            (line!(), s, answer(524, PAGE), RETRY),
            (line!(), s, answer(408, PAGE), RETRY),
            (line!(), u, answer(500, PAGE), UNKNOWN),
            (line!(), u, answer(502, PAGE), UNKNOWN),
            (line!(), u, answer(503, PAGE), UNKNOWN),
            (line!(), u, answer(504, PAGE), UNKNOWN),
            (line!(), u, answer(520, PAGE), UNKNOWN),
            (line!(), u, answer(521, PAGE), UNKNOWN),
            (line!(), u, answer(522, PAGE), UNKNOWN),
            (line!(), u, answer(523, PAGE), UNKNOWN),
            (line!(), u, answer(524, PAGE), UNKNOWN),
            (line!(), spent(s), answer(502, PAGE), FAIL_RETRYABLE),
            (line!(), s, answer(404, PAGE), FAIL),
            (line!(), s, answer(403, PAGE), FAIL),
            (line!(), u, answer(403, PAGE), FAIL),
            (line!(), u, answer(413, PAGE), FAIL),
            (line!(), u, answer(301, PAGE), UNKNOWN),
            // Cut off or unreadable 2xx: the server did the work.
            (line!(), s, answer(200, PAGE), RETRY),
            (line!(), spent(s), answer(200, PAGE), FAIL_RETRYABLE),
            (line!(), u, answer(200, PAGE), UNKNOWN),
            (line!(), u, answer(201, PAGE), UNKNOWN),
            // Too large to read.
            (line!(), s, answer(200, Body::TooLarge), FAIL),
            (line!(), u, answer(200, Body::TooLarge), UNKNOWN),
            (line!(), u, answer(500, Body::TooLarge), UNKNOWN),
            (line!(), u, answer(400, Body::TooLarge), FAIL),
            // 429: a refusal, for every call, waited out on its own budget.
            (line!(), s, answer(429, env("rate_limited")), WAIT_MIN),
            (line!(), u, answer(429, env("rate_limited")), WAIT_MIN),
            (line!(), u, answer(429, PAGE), WAIT_MIN),
            (line!(), u, after(429, env("rate_limited"), 0.0), WAIT_MIN),
            (line!(), s, after(429, PAGE, 0.1), WAIT_MIN),
            (line!(), s, after(429, env("rate_limited"), 2.0), Decision::WaitRateLimit { pause: ms(2000) }),
            (line!(), u, after(429, env("rate_limited"), 2.0), Decision::WaitRateLimit { pause: ms(2000) }),
            (line!(), spent(s), after(429, env("rate_limited"), 1.0), Decision::WaitRateLimit { pause: ms(1000) }),
            (line!(), no_retries(s), answer(429, env("rate_limited")), Decision::FailRateLimited { pause: MIN_RATE_PAUSE }),
            (line!(), s, after(429, env("rate_limited"), 61.0), Decision::FailRateLimited { pause: ms(61_000) }),
            (line!(), waited(s, 3, 59), after(429, env("rate_limited"), 2.0), Decision::FailRateLimited { pause: ms(2000) }),
            (line!(), waited(u, 16, 4), answer(429, env("rate_limited")), Decision::FailRateLimited { pause: MIN_RATE_PAUSE }),
            (line!(), waited(u, 15, 4), answer(429, env("rate_limited")), WAIT_MIN),
            (line!(), deadline(s, 1000), after(429, env("rate_limited"), 2.0), Decision::FailRateLimited { pause: ms(2000) }),
            (line!(), deadline(s, 3000), after(429, env("rate_limited"), 2.0), Decision::WaitRateLimit { pause: ms(2000) }),
            (line!(), s, answer(200, env("rate_limited")), FAIL),
            // Deadlines: no retry that would start after the deadline.
            (line!(), deadline(s, 400), answer(503, PAGE), FAIL_RETRYABLE),
            (line!(), deadline(s, 600), answer(503, PAGE), RETRY),
            (line!(), deadline(s, 1500), after(503, PAGE, 2.0), FAIL_RETRYABLE),
            (line!(), deadline(u, 10), Attempt::NotSent, FAIL),
        ];
        assert!(rows.len() >= 60, "the table has {} rows", rows.len());
        for (line, context, attempt, want) in rows {
            let got = classify(&context, attempt);
            assert_eq!(got, want, "row at line {line}: {attempt:?} idempotent={}", context.idempotent);
        }
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let mut c = ctx(SAFE);
        c.jitter = 1.0;
        assert_eq!(backoff(&c, 1), ms(500));
        assert_eq!(backoff(&c, 2), ms(1000));
        assert_eq!(backoff(&c, 5), ms(8000));
        assert_eq!(backoff(&c, 40), ms(8000));
        c.jitter = 0.0;
        assert_eq!(backoff(&c, 1), ms(250));
        c.initial_backoff = ms(1);
        c.max_backoff = ms(4);
        c.jitter = 1.0;
        assert_eq!(backoff(&c, 10), ms(4));
    }

    #[test]
    fn never_a_resend_after_the_request_may_have_landed() {
        // Every outcome that may follow the work, for every budget: never Retry for an
        // unsafe call.
        let bodies = [
            OK,
            PAGE,
            NO_CODE,
            env("internal_server_error"),
            Body::TooLarge,
        ];
        for status in 200..=599 {
            for body in bodies {
                for c in [ctx(UNSAFE), spent(ctx(UNSAFE)), deadline(ctx(UNSAFE), 100)] {
                    let d = classify(&c, answer(status, body));
                    if status != 429 {
                        assert!(
                            !matches!(d, Decision::Retry { .. } | Decision::WaitRateLimit { .. }),
                            "{status} {body:?} -> {d:?}"
                        );
                    }
                    assert_ne!(d, FAIL_RETRYABLE, "{status} {body:?}");
                }
            }
        }
    }
}

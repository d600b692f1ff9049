//! Sending one API call: rate buckets, attempts, retries, size cap, logging.
//!
//! The rule that matters most lives here: a call that is not idempotent (create order, resend,
//! create webhook) is re-sent only when it provably never reached the server (a connect failure)
//! or the rate limiter refused it (429). Any other failure after sending becomes
//! [`Error::OrderOutcomeUnknown`] (for orders) or the transport error, never a silent duplicate.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, USER_AGENT};
use serde_json::Value;
use tracing::Instrument;

use crate::buckets::{Bucket, RateLimitStore};
use crate::config::{ClientConfig, MAX_BODY_BYTES, MAX_RETRY_AFTER};
use crate::envelope::{self, Payload};
use crate::error::{ApiError, Error, ErrorKind, Operation, OrderOutcomeUnknown, Result};
use crate::observe::{RequestObserver, RequestRecord};

/// The API key header.
pub(crate) const API_KEY_HEADER: &str = "X-NexOTP-API-Key";
/// Delay before the first retry; doubled each time.
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest computed backoff.
const BACKOFF_CAP: Duration = Duration::from_secs(8);
/// Most 429 refusals one call waits out (with at most `MAX_RETRY_AFTER` of waiting in all).
const MAX_RATE_LIMIT_RETRIES: u32 = 16;
/// Pause applied to a bucket after a 429 that did not say how long.
const DEFAULT_RATE_PAUSE: Duration = Duration::from_secs(1);

/// May this call be sent again after it possibly reached the server?
#[derive(Clone, Debug)]
pub(crate) enum Resend {
    /// Safe (GET, DELETE, cancel): retry on any transport error and on 408/429/5xx.
    Always,
    /// Not idempotent: retry only after a connect failure or a 429. With an outcome context,
    /// a failure after sending is [`Error::OrderOutcomeUnknown`].
    OnlyIfNotSent(Option<OutcomeContext>),
}

/// What an [`OrderOutcomeUnknown`] needs to help reconcile.
#[derive(Clone, Debug)]
pub(crate) struct OutcomeContext {
    pub operation: Operation,
    pub service: Option<String>,
    pub country: Option<String>,
    pub order_id: Option<String>,
}

/// One API call.
#[derive(Debug)]
pub(crate) struct Call {
    pub method: Method,
    /// Below the base URL, encoded, with the query.
    pub path: String,
    /// A JSON body (POST only).
    pub body: Option<Value>,
    pub bucket: Bucket,
    pub resend: Resend,
}

/// What one attempt produced.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

enum AttemptError {
    Transport(reqwest::Error),
    TooLarge { status: u16 },
}

/// The shared, per-pool half of a client.
pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub store: Arc<dyn RateLimitStore>,
    pub observers: Vec<Arc<dyn RequestObserver>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("store", &self.store)
            .field("observers", &self.observers.len())
            .finish_non_exhaustive()
    }
}

/// Builds the pooled HTTP client: rustls, JSON headers on every request (WordPress ignores a
/// JSON body without `Content-Type`, and answers HTML without `Accept`), no redirects (they
/// would carry the key elsewhere), and no proxy for a loopback base URL (an `HTTP_PROXY` must
/// not receive a local sandbox's traffic, key included, in clear text).
pub(crate) fn http_client(config: &ClientConfig) -> Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let mut key = HeaderValue::from_str(config.api_key.expose())
        .map_err(|_| Error::invalid("api_key", "is not a valid header value"))?;
    key.set_sensitive(true);
    headers.insert(API_KEY_HEADER, key);
    let agent = HeaderValue::from_str(&config.user_agent)
        .map_err(|_| Error::invalid("user_agent", "is not a valid header value"))?;
    headers.insert(USER_AGENT, agent);
    let mut builder = reqwest::Client::builder();
    if url::Url::parse(&config.base_url).is_ok_and(|u| crate::config::is_loopback(&u)) {
        builder = builder.no_proxy();
    }
    builder
        .default_headers(headers)
        .connect_timeout(config.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Connection {
            message: format!("cannot build the HTTP client: {e}"),
            source: Some(Box::new(e)),
        })
}

/// `min(0.5 s · 2^(n-1), 8 s)` times a jitter in [0.75, 1].
fn backoff(attempt: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    exp.min(BACKOFF_CAP).mul_f64(0.75 + 0.25 * fastrand::f64())
}

fn transport_error(e: reqwest::Error) -> Error {
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    if e.is_timeout() {
        Error::Timeout {
            message,
            source: Some(Box::new(e)),
        }
    } else {
        Error::Connection {
            message,
            source: Some(Box::new(e)),
        }
    }
}

pub(crate) fn outcome_unknown(
    ctx: &OutcomeContext,
    sent_at: SystemTime,
    status: Option<u16>,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::OrderOutcomeUnknown(Box::new(OrderOutcomeUnknown {
        operation: ctx.operation,
        service: ctx.service.clone(),
        country: ctx.country.clone(),
        order_id: ctx.order_id.clone(),
        sent_at,
        status,
        message,
        source,
    }))
}

impl Transport {
    /// Waits until `bucket` lets a call go. A pause longer than [`MAX_RETRY_AFTER`] (the
    /// server asked for a long quiet) fails at once instead of hanging the caller.
    async fn wait_for_bucket(&self, bucket: Bucket) -> Result<()> {
        loop {
            let wait = self.store.acquire(bucket).await;
            if wait.is_zero() {
                return Ok(());
            }
            if wait > MAX_RETRY_AFTER {
                return Err(Error::Api(Box::new(ApiError {
                    kind: ErrorKind::RateLimit,
                    status: 429,
                    code: Some("rate_limited".to_owned()),
                    message: format!(
                        "the {bucket} bucket is paused for {:.0} s after a 429; not sent",
                        wait.as_secs_f64()
                    ),
                    request_id: None,
                    details: Value::Null,
                    params: Default::default(),
                    retry_after: Some(wait),
                    bucket: Some(bucket),
                    body: Value::Null,
                })));
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Pauses `bucket` until the server's window resets when an answer says none are left
    /// (`X-RateLimit-Remaining: 0` with `X-RateLimit-Reset` in unix seconds), so the next call
    /// waits instead of collecting a 429.
    async fn pause_if_exhausted(&self, bucket: Bucket, headers: &reqwest::header::HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        if number("x-ratelimit-remaining") != Some(0.0) {
            return;
        }
        let Some(reset) = number("x-ratelimit-reset") else {
            return;
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let wait = reset - now;
        if wait > 0.0 && wait <= MAX_RETRY_AFTER.as_secs_f64() {
            self.store
                .pause(bucket, Duration::from_secs_f64(wait))
                .await;
        }
    }

    async fn attempt(
        &self,
        config: &ClientConfig,
        call: &Call,
        body: Option<&[u8]>,
    ) -> Result<Answer, AttemptError> {
        let url = format!("{}{}", config.base_url, call.path);
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .timeout(config.timeout);
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.to_vec());
        }
        let mut response = request.send().await.map_err(AttemptError::Transport)?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(AttemptError::TooLarge { status });
        }
        let headers = std::mem::take(response.headers_mut());
        let capacity = response.content_length().unwrap_or(0).min(64 * 1024) as usize;
        let mut body = Vec::with_capacity(capacity);
        while let Some(chunk) = response.chunk().await.map_err(AttemptError::Transport)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(AttemptError::TooLarge { status });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    fn report(&self, call: &Call, attempt: u32, started: Instant, outcome: Outcome<'_>) {
        if self.observers.is_empty() {
            return;
        }
        let (status, request_id, error) = match outcome {
            Outcome::Status(status, headers) => (
                Some(status),
                headers
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                None,
            ),
            Outcome::Failed(message) => (None, None, Some(message)),
        };
        let record = RequestRecord {
            method: method_name(&call.method),
            path: call.path.clone(),
            bucket: call.bucket,
            attempt,
            status,
            elapsed: started.elapsed(),
            request_id,
            error,
        };
        for observer in &self.observers {
            observer.on_request(&record);
        }
    }

    /// Sends `call`, retrying as its [`Resend`] rule allows, and decodes the answer.
    pub(crate) async fn execute(&self, config: &ClientConfig, call: Call) -> Result<Payload> {
        let mut maybe_applied = false;
        self.execute_tracked(config, call, &mut maybe_applied).await
    }

    /// [`Transport::execute`], also telling (through `maybe_applied`) whether the call was
    /// re-sent after an attempt that may have taken effect on the server (its answer was lost,
    /// or a gateway / server error came back). A retried cancel or delete then meets the state
    /// its own earlier attempt created ("already cancelled", "not found"), which the caller
    /// must not report as a failure.
    pub(crate) async fn execute_tracked(
        &self,
        config: &ClientConfig,
        call: Call,
        maybe_applied: &mut bool,
    ) -> Result<Payload> {
        let body =
            match &call.body {
                Some(value) => Some(serde_json::to_vec(value).map_err(|e| {
                    Error::invalid("body", format!("cannot be encoded as JSON: {e}"))
                })?),
                None => None,
            };
        let mut attempt = 0u32;
        // Retries spent on failures (transport errors, 408 / 5xx), limited by `max_retries`.
        let mut retries = 0u32;
        // A 429 is a refusal, not a failure: a call that was told to wait keeps its place until
        // the server's waits add up to `MAX_RETRY_AFTER`, so many concurrent calls released
        // together after a pause are not failed for colliding once more. `max_retries(0)`
        // still means "never re-send".
        let mut rate_limited_for = Duration::ZERO;
        let mut rate_limit_retries = 0u32;
        loop {
            attempt += 1;
            self.wait_for_bucket(call.bucket).await?;
            let started = Instant::now();
            let sent_at = SystemTime::now();
            let span = tracing::debug_span!(
                "nexotp.request",
                method = method_name(&call.method),
                path = %call.path,
                bucket = call.bucket.as_str(),
                attempt,
                status = tracing::field::Empty,
                elapsed_ms = tracing::field::Empty,
            );
            let result = self
                .attempt(config, &call, body.as_deref())
                .instrument(span.clone())
                .await;
            let last = retries >= config.max_retries;
            let delay = match result {
                Ok(answer) => {
                    span.record("status", answer.status);
                    span.record("elapsed_ms", started.elapsed().as_secs_f64() * 1000.0);
                    self.report(
                        &call,
                        attempt,
                        started,
                        Outcome::Status(answer.status, &answer.headers),
                    );
                    let error = match envelope::decode(
                        answer.status,
                        &answer.headers,
                        &answer.body,
                        call.bucket,
                    ) {
                        Ok(payload) => {
                            self.pause_if_exhausted(call.bucket, &answer.headers).await;
                            return Ok(payload);
                        }
                        Err(error) => error,
                    };
                    if let (Resend::OnlyIfNotSent(Some(ctx)), true) =
                        (&call.resend, (200..300).contains(&answer.status))
                    {
                        // The server accepted it but the answer is unusable: the order exists.
                        let message = format!("the answer could not be read ({error})");
                        return Err(outcome_unknown(
                            ctx,
                            sent_at,
                            Some(answer.status),
                            message,
                            Some(Box::new(error)),
                        ));
                    }
                    match self
                        .after_error_status(&call, answer.status, error, sent_at)
                        .await
                    {
                        Decision::Fail(error) => return Err(error),
                        Decision::Retry {
                            backoff: false,
                            at_least: pause,
                        } => {
                            rate_limited_for += pause;
                            rate_limit_retries += 1;
                            if config.max_retries == 0
                                || rate_limited_for > MAX_RETRY_AFTER
                                || rate_limit_retries > MAX_RATE_LIMIT_RETRIES
                            {
                                return Err(self.final_status_error(&call, answer));
                            }
                            // The bucket pause is the wait (`wait_for_bucket`).
                            Duration::ZERO
                        }
                        Decision::Retry { .. } if last => {
                            return Err(self.final_status_error(&call, answer));
                        }
                        Decision::Retry { at_least, .. } => {
                            // A 408 / 5xx: the server (or a gateway) may have applied it.
                            *maybe_applied = true;
                            retries += 1;
                            backoff(retries).max(at_least)
                        }
                    }
                }
                Err(AttemptError::TooLarge { status }) => {
                    self.report(
                        &call,
                        attempt,
                        started,
                        Outcome::Failed("body too large".to_owned()),
                    );
                    let error = Error::UnexpectedResponse {
                        status,
                        message: format!(
                            "the response body exceeds {} MiB",
                            MAX_BODY_BYTES / (1024 * 1024)
                        ),
                        snippet: String::new(),
                        request_id: None,
                    };
                    return Err(match &call.resend {
                        Resend::OnlyIfNotSent(Some(ctx)) if (200..300).contains(&status) => {
                            let message = error.to_string();
                            outcome_unknown(
                                ctx,
                                sent_at,
                                Some(status),
                                message,
                                Some(Box::new(error)),
                            )
                        }
                        _ => error,
                    });
                }
                Err(AttemptError::Transport(e)) => {
                    let error = transport_error(e);
                    self.report(&call, attempt, started, Outcome::Failed(error.to_string()));
                    let reached = !matches!(&error, Error::Connection { source: Some(s), .. } | Error::Timeout { source: Some(s), .. }
                        if s.downcast_ref::<reqwest::Error>().is_some_and(reqwest::Error::is_connect));
                    match &call.resend {
                        Resend::OnlyIfNotSent(Some(ctx)) if reached => {
                            let message = error.to_string();
                            let source: Option<Box<dyn std::error::Error + Send + Sync>> =
                                Some(Box::new(error));
                            return Err(outcome_unknown(ctx, sent_at, None, message, source));
                        }
                        Resend::OnlyIfNotSent(None) if reached => return Err(error),
                        _ if last => return Err(error),
                        _ => {
                            *maybe_applied |= reached;
                            retries += 1;
                            backoff(retries)
                        }
                    }
                }
            };
            tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Decides what an error status means for this call.
    async fn after_error_status(
        &self,
        call: &Call,
        status: u16,
        error: Error,
        sent_at: SystemTime,
    ) -> Decision {
        let retry_after = error.retry_after();
        if status == 429 || error.kind() == ErrorKind::RateLimit {
            let pause = retry_after.unwrap_or(DEFAULT_RATE_PAUSE);
            // The whole bucket waits, even when this call gives up: the others must not keep
            // hitting a server that asked for quiet. The retry waits in `wait_for_bucket`.
            self.store.pause(call.bucket, pause).await;
            if pause > MAX_RETRY_AFTER {
                return Decision::Fail(error);
            }
            return Decision::Retry {
                backoff: false,
                at_least: pause,
            };
        }
        let transient = matches!(status, 408 | 500 | 502 | 503 | 504);
        match &call.resend {
            Resend::Always if transient => {
                let wait = retry_after.unwrap_or(Duration::ZERO);
                if wait > MAX_RETRY_AFTER {
                    return Decision::Fail(error);
                }
                Decision::Retry {
                    backoff: true,
                    at_least: wait,
                }
            }
            Resend::OnlyIfNotSent(Some(ctx))
                if matches!(status, 502 | 504)
                    && !error
                        .api_error()
                        .is_some_and(|a| envelope::is_api_error_body(&a.body)) =>
            {
                // A gateway answered, not the API: the order may exist.
                let message = format!("HTTP {status} from a gateway after the request was sent");
                Decision::Fail(outcome_unknown(
                    ctx,
                    sent_at,
                    Some(status),
                    message,
                    Some(Box::new(error)),
                ))
            }
            _ => Decision::Fail(error),
        }
    }

    /// The error for a retryable status when no attempt is left.
    fn final_status_error(&self, call: &Call, answer: Answer) -> Error {
        envelope::decode(answer.status, &answer.headers, &answer.body, call.bucket)
            .err()
            .unwrap_or_else(|| Error::UnexpectedResponse {
                status: answer.status,
                message: "a retryable status decoded as success".to_owned(),
                snippet: envelope::snippet(&answer.body),
                request_id: None,
            })
    }
}

enum Decision {
    /// Send again: after the exponential backoff (but at least `at_least`, the server's
    /// `Retry-After`), or, when `backoff` is false (a 429), as soon as the paused bucket
    /// allows; `at_least` is then the pause, counted against the call's waiting budget.
    Retry {
        backoff: bool,
        at_least: Duration,
    },
    Fail(Error),
}

enum Outcome<'a> {
    Status(u16, &'a reqwest::header::HeaderMap),
    Failed(String),
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        for attempt in 1..=8 {
            let d = backoff(attempt);
            let full = BACKOFF_BASE
                .saturating_mul(1 << (attempt - 1))
                .min(BACKOFF_CAP);
            assert!(
                d >= full.mul_f64(0.75) && d <= full,
                "attempt {attempt}: {d:?}"
            );
        }
    }
}

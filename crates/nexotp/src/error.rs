//! One error type for the whole SDK.
//!
//! The variants mirror the class tree every language shares (DESIGN §5), so a binding maps
//! [`Error::kind`] to its own class and never inspects messages. No variant ever holds the API
//! key or a webhook secret, so `Display` and `Debug` are safe to log.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::buckets::Bucket;
use crate::models::Order;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the SDK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bad argument, caught before any request was sent.
    #[error("invalid argument `{argument}`: {rule}")]
    InvalidArgument {
        /// The argument's name, as the caller spells it in Rust.
        argument: &'static str,
        /// The rule it broke.
        rule: String,
    },
    /// The server answered with an error (see [`ApiError::kind`] for which one).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// No usable answer: connect failure, TLS, reset, or a body cut off.
    #[error("connection error: {message}{}", not_retried(*retryable))]
    Connection {
        /// What happened, without secrets.
        message: String,
        /// Whether sending the same call again is safe and may succeed (see
        /// [`Error::is_retryable`]).
        retryable: bool,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An attempt's timeout or the call's deadline passed, or a client-side limit would have
    /// made the call wait past its deadline.
    #[error("request timed out: {message}{}", not_retried(*retryable))]
    Timeout {
        /// What timed out.
        message: String,
        /// Whether sending the same call again is safe and may succeed.
        retryable: bool,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A non-idempotent call (create order, resend, create webhook) failed after it may have
    /// reached the server. [`Client::reconcile`](crate::Client::reconcile) finds out what
    /// happened. Its `source()` is the failure behind it.
    #[error(transparent)]
    OrderOutcomeUnknown(Box<OrderOutcomeUnknown>),
    /// A body that is not the contract: not JSON, not an envelope, or missing required fields.
    #[error("unexpected response (HTTP {status}): {message}")]
    UnexpectedResponse {
        /// HTTP status of the response.
        status: u16,
        /// Why it could not be used.
        message: String,
        /// The first bytes of the body, for diagnosis.
        snippet: String,
        /// The request id, when the response had one.
        request_id: Option<String>,
    },
    /// `wait_for_code` ran out of time.
    #[error(
        "no code for order {order_id} within {:.1?}{}",
        waited,
        if *cancelled { " (the order was cancelled)" } else { "" }
    )]
    WaitTimeout {
        /// The order waited for.
        order_id: String,
        /// The last state of the order seen (after the cancel, if one was made); `None` when
        /// no poll succeeded.
        order: Option<Box<Order>>,
        /// How long the wait lasted.
        waited: Duration,
        /// Whether the order was cancelled because of the timeout.
        cancelled: bool,
    },
    /// The order ended (cancelled, expired, completed) without a new code.
    #[error("order {} ended as `{}` without a code", order.id, order.status)]
    OrderClosed {
        /// The final state of the order.
        order: Box<Order>,
    },
    /// A webhook delivery did not verify.
    #[error("webhook verification failed: {message}")]
    WebhookVerification {
        /// Why, naming the usual mistakes.
        message: String,
    },
    /// The caller aborted the call ([`AbortSignal`](crate::AbortSignal)) before anything
    /// that could take effect was sent. (An abort after a non-idempotent call was sent is
    /// [`Error::OrderOutcomeUnknown`].)
    #[error("the call was aborted: {message}")]
    Aborted {
        /// Where the call was when it was aborted.
        message: String,
    },
}

/// The class of an [`Error`], the same names in every language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `InvalidArgumentError`
    InvalidArgument,
    /// `APIError` with a status no subclass covers.
    Api,
    /// `AuthenticationError` (401)
    Authentication,
    /// `PermissionDeniedError` (403)
    PermissionDenied,
    /// `NotFoundError` (404)
    NotFound,
    /// `InvalidRequestError` (400 / 422)
    InvalidRequest,
    /// `InsufficientBalanceError` (402 / `insufficient_balance`)
    InsufficientBalance,
    /// `ConflictError` (409)
    Conflict,
    /// `RateLimitError` (429)
    RateLimit,
    /// `ServerError` (5xx)
    Server,
    /// `APIConnectionError`
    Connection,
    /// `APITimeoutError`
    Timeout,
    /// `OrderOutcomeUnknownError`
    OrderOutcomeUnknown,
    /// `UnexpectedResponseError`
    UnexpectedResponse,
    /// `WaitTimeoutError`
    WaitTimeout,
    /// `AbortError`: the caller aborted the call before anything was sent.
    Aborted,
    /// `OrderClosedError`
    OrderClosed,
    /// `WebhookVerificationError`
    WebhookVerification,
}

impl ErrorKind {
    /// The class name used by the Python and Node bindings, e.g. `"NotFoundError"`.
    pub fn class_name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "InvalidArgumentError",
            ErrorKind::Api => "APIError",
            ErrorKind::Authentication => "AuthenticationError",
            ErrorKind::PermissionDenied => "PermissionDeniedError",
            ErrorKind::NotFound => "NotFoundError",
            ErrorKind::InvalidRequest => "InvalidRequestError",
            ErrorKind::InsufficientBalance => "InsufficientBalanceError",
            ErrorKind::Conflict => "ConflictError",
            ErrorKind::RateLimit => "RateLimitError",
            ErrorKind::Server => "ServerError",
            ErrorKind::Connection => "APIConnectionError",
            ErrorKind::Timeout => "APITimeoutError",
            ErrorKind::OrderOutcomeUnknown => "OrderOutcomeUnknownError",
            ErrorKind::UnexpectedResponse => "UnexpectedResponseError",
            ErrorKind::WaitTimeout => "WaitTimeoutError",
            ErrorKind::Aborted => "AbortError",
            ErrorKind::OrderClosed => "OrderClosedError",
            ErrorKind::WebhookVerification => "WebhookVerificationError",
        }
    }

    /// The kind an HTTP error status (and API error code) maps to.
    pub fn from_status(status: u16, code: Option<&str>) -> ErrorKind {
        if code == Some("insufficient_balance") {
            return ErrorKind::InsufficientBalance;
        }
        match status {
            401 => ErrorKind::Authentication,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            400 | 422 => ErrorKind::InvalidRequest,
            402 => ErrorKind::InsufficientBalance,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimit,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::Api,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class_name())
    }
}

/// An error answer from the server.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ApiError {
    /// Which class of API error this is.
    pub kind: ErrorKind,
    /// HTTP status.
    pub status: u16,
    /// The API's error code (`"order_not_cancellable"`, `"rest_forbidden"`, ...), if any.
    pub code: Option<String>,
    /// The server's message.
    pub message: String,
    /// The request id, from `meta.request_id` or the `X-Request-Id` header.
    pub request_id: Option<String>,
    /// `error.details` (or WordPress's `data`), `Null` when absent.
    pub details: Value,
    /// Per-parameter messages of a WordPress validation error (param → message).
    pub params: BTreeMap<String, String>,
    /// How long the server asked us to wait (429, sometimes 503).
    pub retry_after: Option<Duration>,
    /// Whether sending the same call again is safe and may succeed: a transient status (408,
    /// 429, 5xx) on an idempotent call. Always `false` for create order, resend and create
    /// webhook.
    pub retryable: bool,
    /// The rate bucket of the call that got a 429.
    pub bucket: Option<Bucket>,
    /// The decoded body (`Null` when it was not JSON).
    pub body: Value,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {}", self.message, self.status)?;
        if let Some(code) = &self.code {
            write!(f, ", code `{code}`")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, ", request {id}")?;
        }
        f.write_str(")")?;
        if !self.params.is_empty() {
            let parts: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        k.clone()
                    } else {
                        format!("{k}: {v}")
                    }
                })
                .collect();
            write!(f, " [{}]", parts.join("; "))?;
        }
        if let Some(wait) = self.retry_after {
            write!(f, "; retry after {:.3}s", wait.as_secs_f64())?;
        }
        if !self.retryable && matches!(self.status, 408 | 429 | 500..=599) {
            f.write_str(not_retried(false))?;
        }
        Ok(())
    }
}

/// The note a transient failure of a non-idempotent call carries.
fn not_retried(retryable: bool) -> &'static str {
    if retryable {
        ""
    } else {
        " (not retryable: the call is not idempotent or cannot succeed as sent)"
    }
}

/// Which non-idempotent operation had an unknown outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `POST /order`
    CreateOrder,
    /// `POST /order/{id}/resend`
    ResendOrder,
    /// `POST /webhooks`
    CreateWebhook,
}

impl Operation {
    /// The SDK method name, e.g. `"create_order"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CreateOrder => "create_order",
            Operation::ResendOrder => "resend_order",
            Operation::CreateWebhook => "create_webhook",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Operation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "create_order" => Ok(Operation::CreateOrder),
            "resend_order" => Ok(Operation::ResendOrder),
            "create_webhook" => Ok(Operation::CreateWebhook),
            other => Err(Error::invalid(
                "operation",
                format!("must be create_order, resend_order or create_webhook, got {other:?}"),
            )),
        }
    }
}

/// What a non-idempotent call sent, and what was known before it: all that
/// [`Client::reconcile`](crate::Client::reconcile) needs to find out whether it took effect.
/// Plain data, so a binding can hand it to its host language and back.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SentCall {
    /// The operation.
    pub operation: Operation,
    /// The service ordered (create order).
    pub service: Option<String>,
    /// The country ordered (create order).
    pub country: Option<String>,
    /// The pool asked for (create order), if one was.
    pub pool: Option<String>,
    /// The price limit sent (create order), if one was.
    pub max_price: Option<rust_decimal::Decimal>,
    /// The order resent (resend).
    pub order_id: Option<String>,
    /// The order's codes before the resend was sent, oldest first (resend).
    pub codes_before: Vec<String>,
    /// The order's status before the resend was sent (resend).
    pub status_before: Option<crate::models::OrderStatus>,
    /// The endpoint registered (create webhook).
    pub endpoint_url: Option<String>,
    /// The events subscribed (create webhook).
    pub events: Vec<String>,
    /// The newest ledger entry (transaction id) known before the call was sent, when the caller
    /// noted it: that entry and every older one are not candidates for
    /// [`Client::reconcile`](crate::Client::reconcile). Without it, reconcile tells this call's
    /// order from an earlier one only by time and by the orders this client handed out.
    pub ledger_mark: Option<String>,
    /// When the first attempt was sent (this machine's clock).
    pub sent_at: SystemTime,
    /// When the call gave up (this machine's clock).
    pub failed_at: SystemTime,
}

impl SentCall {
    pub(crate) fn new(operation: Operation) -> SentCall {
        let now = SystemTime::now();
        SentCall {
            operation,
            service: None,
            country: None,
            pool: None,
            max_price: None,
            order_id: None,
            codes_before: Vec::new(),
            status_before: None,
            endpoint_url: None,
            events: Vec::new(),
            ledger_mark: None,
            sent_at: now,
            failed_at: now,
        }
    }

    /// A description of the call for a binding that rebuilds it from its host language's
    /// error object: the operation and when it was sent; set the rest with the fields.
    pub fn from_parts(operation: Operation, sent_at: SystemTime, failed_at: SystemTime) -> Self {
        SentCall {
            sent_at,
            failed_at,
            ..SentCall::new(operation)
        }
    }
}

/// A non-idempotent call failed after it may have reached the server: it was not re-sent, so
/// nothing was duplicated, but whether it took effect is unknown.
/// [`Client::reconcile`](crate::Client::reconcile) answers that from the account's ledger.
#[derive(Debug)]
#[non_exhaustive]
pub struct OrderOutcomeUnknown {
    /// What was sent.
    pub call: SentCall,
    /// The HTTP status, when an answer that does not say "refused" came back (an HTML 500, a
    /// 502, a truncated 2xx).
    pub status: Option<u16>,
    /// What went wrong.
    pub message: String,
    /// The error behind it.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl std::error::Error for OrderOutcomeUnknown {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl fmt::Display for OrderOutcomeUnknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let call = &self.call;
        write!(
            f,
            "{} may or may not have taken effect ({}); it was not re-sent, to avoid a duplicate",
            call.operation, self.message
        )?;
        let what = match call.operation {
            Operation::CreateOrder => format!(
                "a {}/{} order",
                call.service.as_deref().unwrap_or("?"),
                call.country.as_deref().unwrap_or("?")
            ),
            Operation::ResendOrder => {
                format!("order {}", call.order_id.as_deref().unwrap_or("?"))
            }
            Operation::CreateWebhook => format!(
                "a webhook for {}",
                call.endpoint_url.as_deref().unwrap_or("?")
            ),
        };
        write!(
            f,
            ": reconcile this error with the client to find out whether {what} sent at {} took effect",
            httpdate::fmt_http_date(call.sent_at)
        )
    }
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            Error::Api(e) => e.kind,
            Error::Connection { .. } => ErrorKind::Connection,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::OrderOutcomeUnknown(_) => ErrorKind::OrderOutcomeUnknown,
            Error::UnexpectedResponse { .. } => ErrorKind::UnexpectedResponse,
            Error::WaitTimeout { .. } => ErrorKind::WaitTimeout,
            Error::OrderClosed { .. } => ErrorKind::OrderClosed,
            Error::WebhookVerification { .. } => ErrorKind::WebhookVerification,
            Error::Aborted { .. } => ErrorKind::Aborted,
        }
    }

    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::UnexpectedResponse { status, .. } => Some(*status),
            Error::OrderOutcomeUnknown(e) => e.status,
            _ => None,
        }
    }

    /// The API error code, when the server gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.code.as_deref(),
            _ => None,
        }
    }

    /// The request id of the failed response, when there was one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::UnexpectedResponse { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// How long the server asked to wait before retrying, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) => e.retry_after,
            _ => None,
        }
    }

    /// The API error details, when this is an [`Error::Api`].
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The order carried by [`Error::WaitTimeout`] and [`Error::OrderClosed`].
    pub fn order(&self) -> Option<&Order> {
        match self {
            Error::WaitTimeout { order, .. } => order.as_deref(),
            Error::OrderClosed { order } => Some(order),
            _ => None,
        }
    }

    /// What an [`Error::OrderOutcomeUnknown`] sent, for
    /// [`Client::reconcile`](crate::Client::reconcile).
    pub fn sent_call(&self) -> Option<&SentCall> {
        match self {
            Error::OrderOutcomeUnknown(e) => Some(&e.call),
            _ => None,
        }
    }

    /// Whether sending the same call again later is safe and may succeed: connection problems,
    /// timeouts, 408 / 429 / 5xx of an idempotent call (GETs, cancel, webhook delete). Never for
    /// create order, resend or create webhook (a retry could pay or register twice; reconcile an
    /// [`Error::OrderOutcomeUnknown`] instead), nor for errors that will not heal.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connection { retryable, .. } | Error::Timeout { retryable, .. } => *retryable,
            Error::Api(e) => e.retryable,
            _ => false,
        }
    }

    pub(crate) fn invalid(argument: &'static str, rule: impl Into<String>) -> Error {
        Error::InvalidArgument {
            argument,
            rule: rule.into(),
        }
    }
}

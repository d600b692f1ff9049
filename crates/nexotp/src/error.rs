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
    #[error("connection error: {message}")]
    Connection {
        /// What happened, without secrets.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The request timed out.
    #[error("request timed out: {message}")]
    Timeout {
        /// What timed out.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A non-idempotent call (create order, resend) failed after it may have reached the server.
    #[error("{0}")]
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
        "no code for order {} within {:.1?}{}",
        order.id,
        waited,
        if *cancelled { " (the order was cancelled)" } else { "" }
    )]
    WaitTimeout {
        /// The last state of the order seen (after the cancel, if one was made).
        order: Box<Order>,
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
        Ok(())
    }
}

/// Which non-idempotent operation had an unknown outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// `POST /order`
    CreateOrder,
    /// `POST /order/{id}/resend`
    ResendOrder,
}

impl Operation {
    /// The SDK method name, e.g. `"create_order"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CreateOrder => "create_order",
            Operation::ResendOrder => "resend_order",
        }
    }
}

/// What the caller needs to reconcile a call whose outcome is unknown.
#[derive(Debug)]
#[non_exhaustive]
pub struct OrderOutcomeUnknown {
    /// The operation.
    pub operation: Operation,
    /// The service of the order (create) or `None` (resend).
    pub service: Option<String>,
    /// The country of the order (create) or `None` (resend).
    pub country: Option<String>,
    /// The order id (resend) or `None` (create).
    pub order_id: Option<String>,
    /// When the request was sent.
    pub sent_at: SystemTime,
    /// The HTTP status, when a non-envelope answer (502 / 504) came back.
    pub status: Option<u16>,
    /// What went wrong.
    pub message: String,
    /// The transport error behind it.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for OrderOutcomeUnknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} may or may not have taken effect ({}); it was not re-sent to avoid a duplicate",
            self.operation.as_str(),
            self.message
        )?;
        match (&self.service, &self.country, &self.order_id) {
            (Some(s), Some(c), _) => write!(
                f,
                ": look for a {s}/{c} order created after {} in your orders or transactions",
                httpdate::fmt_http_date(self.sent_at)
            ),
            (_, _, Some(id)) => write!(f, ": check order {id}"),
            _ => Ok(()),
        }
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
            Error::WaitTimeout { order, .. } | Error::OrderClosed { order } => Some(order),
            _ => None,
        }
    }

    /// Whether trying the same call again later may succeed: connection problems, timeouts,
    /// 408 / 429 / 5xx. An [`Error::OrderOutcomeUnknown`] is not: check first, then decide.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connection { .. } | Error::Timeout { .. } => true,
            Error::Api(e) => matches!(e.status, 408 | 429 | 500..=599),
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

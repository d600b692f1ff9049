//! The CLI's error: an SDK error or one of the CLI's own, printed to stderr with its class, and
//! mapped to an exit code in one place ([`exit_code`]) so scripts can branch on the class.

use std::fmt;

use nexotp::ErrorKind;
use serde_json::{Value, json};

/// Exit code of an interrupted wait (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// The exit code of an SDK error class. The table is in `nexotp --help` and the README.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidArgument | ErrorKind::InvalidRequest => 2,
        ErrorKind::Authentication | ErrorKind::PermissionDenied => 3,
        ErrorKind::NotFound => 4,
        ErrorKind::RateLimit => 5,
        ErrorKind::Conflict | ErrorKind::InsufficientBalance | ErrorKind::OrderClosed => 6,
        ErrorKind::Connection
        | ErrorKind::Timeout
        | ErrorKind::OrderOutcomeUnknown
        | ErrorKind::WaitTimeout => 7,
        _ => 1,
    }
}

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The SDK said no.
    Sdk(nexotp::Error),
    /// A bad argument found by the CLI itself (exit 2, class `InvalidArgumentError`).
    Usage(String),
    /// A local failure: a file, the config, a socket (exit 1).
    Local(String),
    /// A create whose outcome was unknown, looked up in the ledger: nothing was created, or
    /// several orders could be the one (exit 7, class `OrderOutcomeUnknownError`).
    Unresolved {
        /// What was found, for people.
        message: String,
        /// The order ids that could be the one.
        candidates: Vec<String>,
    },
    /// Ctrl-C stopped a wait; the message says what happened to the order.
    Interrupted {
        /// What happened, for people.
        message: String,
        /// The order whose wait was stopped (so a script can wait again or cancel it).
        order_id: String,
        /// Whether the order was cancelled (refunded) on the way out.
        cancelled: bool,
    },
}

impl CliError {
    /// The exit code.
    pub fn code(&self) -> u8 {
        match self {
            CliError::Sdk(e) => exit_code(e.kind()),
            CliError::Usage(_) => 2,
            CliError::Local(_) => 1,
            CliError::Interrupted { .. } => EXIT_INTERRUPTED,
            CliError::Unresolved { .. } => exit_code(ErrorKind::OrderOutcomeUnknown),
        }
    }

    /// The class name printed before the message.
    pub fn class(&self) -> &'static str {
        match self {
            CliError::Sdk(e) => e.kind().class_name(),
            CliError::Usage(_) => ErrorKind::InvalidArgument.class_name(),
            CliError::Local(_) => "LocalError",
            CliError::Interrupted { .. } => "Interrupted",
            CliError::Unresolved { .. } => ErrorKind::OrderOutcomeUnknown.class_name(),
        }
    }

    /// The error as one JSON document (for `--json`).
    pub fn to_json(&self) -> Value {
        let mut error =
            json!({"class": self.class(), "message": self.to_string(), "exit_code": self.code()});
        if let (
            CliError::Interrupted {
                order_id,
                cancelled,
                ..
            },
            Some(map),
        ) = (self, error.as_object_mut())
        {
            map.insert("order_id".into(), json!(order_id));
            map.insert("cancelled".into(), json!(cancelled));
        }
        if let (CliError::Unresolved { candidates, .. }, Some(map)) = (self, error.as_object_mut())
        {
            // No candidate: nothing was created. Several: it may have been.
            let created = if candidates.is_empty() {
                json!(false)
            } else {
                Value::Null
            };
            map.insert("created".into(), created);
            map.insert("candidates".into(), json!(candidates));
        }
        if let CliError::Sdk(e) = self {
            let map = error.as_object_mut();
            if let Some(map) = map {
                if let Some(status) = e.status() {
                    map.insert("status".into(), json!(status));
                }
                if let Some(code) = e.code() {
                    map.insert("code".into(), json!(code));
                }
                if let Some(id) = e.request_id() {
                    map.insert("request_id".into(), json!(id));
                }
                if let Some(wait) = e.retry_after() {
                    map.insert("retry_after_s".into(), json!(wait.as_secs_f64()));
                }
                if let Some(order) = e.order() {
                    map.insert("order".into(), order.raw.to_value());
                }
            }
        }
        json!({ "error": error })
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Sdk(e) => write!(f, "{e}"),
            CliError::Usage(m) | CliError::Local(m) => f.write_str(m),
            CliError::Interrupted { message, .. } | CliError::Unresolved { message, .. } => {
                f.write_str(message)
            }
        }
    }
}

impl From<nexotp::Error> for CliError {
    fn from(e: nexotp::Error) -> Self {
        CliError::Sdk(e)
    }
}

/// A local failure with context: `local("reading payload.json", err)`.
pub fn local(context: &str, err: impl fmt::Display) -> CliError {
    CliError::Local(format!("{context}: {err}"))
}

/// Shorthand for results of commands.
pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_the_documented_code() {
        let table = [
            (ErrorKind::InvalidArgument, 2),
            (ErrorKind::InvalidRequest, 2),
            (ErrorKind::Authentication, 3),
            (ErrorKind::PermissionDenied, 3),
            (ErrorKind::NotFound, 4),
            (ErrorKind::RateLimit, 5),
            (ErrorKind::Conflict, 6),
            (ErrorKind::InsufficientBalance, 6),
            (ErrorKind::OrderClosed, 6),
            (ErrorKind::Connection, 7),
            (ErrorKind::Timeout, 7),
            (ErrorKind::OrderOutcomeUnknown, 7),
            (ErrorKind::WaitTimeout, 7),
            (ErrorKind::Server, 1),
            (ErrorKind::Api, 1),
            (ErrorKind::UnexpectedResponse, 1),
            (ErrorKind::WebhookVerification, 1),
        ];
        for (kind, code) in table {
            assert_eq!(exit_code(kind), code, "{kind}");
            assert!(
                crate::cli::EXIT_CODES.contains(kind.class_name()) || code == 1,
                "{kind} missing from the help text"
            );
        }
    }
}

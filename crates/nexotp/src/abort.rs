//! Aborting a call from the host language (Node's `AbortSignal`), with the one rule that makes
//! it safe for money: an abort before anything was sent is [`Error::Aborted`] (nothing
//! happened; the bucket wait, backoff or connection queue is left at once and nothing more is
//! sent), but an abort after a non-idempotent call (create order, resend, create webhook) was
//! sent is [`Error::OrderOutcomeUnknown`], because the server may have applied it.
//!
//! Why in the core: the binding cannot see whether the request left; the transport can.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A signal that aborts every call of a client made with
/// [`Client::with_abort`](crate::Client::with_abort). Cheap to clone; clones share one state.
#[derive(Clone, Debug, Default)]
pub struct AbortSignal(Arc<State>);

#[derive(Debug, Default)]
struct State {
    aborted: AtomicBool,
    notify: Notify,
}

impl AbortSignal {
    /// A signal not yet aborted.
    pub fn new() -> AbortSignal {
        AbortSignal::default()
    }

    /// Aborts the calls listening (idempotent).
    pub fn abort(&self) {
        self.0.aborted.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`Self::abort`] was called.
    pub fn is_aborted(&self) -> bool {
        self.0.aborted.load(Ordering::SeqCst)
    }

    /// Completes once the signal is aborted (at once if it already is).
    pub async fn aborted(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_aborted() {
                return;
            }
            notified.await;
        }
    }
}

/// Whether an attempt that may take effect is out: set by the transport when an attempt
/// leaves, cleared when a non-idempotent call is about to be re-sent (which the retry rules
/// allow only after an answer saying it was refused, or a failure to connect).
#[derive(Clone, Debug, Default)]
pub(crate) struct SentFlag(Arc<AtomicBool>);

impl SentFlag {
    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub(crate) fn clear(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

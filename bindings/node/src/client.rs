//! The native `Client` class and the two helper classes its methods hand out
//! ([`TransactionPager`] for `iterTransactions`, [`WaitHandle`] for an abortable `waitForCode`).
//!
//! Each method clones the core client (one `Arc`) into its future, so the future owns what it
//! needs and concurrent calls share one connection pool and one set of rate buckets.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use napi::{Either, Env};
use napi_derive::napi;
use tokio_util::sync::CancellationToken;

use crate::dispatch::{Dispatch, Dispatcher};
use crate::error::NativeError;
use crate::guard;
use crate::models::{
    Account, Country, Order, Price, Reconciliation, Service, TransactionPage, WebhookDeleted,
    WebhookResult,
};

/// Options of `new Client(...)`, already type-checked by the JS layer.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// The API key; without it, `env_api_key`.
    pub api_key: Option<String>,
    /// The base URL; without it, `env_base_url` (the core's fallback rules).
    pub base_url: Option<String>,
    /// `process.env.NEXOTP_API_KEY` as JS sees it.
    pub env_api_key: Option<String>,
    /// `process.env.NEXOTP_BASE_URL` as JS sees it.
    pub env_base_url: Option<String>,
    /// Time allowed for one attempt, in milliseconds (default 30000).
    pub timeout_ms: Option<f64>,
    /// Time allowed to open a connection, in milliseconds (default 10000).
    pub connect_timeout_ms: Option<f64>,
    /// Retries after the first attempt (default 2).
    pub max_retries: Option<u32>,
    /// Time allowed for a whole call (every attempt, backoff and 429 wait), in milliseconds
    /// (default: none).
    pub deadline_ms: Option<f64>,
    /// The runtime named in the user agent, e.g. `"Node.js v20.11.0"`.
    pub runtime: Option<String>,
    /// The value of `NEXOTP_LOG` as the JS side sees it (`"debug"` logs every request).
    pub log_level: Option<String>,
    /// The proxy every request goes through (`http://user:pass@host:port`).
    pub proxy: Option<String>,
    /// Extra CA certificates: PEM text or a PEM file's path (the core tells them apart).
    pub ca_certificates: Option<String>,
    /// Extra CA certificates given as a `Buffer` (PEM), as text.
    pub ca_certificates_pem: Option<String>,
    /// `"bundled"`, `"system"` or `"both"`.
    pub tls_roots: Option<String>,
    /// Whether HTTP/2 is offered (default true).
    pub http2: Option<bool>,
    /// Most requests in flight to the API's host (default 32).
    pub max_connections: Option<u32>,
    /// How long an idle connection is kept, in milliseconds (default 60000).
    pub pool_idle_timeout_ms: Option<f64>,
    /// Most idle connections kept (default `maxConnections`).
    pub max_idle_connections: Option<u32>,
    /// Where the rate buckets live: `redis://...`, `rediss://...` or `memory` (the core falls
    /// back to `NEXOTP_RATE_LIMIT_STORE`, else in-memory).
    pub rate_limit_store: Option<String>,
    /// Client-side limits in the core's text form (`POLL=20/s,burst=1; ORDER=5`), written by
    /// the JS layer from a string or an object.
    pub rate_limits: Option<String>,
}

/// Options of `client.withOptions(...)`.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct RequestOptions {
    /// Time allowed for one attempt, in milliseconds.
    pub timeout_ms: Option<f64>,
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// Time allowed for a whole call, in milliseconds.
    pub deadline_ms: Option<f64>,
}

/// What an `OrderOutcomeUnknownError` carries (its properties, type-checked by the JS layer):
/// the core's `SentCall`, which `reconcile` rebuilds.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct SentCallInput {
    /// `"createOrder"`, `"resendOrder"` or `"createWebhook"`.
    pub operation: String,
    /// The service ordered (createOrder).
    pub service: Option<String>,
    /// The country ordered (createOrder).
    pub country: Option<String>,
    /// The pool asked for (createOrder).
    pub pool: Option<String>,
    /// The price limit sent (createOrder), a decimal string.
    pub max_price: Option<String>,
    /// The order resent (resendOrder).
    pub order_id: Option<String>,
    /// The order's codes before the resend.
    pub codes_before: Option<Vec<String>>,
    /// The order's status before the resend.
    pub status_before: Option<String>,
    /// The endpoint registered (createWebhook).
    pub endpoint_url: Option<String>,
    /// The events subscribed (createWebhook).
    pub events: Option<Vec<String>>,
    /// When the first attempt was sent, unix milliseconds.
    pub sent_at_ms: f64,
    /// When the call gave up, unix milliseconds.
    pub failed_at_ms: f64,
}

impl SentCallInput {
    /// The core's `SentCall`.
    fn into_core(self) -> Result<nexotp::SentCall, NativeError> {
        let mut call = nexotp::SentCall::from_parts(
            crate::error::operation_from_name(&self.operation)?,
            nexotp::args::time_from_unix_millis("sentAtMs", self.sent_at_ms)?,
            nexotp::args::time_from_unix_millis("failedAtMs", self.failed_at_ms)?,
        );
        call.service = self.service;
        call.country = self.country;
        call.pool = self.pool;
        call.max_price = self
            .max_price
            .map(|m| nexotp::args::parse_decimal("maxPrice", &m))
            .transpose()?;
        call.order_id = self.order_id;
        call.codes_before = self.codes_before.unwrap_or_default();
        call.status_before = self
            .status_before
            .map(|s| nexotp::OrderStatus::from(s.as_str()));
        call.endpoint_url = self.endpoint_url;
        call.events = self.events.unwrap_or_default();
        Ok(call)
    }
}

/// What `createOrder` sends.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct OrderInput {
    /// Service id.
    pub service: String,
    /// Country code.
    pub country: String,
    /// A specific pool.
    pub pool: Option<String>,
    /// `"cheapest"`, `"best_rate"`, `"0"` or `"1"`.
    pub pricing_option: Option<String>,
    /// The highest acceptable price, as a decimal string.
    pub max_price: Option<String>,
}

/// How `waitForCode` waits.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct WaitInput {
    /// Give up after this many milliseconds (default 300000).
    pub timeout_ms: Option<f64>,
    /// Milliseconds between polls (default 3000).
    pub poll_interval_ms: Option<f64>,
    /// Cancel the order (recovering the money) when the time is up.
    pub cancel_on_timeout: Option<bool>,
    /// Codes that do not count.
    pub exclude_codes: Option<Vec<String>>,
}

/// `waitForCode`'s and `watcher.add`'s options as the core's.
pub(crate) fn wait_options(options: WaitInput) -> Result<nexotp::WaitOptions, NativeError> {
    let mut wait = nexotp::WaitOptions::default();
    if let Some(ms) = options.timeout_ms {
        wait = wait.timeout(duration("timeoutMs", ms)?);
    }
    if let Some(ms) = options.poll_interval_ms {
        wait = wait.poll_interval(duration("pollIntervalMs", ms)?);
    }
    if let Some(cancel) = options.cancel_on_timeout {
        wait = wait.cancel_on_timeout(cancel);
    }
    if let Some(codes) = options.exclude_codes {
        wait = wait.exclude_codes(codes);
    }
    Ok(wait)
}

/// Milliseconds from JS as a [`Duration`], by the core's rules (finite, not negative, at most a
/// year; the same rules and messages as Python's seconds).
fn duration(argument: &'static str, ms: f64) -> Result<Duration, NativeError> {
    Ok(nexotp::args::duration_from_millis(argument, ms)?)
}

/// A NexOTP API client (native half; `index.js` wraps it).
#[napi]
pub struct Client {
    inner: nexotp::Client,
    dispatch: Dispatch,
}

#[napi]
impl Client {
    /// Builds a client; a missing key or a bad base URL fails here.
    #[napi(constructor)]
    pub fn new(options: ClientOptions, dispatcher: &Dispatcher) -> napi::Result<Client> {
        guard::call(|| {
            let mut builder = nexotp::Client::builder()
                .log_from_env(false)
                .environment(options.env_api_key, options.env_base_url);
            if let Some(key) = options.api_key {
                builder = builder.api_key(key);
            }
            if let Some(url) = options.base_url {
                builder = builder.base_url(url);
            }
            if let Some(ms) = options.timeout_ms {
                builder = builder.timeout(duration("timeoutMs", ms)?);
            }
            if let Some(ms) = options.connect_timeout_ms {
                builder = builder.connect_timeout(duration("connectTimeoutMs", ms)?);
            }
            if let Some(retries) = options.max_retries {
                builder = builder.max_retries(retries);
            }
            if let Some(ms) = options.deadline_ms {
                builder = builder.deadline(duration("deadlineMs", ms)?);
            }
            if let Some(proxy) = options.proxy {
                builder = builder.proxy(proxy);
            }
            if let Some(source) = options.ca_certificates {
                builder = builder.ca_certificates(source);
            }
            if let Some(pem) = options.ca_certificates_pem {
                builder = builder.ca_certificates(nexotp::CertificateSource::Pem(pem.into_bytes()));
            }
            if let Some(roots) = options.tls_roots {
                builder = builder.tls_roots(roots.parse()?);
            }
            if let Some(http2) = options.http2 {
                builder = builder.http2(http2);
            }
            if let Some(n) = options.max_connections {
                builder = builder.max_connections_per_host(n as usize);
            }
            if let Some(ms) = options.pool_idle_timeout_ms {
                builder = builder.pool_idle_timeout(duration("poolIdleTimeoutMs", ms)?);
            }
            if let Some(n) = options.max_idle_connections {
                builder = builder.pool_max_idle_per_host(n as usize);
            }
            if let Some(url) = options.rate_limit_store {
                builder = builder.rate_limit_store_url(url);
            }
            if let Some(text) = options.rate_limits {
                for (bucket, limit) in nexotp::BucketLimit::parse_list(&text)? {
                    builder = builder.bucket_limit(bucket, limit);
                }
            }
            let runtime = options.runtime.unwrap_or_else(|| "Node.js".to_owned());
            builder = builder.sdk_language("node", runtime);
            if let Some(logger) = options
                .log_level
                .as_deref()
                .and_then(nexotp::observe::StderrLogger::from_level)
            {
                builder = builder.observer(Arc::new(logger));
            }
            Ok::<_, NativeError>(Client {
                inner: builder.build()?,
                dispatch: dispatcher.handle(),
            })
        })
    }

    /// The base URL in use (always ending in `/`).
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.inner.config().base_url.clone()
    }

    /// Time allowed for one attempt, in milliseconds.
    #[napi(getter)]
    pub fn timeout_ms(&self) -> f64 {
        self.inner.config().timeout.as_secs_f64() * 1000.0
    }

    /// Retries after the first attempt.
    #[napi(getter)]
    pub fn max_retries(&self) -> u32 {
        self.inner.config().max_retries
    }

    /// Time allowed for a whole call, in milliseconds, when set.
    #[napi(getter)]
    pub fn deadline_ms(&self) -> Option<f64> {
        self.inner
            .config()
            .deadline
            .map(|d| d.as_secs_f64() * 1000.0)
    }

    /// The user agent sent with every request.
    #[napi(getter)]
    pub fn user_agent(&self) -> String {
        self.inner.config().user_agent.clone()
    }

    /// A client with another timeout, retry count or deadline sharing this one's pool and rate
    /// buckets.
    #[napi]
    pub fn with_options(&self, options: RequestOptions) -> napi::Result<Client> {
        guard::call(|| {
            let mut request = nexotp::RequestOptions::new();
            if let Some(ms) = options.timeout_ms {
                request = request.timeout(duration("timeoutMs", ms)?);
            }
            if let Some(retries) = options.max_retries {
                request = request.max_retries(retries);
            }
            if let Some(ms) = options.deadline_ms {
                request = request.deadline(duration("deadlineMs", ms)?);
            }
            Ok::<_, NativeError>(Client {
                inner: self.inner.with_options(request)?,
                dispatch: self.dispatch.clone(),
            })
        })
    }

    /// A client whose calls `handle.abort()` aborts (the core's `with_abort`), sharing this
    /// one's pool and rate buckets: how a call takes an `AbortSignal`.
    #[napi]
    pub fn with_abort(&self, handle: &AbortHandle) -> Client {
        Client {
            inner: self.inner.with_abort(handle.signal.clone()),
            dispatch: self.dispatch.clone(),
        }
    }

    /// `GET /account`.
    #[napi]
    pub fn account(&self, env: Env, ticket: u32) {
        let c = self.inner.clone();
        self.dispatch.submit(
            &env,
            ticket,
            async move { c.account().await.map(Account::from) },
        );
    }

    /// `GET /account/transactions`: one page (`page` default 1, `per_page` default
    /// [`nexotp::DEFAULT_PAGE_SIZE`]).
    #[napi]
    pub fn transactions(&self, env: Env, ticket: u32, page: Option<u32>, per_page: Option<u32>) {
        let c = self.inner.clone();
        let (page, per_page) = nexotp::args::page_or_default(page, per_page);
        self.dispatch.submit(&env, ticket, async move {
            c.transactions(page, per_page)
                .await
                .map(TransactionPage::from)
        });
    }

    /// A lazy cursor over every transaction, `per_page` at a time (default
    /// [`nexotp::DEFAULT_ITER_PAGE_SIZE`]; nothing fetched yet).
    #[napi]
    pub fn transaction_pager(&self, per_page: Option<u32>) -> napi::Result<TransactionPager> {
        guard::call(|| {
            let per_page = nexotp::args::iter_page_size_or_default(per_page);
            let pager = self.inner.transaction_pager(per_page)?;
            Ok::<_, NativeError>(TransactionPager {
                inner: Arc::new(tokio::sync::Mutex::new(pager)),
                dispatch: self.dispatch.clone(),
            })
        })
    }

    /// `GET /countries`.
    #[napi]
    pub fn countries(&self, env: Env, ticket: u32) {
        let c = self.inner.clone();
        self.dispatch.submit(&env, ticket, async move {
            c.countries()
                .await
                .map(|v| v.into_iter().map(Country::from).collect::<Vec<_>>())
        });
    }

    /// `GET /services?country=`.
    #[napi]
    pub fn services(&self, env: Env, ticket: u32, country: String) {
        let c = self.inner.clone();
        self.dispatch.submit(&env, ticket, async move {
            c.services(&country)
                .await
                .map(|v| v.into_iter().map(Service::from).collect::<Vec<_>>())
        });
    }

    /// `GET /price?service=&country=`.
    #[napi]
    pub fn price(&self, env: Env, ticket: u32, service: String, country: String) {
        let c = self.inner.clone();
        self.dispatch.submit(&env, ticket, async move {
            c.price(&service, &country).await.map(Price::from)
        });
    }

    /// `POST /order`.
    #[napi]
    pub fn create_order(&self, env: Env, ticket: u32, input: OrderInput) {
        let c = self.inner.clone();
        self.dispatch.submit(&env, ticket, async move {
            let mut request = nexotp::OrderRequest::new(input.service, input.country);
            if let Some(pool) = input.pool {
                request = request.pool(pool);
            }
            if let Some(option) = input.pricing_option {
                request = request.pricing_option(nexotp::PricingOption::from_str(&option)?);
            }
            if let Some(max) = input.max_price {
                request = request.max_price(nexotp::args::parse_decimal("maxPrice", &max)?);
            }
            Ok::<_, NativeError>(Order::from(c.create_order(&request).await?))
        });
    }

    /// `GET /order/{id}`.
    #[napi]
    pub fn get_order(&self, env: Env, ticket: u32, id: String) {
        let c = self.inner.clone();
        self.dispatch.submit(
            &env,
            ticket,
            async move { c.order(&id).await.map(Order::from) },
        );
    }

    /// `POST /order/{id}/cancel`.
    #[napi]
    pub fn cancel_order(&self, env: Env, ticket: u32, id: String) {
        let c = self.inner.clone();
        self.dispatch.submit(&env, ticket, async move {
            c.cancel_order(&id).await.map(Order::from)
        });
    }

    /// `POST /order/{id}/resend`.
    #[napi]
    pub fn resend_order(&self, env: Env, ticket: u32, id: String) {
        let c = self.inner.clone();
        self.dispatch.submit(&env, ticket, async move {
            c.resend_order(&id).await.map(Order::from)
        });
    }

    /// Prepares a wait for order `id`'s code; `run()` starts it, `cancel()` stops it.
    #[napi]
    pub fn wait_handle(&self, id: String, options: WaitInput) -> napi::Result<WaitHandle> {
        guard::call(|| {
            Ok::<_, NativeError>(WaitHandle {
                client: self.inner.clone(),
                id,
                options: wait_options(options)?,
                token: CancellationToken::new(),
                dispatch: self.dispatch.clone(),
            })
        })
    }

    /// A watcher for many orders (the core's `Client::watch`).
    #[napi]
    pub fn watch(&self) -> crate::watch::Watcher {
        crate::watch::Watcher::new(self.inner.watch(), self.dispatch.clone())
    }

    /// `GET /webhooks`.
    #[napi]
    pub fn webhooks(&self, env: Env, ticket: u32) {
        let c = self.inner.clone();
        self.dispatch.submit(&env, ticket, async move {
            c.webhooks()
                .await
                .map(|v| v.into_iter().map(WebhookResult::from).collect::<Vec<_>>())
        });
    }

    /// `POST /webhooks`: `events` as a list or a comma-separated string.
    #[napi]
    pub fn create_webhook(
        &self,
        env: Env,
        ticket: u32,
        endpoint_url: String,
        events: Either<String, Vec<String>>,
    ) {
        let c = self.inner.clone();
        self.dispatch.submit(&env, ticket, async move {
            let events = match events {
                Either::A(list) => nexotp::split_events(&list),
                Either::B(list) => list,
            };
            c.create_webhook(&endpoint_url, &events)
                .await
                .map(WebhookResult::from)
        });
    }

    /// `DELETE /webhooks/{id}`.
    #[napi]
    pub fn delete_webhook(&self, env: Env, ticket: u32, id: String) {
        let c = self.inner.clone();
        self.dispatch.submit(&env, ticket, async move {
            c.delete_webhook(&id).await.map(WebhookDeleted::from)
        });
    }

    /// Whether the call an `OrderOutcomeUnknownError` describes took effect (the core's
    /// `reconcile`).
    #[napi]
    pub fn reconcile(&self, env: Env, ticket: u32, call: SentCallInput) {
        let c = self.inner.clone();
        self.dispatch.submit(&env, ticket, async move {
            let call = call.into_core()?;
            Ok::<_, NativeError>(Reconciliation::from(c.reconcile(&call).await?))
        });
    }
}

/// The native end of one call's `AbortSignal`: `abort()` ends the calls of the client made
/// with [`Client::with_abort`] (the core decides between `AbortError` and an unknown outcome).
#[napi]
#[derive(Default)]
pub struct AbortHandle {
    signal: nexotp::AbortSignal,
}

#[napi]
impl AbortHandle {
    /// A handle not yet aborted.
    #[napi(constructor)]
    pub fn new() -> AbortHandle {
        AbortHandle::default()
    }

    /// Aborts (idempotent).
    #[napi]
    pub fn abort(&self) {
        self.signal.abort();
    }
}

/// A cursor over all transactions (behind `iterTransactions`).
#[napi]
pub struct TransactionPager {
    inner: Arc<tokio::sync::Mutex<nexotp::TransactionPager>>,
    dispatch: Dispatch,
}

#[napi]
impl TransactionPager {
    /// The next page, or `null` after the last.
    #[napi]
    pub fn next_page(&self, env: Env, ticket: u32) {
        let pager = Arc::clone(&self.inner);
        self.dispatch.submit(&env, ticket, async move {
            let mut pager = pager.lock().await;
            pager
                .next_page()
                .await
                .map(|page| page.map(TransactionPage::from))
        });
    }
}

/// One pending `waitForCode`: `run()` polls until done, `cancel()` drops the polling future at
/// once (an `AbortSignal` calls it), so no poll is sent after an abort.
#[napi]
pub struct WaitHandle {
    client: nexotp::Client,
    id: String,
    options: nexotp::WaitOptions,
    token: CancellationToken,
    dispatch: Dispatch,
}

#[napi]
impl WaitHandle {
    /// Waits for the code; rejects with `AbortError` once `cancel()` was called.
    #[napi]
    pub fn run(&self, env: Env, ticket: u32) {
        let client = self.client.clone();
        let id = self.id.clone();
        let options = self.options.clone();
        let token = self.token.clone();
        self.dispatch.submit(&env, ticket, async move {
            tokio::select! {
                biased;
                () = token.cancelled() => Err(NativeError::Aborted),
                result = client.wait_for_code(&id, options) => Ok(Order::from(result?)),
            }
        });
    }

    /// Stops the wait (idempotent).
    #[napi]
    pub fn cancel(&self) {
        self.token.cancel();
    }
}

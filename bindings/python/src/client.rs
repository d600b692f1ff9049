//! `nexotp.Client` (sync) and `_native.AsyncCore` (behind the Python `nexotp.AsyncClient`).
//!
//! Each method converts its Python arguments (see `convert.rs`), calls the core, and converts
//! the result or error. Sync calls go through [`runtime::block_on`]; async calls through
//! [`bridge::spawn`]. Both share [`Core`]: the core client plus this client's log queue.
//!
//! After `os.fork()` the child must not use the parent's connection pool (its sockets are
//! shared with the parent and its connection tasks lived on the parent's runtime), so [`Core`]
//! remembers the PID it built the client in and rebuilds it, from the same settings, in a child.

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use nexotp::RequestOptions;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;

use crate::bridge::{self, Started};
use crate::convert;
use crate::errors::{self, IntoPyResult};
use crate::jobs::{self, Job};
use crate::logs::{self, LogQueue};
use crate::models::*;
use crate::runtime::{self, guard};

static RUNTIME_NAME: PyOnceLock<String> = PyOnceLock::new();

/// `"CPython 3.11.7"`, for the user agent.
fn runtime_name(py: Python<'_>) -> PyResult<&str> {
    RUNTIME_NAME
        .get_or_try_init(py, || -> PyResult<String> {
            let sys = py.import("sys")?;
            let name: String = sys.getattr("implementation")?.getattr("name")?.extract()?;
            let name = match name.as_str() {
                "cpython" => "CPython".to_owned(),
                "pypy" => "PyPy".to_owned(),
                other => other.to_owned(),
            };
            let v = sys.getattr("version_info")?;
            let (major, minor, micro): (u32, u32, u32) = (
                v.getattr("major")?.extract()?,
                v.getattr("minor")?.extract()?,
                v.getattr("micro")?.extract()?,
            );
            Ok(format!("{name} {major}.{minor}.{micro}"))
        })
        .map(String::as_str)
}

/// The constructor's arguments, converted; `None` means the core's default.
struct Settings {
    api_key: Option<String>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    max_retries: Option<u32>,
    deadline: Option<Duration>,
    network: Network,
}

/// The constructor's network arguments, converted; `None` means the core's default.
struct Network {
    proxy: Option<String>,
    ca_certificates: Option<nexotp::CertificateSource>,
    tls_roots: Option<String>,
    http2: Option<bool>,
    max_connections: Option<u32>,
    pool_idle_timeout: Option<Duration>,
    max_idle_connections: Option<u32>,
    /// Where the rate buckets live (`redis://...`), and the client-side limits.
    rate_limit_store: Option<String>,
    rate_limits: Option<String>,
}

/// The network arguments as Python passes them (any object; converted by [`Network::convert`]).
struct NetworkArgs<'a, 'py> {
    proxy: Option<&'a Bound<'py, PyAny>>,
    ca_certificates: Option<&'a Bound<'py, PyAny>>,
    tls_roots: Option<&'a Bound<'py, PyAny>>,
    http2: Option<&'a Bound<'py, PyAny>>,
    max_connections: Option<&'a Bound<'py, PyAny>>,
    pool_idle_timeout: Option<&'a Bound<'py, PyAny>>,
    max_idle_connections: Option<&'a Bound<'py, PyAny>>,
    rate_limit_store: Option<&'a Bound<'py, PyAny>>,
    rate_limits: Option<&'a Bound<'py, PyAny>>,
}

impl Network {
    fn convert(py: Python<'_>, args: NetworkArgs<'_, '_>) -> PyResult<Network> {
        let tls_roots = convert::opt_string("tls_roots", args.tls_roots)?;
        // Checked now, so a bad value fails before anything else is built.
        if let Some(roots) = &tls_roots {
            roots.parse::<nexotp::TlsRoots>().py(py)?;
        }
        Ok(Network {
            proxy: convert::opt_string("proxy", args.proxy)?,
            ca_certificates: convert::opt_certificates(args.ca_certificates)?,
            tls_roots,
            http2: convert::opt_bool("http2", args.http2)?,
            max_connections: convert::opt_u32("max_connections", args.max_connections)?,
            pool_idle_timeout: convert::opt_seconds("pool_idle_timeout", args.pool_idle_timeout)?,
            max_idle_connections: convert::opt_u32(
                "max_idle_connections",
                args.max_idle_connections,
            )?,
            rate_limit_store: convert::opt_string("rate_limit_store", args.rate_limit_store)?,
            rate_limits: convert::opt_rate_limits(args.rate_limits)?,
        })
    }

    /// Sets on `builder` what was given.
    fn apply(
        self,
        py: Python<'_>,
        mut builder: nexotp::ClientBuilder,
    ) -> PyResult<nexotp::ClientBuilder> {
        if let Some(proxy) = self.proxy {
            builder = builder.proxy(proxy);
        }
        if let Some(source) = self.ca_certificates {
            builder = builder.ca_certificates(source);
        }
        if let Some(roots) = self.tls_roots {
            builder = builder.tls_roots(roots.parse().py(py)?);
        }
        if let Some(http2) = self.http2 {
            builder = builder.http2(http2);
        }
        if let Some(n) = self.max_connections {
            builder = builder.max_connections_per_host(n as usize);
        }
        if let Some(timeout) = self.pool_idle_timeout {
            builder = builder.pool_idle_timeout(timeout);
        }
        if let Some(n) = self.max_idle_connections {
            builder = builder.pool_max_idle_per_host(n as usize);
        }
        if let Some(url) = self.rate_limit_store {
            builder = builder.rate_limit_store_url(url);
        }
        if let Some(text) = self.rate_limits {
            for (bucket, limit) in nexotp::BucketLimit::parse_list(&text).py(py)? {
                builder = builder.bucket_limit(bucket, limit);
            }
        }
        Ok(builder)
    }
}

struct State {
    pid: u32,
    /// `None` once closed.
    client: Option<nexotp::Client>,
}

/// What a sync and an async client share.
pub struct Core {
    state: RwLock<State>,
    logs: Arc<LogQueue>,
}

impl Core {
    fn new(py: Python<'_>, settings: Settings) -> PyResult<Core> {
        let logs = Arc::new(LogQueue::default());
        let runtime_name = runtime_name(py)?.to_owned();
        let Settings {
            api_key,
            base_url,
            timeout,
            connect_timeout,
            max_retries,
            deadline,
            network,
        } = settings;
        // Only what the caller gave is set: the builder's defaults are the core's.
        let mut builder = nexotp::Client::builder()
            .sdk_language("python", runtime_name)
            .observer(logs.clone())
            // The `nexotp` logger does this job in Python (NEXOTP_LOG=debug adds a handler).
            .log_from_env(false);
        if let Some(key) = api_key {
            builder = builder.api_key(key);
        }
        if let Some(url) = base_url {
            builder = builder.base_url(url);
        }
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(timeout) = connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(retries) = max_retries {
            builder = builder.max_retries(retries);
        }
        if let Some(deadline) = deadline {
            builder = builder.deadline(deadline);
        }
        let client = network.apply(py, builder)?.build().py(py)?;
        Ok(Core {
            state: RwLock::new(State {
                pid: std::process::id(),
                client: Some(client),
            }),
            logs,
        })
    }

    /// The core client, rebuilt after a fork; an error once closed.
    pub fn client(&self, py: Python<'_>) -> PyResult<nexotp::Client> {
        let pid = std::process::id();
        {
            let state = self.state.read().unwrap_or_else(|p| p.into_inner());
            match &state.client {
                None => return Err(closed(py)),
                Some(c) if state.pid == pid => return Ok(c.clone()),
                Some(_) => {}
            }
        }
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let Some(old) = state.client.clone() else {
            return Err(closed(py));
        };
        if state.pid != pid {
            // The same settings (the core's own list), a fresh pool; this client's observer.
            let builder = old
                .config()
                .to_builder()
                .observer(self.logs.clone())
                .log_from_env(false);
            let fresh = builder.build().py(py)?;
            state.client = Some(fresh);
            state.pid = pid;
        }
        state.client.clone().ok_or_else(|| closed(py))
    }

    /// This client's log queue (flushed after each call).
    pub fn logs(&self) -> &Arc<LogQueue> {
        &self.logs
    }

    /// The deadline of a whole call in seconds, when one is set.
    fn deadline(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        Ok(self.client(py)?.config().deadline.map(|d| d.as_secs_f64()))
    }

    fn close(&self) {
        self.state.write().unwrap_or_else(|p| p.into_inner()).client = None;
    }

    fn is_closed(&self) -> bool {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .client
            .is_none()
    }

    fn with_options(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
        max_retries: Option<&Bound<'_, PyAny>>,
        deadline: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Core> {
        let options = request_options(timeout, max_retries, deadline)?.unwrap_or_default();
        let client = self.client(py)?.with_options(options).py(py)?;
        Ok(Core {
            state: RwLock::new(State {
                pid: std::process::id(),
                client: Some(client),
            }),
            logs: self.logs.clone(),
        })
    }

    fn repr(&self, py: Python<'_>, class: &str) -> String {
        match self.client(py) {
            Ok(c) => {
                let cfg = c.config();
                let deadline = cfg
                    .deadline
                    .map(|d| format!(", deadline={}", float_repr(d.as_secs_f64())))
                    .unwrap_or_default();
                format!(
                    "{class}(base_url='{}', timeout={}, max_retries={}{deadline})",
                    cfg.base_url,
                    float_repr(cfg.timeout.as_secs_f64()),
                    cfg.max_retries
                )
            }
            Err(_) => format!("{class}(<closed>)"),
        }
    }

    /// The client for one call: this one, or a sibling with the call's own options.
    fn client_for(
        &self,
        py: Python<'_>,
        options: Option<RequestOptions>,
    ) -> PyResult<nexotp::Client> {
        let client = self.client(py)?;
        match options {
            Some(options) => client.with_options(options).py(py),
            None => Ok(client),
        }
    }

    /// Runs one sync call: block on the runtime, flush the logs, convert result or error.
    fn run<T: IntoModel + Send + 'static>(
        &self,
        py: Python<'_>,
        options: Option<RequestOptions>,
        job: Job<T>,
    ) -> PyResult<Py<PyAny>> {
        let client = self.client_for(py, options)?;
        // Where Ctrl-C can come (the main thread), the call listens to an abort signal, so an
        // interrupted create order, resend or create webhook already sent can say so.
        let signal = runtime::sees_signals().then(nexotp::AbortSignal::new);
        let client = match &signal {
            Some(signal) => client.with_abort(signal.clone()),
            None => client,
        };
        let out = runtime::block_on_abortable(py, job(client), signal);
        logs::flush(py, &self.logs);
        match out {
            Ok(result) => result.py(py)?.into_model(py),
            Err(stopped) => Err(interrupted(py, stopped)),
        }
    }

    /// Starts one async call on the running loop: `(future, cancel handle)`. The call's
    /// client listens to an abort signal of its own, which the handle fires when the awaiting
    /// task is cancelled (`Call.abort`): the core then ends the call and decides what it was
    /// (`AbortError`, or the unknown outcome of a create order, resend or create webhook
    /// already sent).
    fn start<'py, T: IntoModel + Send + 'static>(
        &self,
        py: Python<'py>,
        options: Option<RequestOptions>,
        job: Job<T>,
    ) -> Started<'py> {
        let signal = nexotp::AbortSignal::new();
        let client = self.client_for(py, options)?.with_abort(signal.clone());
        self.spawn_with(py, job(client), Some(signal))
    }

    /// Starts one async call on the running loop: `(future, cancel handle)`.
    fn spawn<'py, T, Fut>(
        &self,
        py: Python<'py>,
        f: impl FnOnce(nexotp::Client) -> Fut,
    ) -> Started<'py>
    where
        Fut: Future<Output = nexotp::Result<T>> + Send + 'static,
        T: IntoModel + Send + 'static,
    {
        let client = self.client(py)?;
        self.spawn_with(py, f(client), None)
    }

    fn spawn_with<'py, T, Fut>(
        &self,
        py: Python<'py>,
        fut: Fut,
        signal: Option<nexotp::AbortSignal>,
    ) -> Started<'py>
    where
        Fut: Future<Output = nexotp::Result<T>> + Send + 'static,
        T: IntoModel + Send + 'static,
    {
        let logs = self.logs.clone();
        bridge::spawn(
            py,
            fut,
            |py, r: nexotp::Result<T>| r.py(py)?.into_model(py),
            Some(Box::new(move |py| logs::flush(py, &logs))),
            signal,
        )
    }
}

/// The exception of a sync call that did not return. Interrupted (Ctrl-C) after a create
/// order, resend or create webhook was sent, it carries the core's `OrderOutcomeUnknownError`
/// as `__cause__`, logged once as a warning, as a cancelled async call does.
fn interrupted<T>(py: Python<'_>, stopped: runtime::Stopped<nexotp::Result<T>>) -> PyErr {
    let runtime::Stopped { error, end } = stopped;
    if let Some(Err(unknown @ nexotp::Error::OrderOutcomeUnknown(_))) = end {
        let cause = errors::to_py(py, unknown);
        // The log is the async path's (one message, one place); failing to log loses nothing.
        let logged = py
            .import("nexotp._async")
            .and_then(|m| m.getattr("_log_unknown"))
            .and_then(|log| log.call1((cause.value(py),)));
        if let Err(e) = logged {
            e.write_unraisable(py, None);
        }
        error.set_cause(py, Some(cause));
    }
    error
}

/// The per-call options every method takes (seconds, retries), converted once for both
/// classes; `None` when none was given (the client's own settings apply).
fn request_options(
    timeout: Option<&Bound<'_, PyAny>>,
    max_retries: Option<&Bound<'_, PyAny>>,
    deadline: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<RequestOptions>> {
    named_request_options("timeout", timeout, max_retries, deadline)
}

/// `wait_for_code`'s per-poll options (its `timeout` is the wait's, so each poll's is
/// `request_timeout`).
fn poll_options(
    request_timeout: Option<&Bound<'_, PyAny>>,
    max_retries: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<RequestOptions>> {
    named_request_options("request_timeout", request_timeout, max_retries, None)
}

fn named_request_options(
    timeout_name: &'static str,
    timeout: Option<&Bound<'_, PyAny>>,
    max_retries: Option<&Bound<'_, PyAny>>,
    deadline: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<RequestOptions>> {
    let mut options = RequestOptions::new();
    if let Some(timeout) = convert::opt_seconds(timeout_name, timeout)? {
        options = options.timeout(timeout);
    }
    if let Some(retries) = convert::opt_u32("max_retries", max_retries)? {
        options = options.max_retries(retries);
    }
    if let Some(deadline) = convert::opt_seconds("deadline", deadline)? {
        options = options.deadline(deadline);
    }
    Ok((options != RequestOptions::new()).then_some(options))
}

fn float_repr(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn closed(py: Python<'_>) -> PyErr {
    errors::make(py, "NexOTPError", "this client is closed", None)
}

/// A core result → its Python model (GIL held).
pub trait IntoModel {
    /// Converts.
    fn into_model(self, py: Python<'_>) -> PyResult<Py<PyAny>>;
}

macro_rules! into_model {
    ($($t:ty => $py_ty:ident),*) => {$(
        impl IntoModel for $t {
            fn into_model(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                Ok(Py::new(py, $py_ty::from(self))?.into_any())
            }
        }
    )*};
}
into_model!(
    nexotp::Account => PyAccount,
    nexotp::Transaction => PyTransaction,
    nexotp::TransactionPage => PyTransactionPage,
    nexotp::Country => PyCountry,
    nexotp::Service => PyService,
    nexotp::Price => PyPrice,
    nexotp::Order => PyOrder,
    nexotp::Webhook => PyWebhook,
    nexotp::WebhookDeleted => PyWebhookDeleted,
    nexotp::Reconciled => PyReconciliation
);

impl<T: IntoModel> IntoModel for Vec<T> {
    fn into_model(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let list = PyList::empty(py);
        for item in self {
            list.append(item.into_model(py)?)?;
        }
        Ok(list.into_any().unbind())
    }
}

impl<T: IntoModel> IntoModel for Option<T> {
    fn into_model(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Some(v) => v.into_model(py),
            None => Ok(py.None()),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn new_core(
    py: Python<'_>,
    api_key: Option<&Bound<'_, PyAny>>,
    base_url: Option<&Bound<'_, PyAny>>,
    timeout: Option<&Bound<'_, PyAny>>,
    connect_timeout: Option<&Bound<'_, PyAny>>,
    max_retries: Option<&Bound<'_, PyAny>>,
    deadline: Option<&Bound<'_, PyAny>>,
    network: NetworkArgs<'_, '_>,
) -> PyResult<Core> {
    let settings = Settings {
        api_key: convert::opt_string("api_key", api_key)?,
        base_url: convert::opt_string("base_url", base_url)?,
        timeout: convert::opt_seconds("timeout", timeout)?,
        connect_timeout: convert::opt_seconds("connect_timeout", connect_timeout)?,
        max_retries: convert::opt_u32("max_retries", max_retries)?,
        deadline: convert::opt_seconds("deadline", deadline)?,
        network: Network::convert(py, network)?,
    };
    Core::new(py, settings)
}

/// Every API method once: its name, the Python docstring, required arguments, optional
/// positional ones, keyword-only ones, and the per-call options with their converter. Both
/// classes are expanded from it (`client_impl`, `async_core_impl`), and each method's
/// arguments are converted once, by the function of the same name in `jobs.rs`.
macro_rules! with_api_table {
    ($callback:ident! { $($extra:tt)* }) => {
        $callback! {
            { $($extra)* }
            account "`GET /account`." [] [] [] request_options [timeout, max_retries, deadline];
            transactions "`GET /account/transactions`: one page (default the first, 20 per page)."
                [] [page, per_page] [] request_options [timeout, max_retries, deadline];
            countries "`GET /countries`." [] [] [] request_options [timeout, max_retries, deadline];
            services "`GET /services?country=`."
                [country] [] [] request_options [timeout, max_retries, deadline];
            price "`GET /price?service=&country=`."
                [service, country] [] [] request_options [timeout, max_retries, deadline];
            create_order "`POST /order`. Never sent twice: a failure after sending raises `OrderOutcomeUnknownError`. Without `pricing_option` none is sent (the server's choice, the cheapest pool)."
                [service, country] [] [pool, pricing_option, max_price]
                request_options [timeout, max_retries, deadline];
            get_order "`GET /order/{id}`." [id] [] [] request_options [timeout, max_retries, deadline];
            cancel_order "`POST /order/{id}/cancel`."
                [id] [] [] request_options [timeout, max_retries, deadline];
            resend_order "`POST /order/{id}/resend`."
                [id] [] [] request_options [timeout, max_retries, deadline];
            wait_for_code "Polls the order until a new code arrives (returns the order), it closes (`OrderClosedError`) or `timeout` seconds pass (`WaitTimeoutError`). Codes in `exclude_codes` do not count. `None` options take the core's defaults (timeout 300 s, poll every 3 s, no cancel). `request_timeout` and `max_retries` apply to each poll."
                [id] [] [timeout, poll_interval, cancel_on_timeout, exclude_codes]
                poll_options [request_timeout, max_retries];
            webhooks "`GET /webhooks`." [] [] [] request_options [timeout, max_retries, deadline];
            create_webhook "`POST /webhooks`. The returned webhook's `secret` is shown this once."
                [endpoint_url, events] [] [] request_options [timeout, max_retries, deadline];
            delete_webhook "`DELETE /webhooks/{id}`."
                [id] [] [] request_options [timeout, max_retries, deadline];
            reconcile "Finds out whether the call behind an `OrderOutcomeUnknownError` took effect (the core's `reconcile`): a `Reconciliation`."
                [err] [] [] request_options [timeout, max_retries, deadline];
        }
    };
}

/// `nexotp.Client`'s `#[pymethods]`: `$extra` and every API method, blocking.
macro_rules! client_impl {
    ({ $($extra:tt)* } $(
        $name:ident $doc:literal [$($req:ident),*] [$($opt:ident),*] [$($kw:ident),*]
        $options:ident [$($pc:ident),*];
    )*) => {
        #[pymethods]
        impl Client {
            $($extra)*
            $(
                #[doc = $doc]
                #[pyo3(signature = ($($req,)* $($opt=None,)* *, $($kw=None,)* $($pc=None),*))]
                #[allow(clippy::too_many_arguments)]
                fn $name(
                    &self,
                    py: Python<'_>,
                    $($req: &Bound<'_, PyAny>,)*
                    $($opt: Option<&Bound<'_, PyAny>>,)*
                    $($kw: Option<&Bound<'_, PyAny>>,)*
                    $($pc: Option<&Bound<'_, PyAny>>),*
                ) -> PyResult<Py<PyAny>> {
                    guard(|| {
                        let options = $options($($pc),*)?;
                        self.core.run(py, options, jobs::$name($($req,)* $($opt,)* $($kw),*)?)
                    })
                }
            )*
        }
    };
}

/// `_native.AsyncCore`'s `#[pymethods]`: `$extra` and every API method, started on the
/// running loop (every argument positional; `nexotp.AsyncClient` names them).
macro_rules! async_core_impl {
    ({ $($extra:tt)* } $(
        $name:ident $doc:literal [$($req:ident),*] [$($opt:ident),*] [$($kw:ident),*]
        $options:ident [$($pc:ident),*];
    )*) => {
        #[pymethods]
        impl AsyncCore {
            $($extra)*
            $(
                #[doc = $doc]
                #[pyo3(signature = ($($req,)* $($opt,)* $($kw,)* $($pc),*))]
                #[allow(clippy::too_many_arguments)]
                fn $name<'py>(
                    &self,
                    py: Python<'py>,
                    $($req: &Bound<'_, PyAny>,)*
                    $($opt: Option<&Bound<'_, PyAny>>,)*
                    $($kw: Option<&Bound<'_, PyAny>>,)*
                    $($pc: Option<&Bound<'_, PyAny>>),*
                ) -> Started<'py> {
                    guard(|| {
                        let options = $options($($pc),*)?;
                        self.core.start(py, options, jobs::$name($($req,)* $($opt,)* $($kw),*)?)
                    })
                }
            )*
        }
    };
}

/// A NexOTP API client (blocking). Thread-safe: share one per process.
#[pyclass(frozen, subclass, module = "nexotp", name = "Client")]
pub struct Client {
    core: Arc<Core>,
}

with_api_table!(client_impl! {
    // `timeout` (seconds per attempt, default 30), `connect_timeout` (seconds to connect,
    // default 10), `max_retries` (default 2) and `deadline` (seconds for a whole call, every
    // attempt and wait included; default none): `None` means the core's default.
    //
    // Network (`None`: the core's default): `proxy` (URL, credentials allowed), `ca_certificates`
    // (PEM text, a path, or PEM bytes), `tls_roots` ("bundled", "system", "both"), `http2`
    // (default True), `max_connections` (default 32), `pool_idle_timeout` (seconds, default 60),
    // `max_idle_connections` (default `max_connections`).
    //
    // Rate limits: `rate_limit_store` ("redis://..." shares the buckets with every process
    // using the same key; default NEXOTP_RATE_LIMIT_STORE, else in-memory) and `rate_limits`
    // (client-side limits: "POLL=20/s,burst=1" or {"POLL": 20, "ORDER": (5, 1)}; default
    // NEXOTP_RATE_LIMITS).
    #[new]
    #[pyo3(signature = (api_key=None, *, base_url=None, timeout=None, connect_timeout=None, max_retries=None, deadline=None, proxy=None, ca_certificates=None, tls_roots=None, http2=None, max_connections=None, pool_idle_timeout=None, max_idle_connections=None, rate_limit_store=None, rate_limits=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        api_key: Option<&Bound<'_, PyAny>>,
        base_url: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        connect_timeout: Option<&Bound<'_, PyAny>>,
        max_retries: Option<&Bound<'_, PyAny>>,
        deadline: Option<&Bound<'_, PyAny>>,
        proxy: Option<&Bound<'_, PyAny>>,
        ca_certificates: Option<&Bound<'_, PyAny>>,
        tls_roots: Option<&Bound<'_, PyAny>>,
        http2: Option<&Bound<'_, PyAny>>,
        max_connections: Option<&Bound<'_, PyAny>>,
        pool_idle_timeout: Option<&Bound<'_, PyAny>>,
        max_idle_connections: Option<&Bound<'_, PyAny>>,
        rate_limit_store: Option<&Bound<'_, PyAny>>,
        rate_limits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        guard(|| {
            let network = NetworkArgs {
                proxy,
                ca_certificates,
                tls_roots,
                http2,
                max_connections,
                pool_idle_timeout,
                max_idle_connections,
                rate_limit_store,
                rate_limits,
            };
            let core = new_core(
                py,
                api_key,
                base_url,
                timeout,
                connect_timeout,
                max_retries,
                deadline,
                network,
            )?;
            Ok(Client {
                core: Arc::new(core),
            })
        })
    }

    /// The base URL in use (ends with `/`).
    #[getter]
    fn base_url(&self, py: Python<'_>) -> PyResult<String> {
        guard(|| Ok(self.core.client(py)?.config().base_url.clone()))
    }

    /// Seconds allowed for one attempt.
    #[getter]
    fn timeout(&self, py: Python<'_>) -> PyResult<f64> {
        guard(|| Ok(self.core.client(py)?.config().timeout.as_secs_f64()))
    }

    /// Seconds allowed to open a connection.
    #[getter]
    fn connect_timeout(&self, py: Python<'_>) -> PyResult<f64> {
        guard(|| Ok(self.core.client(py)?.config().connect_timeout.as_secs_f64()))
    }

    /// Retries after the first attempt.
    #[getter]
    fn max_retries(&self, py: Python<'_>) -> PyResult<u32> {
        guard(|| Ok(self.core.client(py)?.config().max_retries))
    }

    /// Seconds allowed for a whole call (every attempt, backoff and 429 wait), or `None`.
    #[getter]
    fn deadline(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        guard(|| self.core.deadline(py))
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> PyResult<bool> {
        guard(|| Ok(self.core.is_closed()))
    }

    /// A client with another timeout, retry count or deadline, sharing this one's connections
    /// and rate buckets.
    #[pyo3(signature = (*, timeout=None, max_retries=None, deadline=None))]
    fn with_options(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
        max_retries: Option<&Bound<'_, PyAny>>,
        deadline: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Client> {
        guard(|| {
            Ok(Client {
                core: Arc::new(self.core.with_options(py, timeout, max_retries, deadline)?),
            })
        })
    }

    /// Closes the connection pool; later calls raise `NexOTPError`.
    fn close(&self) -> PyResult<()> {
        guard(|| {
            self.core.close();
            Ok(())
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        // `None`, not `False`: the type checkers then know `with` never swallows an exception.
        guard(|| {
            self.core.close();
            Ok(())
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        guard(|| Ok(self.core.repr(py, "Client")))
    }

    /// Every transaction, lazily, `per_page` at a time (default 100).
    ///
    /// The iterator keeps the connection pool of the process that created it: after
    /// `os.fork()`, make a new iterator in the child rather than continuing one from the parent.
    #[pyo3(signature = (per_page=None))]
    fn iter_transactions(
        &self,
        py: Python<'_>,
        per_page: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TransactionIterator> {
        guard(|| {
            let per_page =
                nexotp::args::iter_page_size_or_default(convert::opt_u32("per_page", per_page)?);
            let pager = self.core.client(py)?.transaction_pager(per_page).py(py)?;
            Ok(TransactionIterator {
                pager: Arc::new(tokio::sync::Mutex::new(pager)),
                core: self.core.clone(),
            })
        })
    }

    /// One watcher for many orders (`nexotp.Watcher`): one event per new code and one per
    /// order whose watch ends, polled in one loop inside the POLL budget.
    fn watch(&self, py: Python<'_>) -> PyResult<crate::watch::Watcher> {
        guard(|| crate::watch::Watcher::new(py, self.core.clone()))
    }
});

/// The lazy iterator of `Client.iter_transactions()`. Created in one process, it keeps that
/// process's connection pool: after `os.fork()`, start a new iteration in the child.
#[pyclass(frozen, module = "nexotp", name = "TransactionIterator")]
pub struct TransactionIterator {
    pager: Arc<tokio::sync::Mutex<nexotp::TransactionPager>>,
    core: Arc<Core>,
}

#[pymethods]
impl TransactionIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        guard(|| {
            let pager = self.pager.clone();
            let out = runtime::block_on(py, async move { pager.lock().await.next().await });
            logs::flush(py, &self.core.logs);
            match out?.py(py)? {
                Some(t) => Ok(Some(t.into_model(py)?)),
                None => Ok(None),
            }
        })
    }
}

/// The native half of `nexotp.AsyncClient`: each method starts the call and returns
/// `(asyncio future, cancel handle)`; the Python class awaits it and cancels on interruption.
#[pyclass(frozen, module = "nexotp._native", name = "AsyncCore")]
pub struct AsyncCore {
    core: Arc<Core>,
}

with_api_table!(async_core_impl! {
    #[new]
    #[pyo3(signature = (api_key, base_url, timeout, connect_timeout, max_retries, deadline, proxy, ca_certificates, tls_roots, http2, max_connections, pool_idle_timeout, max_idle_connections, rate_limit_store, rate_limits))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        api_key: Option<&Bound<'_, PyAny>>,
        base_url: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        connect_timeout: Option<&Bound<'_, PyAny>>,
        max_retries: Option<&Bound<'_, PyAny>>,
        deadline: Option<&Bound<'_, PyAny>>,
        proxy: Option<&Bound<'_, PyAny>>,
        ca_certificates: Option<&Bound<'_, PyAny>>,
        tls_roots: Option<&Bound<'_, PyAny>>,
        http2: Option<&Bound<'_, PyAny>>,
        max_connections: Option<&Bound<'_, PyAny>>,
        pool_idle_timeout: Option<&Bound<'_, PyAny>>,
        max_idle_connections: Option<&Bound<'_, PyAny>>,
        rate_limit_store: Option<&Bound<'_, PyAny>>,
        rate_limits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        guard(|| {
            let network = NetworkArgs {
                proxy,
                ca_certificates,
                tls_roots,
                http2,
                max_connections,
                pool_idle_timeout,
                max_idle_connections,
                rate_limit_store,
                rate_limits,
            };
            let core = new_core(
                py,
                api_key,
                base_url,
                timeout,
                connect_timeout,
                max_retries,
                deadline,
                network,
            )?;
            Ok(AsyncCore {
                core: Arc::new(core),
            })
        })
    }

    #[getter]
    fn base_url(&self, py: Python<'_>) -> PyResult<String> {
        guard(|| Ok(self.core.client(py)?.config().base_url.clone()))
    }

    #[getter]
    fn timeout(&self, py: Python<'_>) -> PyResult<f64> {
        guard(|| Ok(self.core.client(py)?.config().timeout.as_secs_f64()))
    }

    #[getter]
    fn connect_timeout(&self, py: Python<'_>) -> PyResult<f64> {
        guard(|| Ok(self.core.client(py)?.config().connect_timeout.as_secs_f64()))
    }

    #[getter]
    fn max_retries(&self, py: Python<'_>) -> PyResult<u32> {
        guard(|| Ok(self.core.client(py)?.config().max_retries))
    }

    #[getter]
    fn deadline(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        guard(|| self.core.deadline(py))
    }

    #[getter]
    fn closed(&self) -> PyResult<bool> {
        guard(|| Ok(self.core.is_closed()))
    }

    fn repr(&self, py: Python<'_>) -> PyResult<String> {
        guard(|| Ok(self.core.repr(py, "AsyncClient")))
    }

    #[pyo3(signature = (timeout, max_retries, deadline))]
    fn with_options(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
        max_retries: Option<&Bound<'_, PyAny>>,
        deadline: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AsyncCore> {
        guard(|| {
            Ok(AsyncCore {
                core: Arc::new(self.core.with_options(py, timeout, max_retries, deadline)?),
            })
        })
    }

    fn close(&self) -> PyResult<()> {
        guard(|| {
            self.core.close();
            Ok(())
        })
    }

    #[pyo3(signature = (per_page))]
    fn transaction_pager(
        &self,
        py: Python<'_>,
        per_page: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AsyncPager> {
        guard(|| {
            let per_page =
                nexotp::args::iter_page_size_or_default(convert::opt_u32("per_page", per_page)?);
            let pager = self.core.client(py)?.transaction_pager(per_page).py(py)?;
            Ok(AsyncPager {
                pager: Arc::new(tokio::sync::Mutex::new(pager)),
                core: self.core.clone(),
            })
        })
    }

    fn watch(&self, py: Python<'_>) -> PyResult<crate::watch::Watcher> {
        guard(|| crate::watch::Watcher::new(py, self.core.clone()))
    }
});

/// The native half of `AsyncClient.iter_transactions()`. Like [`TransactionIterator`], it
/// keeps the connection pool of the process that created it (see there about `os.fork()`).
#[pyclass(frozen, module = "nexotp._native", name = "AsyncPager")]
pub struct AsyncPager {
    pager: Arc<tokio::sync::Mutex<nexotp::TransactionPager>>,
    core: Arc<Core>,
}

#[pymethods]
impl AsyncPager {
    /// Starts fetching the next transaction; the future gives `None` after the last.
    fn next<'py>(&self, py: Python<'py>) -> Started<'py> {
        guard(|| {
            let pager = self.pager.clone();
            self.core
                .spawn(py, move |_| async move { pager.lock().await.next().await })
        })
    }
}

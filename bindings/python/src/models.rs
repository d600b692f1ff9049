//! The API's models as frozen Python classes holding the core's Rust structs.
//!
//! Why Rust classes rather than Python dataclasses: building one costs a single allocation per
//! call (`get_order` is the hot path), and attributes are converted only when read. Each model
//! has typed attributes, `raw` (the decoded JSON object as a `dict`, non-integer numbers as
//! `decimal.Decimal`), `to_dict()`, `==`, a readable `repr` without secrets, and pickles (so
//! exceptions carrying an `order` pickle too).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::convert::{json_to_py, raw_to_py};

static ORDER_STATUS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `nexotp.OrderStatus(value)`: a `str` enum that keeps unknown values.
pub(crate) fn status_to_py<'py>(
    py: Python<'py>,
    status: &nexotp::OrderStatus,
) -> PyResult<Bound<'py, PyAny>> {
    let cls = ORDER_STATUS.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("nexotp._enums")?.getattr("OrderStatus")?.unbind())
    })?;
    cls.bind(py).call1((status.as_str(),))
}

/// Converts one field to Python, by kind.
macro_rules! conv {
    (str, $py:expr, $v:expr) => {
        Ok::<_, PyErr>(PyString::new($py, $v).into_any())
    };
    (opt_str, $py:expr, $v:expr) => {
        Ok::<_, PyErr>($v.as_deref().into_pyobject($py)?.into_any())
    };
    (num, $py:expr, $v:expr) => {
        Ok::<_, PyErr>((*$v).into_pyobject($py)?.to_owned().into_any())
    };
    (opt_num, $py:expr, $v:expr) => {
        Ok::<_, PyErr>((*$v).into_pyobject($py)?.into_any())
    };
    (str_list, $py:expr, $v:expr) => {
        Ok::<_, PyErr>(PyList::new($py, $v.iter().map(String::as_str))?.into_any())
    };
    (json, $py:expr, $v:expr) => {
        json_to_py($py, $v)
    };
    (raw_json, $py:expr, $v:expr) => {
        raw_to_py($py, $v)
    };
    (status, $py:expr, $v:expr) => {
        status_to_py($py, $v)
    };
    (pools, $py:expr, $v:expr) => {{
        let list = PyList::empty($py);
        for p in $v.iter() {
            list.append(Py::new($py, PyPool { inner: p.clone() })?)?;
        }
        Ok::<_, PyErr>(list.into_any())
    }};
    (items, $py:expr, $v:expr) => {{
        let list = PyList::empty($py);
        for t in $v.iter() {
            list.append(Py::new($py, PyTransaction { inner: t.clone() })?)?;
        }
        Ok::<_, PyErr>(list.into_any())
    }};
    (opt_order, $py:expr, $v:expr) => {{
        match $v {
            Some(o) => Ok::<_, PyErr>(
                Py::new($py, PyOrder { inner: o.clone() })?
                    .into_bound($py)
                    .into_any(),
            ),
            None => Ok($py.None().into_bound($py)),
        }
    }};
}

/// The `to_dict()` form of one field: like [`conv!`] but plain data all the way down.
macro_rules! plain {
    (status, $py:expr, $v:expr) => {
        Ok::<_, PyErr>(PyString::new($py, $v.as_str()).into_any())
    };
    (pools, $py:expr, $v:expr) => {{
        let list = PyList::empty($py);
        for p in $v.iter() {
            list.append(PyPool { inner: p.clone() }.to_dict($py)?)?;
        }
        Ok::<_, PyErr>(list.into_any())
    }};
    (items, $py:expr, $v:expr) => {{
        let list = PyList::empty($py);
        for t in $v.iter() {
            list.append(PyTransaction { inner: t.clone() }.to_dict($py)?)?;
        }
        Ok::<_, PyErr>(list.into_any())
    }};
    (opt_order, $py:expr, $v:expr) => {{
        match $v {
            Some(o) => Ok::<_, PyErr>(PyOrder { inner: o.clone() }.to_dict($py)?.into_any()),
            None => Ok($py.None().into_bound($py)),
        }
    }};
    ($kind:ident, $py:expr, $v:expr) => {
        conv!($kind, $py, $v)
    };
}

/// How a model pickles: `(rebuild, (class name, JSON of raw, secret))`.
macro_rules! reduce_raw {
    ($name:literal, $self:ident, $py:ident, $secret:expr) => {{
        let rebuild = $py.import("nexotp._native")?.getattr("_rebuild")?;
        let raw = serde_json::to_string(&$self.inner.raw)
            .map_err(|e| crate::errors::nexotp_error(&format!("cannot pickle: {e}")))?;
        let secret: Option<String> = $secret;
        Ok(PyTuple::new(
            $py,
            [rebuild, ($name, raw, secret).into_pyobject($py)?.into_any()],
        )?
        .into_any())
    }};
}

macro_rules! model {
    (
        $(#[$doc:meta])*
        $py_ty:ident, $name:literal, $inner:ty,
        repr: [$($repr:ident),*],
        fields: { $($pyf:ident = $field:ident : $kind:ident),* $(,)? },
        reduce: |$s:ident, $p:ident| $reduce:expr,
        extra: { $($extra:tt)* }
    ) => {
        $(#[$doc])*
        #[pyclass(frozen, eq, module = "nexotp", name = $name)]
        #[derive(Clone, Debug, PartialEq)]
        pub struct $py_ty {
            pub(crate) inner: $inner,
        }

        impl From<$inner> for $py_ty {
            fn from(inner: $inner) -> Self {
                Self { inner }
            }
        }

        impl $py_ty {
            /// The model as a plain `dict` of its typed fields.
            pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let d = PyDict::new(py);
                $( d.set_item(stringify!($pyf).trim_start_matches("r#"), plain!($kind, py, &self.inner.$field)?)?; )*
                Ok(d)
            }
        }

        #[pymethods]
        impl $py_ty {
            $(
                #[getter]
                fn $pyf<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                    conv!($kind, py, &self.inner.$field)
                }
            )*

            /// The model's fields as a plain `dict`.
            #[pyo3(name = "to_dict")]
            fn py_to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                self.to_dict(py)
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let mut parts: Vec<String> = Vec::new();
                let plain = self.to_dict(py)?;
            $(
                let key = stringify!($repr).trim_start_matches("r#");
                let value = plain.get_item(key)?.map(|v| v.repr().map(|r| r.to_string())).transpose()?;
                parts.push(format!("{key}={}", value.unwrap_or_else(|| "None".to_owned())));
            )*
                Ok(format!("{}({})", $name, parts.join(", ")))
            }

            fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let $s = self;
                let $p = py;
                $reduce
            }

            $($extra)*
        }
    };
}

model! {
    /// The account: wallet balance, plan and usage.
    PyAccount, "Account", nexotp::Account,
    repr: [balance, currency, plan],
    fields: {
        user_id = user_id: opt_str,
        email = email: opt_str,
        balance = balance: num,
        currency = currency: opt_str,
        plan = plan: opt_str,
        usage = usage: json,
    },
    reduce: |s, py| reduce_raw!("Account", s, py, None),
    extra: {
        /// The decoded JSON object.
        #[getter]
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { raw_to_py(py, &self.inner.raw) }
    }
}

model! {
    /// One wallet transaction (`amount` is negative for a debit).
    PyTransaction, "Transaction", nexotp::Transaction,
    repr: [id, r#type, amount, balance_after, order_id],
    fields: {
        id = id: str,
        r#type = kind: opt_str,
        amount = amount: num,
        balance_after = balance_after: opt_num,
        description = description: opt_str,
        order_id = order_id: opt_str,
        created_at = created_at: opt_str,
    },
    reduce: |s, py| reduce_raw!("Transaction", s, py, None),
    extra: {
        /// The decoded JSON object.
        #[getter]
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { raw_to_py(py, &self.inner.raw) }
    }
}

model! {
    /// One page of transactions.
    PyTransactionPage, "TransactionPage", nexotp::TransactionPage,
    repr: [page, per_page, total, total_pages, has_more],
    fields: {
        items = items: items,
        page = page: num,
        per_page = per_page: num,
        total = total: opt_num,
        total_pages = total_pages: opt_num,
        has_more = has_more: num,
    },
    reduce: |s, py| {
        let rebuild = py.import("nexotp._native")?.getattr("_rebuild_page")?;
        let items: Vec<String> = s.inner.items.iter()
            .map(|t| serde_json::to_string(&t.raw).unwrap_or_default())
            .collect();
        let args = (items, s.inner.page, s.inner.per_page, s.inner.total, s.inner.total_pages, s.inner.has_more);
        Ok(PyTuple::new(py, [rebuild, args.into_pyobject(py)?.into_any()])?.into_any())
    },
    extra: {
        fn __len__(&self) -> usize { self.inner.items.len() }
        fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            Ok(conv!(items, py, &self.inner.items)?.try_iter()?.into_any())
        }
    }
}

model! {
    /// A country of the supply network.
    PyCountry, "Country", nexotp::Country,
    repr: [code, name],
    fields: {
        code = code: str,
        name = name: opt_str,
        iso = iso: opt_str,
        dial_code = dial_code: opt_str,
    },
    reduce: |s, py| reduce_raw!("Country", s, py, None),
    extra: {
        /// The decoded JSON object.
        #[getter]
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { raw_to_py(py, &self.inner.raw) }
    }
}

model! {
    /// A service available in a country.
    PyService, "Service", nexotp::Service,
    repr: [id, name, price, available],
    fields: {
        id = id: str,
        name = name: opt_str,
        price = price: opt_num,
        available = available: opt_num,
    },
    reduce: |s, py| reduce_raw!("Service", s, py, None),
    extra: {
        /// The decoded JSON object.
        #[getter]
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { raw_to_py(py, &self.inner.raw) }
    }
}

model! {
    /// A supply pool offering numbers for a service and country.
    PyPool, "Pool", nexotp::Pool,
    repr: [id, price, available, success_rate],
    fields: {
        id = id: str,
        price = price: opt_num,
        available = available: opt_num,
        success_rate = success_rate: opt_num,
    },
    reduce: |s, py| reduce_raw!("Pool", s, py, None),
    extra: {
        /// The decoded JSON object.
        #[getter]
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { raw_to_py(py, &self.inner.raw) }
    }
}

model! {
    /// The current price of a service in a country.
    PyPrice, "Price", nexotp::Price,
    repr: [service, country, price, currency, available],
    fields: {
        service = service: opt_str,
        country = country: opt_str,
        price = price: num,
        currency = currency: opt_str,
        available = available: opt_num,
        pools = pools: pools,
    },
    reduce: |s, py| reduce_raw!("Price", s, py, None),
    extra: {
        /// The decoded JSON object.
        #[getter]
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { raw_to_py(py, &self.inner.raw) }
    }
}

model! {
    /// An order: a number rented for one service, and the codes it received.
    PyOrder, "Order", nexotp::Order,
    repr: [id, status, service, country, phone, code, price],
    fields: {
        id = id: str,
        status = status: status,
        service = service: opt_str,
        country = country: opt_str,
        pool = pool: opt_str,
        phone = phone: opt_str,
        price = price: opt_num,
        code = code: opt_str,
        codes = codes: str_list,
        sms = sms: opt_str,
        refund = refund: opt_num,
        created_at = created_at: opt_str,
        updated_at = updated_at: opt_str,
        expires_at = expires_at: opt_str,
    },
    reduce: |s, py| reduce_raw!("Order", s, py, None),
    extra: {
        /// The decoded JSON object.
        #[getter]
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { raw_to_py(py, &self.inner.raw) }

        /// Every code received: `codes`, plus `code` when only that was sent.
        fn all_codes(&self) -> Vec<String> {
            self.inner.all_codes().into_iter().map(str::to_owned).collect()
        }

        /// Whether the order has ended and will not receive another code.
        #[getter]
        fn is_closed(&self) -> bool { self.inner.status.is_closed() }
    }
}

model! {
    /// A registered webhook endpoint. `secret` is set only on the answer to `create_webhook`,
    /// and never appears in `repr`, `raw` or `to_dict()`.
    PyWebhook, "Webhook", nexotp::Webhook,
    repr: [id, endpoint_url, events, active],
    fields: {
        id = id: str,
        endpoint_url = endpoint_url: opt_str,
        events = events: str_list,
        active = active: opt_num,
        created_at = created_at: opt_str,
    },
    // The secret is left out of the pickle: pickles end up in caches and queues, and the
    // secret is shown once on purpose. The restored webhook's `secret` is `None`.
    reduce: |s, py| reduce_raw!("Webhook", s, py, None),
    extra: {
        /// The decoded JSON object (without the secret).
        #[getter]
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { raw_to_py(py, &self.inner.raw) }

        /// The signing secret: returned once, by `create_webhook`. Store it; never log it.
        #[getter]
        fn secret(&self) -> Option<&str> { self.inner.secret.as_ref().map(|s| s.expose()) }
    }
}

model! {
    /// The answer to deleting a webhook.
    PyWebhookDeleted, "WebhookDeleted", nexotp::WebhookDeleted,
    repr: [id, deleted],
    fields: {
        id = id: opt_str,
        deleted = deleted: num,
    },
    reduce: |s, py| reduce_raw!("WebhookDeleted", s, py, None),
    extra: {
        /// The decoded JSON object.
        #[getter]
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { raw_to_py(py, &self.inner.raw) }
    }
}

model! {
    /// A verified webhook delivery (`type` is the event name, `order` its data as an order).
    PyWebhookEvent, "WebhookEvent", nexotp::WebhookEvent,
    repr: [id, r#type, created_at],
    fields: {
        id = id: str,
        r#type = kind: str,
        created_at = created_at: opt_num,
        data = data: raw_json,
        order = order: opt_order,
    },
    reduce: |s, py| {
        let _ = (s, py);
        Err(pyo3::exceptions::PyTypeError::new_err(
            "a WebhookEvent cannot be pickled: pickle its .raw dict, or the delivery body",
        ))
    },
    extra: {
        /// The whole decoded body.
        #[getter]
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { raw_to_py(py, &self.inner.raw) }
    }
}

/// What `Client.reconcile(err)` found: `outcome` is `"applied"` (with the `order` or `webhook`
/// the call made), `"not_applied"` (sending it again is safe) or `"ambiguous"` (several
/// candidates, or a resent order that changed in a way that does not tell: decide by hand).
/// `orders` / `webhooks` list every candidate found: the applied one, or the ambiguous ones.
#[pyclass(frozen, module = "nexotp", name = "Reconciliation")]
pub struct PyReconciliation {
    outcome: &'static str,
    order: Option<nexotp::Order>,
    webhook: Option<nexotp::Webhook>,
    orders: Vec<nexotp::Order>,
    webhooks: Vec<nexotp::Webhook>,
}

impl From<nexotp::Reconciled> for PyReconciliation {
    fn from(found: nexotp::Reconciled) -> Self {
        let (outcome, orders, webhooks) = found.into_parts();
        let applied = outcome == nexotp::ReconcileOutcome::Applied;
        PyReconciliation {
            outcome: outcome.as_str(),
            order: orders.first().filter(|_| applied).cloned(),
            webhook: webhooks.first().filter(|_| applied).cloned(),
            orders,
            webhooks,
        }
    }
}

#[pymethods]
impl PyReconciliation {
    /// `"applied"`, `"not_applied"` or `"ambiguous"`.
    #[getter]
    fn outcome(&self) -> &'static str {
        self.outcome
    }

    /// The order the call created (or the resent order), when it was applied.
    #[getter]
    fn order(&self) -> Option<PyOrder> {
        self.order.clone().map(PyOrder::from)
    }

    /// The webhook the call registered, when it was applied. Its secret was in the lost answer
    /// and cannot be read again (`secret` is `None`): delete it and create it anew for one.
    #[getter]
    fn webhook(&self) -> Option<PyWebhook> {
        self.webhook.clone().map(PyWebhook::from)
    }

    /// Every order found that fits.
    #[getter]
    fn orders(&self) -> Vec<PyOrder> {
        self.orders.iter().cloned().map(PyOrder::from).collect()
    }

    /// Every webhook found that fits.
    #[getter]
    fn webhooks(&self) -> Vec<PyWebhook> {
        self.webhooks.iter().cloned().map(PyWebhook::from).collect()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = vec![format!("outcome='{}'", self.outcome)];
        if let Some(order) = &self.order {
            parts.push(format!(
                "order={}",
                PyOrder::from(order.clone()).__repr__(py)?
            ));
        }
        if let Some(webhook) = &self.webhook {
            parts.push(format!(
                "webhook={}",
                PyWebhook::from(webhook.clone()).__repr__(py)?
            ));
        }
        if self.outcome == "ambiguous" {
            let orders: PyResult<Vec<String>> = self
                .orders
                .iter()
                .map(|o| PyOrder::from(o.clone()).__repr__(py))
                .collect();
            let webhooks: PyResult<Vec<String>> = self
                .webhooks
                .iter()
                .map(|w| PyWebhook::from(w.clone()).__repr__(py))
                .collect();
            parts.push(format!("orders=[{}]", orders?.join(", ")));
            parts.push(format!("webhooks=[{}]", webhooks?.join(", ")));
        }
        Ok(format!("Reconciliation({})", parts.join(", ")))
    }
}

fn decode<T: nexotp::FromJson>(raw: &str) -> PyResult<T> {
    T::from_json(raw).map_err(|e| crate::errors::nexotp_error(&format!("cannot unpickle: {e}")))
}

/// Unpickles a model from its class name, the JSON of its `raw`, and (webhooks) the secret.
#[pyfunction]
#[pyo3(signature = (name, raw, secret=None))]
pub fn _rebuild(
    py: Python<'_>,
    name: &str,
    raw: &str,
    secret: Option<String>,
) -> PyResult<Py<PyAny>> {
    macro_rules! build {
        ($t:ty, $py_ty:ident) => {{
            let m: $t = decode(raw)?;
            Py::new(py, $py_ty { inner: m })?.into_any()
        }};
    }
    Ok(match name {
        "Account" => build!(nexotp::Account, PyAccount),
        "Transaction" => build!(nexotp::Transaction, PyTransaction),
        "Country" => build!(nexotp::Country, PyCountry),
        "Service" => build!(nexotp::Service, PyService),
        "Pool" => build!(nexotp::Pool, PyPool),
        "Price" => build!(nexotp::Price, PyPrice),
        "Order" => build!(nexotp::Order, PyOrder),
        "WebhookDeleted" => build!(nexotp::WebhookDeleted, PyWebhookDeleted),
        "Webhook" => {
            let mut m: nexotp::Webhook = decode(raw)?;
            m.secret = secret.map(nexotp::WebhookSecret::new);
            Py::new(py, PyWebhook { inner: m })?.into_any()
        }
        other => {
            return Err(crate::errors::nexotp_error(&format!(
                "cannot unpickle a {other}"
            )));
        }
    })
}

/// Unpickles a `TransactionPage`.
#[pyfunction]
pub fn _rebuild_page(
    py: Python<'_>,
    items: Vec<String>,
    page: u32,
    per_page: u32,
    total: Option<u64>,
    total_pages: Option<u32>,
    has_more: bool,
) -> PyResult<Py<PyTransactionPage>> {
    let mut list = Vec::with_capacity(items.len());
    for raw in &items {
        list.push(decode::<nexotp::Transaction>(raw)?);
    }
    let mut inner = nexotp::TransactionPage::default();
    inner.items = list;
    inner.page = page;
    inner.per_page = per_page;
    inner.total = total;
    inner.total_pages = total_pages;
    inner.has_more = has_more;
    Py::new(py, PyTransactionPage { inner })
}

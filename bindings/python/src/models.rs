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
use serde_json::Value;

use crate::convert::json_to_py;

static ORDER_STATUS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `nexotp.OrderStatus(value)`: a `str` enum that keeps unknown values.
fn status_to_py<'py>(py: Python<'py>, status: &nexotp::OrderStatus) -> PyResult<Bound<'py, PyAny>> {
    let cls = ORDER_STATUS.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("nexotp._enums")?.getattr("OrderStatus")?.unbind())
    })?;
    cls.bind(py).call1((status.as_str(),))
}

/// Converts one field to Python, by kind.
macro_rules! conv {
    (str, $py:expr, $v:expr) => { Ok::<_, PyErr>(PyString::new($py, $v).into_any()) };
    (opt_str, $py:expr, $v:expr) => { Ok::<_, PyErr>($v.as_deref().into_pyobject($py)?.into_any()) };
    (num, $py:expr, $v:expr) => { Ok::<_, PyErr>((*$v).into_pyobject($py)?.to_owned().into_any()) };
    (opt_num, $py:expr, $v:expr) => { Ok::<_, PyErr>((*$v).into_pyobject($py)?.into_any()) };
    (str_list, $py:expr, $v:expr) => { Ok::<_, PyErr>(PyList::new($py, $v.iter().map(String::as_str))?.into_any()) };
    (json, $py:expr, $v:expr) => { json_to_py($py, $v) };
    (status, $py:expr, $v:expr) => { status_to_py($py, $v) };
    (pools, $py:expr, $v:expr) => {{
        let list = PyList::empty($py);
        for p in $v.iter() { list.append(Py::new($py, PyPool { inner: p.clone() })?)?; }
        Ok::<_, PyErr>(list.into_any())
    }};
    (items, $py:expr, $v:expr) => {{
        let list = PyList::empty($py);
        for t in $v.iter() { list.append(Py::new($py, PyTransaction { inner: t.clone() })?)?; }
        Ok::<_, PyErr>(list.into_any())
    }};
    (opt_order, $py:expr, $v:expr) => {{
        match $v { Some(o) => Ok::<_, PyErr>(Py::new($py, PyOrder { inner: o.clone() })?.into_bound($py).into_any()), None => Ok($py.None().into_bound($py)) }
    }};
}

/// The `to_dict()` form of one field: like [`conv!`] but plain data all the way down.
macro_rules! plain {
    (status, $py:expr, $v:expr) => { Ok::<_, PyErr>(PyString::new($py, $v.as_str()).into_any()) };
    (pools, $py:expr, $v:expr) => {{
        let list = PyList::empty($py);
        for p in $v.iter() { list.append(PyPool { inner: p.clone() }.to_dict($py)?)?; }
        Ok::<_, PyErr>(list.into_any())
    }};
    (items, $py:expr, $v:expr) => {{
        let list = PyList::empty($py);
        for t in $v.iter() { list.append(PyTransaction { inner: t.clone() }.to_dict($py)?)?; }
        Ok::<_, PyErr>(list.into_any())
    }};
    (opt_order, $py:expr, $v:expr) => {{
        match $v { Some(o) => Ok::<_, PyErr>(PyOrder { inner: o.clone() }.to_dict($py)?.into_any()), None => Ok($py.None().into_bound($py)) }
    }};
    ($kind:ident, $py:expr, $v:expr) => { conv!($kind, $py, $v) };
}

/// How a model pickles: `(rebuild, (class name, JSON of raw, secret))`.
macro_rules! reduce_raw {
    ($name:literal, $self:ident, $py:ident, $secret:expr) => {{
        let rebuild = $py.import("nexotp._native")?.getattr("_rebuild")?;
        let raw = serde_json::to_string(&$self.inner.raw)
            .map_err(|e| crate::errors::nexotp_error(&format!("cannot pickle: {e}")))?;
        let secret: Option<String> = $secret;
        Ok(PyTuple::new($py, [rebuild, ($name, raw, secret).into_pyobject($py)?.into_any()])?.into_any())
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
                $(
                    let value = plain!($kind_of_repr_unused, py, &()) ;
                    let _ = value;
                )*
                $( parts.push(format!("{}={}", stringify!($repr).trim_start_matches("r#"), self.$repr(py)?.repr()?)); )*
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

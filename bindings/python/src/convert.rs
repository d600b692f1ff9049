//! Python values → Rust arguments, and JSON → Python values.
//!
//! Only *type* conversion lives here: a value of the wrong Python type (`per_page="10"`,
//! `max_price=float("nan")`, `id=None`) becomes `InvalidArgumentError` before any request, with a
//! message naming the argument. Every *rule* (ranges, formats) is the core's: values that
//! convert are handed to it unchanged, and it rejects what breaks a rule.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use nexotp::{Decimal, Operation, OrderStatus, PricingOption, SentCall};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyType};
use serde_json::Value;

use crate::errors::{invalid_argument, to_py};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

fn is_int(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>()
}

/// An id: a `str`, or an `int` (ids arrive as numbers in some payloads).
pub fn id(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if is_int(obj) {
        return Ok(obj.str()?.to_cow()?.into_owned());
    }
    Err(invalid_argument(
        obj.py(),
        name,
        &format!("must be a str (or an int id), got {}", type_name(obj)),
    ))
}

/// A `str`.
pub fn string(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    match obj.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(invalid_argument(
            obj.py(),
            name,
            &format!("must be a str, got {}", type_name(obj)),
        )),
    }
}

/// An optional `str` (`None` allowed).
pub fn opt_string(name: &'static str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => string(name, o).map(Some),
    }
}

/// An optional `bool` (only `True` / `False`).
pub fn opt_bool(name: &'static str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<bool>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    match obj.cast::<PyBool>() {
        Ok(b) => Ok(Some(b.is_true())),
        Err(_) => Err(invalid_argument(
            obj.py(),
            name,
            &format!("must be True or False, got {}", type_name(obj)),
        )),
    }
}

/// CA certificates: a `str` (PEM text, or a file path: the core tells them apart), an
/// `os.PathLike` (a file), or PEM `bytes`.
pub fn opt_certificates(
    obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<nexotp::CertificateSource>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(nexotp::CertificateSource::from(s.to_cow()?.as_ref())));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Some(nexotp::CertificateSource::Pem(b.as_bytes().to_vec())));
    }
    let refused = || {
        invalid_argument(
            py,
            "ca_certificates",
            &format!(
                "must be PEM text or a file path (str, os.PathLike) or PEM bytes, got {}",
                type_name(obj)
            ),
        )
    };
    let path = py
        .import("os")?
        .call_method1("fspath", (obj,))
        .map_err(|_| refused())?;
    match path.cast::<PyString>() {
        Ok(s) => Ok(Some(nexotp::CertificateSource::File(
            s.to_cow()?.into_owned().into(),
        ))),
        Err(_) => Err(refused()),
    }
}

/// A whole number that fits `u32` (the core checks the allowed range).
pub fn u32_arg(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<u32> {
    if !is_int(obj) {
        return Err(invalid_argument(
            obj.py(),
            name,
            &format!("must be an int, got {}", type_name(obj)),
        ));
    }
    let value: i128 = obj.extract().unwrap_or(i128::MAX);
    u32::try_from(value).map_err(|_| {
        invalid_argument(
            obj.py(),
            name,
            &format!("must be a non-negative int below 2**32, got {value}"),
        )
    })
}

/// Seconds as an `int` or `float`. The range rules (finite, not negative, at most a year) are
/// the core's `args::duration_from_secs`; "must be positive" is checked where it applies.
pub fn seconds(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let py = obj.py();
    if !(is_int(obj) || obj.is_instance_of::<PyFloat>()) {
        return Err(invalid_argument(
            py,
            name,
            &format!(
                "must be a number of seconds (int or float), got {}",
                type_name(obj)
            ),
        ));
    }
    // A huge int becomes inf here, which the core refuses like any other out-of-range value.
    let value: f64 = obj.extract().unwrap_or(f64::INFINITY);
    nexotp::args::duration_from_secs(name, value).map_err(|e| to_py(py, e))
}

/// Optional seconds: `None` (or Python `None`) leaves the core's default.
pub fn opt_seconds(
    name: &'static str,
    obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Duration>> {
    obj.filter(|o| !o.is_none())
        .map(|o| seconds(name, o))
        .transpose()
}

/// Client-side limits: the core's text form (`"POLL=20/s,burst=1; ORDER=5"`), or a mapping of
/// bucket name to a rate (requests per second) or a `(rate, burst)` pair, written in that form
/// for the core to parse.
pub fn opt_rate_limits(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if obj.is_instance_of::<PyString>() {
        return string("rate_limits", obj).map(Some);
    }
    let bad = || {
        invalid_argument(
            obj.py(),
            "rate_limits",
            "must be a str like \"POLL=20/s,burst=1\" or a dict like {\"POLL\": 20, \"ORDER\": (5, 1)}",
        )
    };
    let items = obj.call_method0("items").map_err(|_| bad())?;
    let mut entries = Vec::new();
    for item in items.try_iter()? {
        let (bucket, value): (String, Bound<'_, PyAny>) = item?.extract().map_err(|_| bad())?;
        let rate = |v: &Bound<'_, PyAny>| -> PyResult<f64> {
            if v.is_instance_of::<PyBool>() {
                return Err(bad());
            }
            v.extract::<f64>().map_err(|_| bad())
        };
        let entry = match value.extract::<(Bound<'_, PyAny>, u32)>() {
            Ok((per_second, burst)) => format!("{bucket}={},burst={burst}", rate(&per_second)?),
            Err(_) => format!("{bucket}={}", rate(&value)?),
        };
        entries.push(entry);
    }
    Ok(Some(entries.join(";")))
}

/// An optional whole number (`None` leaves the core's default).
pub fn opt_u32(name: &'static str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u32>> {
    obj.filter(|o| !o.is_none())
        .map(|o| u32_arg(name, o))
        .transpose()
}

/// Money: `decimal.Decimal`, `int`, a decimal `str`, or a finite `float` (taken as
/// `Decimal(str(value))`, i.e. its shortest repr: `0.1` is exactly 0.1, a documented choice).
/// The text is parsed by the core (`args::parse_decimal`), which refuses NaN and infinities;
/// the sign rule is the core's too.
pub fn decimal(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Decimal> {
    let py = obj.py();
    let decimal_type = DECIMAL.import(py, "decimal", "Decimal")?;
    let text: String = if obj.is_instance_of::<PyBool>() {
        return Err(invalid_argument(
            py,
            name,
            "must be a decimal amount, got bool",
        ));
    } else if let Ok(s) = obj.cast::<PyString>() {
        s.to_cow()?.into_owned()
    } else if is_int(obj) || obj.is_instance_of::<PyFloat>() || obj.is_instance(decimal_type)? {
        obj.str()?.to_cow()?.into_owned()
    } else {
        return Err(invalid_argument(
            py,
            name,
            &format!(
                "must be a decimal.Decimal, int, str or float amount, got {}",
                type_name(obj)
            ),
        ));
    };
    nexotp::args::parse_decimal(name, &text).map_err(|e| to_py(py, e))
}

/// `"cheapest"` / `"best_rate"` or the wire values 0 / 1 (parsed by the core).
pub fn pricing_option(obj: &Bound<'_, PyAny>) -> PyResult<Option<PricingOption>> {
    let py = obj.py();
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return PricingOption::from_str(&s.to_cow()?)
            .map(Some)
            .map_err(|e| crate::errors::to_py(py, e));
    }
    if is_int(obj) {
        let v: i64 = obj.extract().unwrap_or(i64::MAX);
        return PricingOption::from_wire(v)
            .map(Some)
            .map_err(|e| crate::errors::to_py(py, e));
    }
    Err(invalid_argument(
        py,
        "pricing_option",
        &format!(
            "must be \"cheapest\", \"best_rate\", 0 or 1, got {}",
            type_name(obj)
        ),
    ))
}

/// Strings from any iterable (`list`, `tuple`, `set`, generator...), but not from a `str` or
/// `bytes` (whose items are characters, never what the caller meant). `expected` says what the
/// argument must be when it is not iterable.
pub fn str_list(
    name: &'static str,
    obj: &Bound<'_, PyAny>,
    expected: &str,
) -> PyResult<Vec<String>> {
    let refuse = || {
        invalid_argument(
            obj.py(),
            name,
            &format!("must be {expected}, got {}", type_name(obj)),
        )
    };
    if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
    {
        return Err(refuse());
    }
    let iter = obj.try_iter().map_err(|_| refuse())?;
    let mut out = Vec::new();
    for item in iter {
        out.push(string(name, &item?)?);
    }
    Ok(out)
}

/// Event names: one comma-separated `str`, or any iterable of `str` (a `list`, `tuple`, `set`).
/// The one conversion both clients use; the core checks the names.
pub fn events(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(nexotp::split_events(&s.to_cow()?));
    }
    str_list(
        "events",
        obj,
        "a list (or set) of event names or a comma-separated str",
    )
}

/// A `bool`.
pub fn boolean(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    match obj.cast::<PyBool>() {
        Ok(b) => Ok(b.is_true()),
        Err(_) => Err(invalid_argument(
            obj.py(),
            name,
            &format!("must be a bool, got {}", type_name(obj)),
        )),
    }
}

/// An attribute of `obj`, `None` when it is missing or `None`.
fn attr<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    match obj.getattr(name) {
        Ok(value) if value.is_none() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyAttributeError>(obj.py()) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Unix seconds (an int or float attribute) as a time; the rules are the core's.
fn unix_time(
    name: &'static str,
    obj: Option<Bound<'_, PyAny>>,
    py: Python<'_>,
) -> PyResult<SystemTime> {
    let refuse = |got: &str| {
        invalid_argument(
            py,
            name,
            &format!("must be a time in unix seconds (int or float), got {got}"),
        )
    };
    let Some(obj) = obj else {
        return Err(refuse("None"));
    };
    if !(is_int(&obj) || obj.is_instance_of::<PyFloat>()) {
        return Err(refuse(&type_name(&obj)));
    }
    let seconds: f64 = obj.extract().unwrap_or(f64::NAN);
    nexotp::args::time_from_unix_secs(name, seconds).map_err(|e| to_py(py, e))
}

/// The core's `SentCall` back from an `OrderOutcomeUnknownError` (its attributes are exactly
/// the `SentCall`'s fields, see `errors.rs`), for `reconcile(err)`. Anything else is an
/// `InvalidArgumentError` naming `err`, before any request.
pub fn sent_call(err: &Bound<'_, PyAny>) -> PyResult<SentCall> {
    let py = err.py();
    let class = crate::errors::class(py, "OrderOutcomeUnknownError")?;
    if !err.is_instance(&class)? {
        return Err(invalid_argument(
            py,
            "err",
            &format!(
                "must be the OrderOutcomeUnknownError to reconcile, got {}",
                type_name(err)
            ),
        ));
    }
    let operation = match attr(err, "operation")? {
        Some(op) => string("err.operation", &op)?,
        None => String::new(),
    };
    let operation = Operation::from_str(&operation).map_err(|e| to_py(py, e))?;
    let mut call = SentCall::from_parts(
        operation,
        unix_time("err.sent_at", attr(err, "sent_at")?, py)?,
        unix_time("err.failed_at", attr(err, "failed_at")?, py)?,
    );
    call.service = opt_string("err.service", attr(err, "service")?.as_ref())?;
    call.country = opt_string("err.country", attr(err, "country")?.as_ref())?;
    call.pool = opt_string("err.pool", attr(err, "pool")?.as_ref())?;
    call.max_price = attr(err, "max_price")?
        .map(|m| decimal("err.max_price", &m))
        .transpose()?;
    call.order_id = opt_string("err.order_id", attr(err, "order_id")?.as_ref())?;
    if let Some(codes) = attr(err, "codes_before")? {
        call.codes_before = str_list("err.codes_before", &codes, "a list of codes")?;
    }
    call.status_before = opt_string("err.status_before", attr(err, "status_before")?.as_ref())?
        .map(|s| OrderStatus::from(s.as_str()));
    call.endpoint_url = opt_string("err.endpoint_url", attr(err, "endpoint_url")?.as_ref())?;
    if let Some(events) = attr(err, "events")? {
        call.events = str_list("err.events", &events, "a list of event names")?;
    }
    Ok(call)
}

/// A JSON value as Python: objects → `dict`, arrays → `list`, integers → `int`, other numbers →
/// `decimal.Decimal` (exact), strings, booleans, `None`.
/// A model's `raw` JSON text as Python objects, made when the attribute is read: Python's own
/// `json.loads` with `parse_float=Decimal`, so non-integer numbers stay exact and the keys keep
/// the server's order.
pub fn raw_to_py<'py>(py: Python<'py>, raw: &nexotp::RawJson) -> PyResult<Bound<'py, PyAny>> {
    let loads = JSON_LOADS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("json")?.getattr("loads")?.unbind())
    })?;
    let decimal = DECIMAL.import(py, "decimal", "Decimal")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("parse_float", decimal)?;
    loads.bind(py).call((raw.get(),), Some(&kwargs))
}

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

pub fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                let text = n.to_string();
                if text.contains(['.', 'e', 'E']) {
                    DECIMAL.import(py, "decimal", "Decimal")?.call1((text,))?
                } else {
                    py.get_type::<PyInt>().call1((text,))?
                }
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

//! One conversion of each API method's arguments, shared by the sync `Client` and the async
//! `AsyncCore`: each function checks and converts its Python arguments and returns the call
//! as a [`Job`], which `Core::run` blocks on and `Core::start` hands to the asyncio bridge.
//! Only the `#[pymethods]` signatures are written twice (pyo3 needs one per class).

use std::future::Future;

use futures_util::future::BoxFuture;
use nexotp::{OrderRequest, WaitOptions};
use pyo3::prelude::*;

use crate::convert;

/// One API call with its arguments converted, waiting for a client to run on.
pub type Job<T> = Box<dyn FnOnce(nexotp::Client) -> BoxFuture<'static, nexotp::Result<T>> + Send>;

fn job<T, F, Fut>(f: F) -> Job<T>
where
    F: FnOnce(nexotp::Client) -> Fut + Send + 'static,
    Fut: Future<Output = nexotp::Result<T>> + Send + 'static,
{
    Box::new(move |c| Box::pin(f(c)))
}

/// `GET /account`.
pub fn account() -> PyResult<Job<nexotp::Account>> {
    Ok(job(move |c| async move { c.account().await }))
}

/// `GET /account/transactions`: one page (default the first, 20 per page).
pub fn transactions(
    page: Option<&Bound<'_, PyAny>>,
    per_page: Option<&Bound<'_, PyAny>>,
) -> PyResult<Job<nexotp::TransactionPage>> {
    let (page, per_page) = page_args(page, per_page)?;
    Ok(job(
        move |c| async move { c.transactions(page, per_page).await },
    ))
}

/// `GET /countries`.
pub fn countries() -> PyResult<Job<Vec<nexotp::Country>>> {
    Ok(job(move |c| async move { c.countries().await }))
}

/// `GET /services?country=`.
pub fn services(country: &Bound<'_, PyAny>) -> PyResult<Job<Vec<nexotp::Service>>> {
    let country = convert::string("country", country)?;
    Ok(job(move |c| async move { c.services(&country).await }))
}

/// `GET /price?service=&country=`.
pub fn price(
    service: &Bound<'_, PyAny>,
    country: &Bound<'_, PyAny>,
) -> PyResult<Job<nexotp::Price>> {
    let service = convert::string("service", service)?;
    let country = convert::string("country", country)?;
    Ok(job(
        move |c| async move { c.price(&service, &country).await },
    ))
}

/// `POST /order`. Never sent twice: a failure after sending raises
/// `OrderOutcomeUnknownError`. Without `pricing_option` none is sent (the server's choice,
/// the cheapest pool).
pub fn create_order(
    service: &Bound<'_, PyAny>,
    country: &Bound<'_, PyAny>,
    pool: Option<&Bound<'_, PyAny>>,
    pricing_option: Option<&Bound<'_, PyAny>>,
    max_price: Option<&Bound<'_, PyAny>>,
) -> PyResult<Job<nexotp::Order>> {
    let request = order_request(service, country, pool, pricing_option, max_price)?;
    Ok(job(move |c| async move { c.create_order(&request).await }))
}

/// `GET /order/{id}`.
pub fn get_order(id: &Bound<'_, PyAny>) -> PyResult<Job<nexotp::Order>> {
    let id = convert::id("id", id)?;
    Ok(job(move |c| async move { c.order(&id).await }))
}

/// `POST /order/{id}/cancel`.
pub fn cancel_order(id: &Bound<'_, PyAny>) -> PyResult<Job<nexotp::Order>> {
    let id = convert::id("id", id)?;
    Ok(job(move |c| async move { c.cancel_order(&id).await }))
}

/// `POST /order/{id}/resend`.
pub fn resend_order(id: &Bound<'_, PyAny>) -> PyResult<Job<nexotp::Order>> {
    let id = convert::id("id", id)?;
    Ok(job(move |c| async move { c.resend_order(&id).await }))
}

/// Polls the order until a new code arrives (returns the order), it closes
/// (`OrderClosedError`) or `timeout` seconds pass (`WaitTimeoutError`). Codes in
/// `exclude_codes` do not count. `None` options take the core's defaults (timeout 300 s,
/// poll every 3 s, no cancel). `request_timeout` and `max_retries` apply to each poll.
pub fn wait_for_code(
    id: &Bound<'_, PyAny>,
    timeout: Option<&Bound<'_, PyAny>>,
    poll_interval: Option<&Bound<'_, PyAny>>,
    cancel_on_timeout: Option<&Bound<'_, PyAny>>,
    exclude_codes: Option<&Bound<'_, PyAny>>,
) -> PyResult<Job<nexotp::Order>> {
    let id = convert::id("id", id)?;
    let options = wait_options(timeout, poll_interval, cancel_on_timeout, exclude_codes)?;
    Ok(job(
        move |c| async move { c.wait_for_code(&id, options).await },
    ))
}

/// `GET /webhooks`.
pub fn webhooks() -> PyResult<Job<Vec<nexotp::Webhook>>> {
    Ok(job(move |c| async move { c.webhooks().await }))
}

/// `POST /webhooks`. The returned webhook's `secret` is shown this once.
pub fn create_webhook(
    endpoint_url: &Bound<'_, PyAny>,
    events: &Bound<'_, PyAny>,
) -> PyResult<Job<nexotp::Webhook>> {
    let url = convert::string("endpoint_url", endpoint_url)?;
    let events = convert::events(events)?;
    Ok(job(move |c| async move {
        c.create_webhook(&url, &events).await
    }))
}

/// `DELETE /webhooks/{id}`.
pub fn delete_webhook(id: &Bound<'_, PyAny>) -> PyResult<Job<nexotp::WebhookDeleted>> {
    let id = convert::id("id", id)?;
    Ok(job(move |c| async move { c.delete_webhook(&id).await }))
}

/// Finds out whether the call behind an `OrderOutcomeUnknownError` took effect (the core's
/// `reconcile`): a `Reconciliation`.
pub fn reconcile(err: &Bound<'_, PyAny>) -> PyResult<Job<nexotp::Reconciled>> {
    let call = convert::sent_call(err)?;
    Ok(job(move |c| async move { c.reconcile(&call).await }))
}

/// The arguments of `create_order`, converted.
fn order_request(
    service: &Bound<'_, PyAny>,
    country: &Bound<'_, PyAny>,
    pool: Option<&Bound<'_, PyAny>>,
    pricing_option: Option<&Bound<'_, PyAny>>,
    max_price: Option<&Bound<'_, PyAny>>,
) -> PyResult<OrderRequest> {
    let mut request = OrderRequest::new(
        convert::string("service", service)?,
        convert::string("country", country)?,
    );
    if let Some(pool) = convert::opt_string("pool", pool)? {
        request = request.pool(pool);
    }
    // `None` is the core's default: nothing sent, the server picks (as from Rust and Node).
    if let Some(option) = pricing_option
        .map(convert::pricing_option)
        .transpose()?
        .flatten()
    {
        request = request.pricing_option(option);
    }
    if let Some(max) = max_price.filter(|m| !m.is_none()) {
        request = request.max_price(convert::decimal("max_price", max)?);
    }
    Ok(request)
}

/// `wait_for_code`'s options: `None` keeps the core's default (`WaitOptions::default()`).
pub(crate) fn wait_options(
    timeout: Option<&Bound<'_, PyAny>>,
    poll_interval: Option<&Bound<'_, PyAny>>,
    cancel_on_timeout: Option<&Bound<'_, PyAny>>,
    exclude_codes: Option<&Bound<'_, PyAny>>,
) -> PyResult<WaitOptions> {
    let mut options = WaitOptions::default();
    if let Some(timeout) = convert::opt_seconds("timeout", timeout)? {
        options = options.timeout(timeout);
    }
    if let Some(interval) = convert::opt_seconds("poll_interval", poll_interval)? {
        options = options.poll_interval(interval);
    }
    if let Some(cancel) = cancel_on_timeout.filter(|c| !c.is_none()) {
        options = options.cancel_on_timeout(convert::boolean("cancel_on_timeout", cancel)?);
    }
    if let Some(codes) = exclude_codes.filter(|c| !c.is_none()) {
        options = options.exclude_codes(convert::str_list(
            "exclude_codes",
            codes,
            "a list of codes",
        )?);
    }
    Ok(options)
}

/// `page` (default: the first) and `per_page` (default: the core's `DEFAULT_PAGE_SIZE`).
fn page_args(
    page: Option<&Bound<'_, PyAny>>,
    per_page: Option<&Bound<'_, PyAny>>,
) -> PyResult<(u32, u32)> {
    Ok(nexotp::args::page_or_default(
        convert::opt_u32("page", page)?,
        convert::opt_u32("per_page", per_page)?,
    ))
}

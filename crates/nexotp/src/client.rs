//! The [`Client`]: one method per endpoint, each validating before any I/O.
//!
//! A client is one `Arc`: cloning it is cheap, it is `Send + Sync`, and clones share one
//! connection pool and one set of rate buckets. It never creates a runtime; the caller's (or a
//! binding's) tokio runtime drives it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Map, Number, Value};

use crate::buckets::{Bucket, RateLimitStore};
use crate::config::{ClientBuilder, ClientConfig, RequestOptions};
use crate::envelope::Payload;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::models::{
    self, Account, Country, Model, Order, OrderRequest, OrderStatus, Price, Service,
    TransactionPage, Webhook, WebhookDeleted,
};
use crate::observe::RequestObserver;
use crate::transport::{Call, OutcomeContext, Resend, Transport};
use crate::validate;

/// A NexOTP API client. See the [crate docs](crate) for an example.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ClientConfig,
    shared: Arc<Shared>,
}

/// What clones and [`Client::with_options`] siblings share.
#[derive(Debug)]
struct Shared {
    transport: Transport,
    /// Codes each order had when this client resent it: a wait after a resend skips them.
    resent_codes: Mutex<HashMap<String, HashSet<String>>>,
}

impl Client {
    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `NEXOTP_API_KEY` and `NEXOTP_BASE_URL`.
    pub fn from_env() -> Result<Client> {
        ClientBuilder::new().build()
    }

    pub(crate) fn from_parts(
        config: ClientConfig,
        store: Arc<dyn RateLimitStore>,
        observers: Vec<Arc<dyn RequestObserver>>,
    ) -> Result<Client> {
        let http = crate::transport::http_client(&config)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                shared: Arc::new(Shared {
                    transport: Transport {
                        http,
                        store,
                        observers,
                    },
                    resent_codes: Mutex::new(HashMap::new()),
                }),
            }),
        })
    }

    /// The settings this client runs with (the key is redacted in `Debug`).
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A client with another timeout or retry count that shares this one's connection pool and
    /// rate buckets.
    pub fn with_options(&self, options: RequestOptions) -> Result<Client> {
        let mut config = self.inner.config.clone();
        if let Some(timeout) = options.timeout {
            validate::positive_duration("timeout", timeout)?;
            config.timeout = timeout;
        }
        if let Some(retries) = options.max_retries {
            config.max_retries = retries;
        }
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                shared: Arc::clone(&self.inner.shared),
            }),
        })
    }

    async fn send(&self, call: Call) -> Result<Payload> {
        self.inner
            .shared
            .transport
            .execute(&self.inner.config, call)
            .await
    }

    async fn send_tracked(&self, call: Call, maybe_applied: &mut bool) -> Result<Payload> {
        self.inner
            .shared
            .transport
            .execute_tracked(&self.inner.config, call, maybe_applied)
            .await
    }

    async fn get<T: Model>(&self, path: String, bucket: Bucket) -> Result<T> {
        let payload = self.send(get(path, bucket)).await?;
        decode(payload.data)
    }

    async fn get_list<T: Model>(&self, path: String) -> Result<Vec<T>> {
        let payload = self.send(get(path, Bucket::General)).await?;
        models::decode_list(payload.data).map_err(|e| unexpected(&e))
    }

    /// `GET /account`: balance, plan and usage.
    pub async fn account(&self) -> Result<Account> {
        self.get("account".into(), Bucket::General).await
    }

    /// `GET /account/transactions`: one page (`page` from 1, `per_page` 1..=100).
    pub async fn transactions(&self, page: u32, per_page: u32) -> Result<TransactionPage> {
        validate::page(page)?;
        validate::per_page(per_page)?;
        let path = format!("account/transactions?page={page}&per_page={per_page}");
        let payload = self.send(get(path, Bucket::General)).await?;
        crate::pagination::decode_page(payload, page, per_page)
    }

    /// `GET /countries`.
    pub async fn countries(&self) -> Result<Vec<Country>> {
        self.get_list("countries".into()).await
    }

    /// `GET /services?country=`.
    pub async fn services(&self, country: &str) -> Result<Vec<Service>> {
        validate::token("country", country)?;
        let path = format!("services?country={}", validate::query_value(country));
        self.get_list(path).await
    }

    /// `GET /price?service=&country=`.
    pub async fn price(&self, service: &str, country: &str) -> Result<Price> {
        validate::token("service", service)?;
        validate::token("country", country)?;
        let path = format!(
            "price?service={}&country={}",
            validate::query_value(service),
            validate::query_value(country)
        );
        self.get(path, Bucket::General).await
    }

    /// `POST /order`. Never sent twice: a failure after sending is
    /// [`Error::OrderOutcomeUnknown`].
    pub async fn create_order(&self, request: &OrderRequest) -> Result<Order> {
        validate::token("service", &request.service)?;
        validate::token("country", &request.country)?;
        let mut body = Map::new();
        body.insert("service".into(), Value::String(request.service.clone()));
        body.insert("country".into(), Value::String(request.country.clone()));
        if let Some(pool) = &request.pool {
            validate::token("pool", pool)?;
            body.insert("pool".into(), Value::String(pool.clone()));
        }
        if let Some(option) = request.pricing_option {
            body.insert("pricing_option".into(), Value::from(option.wire()));
        }
        if let Some(max) = request.max_price {
            validate::max_price(max)?;
            // Written from the exact digits: `0.10` goes out as the JSON number 0.10.
            let number: Number = max
                .to_string()
                .parse()
                .map_err(|_| Error::invalid("max_price", "cannot be written as a JSON number"))?;
            body.insert("max_price".into(), Value::Number(number));
        }
        let context = OutcomeContext {
            operation: Operation::CreateOrder,
            service: Some(request.service.clone()),
            country: Some(request.country.clone()),
            order_id: None,
        };
        let call = Call {
            method: Method::POST,
            path: "order".into(),
            body: Some(Value::Object(body)),
            bucket: Bucket::Order,
            resend: Resend::OnlyIfNotSent(Some(context.clone())),
        };
        let sent_at = std::time::SystemTime::now();
        decode_applied(self.send(call).await?.data, &context, sent_at)
    }

    /// `GET /order/{id}` (POLL bucket).
    pub async fn order(&self, id: &str) -> Result<Order> {
        let segment = validate::path_segment("id", id)?;
        self.get(format!("order/{segment}"), Bucket::Poll).await
    }

    /// `POST /order/{id}/cancel`: cancels a pending order and refunds it. Safe to retry: when
    /// the answer to an attempt was lost and the retry finds the order already cancelled, the
    /// cancelled order is returned (without `refund`, which only the lost answer carried).
    pub async fn cancel_order(&self, id: &str) -> Result<Order> {
        let segment = validate::path_segment("id", id)?;
        let call = post_empty(format!("order/{segment}/cancel"), Resend::Always);
        let mut maybe_applied = false;
        let order: Order = match self.send_tracked(call, &mut maybe_applied).await {
            Ok(payload) => decode(payload.data)?,
            Err(e) if maybe_applied && e.code() == Some("order_not_cancellable") => {
                // Our own earlier attempt may have cancelled it: look before reporting a conflict.
                match self.order(id).await {
                    Ok(order) if order.status == OrderStatus::Cancelled => order,
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        self.forget_codes(id);
        Ok(order)
    }

    /// `POST /order/{id}/resend`: asks for another code on the same number. A later
    /// [`Client::wait_for_code`] returns only a code this order did not have yet.
    pub async fn resend_order(&self, id: &str) -> Result<Order> {
        let segment = validate::path_segment("id", id)?;
        let context = OutcomeContext {
            operation: Operation::ResendOrder,
            service: None,
            country: None,
            order_id: Some(id.to_owned()),
        };
        let call = post_empty(
            format!("order/{segment}/resend"),
            Resend::OnlyIfNotSent(Some(context.clone())),
        );
        let sent_at = std::time::SystemTime::now();
        let order: Order = decode_applied(self.send(call).await?.data, &context, sent_at)?;
        let seen: HashSet<String> = order.all_codes().into_iter().map(str::to_owned).collect();
        if !seen.is_empty() {
            crate::lock(&self.inner.shared.resent_codes)
                .entry(id.to_owned())
                .or_default()
                .extend(seen);
        }
        Ok(order)
    }

    /// Codes to skip for `id` because they came before a resend by this client.
    pub(crate) fn resent_codes(&self, id: &str) -> HashSet<String> {
        crate::lock(&self.inner.shared.resent_codes)
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn forget_codes(&self, id: &str) {
        crate::lock(&self.inner.shared.resent_codes).remove(id);
    }

    /// `GET /webhooks`.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        self.get_list("webhooks".into()).await
    }

    /// `POST /webhooks`: registers `endpoint_url` (https; http only for loopback) for `events`.
    /// The answer carries the signing secret, returned this once. Not re-sent after it may have
    /// reached the server (that would register the endpoint twice).
    pub async fn create_webhook<S: AsRef<str>>(
        &self,
        endpoint_url: &str,
        events: &[S],
    ) -> Result<Webhook> {
        validate::webhook_url(endpoint_url)?;
        let events: Vec<String> = events.iter().map(|e| e.as_ref().to_owned()).collect();
        validate::events(&events)?;
        let mut body = Map::new();
        body.insert(
            "endpoint_url".into(),
            Value::String(endpoint_url.to_owned()),
        );
        body.insert(
            "events".into(),
            Value::Array(events.into_iter().map(Value::String).collect()),
        );
        let call = Call {
            method: Method::POST,
            path: "webhooks".into(),
            body: Some(Value::Object(body)),
            bucket: Bucket::General,
            resend: Resend::OnlyIfNotSent(None),
        };
        decode(self.send(call).await?.data)
    }

    /// `DELETE /webhooks/{id}`. Safe to retry: when the answer to an attempt was lost and the
    /// retry finds no such webhook, the delete is reported as done (`raw` is then built here).
    pub async fn delete_webhook(&self, id: &str) -> Result<WebhookDeleted> {
        let segment = validate::path_segment("id", id)?;
        let call = Call {
            method: Method::DELETE,
            path: format!("webhooks/{segment}"),
            body: None,
            bucket: Bucket::General,
            resend: Resend::Always,
        };
        let mut maybe_applied = false;
        match self.send_tracked(call, &mut maybe_applied).await {
            Ok(payload) => decode(payload.data),
            Err(e) if maybe_applied && e.kind() == ErrorKind::NotFound => Ok(WebhookDeleted {
                id: Some(id.to_owned()),
                deleted: true,
                raw: serde_json::json!({"id": id, "deleted": true}),
            }),
            Err(e) => Err(e),
        }
    }
}

fn get(path: String, bucket: Bucket) -> Call {
    Call {
        method: Method::GET,
        path,
        body: None,
        bucket,
        resend: Resend::Always,
    }
}

/// Cancel and resend: `{}` with a JSON content type, as WordPress requires to read it.
fn post_empty(path: String, resend: Resend) -> Call {
    Call {
        method: Method::POST,
        path,
        body: Some(Value::Object(Map::new())),
        bucket: Bucket::Order,
        resend,
    }
}

pub(crate) fn unexpected(message: &str) -> Error {
    Error::UnexpectedResponse {
        status: 200,
        message: format!("the payload does not match the contract: {message}"),
        snippet: String::new(),
        request_id: None,
    }
}

fn decode<T: Model>(data: Value) -> Result<T> {
    models::decode(data).map_err(|e| unexpected(&e))
}

/// Decodes the answer to a call the server applied (create order, resend): a payload that
/// does not decode still means the order exists, so the caller gets what it needs to
/// reconcile rather than a bare decoding error.
fn decode_applied<T: Model>(
    data: Value,
    context: &OutcomeContext,
    sent_at: std::time::SystemTime,
) -> Result<T> {
    models::decode(data).map_err(|e| {
        let error = unexpected(&e);
        crate::transport::outcome_unknown(
            context,
            sent_at,
            None,
            format!("the server accepted it but the answer could not be read ({error})"),
            Some(Box::new(error)),
        )
    })
}

//! The [`Client`]: one method per endpoint, each validating before any I/O.
//!
//! A client is one `Arc`: cloning it is cheap, it is `Send + Sync`, and clones share one
//! connection pool and one set of rate buckets. It never creates a runtime; the caller's (or a
//! binding's) tokio runtime drives it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::value::RawValue;

use crate::buckets::{Bucket, RateLimitStore};
use crate::config::{ClientBuilder, ClientConfig, RequestOptions};
use crate::envelope::Payload;
use crate::error::{Error, ErrorKind, Operation, OrderOutcomeUnknown, Result, SentCall};
use crate::memory::BoundedMap;
use crate::models::{
    self, Account, Country, Model, Order, OrderRequest, OrderStatus, Price, PricingOption, Service,
    TransactionPage, Webhook, WebhookDeleted,
};
use crate::observe::RequestObserver;
use crate::transport::{Call, Sent, Transport};
use crate::validate;

/// How long the client remembers an order's codes from before a resend, waiting for the
/// `wait_for_code` that follows (an order lives 20 minutes on the sandbox).
const RESEND_MEMORY_TTL: Duration = Duration::from_secs(3600);
/// How long the client remembers the orders and webhooks it handed out, so reconcile never
/// names one of them as the result of a call whose outcome is unknown.
const CLAIM_TTL: Duration = Duration::from_secs(3600);
/// Most entries in each of those memories.
const MEMORY_CAPACITY: usize = 10_000;

/// A NexOTP API client. See the [crate docs](crate) for an example.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Shared by [`Client::with_abort`] siblings (one per aborted call in the bindings): a
    /// config holds strings and CA certificates that a call should not copy.
    config: Arc<ClientConfig>,
    shared: Arc<Shared>,
    /// Aborts this sibling's calls ([`Client::with_abort`]).
    abort: Option<crate::AbortSignal>,
}

/// What clones and [`Client::with_options`] siblings share.
#[derive(Debug)]
pub(crate) struct Shared {
    transport: Transport,
    /// Each resent order's codes (and status) from just before the resend was sent: a wait
    /// after it skips them.
    pub(crate) codes_before_resend: BoundedMap<String, (Vec<String>, OrderStatus)>,
    /// Orders and webhooks this client returned to its caller.
    pub(crate) claimed: BoundedMap<String, ()>,
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
        reqwest_builder: Option<reqwest::ClientBuilder>,
    ) -> Result<Client> {
        let transport = Transport::new(&config, store, observers, reqwest_builder)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                abort: None,
                shared: Arc::new(Shared {
                    transport,
                    codes_before_resend: BoundedMap::new(RESEND_MEMORY_TTL, MEMORY_CAPACITY),
                    claimed: BoundedMap::new(CLAIM_TTL, MEMORY_CAPACITY),
                }),
            }),
        })
    }

    /// The settings this client runs with (the key is redacted in `Debug`).
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// A client with another timeout, retry count or deadline that shares this one's connection
    /// pool, rate buckets and memories. This is how one call gets its own options:
    /// `client.with_options(RequestOptions::new().deadline(d))?.create_order(..)`.
    pub fn with_options(&self, options: RequestOptions) -> Result<Client> {
        let mut config = ClientConfig::clone(&self.inner.config);
        if let Some(timeout) = options.timeout {
            validate::positive_duration("timeout", timeout)?;
            config.timeout = timeout;
        }
        if let Some(retries) = options.max_retries {
            config.max_retries = retries;
        }
        if let Some(deadline) = options.deadline {
            validate::positive_duration("deadline", deadline)?;
            config.deadline = Some(deadline);
        }
        Ok(Client {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                shared: Arc::clone(&self.inner.shared),
                abort: self.inner.abort.clone(),
            }),
        })
    }

    /// A client whose calls `signal` aborts, sharing this one's pool, rate buckets, memories
    /// and options. An abort ends a call at once wherever it is (a paused bucket, a backoff,
    /// the connection queue, an attempt in flight, a wait between polls) and nothing more is
    /// sent. The call fails with [`Error::Aborted`], except a create order, resend or create
    /// webhook whose request was already sent: that is [`Error::OrderOutcomeUnknown`] (it may
    /// have taken effect), which [`Client::reconcile`] resolves.
    pub fn with_abort(&self, signal: crate::AbortSignal) -> Client {
        Client {
            inner: Arc::new(Inner {
                config: Arc::clone(&self.inner.config),
                shared: Arc::clone(&self.inner.shared),
                abort: Some(signal),
            }),
        }
    }

    /// The instant this client's deadline (if any) ends for a call starting now.
    fn deadline(&self) -> Option<Instant> {
        self.inner
            .config
            .deadline
            .and_then(|d| Instant::now().checked_add(d))
    }

    /// Sends `call` within the client's deadline.
    async fn send(&self, call: Call) -> Result<Payload> {
        self.send_within(call, self.deadline()).await.result
    }

    /// Sends `call` within `deadline`, the earlier of it and the client's own.
    pub(crate) async fn send_within(&self, mut call: Call, deadline: Option<Instant>) -> Sent {
        let deadline = match (deadline, self.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(signal) = &self.inner.abort else {
            return self
                .inner
                .shared
                .transport
                .execute(&self.inner.config, call, deadline)
                .await;
        };
        if signal.is_aborted() {
            let once = (!call.idempotent).then(|| call.sent.clone()).flatten();
            return Sent {
                result: Err(aborted(&call.path, once, false)),
                resent_after_landing: false,
            };
        }
        let flag = crate::abort::SentFlag::default();
        call.on_send = Some(flag.clone());
        let once = (!call.idempotent).then(|| call.sent.clone()).flatten();
        let path = call.path.clone();
        let execute = self
            .inner
            .shared
            .transport
            .execute(&self.inner.config, call, deadline);
        let result = tokio::select! {
            biased;
            sent = execute => return sent,
            () = signal.aborted() => aborted(&path, once, flag.is_set()),
        };
        Sent {
            result: Err(result),
            resent_after_landing: false,
        }
    }

    async fn get<T: Model>(&self, path: String, bucket: Bucket) -> Result<T> {
        let payload = self.send(get(path, bucket)).await?;
        decode(payload.data())
    }

    async fn get_list<T: Model>(&self, path: String) -> Result<Vec<T>> {
        let payload = self.send(get(path, Bucket::General)).await?;
        models::decode_list(payload.data()).map_err(|e| unexpected(&e))
    }

    /// `GET /account`: balance, plan and usage.
    pub async fn account(&self) -> Result<Account> {
        self.get("account".into(), Bucket::General).await
    }

    /// `GET /account/transactions`: one page (`page` from 1, `per_page` 1..=100), newest first.
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

    /// `POST /order`. Never sent twice once it may have reached the server: such a failure is
    /// [`Error::OrderOutcomeUnknown`], which [`Client::reconcile`] resolves.
    pub async fn create_order(&self, request: &OrderRequest) -> Result<Order> {
        validate::token("service", &request.service)?;
        validate::token("country", &request.country)?;
        if let Some(pool) = &request.pool {
            validate::token("pool", pool)?;
        }
        let max_price = match request.max_price {
            Some(max) => {
                validate::max_price(max)?;
                // Written from the exact digits: `0.10` goes out as the JSON number 0.10.
                let digits = RawValue::from_string(max.to_string()).map_err(|_| {
                    Error::invalid("max_price", "cannot be written as a JSON number")
                })?;
                Some(digits)
            }
            None => None,
        };
        let body = encode(&OrderBody {
            service: &request.service,
            country: &request.country,
            pool: request.pool.as_deref(),
            pricing_option: request.pricing_option.map(PricingOption::wire),
            max_price,
        })?;
        let mut sent = SentCall::new(Operation::CreateOrder);
        sent.service = Some(request.service.clone());
        sent.country = Some(request.country.clone());
        sent.pool = request.pool.clone();
        sent.max_price = request.max_price;
        let call = Call::once("order".into(), body, Bucket::Order, sent.clone());
        let order: Order = self.applied(call, sent).await?;
        self.shared()
            .claimed
            .insert(claim_key(Operation::CreateOrder, &order.id), ());
        Ok(order)
    }

    /// `GET /order/{id}` (POLL bucket).
    pub async fn order(&self, id: &str) -> Result<Order> {
        let segment = validate::path_segment("id", id)?;
        self.get(format!("order/{segment}"), Bucket::Poll).await
    }

    /// [`Client::order`] within `deadline`.
    pub(crate) async fn order_within(&self, id: &str, deadline: Instant) -> Result<Order> {
        let segment = validate::path_segment("id", id)?;
        let call = get(format!("order/{segment}"), Bucket::Poll);
        decode(self.send_within(call, Some(deadline)).await.result?.data())
    }

    /// `POST /order/{id}/cancel`: cancels a pending order and refunds it. Safe to retry: when
    /// the answer to an attempt was lost and the retry finds the order already cancelled, the
    /// cancelled order is returned (without `refund`, which only the lost answer carried).
    pub async fn cancel_order(&self, id: &str) -> Result<Order> {
        self.cancel_within(id, None).await
    }

    /// [`Client::cancel_order`] within `deadline`.
    pub(crate) async fn cancel_within(&self, id: &str, deadline: Option<Instant>) -> Result<Order> {
        let segment = validate::path_segment("id", id)?;
        let call = post_empty(format!("order/{segment}/cancel"));
        let sent = self.send_within(call, deadline).await;
        let order: Order = match sent.result {
            Ok(payload) => decode(payload.data())?,
            Err(e) if sent.resent_after_landing && e.code() == Some("order_not_cancellable") => {
                // Our own earlier attempt may have cancelled it: look before reporting a conflict.
                let look = match deadline {
                    Some(deadline) => self.order_within(id, deadline).await,
                    None => self.order(id).await,
                };
                match look {
                    Ok(order) if order.status == OrderStatus::Cancelled => order,
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        self.shared().codes_before_resend.remove(&id.to_owned());
        Ok(order)
    }

    /// `POST /order/{id}/resend`: asks for another code on the same number. A later
    /// [`Client::wait_for_code`] returns only a code this order did not have before the resend.
    ///
    /// The order is read first (one POLL request) so that the codes it had before are known
    /// by their place in `codes` whatever happens to the resend: a code with the same digits
    /// as an earlier one still counts as new, and after an unknown outcome the old code is
    /// never taken for the new one.
    pub async fn resend_order(&self, id: &str) -> Result<Order> {
        let segment = validate::path_segment("id", id)?;
        let before = self.order(id).await?;
        let codes_before: Vec<String> = before.all_codes().into_iter().map(str::to_owned).collect();
        self.shared()
            .codes_before_resend
            .insert(id.to_owned(), (codes_before.clone(), before.status.clone()));
        let mut sent = SentCall::new(Operation::ResendOrder);
        sent.order_id = Some(id.to_owned());
        sent.codes_before = codes_before;
        sent.status_before = Some(before.status);
        let call = Call::once(
            format!("order/{segment}/resend"),
            bytes::Bytes::from_static(b"{}"),
            Bucket::Order,
            sent.clone(),
        );
        let result = self.applied(call, sent).await;
        if let Err(e) = &result
            && e.kind() != ErrorKind::OrderOutcomeUnknown
        {
            // Refused: no new code is coming, nothing to skip.
            self.shared().codes_before_resend.remove(&id.to_owned());
        }
        result
    }

    /// `GET /webhooks`.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        self.get_list("webhooks".into()).await
    }

    /// `POST /webhooks`: registers `endpoint_url` (https; http only for loopback) for `events`.
    /// The answer carries the signing secret, returned this once. Never sent twice once it may
    /// have reached the server (that would register the endpoint twice): such a failure is
    /// [`Error::OrderOutcomeUnknown`], which [`Client::reconcile`] resolves.
    pub async fn create_webhook<S: AsRef<str>>(
        &self,
        endpoint_url: &str,
        events: &[S],
    ) -> Result<Webhook> {
        validate::webhook_url(endpoint_url)?;
        let events: Vec<String> = events.iter().map(|e| e.as_ref().to_owned()).collect();
        validate::events(&events)?;
        let body = encode(&WebhookBody {
            endpoint_url,
            events: &events,
        })?;
        let mut sent = SentCall::new(Operation::CreateWebhook);
        sent.endpoint_url = Some(endpoint_url.to_owned());
        sent.events = events;
        let mut call = Call::once("webhooks".into(), body, Bucket::General, sent.clone());
        call.secret_answer = true;
        let webhook: Webhook = self.applied(call, sent).await?;
        self.shared()
            .claimed
            .insert(claim_key(Operation::CreateWebhook, &webhook.id), ());
        Ok(webhook)
    }

    /// `DELETE /webhooks/{id}`. Safe to retry: when the answer to an attempt was lost and the
    /// retry finds no such webhook, the delete is reported as done (`raw` is then built here).
    pub async fn delete_webhook(&self, id: &str) -> Result<WebhookDeleted> {
        let segment = validate::path_segment("id", id)?;
        let call = Call::idempotent(
            Method::DELETE,
            format!("webhooks/{segment}"),
            None,
            Bucket::General,
        );
        let sent = self.send_within(call, None).await;
        match sent.result {
            Ok(payload) => decode(payload.data()),
            Err(e) if sent.resent_after_landing && e.kind() == ErrorKind::NotFound => {
                Ok(WebhookDeleted {
                    id: Some(id.to_owned()),
                    deleted: true,
                    raw: crate::models::RawJson::from_value(
                        &serde_json::json!({"id": id, "deleted": true}),
                    ),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Sends a non-idempotent call and decodes its answer: a payload that does not decode
    /// still means the call took effect, so the caller gets an
    /// [`Error::OrderOutcomeUnknown`] to reconcile rather than a bare decoding error.
    async fn applied<T: Model>(&self, call: Call, mut sent: SentCall) -> Result<T> {
        let payload = self.send(call).await?;
        models::decode(payload.data()).map_err(|e| {
            let error = unexpected(&e);
            sent.failed_at = std::time::SystemTime::now();
            Error::OrderOutcomeUnknown(Box::new(OrderOutcomeUnknown {
                call: sent,
                status: None,
                message: format!(
                    "the server accepted it but the answer could not be read ({error})"
                ),
                source: Some(Box::new(error)),
            }))
        })
    }
}

/// The error of an aborted call: unknown outcome for a non-idempotent call already sent.
fn aborted(path: &str, once: Option<SentCall>, sent: bool) -> Error {
    match once {
        Some(mut call) if sent => {
            call.failed_at = std::time::SystemTime::now();
            Error::OrderOutcomeUnknown(Box::new(OrderOutcomeUnknown {
                call,
                status: None,
                message: format!(
                    "aborted after POST {path} was sent: the server may have applied it (reconcile to find out)"
                ),
                source: None,
            }))
        }
        _ => Error::Aborted {
            message: format!("{path} was not sent (or, for a safe call, its answer was dropped)"),
        },
    }
}

/// The key under which an order or webhook handed out by this client is remembered.
pub(crate) fn claim_key(operation: Operation, id: &str) -> String {
    let kind = match operation {
        Operation::CreateWebhook => "webhook",
        _ => "order",
    };
    format!("{kind}:{id}")
}

fn get(path: String, bucket: Bucket) -> Call {
    Call::idempotent(Method::GET, path, None, bucket)
}

/// Cancel: `{}` with a JSON content type, as WordPress requires to read it.
fn post_empty(path: String) -> Call {
    Call::idempotent(
        Method::POST,
        path,
        Some(bytes::Bytes::from_static(b"{}")),
        Bucket::Order,
    )
}

/// `POST /order`'s body: absent options are left out (WordPress takes `null` on a typed field
/// for a type error), `service`, `country` and `pool` are strings, and `max_price` a number
/// written from the decimal's own digits.
#[derive(serde::Serialize)]
struct OrderBody<'a> {
    service: &'a str,
    country: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pricing_option: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_price: Option<Box<RawValue>>,
}

/// `POST /webhooks`' body.
#[derive(serde::Serialize)]
struct WebhookBody<'a> {
    endpoint_url: &'a str,
    events: &'a [String],
}

fn encode<T: serde::Serialize>(body: &T) -> Result<bytes::Bytes> {
    serde_json::to_vec(body)
        .map(bytes::Bytes::from)
        .map_err(|e| Error::invalid("body", format!("cannot be encoded as JSON: {e}")))
}

pub(crate) fn unexpected(message: &str) -> Error {
    Error::UnexpectedResponse {
        status: 200,
        message: format!("the payload does not match the contract: {message}"),
        snippet: String::new(),
        request_id: None,
    }
}

pub(crate) fn decode<T: Model>(data: &str) -> Result<T> {
    models::decode(data).map_err(|e| unexpected(&e))
}

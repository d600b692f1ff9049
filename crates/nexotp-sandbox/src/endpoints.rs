//! The 12 API endpoints: parameter validation (WordPress rules), then the permission check,
//! then the rate limit, then the business rule on the state. That order is WordPress's:
//! a bad parameter without a key is a 400, not a 401.

use std::sync::Arc;
use std::time::Instant;

use http::HeaderMap;
use serde::Serialize;

use crate::app::App;
use crate::rate_limit::Decision;
use crate::reply::Reply;
use crate::router::Endpoint;
use crate::state::{ApiError, OrderRequest, Transaction};
use crate::wordpress::{Params, Validator, is_json_content_type, parse_json_body};

/// The header carrying the API key.
pub(crate) const API_KEY_HEADER: &str = "x-nexotp-api-key";

/// Validated arguments of one endpoint.
enum Args {
    Account,
    Transactions {
        page: u64,
        per_page: u64,
    },
    Countries,
    Services {
        country: String,
    },
    Price {
        service: String,
        country: String,
    },
    CreateOrder(OrderRequest),
    GetOrder(u64),
    CancelOrder(u64),
    ResendOrder(u64),
    ListWebhooks,
    CreateWebhook {
        endpoint_url: String,
        events: Vec<String>,
    },
    DeleteWebhook(u64),
}

/// A request routed to an endpoint.
pub(crate) struct ApiCall<'a> {
    pub endpoint: Endpoint,
    pub path_id: Option<&'a str>,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Handles one routed API request.
pub(crate) fn handle(app: &Arc<App>, call: &ApiCall<'_>) -> Reply {
    let content_type = call
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let json = if is_json_content_type(content_type) {
        match parse_json_body(call.body) {
            Ok(json) => json,
            Err(reply) => return reply,
        }
    } else {
        None
    };
    let params = Params::new(json.as_ref(), call.query, call.path_id);
    let args = match validate(call.endpoint, &params) {
        Ok(args) => args,
        Err(reply) => return reply,
    };

    match call.headers.get(API_KEY_HEADER) {
        None => {
            return Reply::wp(
                401,
                "rest_forbidden",
                "Missing API key: send it in the X-NexOTP-API-Key header.",
                None,
            );
        }
        Some(key) if key.as_bytes() != app.config.api_key.as_bytes() => {
            return Reply::wp(401, "rest_forbidden", "Invalid API key.", None);
        }
        Some(_) => {}
    }

    let now = Instant::now();
    let bucket = call.endpoint.bucket();
    let rate_headers = match app.rate(bucket, now, crate::util::unix_ms_now()) {
        Decision::Unlimited => Vec::new(),
        Decision::Allowed(headers) => headers,
        Decision::Limited(headers) => {
            let message = format!("Too many requests in the {bucket} bucket; retry later.");
            let details = serde_json::json!({"bucket": bucket.as_str()});
            let mut reply = Reply::err(429, app.request_id(), "rate_limited", &message, details);
            reply.headers = headers;
            return reply;
        }
    };

    let mut reply = execute(app, args, now);
    reply.headers.extend(rate_headers);
    reply
}

/// Checks the parameters of an endpoint as WordPress would with the plugin's `args`.
fn validate(endpoint: Endpoint, params: &Params<'_>) -> Result<Args, Reply> {
    let mut v = Validator::new(params);
    let args = match endpoint {
        Endpoint::Account => Args::Account,
        Endpoint::Countries => Args::Countries,
        Endpoint::ListWebhooks => Args::ListWebhooks,
        Endpoint::Transactions => {
            let page = v.integer("page", false, Some(1), None).unwrap_or(1);
            let per_page = v
                .integer("per_page", false, Some(1), Some(100))
                .unwrap_or(20);
            Args::Transactions {
                page: page as u64,
                per_page: per_page as u64,
            }
        }
        Endpoint::Services => Args::Services {
            country: v.string("country", true).unwrap_or_default(),
        },
        Endpoint::Price => {
            let service = v.string("service", true).unwrap_or_default();
            let country = v.string("country", true).unwrap_or_default();
            Args::Price { service, country }
        }
        Endpoint::CreateOrder => {
            let service = v.string("service", true).unwrap_or_default();
            let country = v.string("country", true).unwrap_or_default();
            let pool = v.string("pool", false);
            let pricing_option = v.integer("pricing_option", false, None, None);
            if let Some(p) = pricing_option
                && p != 0
                && p != 1
            {
                v.invalid(
                    "pricing_option",
                    "rest_not_in_enum",
                    "pricing_option is not one of 0 and 1.".into(),
                );
            }
            let max_price = v.money("max_price", false);
            Args::CreateOrder(OrderRequest {
                service,
                country,
                pool,
                pricing_option,
                max_price,
            })
        }
        Endpoint::GetOrder => Args::GetOrder(v.id().unwrap_or_default()),
        Endpoint::CancelOrder => Args::CancelOrder(v.id().unwrap_or_default()),
        Endpoint::ResendOrder => Args::ResendOrder(v.id().unwrap_or_default()),
        Endpoint::DeleteWebhook => Args::DeleteWebhook(v.id().unwrap_or_default()),
        Endpoint::CreateWebhook => {
            let endpoint_url = v.string("endpoint_url", true);
            if let Some(url) = &endpoint_url
                && let Err(message) = check_endpoint_url(url)
            {
                v.invalid("endpoint_url", "rest_invalid_url", message);
            }
            let events = v.string_list("events", true);
            if let Some(events) = &events {
                if events.is_empty() {
                    v.invalid(
                        "events",
                        "rest_too_few_items",
                        "events must contain at least 1 item.".into(),
                    );
                } else if let Some(bad) = events
                    .iter()
                    .find(|e| e.trim().is_empty() || e.contains([' ', ',']))
                {
                    v.invalid(
                        "events",
                        "rest_invalid_param",
                        format!("events contains an invalid event name {bad:?}."),
                    );
                }
            }
            Args::CreateWebhook {
                endpoint_url: endpoint_url.unwrap_or_default(),
                events: events.unwrap_or_default(),
            }
        }
    };
    v.finish()?;
    Ok(args)
}

/// https anywhere; http only for loopback hosts (the sandbox delivers to them).
fn check_endpoint_url(raw: &str) -> Result<(), String> {
    let rule =
        "endpoint_url must be an https:// URL (http:// is accepted for loopback hosts only).";
    let url = url::Url::parse(raw).map_err(|_| rule.to_string())?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(rule.to_string()),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(rule.to_string()),
    }
}

#[derive(Serialize)]
struct TransactionsPage<'a> {
    items: Vec<&'a Transaction>,
    page: u64,
    per_page: u64,
    total: u64,
    total_pages: u64,
}

/// Runs the business rule under the state lock and builds the answer.
fn execute(app: &Arc<App>, args: Args, now: Instant) -> Reply {
    let rid = app.request_id();
    let schedules = matches!(args, Args::CreateOrder(_) | Args::ResendOrder(_));
    let result: Result<Reply, ApiError> = app.with_state(|s| {
        s.count_request();
        Ok(match args {
            Args::Account => Reply::ok(200, rid.clone(), &s.account()),
            Args::Transactions { page, per_page } => {
                let (items, total) = s.transactions(page, per_page);
                let total_pages = total.div_ceil(per_page);
                let body = TransactionsPage {
                    items,
                    page,
                    per_page,
                    total,
                    total_pages,
                };
                Reply::ok(200, rid.clone(), &body)
                    .with_header("x-wp-total", total.to_string())
                    .with_header("x-wp-totalpages", total_pages.to_string())
            }
            Args::Countries => Reply::ok(200, rid.clone(), s.countries()),
            Args::Services { country } => Reply::ok(200, rid.clone(), &s.services(&country)?),
            Args::Price { service, country } => {
                Reply::ok(200, rid.clone(), &s.price(&service, &country)?)
            }
            Args::CreateOrder(req) => Reply::ok(201, rid.clone(), s.create_order(&req, now)?),
            Args::GetOrder(id) => Reply::ok(200, rid.clone(), s.order(id, now)?),
            Args::CancelOrder(id) => Reply::ok(200, rid.clone(), &s.cancel(id, now)?),
            Args::ResendOrder(id) => Reply::ok(200, rid.clone(), s.resend(id, now)?),
            Args::ListWebhooks => Reply::ok(200, rid.clone(), s.webhooks()),
            Args::CreateWebhook {
                endpoint_url,
                events,
            } => Reply::ok(
                201,
                rid.clone(),
                &s.create_webhook(endpoint_url, events, now),
            ),
            Args::DeleteWebhook(id) => Reply::ok(200, rid.clone(), &s.delete_webhook(id)?),
        })
    });
    if schedules {
        app.ticker.notify_one();
    }
    match result {
        Ok(reply) => reply,
        Err(e) => Reply::err(e.status, rid, e.code, &e.message, e.details),
    }
}

//! The 12 API endpoints: parameter validation (WordPress rules), then the permission check,
//! then the rate limit, then the business rule on the state. That order is WordPress's:
//! a bad parameter without a key is a 400, not a 401.

use std::sync::Arc;
use std::time::Instant;

use http::HeaderMap;
use serde::Serialize;
use serde_json::Value;

use crate::app::App;
use crate::rate_limit::Decision;
use crate::reply::Reply;
use crate::router::Endpoint;
use crate::scenarios::NO_BALANCE_API_KEY;
use crate::state::{ApiError, OrderRequest, Transaction};
use crate::wordpress::{
    Params, StringRule, Validator, is_json_content_type, parse_json_body, php_end,
};

/// The header carrying the API key.
pub(crate) const API_KEY_HEADER: &str = "x-nexotp-api-key";

// The parameter schemas of `spec/openapi.yaml` (components/schemas), enforced as WordPress
// enforces a route's `args`; `scripts/test-spec` checks that both say the same.

/// `CountryCode`.
const COUNTRY: StringRule = StringRule {
    min_len: 5,
    max_len: 36,
    pattern: "^cty_[A-Za-z0-9_-]{1,32}$",
    matches: |s| prefixed_id(s, "cty_", 32),
};

/// `ServiceId`.
const SERVICE: StringRule = StringRule {
    min_len: 5,
    max_len: 64,
    pattern: "^svc_[A-Za-z0-9_-]{1,60}$",
    matches: |s| prefixed_id(s, "svc_", 60),
};

/// `PoolId`.
const POOL: StringRule = StringRule {
    min_len: 1,
    max_len: 64,
    pattern: "^[A-Za-z0-9_-]{1,64}$",
    matches: |s| prefixed_id(s, "", 64),
};

/// `WebhookUrl` (its two patterns, either one).
const WEBHOOK_URL: StringRule = StringRule {
    min_len: 0,
    max_len: 2048,
    pattern: "https://<host>[:<port>][<path>] (http:// for loopback hosts only)",
    matches: webhook_url,
};

/// The largest `page` (the spec's `maximum`, a 32-bit signed integer).
const MAX_PAGE: i64 = i32::MAX as i64;

/// The largest `max_price` (the spec's `maximum`).
const MAX_PRICE: i64 = 10_000;

/// `EventName`: the events a webhook may subscribe to.
pub(crate) const EVENTS: [&str; 5] = [
    "order.created",
    "order.code_received",
    "order.completed",
    "order.cancelled",
    "order.expired",
];

/// `^<prefix>[A-Za-z0-9_-]{1,max}$`.
fn prefixed_id(s: &str, prefix: &str, max: usize) -> bool {
    php_end(s).strip_prefix(prefix).is_some_and(|rest| {
        (1..=max).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// `WebhookUrl`'s patterns:
/// `^https://<dns labels>(:[0-9]{1,5})?([/?]<uri chars but #>*)?$` or the same with `http://` and
/// `localhost`, `127.d.d.d` (1 to 3 digits each) or `[::1]` as the host.
fn webhook_url(raw: &str) -> bool {
    let s = php_end(raw);
    let (host_ok, rest) = if let Some(rest) = s.strip_prefix("https://") {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(rest.len());
        let label_ok = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        (rest[..end].split('.').all(label_ok), &rest[end..])
    } else if let Some(rest) = s.strip_prefix("http://") {
        if let Some(tail) = rest
            .strip_prefix("localhost")
            .or_else(|| rest.strip_prefix("[::1]"))
        {
            (true, tail)
        } else if let Some(quad) = rest.strip_prefix("127.") {
            let end = quad
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(quad.len());
            let parts: Vec<&str> = quad[..end].split('.').collect();
            let ok = parts.len() == 3 && parts.iter().all(|p| (1..=3).contains(&p.len()));
            (ok, &quad[end..])
        } else {
            (false, rest)
        }
    } else {
        (false, s)
    };
    if !host_ok {
        return false;
    }
    let rest = match rest.strip_prefix(':') {
        Some(port) => {
            let end = port
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(port.len());
            if !(1..=5).contains(&end) {
                return false;
            }
            &port[end..]
        }
        None => rest,
    };
    rest.is_empty()
        || (rest.starts_with(['/', '?'])
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._~:/?@!$&'()*+,;=%-".contains(&b)))
}

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
        Some(key)
            if key.as_bytes() != app.config.api_key.as_bytes()
                && key.as_bytes() != NO_BALANCE_API_KEY.as_bytes() =>
        {
            return Reply::wp(401, "rest_forbidden", "Invalid API key.", None);
        }
        Some(_) => {}
    }
    // The magic key of an empty wallet (scenarios.rs), unless it is the sandbox's own key.
    let broke = app.config.api_key != NO_BALANCE_API_KEY
        && call
            .headers
            .get(API_KEY_HEADER)
            .is_some_and(|k| k.as_bytes() == NO_BALANCE_API_KEY.as_bytes());

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

    let mut reply = execute(app, args, now, broke);
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
            let page = v
                .integer("page", false, Some(1), Some(MAX_PAGE))
                .unwrap_or(1);
            let per_page = v
                .integer("per_page", false, Some(1), Some(100))
                .unwrap_or(20);
            Args::Transactions {
                page: page as u64,
                per_page: per_page as u64,
            }
        }
        Endpoint::Services => Args::Services {
            country: v.string_with("country", true, &COUNTRY).unwrap_or_default(),
        },
        Endpoint::Price => {
            let service = v.string_with("service", true, &SERVICE).unwrap_or_default();
            let country = v.string_with("country", true, &COUNTRY).unwrap_or_default();
            Args::Price { service, country }
        }
        Endpoint::CreateOrder => {
            let service = v.string_with("service", true, &SERVICE).unwrap_or_default();
            let country = v.string_with("country", true, &COUNTRY).unwrap_or_default();
            let pool = v.string_with("pool", false, &POOL);
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
            let max_price = v.money("max_price", false, MAX_PRICE.into());
            Args::CreateOrder(OrderRequest {
                service,
                country,
                pool,
                pricing_option,
                max_price,
                broke: false,
            })
        }
        Endpoint::GetOrder => Args::GetOrder(v.id().unwrap_or_default()),
        Endpoint::CancelOrder => Args::CancelOrder(v.id().unwrap_or_default()),
        Endpoint::ResendOrder => Args::ResendOrder(v.id().unwrap_or_default()),
        Endpoint::DeleteWebhook => Args::DeleteWebhook(v.id().unwrap_or_default()),
        Endpoint::CreateWebhook => {
            let endpoint_url = v.string_with("endpoint_url", true, &WEBHOOK_URL);
            let events = v.string_list("events", true);
            if let Some(events) = &events {
                if events.is_empty() {
                    v.invalid(
                        "events",
                        "rest_too_few_items",
                        "events must contain at least 1 item.".into(),
                    );
                } else if let Some(i) = events.iter().position(|e| !EVENTS.contains(&e.as_str())) {
                    v.invalid(
                        "events",
                        "rest_not_in_enum",
                        format!("events[{i}] is not one of {}.", EVENTS.join(", ")),
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

#[derive(Serialize)]
struct TransactionsPage<'a> {
    items: Vec<&'a Transaction>,
    page: u64,
    per_page: u64,
    total: u64,
    total_pages: u64,
}

/// Runs the business rule under the state lock and builds the answer.
fn execute(app: &Arc<App>, args: Args, now: Instant, broke: bool) -> Reply {
    let rid = app.request_id();
    let schedules = matches!(args, Args::CreateOrder(_) | Args::ResendOrder(_));
    let result: Result<Reply, ApiError> = app.with_state(|s| {
        s.count_request();
        Ok(match args {
            Args::Account => {
                let mut account = s.account();
                if broke {
                    account["balance"] = Value::from("0.00");
                }
                Reply::ok(200, rid.clone(), &account)
            }
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
            Args::CreateOrder(mut req) => {
                req.broke = broke;
                Reply::ok(201, rid.clone(), s.create_order(&req, now)?)
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_countries_follow_the_spec_patterns_and_are_unique() {
        let catalogue = crate::catalogue::Catalogue::new(42, 700);
        assert_eq!(catalogue.countries.len(), 700);
        let mut codes = std::collections::HashSet::new();
        for c in &catalogue.countries {
            assert!((COUNTRY.matches)(&c.code), "{}", c.code);
            assert!(codes.insert(c.code.clone()), "duplicate {}", c.code);
        }
        assert_eq!(catalogue.country("cty_x0699"), Some(699));
        assert_eq!(crate::catalogue::Catalogue::new(42, 0).countries.len(), 5);
    }

    #[test]
    fn catalogue_ids_follow_the_spec_patterns() {
        let ok = |rule: &StringRule, s: &str| (rule.matches)(s);
        assert!(ok(&COUNTRY, "cty_us"));
        assert!(ok(&COUNTRY, "cty_SAMPLE-2_x"));
        assert!(
            ok(&COUNTRY, "cty_us\n"),
            "PCRE's `$` matches before a final newline"
        );
        assert!(!ok(&COUNTRY, "cty_us\n\n"));
        assert!(!ok(&COUNTRY, "cty_"));
        assert!(!ok(&COUNTRY, "us"));
        assert!(!ok(&COUNTRY, "cty_u s"));
        assert!(!ok(&COUNTRY, "cty_ü"));
        assert!(ok(&COUNTRY, &format!("cty_{}", "a".repeat(32))));
        assert!(!ok(&COUNTRY, &format!("cty_{}", "a".repeat(33))));
        assert!(ok(&SERVICE, "svc_telegram"));
        assert!(!ok(&SERVICE, "cty_us"));
        assert!(!ok(&SERVICE, "0"));
        assert!(ok(&POOL, "pool_a"));
        assert!(ok(&POOL, "0"));
        assert!(!ok(&POOL, ""));
        assert!(!ok(&POOL, "pool a"));
        assert!(!ok(&POOL, &"a".repeat(65)));
    }

    #[test]
    fn webhook_urls_follow_the_spec_patterns() {
        for good in [
            "https://example.com",
            "https://example.com/hooks/nexotp?x=1&y=%20",
            "https://a.b-c.d:8443/",
            "https://10.0.0.1/x",
            "https://a",
            "http://localhost:9/hook",
            "http://127.0.0.1:41000/x",
            "http://[::1]:1/x",
            "http://localhost",
            "https://example.com/x\n",
        ] {
            assert!(webhook_url(good), "{good:?} matches");
        }
        for bad in [
            "",
            "https://",
            "https://-a.com",
            "https://a-.com",
            "https://a..b",
            "https://example.com:",
            "https://example.com:123456",
            "https://example.com x",
            "https://example.com/<x>",
            "https://example.com/hook#x",
            "https://example.com#x",
            "https://user@example.com",
            "HTTPS://example.com",
            "http://example.com/x",
            "http://localhost.example.com",
            "http://127.0.0.1234/",
            "http://127.0.0/",
            "ftp://example.com",
            "https://[::1]/",
            "https://ü.example",
        ] {
            assert!(!webhook_url(bad), "{bad:?} does not match");
        }
    }

    #[test]
    fn events_must_be_known() {
        let check = |body: &str| {
            let json: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(body).unwrap();
            let params = Params::new(Some(&json), "", None);
            validate(Endpoint::CreateWebhook, &params).map(|_| ())
        };
        let url = "\"endpoint_url\":\"https://example.com/h\"";
        assert!(check(&format!(r#"{{{url},"events":["order.created"]}}"#)).is_ok());
        assert!(
            check(&format!(
                r#"{{{url},"events":" order.created,\t order.expired ,"}}"#
            ))
            .is_ok()
        );
        for bad in [
            r#"[]"#,
            r#"[""]"#,
            r#"["custom.event"]"#,
            r#"["order.created", "order created"]"#,
            r#"",,""#,
            r#""order.created\u00a0order.expired""#,
            r#"[1]"#,
        ] {
            let reply = check(&format!(r#"{{{url},"events":{bad}}}"#)).expect_err(bad);
            assert_eq!(reply.status, 400, "{bad}");
        }
    }

    #[test]
    fn bounds_follow_the_spec() {
        let check = |endpoint: Endpoint, query: &str| {
            validate(endpoint, &Params::new(None, query, None)).map(|_| ())
        };
        assert!(check(Endpoint::Transactions, "page=2147483647&per_page=100").is_ok());
        assert!(check(Endpoint::Transactions, "page=2147483648").is_err());
        assert!(check(Endpoint::Transactions, "page=0").is_err());
        assert!(check(Endpoint::Transactions, "per_page=101").is_err());
        let order = |extra: &str| {
            check(
                Endpoint::CreateOrder,
                &format!("service=svc_telegram&country=cty_us{extra}"),
            )
        };
        assert!(order("").is_ok());
        assert!(order("&max_price=10000").is_ok());
        assert!(order("&max_price=0").is_ok());
        assert!(order("&max_price=5e-324").is_ok());
        assert!(order("&max_price=0.1234567890123456789012345678901234567").is_ok());
        assert!(order("&max_price=10000.01").is_err());
        assert!(order("&max_price=1e300").is_err());
        assert!(order("&max_price=-0.01").is_err());
        assert!(order("&pool=pool_a").is_ok());
        assert!(order("&pool=").is_err());
        assert!(order("&pricing_option=2").is_err());
    }
}

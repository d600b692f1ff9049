//! Manual routing, imitating WordPress: the API lives under `/wp-json/nexotp/v1` (or
//! `/?rest_route=/nexotp/v1/...`), routes match case-insensitively, one trailing slash is
//! accepted, `//` never matches, ids must be digits, and a wrong method is `rest_no_route`
//! like an unknown path (WordPress never answers 405).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::rate_limit::Bucket;

/// The URL prefix of the API.
pub const API_PREFIX: &str = "/wp-json/nexotp/v1";

/// The 12 endpoints of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Account,
    Transactions,
    Countries,
    Services,
    Price,
    CreateOrder,
    GetOrder,
    CancelOrder,
    ResendOrder,
    ListWebhooks,
    CreateWebhook,
    DeleteWebhook,
}

impl Endpoint {
    /// The rate bucket of the endpoint (contract.md, "Rate limiting").
    pub fn bucket(self) -> Bucket {
        match self {
            Endpoint::CreateOrder | Endpoint::CancelOrder | Endpoint::ResendOrder => Bucket::Order,
            Endpoint::GetOrder => Bucket::Poll,
            _ => Bucket::General,
        }
    }
}

/// Where a request goes.
pub(crate) enum Target<'a> {
    /// A control endpoint; the path after `/__sandbox`.
    Control(&'a str),
    /// The API; the route relative to the prefix, normalised (decoded, lowercase, no trailing
    /// slash), or `None` when it can never match (it contains `//`, or another namespace).
    Api(Option<String>),
    /// Not WordPress's REST API at all (a plain 404 page).
    Other,
}

/// Classifies a request path (and query, for `?rest_route=`).
pub(crate) fn classify<'a>(path: &'a str, query: &str) -> Target<'a> {
    if let Some(rest) = path.strip_prefix("/__sandbox")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return Target::Control(rest);
    }
    let decoded: Cow<'_, str> = percent_decode_str(path).decode_utf8_lossy();
    // `//wp-json/...`: WordPress's REST server sees it and finds no route.
    if decoded.starts_with("//")
        && starts_with_ignore_case(decoded.trim_start_matches('/'), "wp-json")
    {
        return Target::Api(None);
    }
    if starts_with_ignore_case(&decoded, "/wp-json")
        && matches!(decoded.as_bytes().get(8), None | Some(b'/'))
    {
        return Target::Api(normalise(&decoded[8..]));
    }
    if path == "/" || path.eq_ignore_ascii_case("/index.php") {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if k == "rest_route" {
                return Target::Api(normalise(&v));
            }
        }
    }
    Target::Other
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Turns `/nexotp/v1/Order/5001/` into `/order/5001`; `None` outside the namespace or with `//`.
fn normalise(rest_route: &str) -> Option<String> {
    if rest_route.contains("//") {
        return None;
    }
    let lower = rest_route.to_ascii_lowercase();
    let tail = lower.strip_prefix("/nexotp/v1")?;
    if !(tail.is_empty() || tail.starts_with('/')) {
        return None;
    }
    let tail = tail.strip_suffix('/').unwrap_or(tail);
    Some(if tail.is_empty() {
        "/".to_string()
    } else {
        tail.to_string()
    })
}

/// Matches a normalised route and an (effective, uppercase) method to an endpoint and the id
/// segment, if any. `None` is `rest_no_route`.
pub(crate) fn match_route<'r>(route: &'r str, method: &str) -> Option<(Endpoint, Option<&'r str>)> {
    let mut parts = route.strip_prefix('/')?.split('/');
    let first = parts.next()?;
    let second = parts.next();
    let third = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let get = method == "GET";
    let post = method == "POST";
    let endpoint = match (first, second, third) {
        ("account", None, None) if get => (Endpoint::Account, None),
        ("account", Some("transactions"), None) if get => (Endpoint::Transactions, None),
        ("countries", None, None) if get => (Endpoint::Countries, None),
        ("services", None, None) if get => (Endpoint::Services, None),
        ("price", None, None) if get => (Endpoint::Price, None),
        ("order", None, None) if post => (Endpoint::CreateOrder, None),
        ("order", Some(id), None) if get && numeric(id) => (Endpoint::GetOrder, Some(id)),
        ("order", Some(id), Some("cancel")) if post && numeric(id) => {
            (Endpoint::CancelOrder, Some(id))
        }
        ("order", Some(id), Some("resend")) if post && numeric(id) => {
            (Endpoint::ResendOrder, Some(id))
        }
        ("webhooks", None, None) if get => (Endpoint::ListWebhooks, None),
        ("webhooks", None, None) if post => (Endpoint::CreateWebhook, None),
        ("webhooks", Some(id), None) if method == "DELETE" && numeric(id) => {
            (Endpoint::DeleteWebhook, Some(id))
        }
        _ => return None,
    };
    Some(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> Option<String> {
        match classify(path, "") {
            Target::Api(r) => r,
            _ => panic!("not api"),
        }
    }

    #[test]
    fn normalises() {
        assert_eq!(
            route("/wp-json/nexotp/v1/Order/5001/").as_deref(),
            Some("/order/5001")
        );
        assert_eq!(
            route("/WP-JSON/NexOTP/v1/account").as_deref(),
            Some("/account")
        );
        assert_eq!(route("/wp-json/nexotp/v1//account"), None);
        assert_eq!(route("/wp-json/other/v1/account"), None);
        assert!(matches!(classify("/wp-jsonx", ""), Target::Other));
        assert!(matches!(
            classify("/__sandbox/state", ""),
            Target::Control("/state")
        ));
        assert!(matches!(
            classify("/", "rest_route=/nexotp/v1/account"),
            Target::Api(Some(_))
        ));
    }

    #[test]
    fn matches_methods_and_ids() {
        assert_eq!(
            match_route("/order/5001", "GET"),
            Some((Endpoint::GetOrder, Some("5001")))
        );
        assert_eq!(match_route("/order/abc", "GET"), None);
        assert_eq!(match_route("/order", "GET"), None);
        assert_eq!(
            match_route("/webhooks/1", "DELETE"),
            Some((Endpoint::DeleteWebhook, Some("1")))
        );
        assert_eq!(match_route("/webhooks/1", "GET"), None);
    }
}

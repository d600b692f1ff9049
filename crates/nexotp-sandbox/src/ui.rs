//! The console page (`/__sandbox/ui/`) and its event stream (`/__sandbox/events`): hand-written
//! HTML, CSS and JavaScript embedded in the binary (nothing from a CDN, works offline), served
//! with exact content types, revalidation by ETag, and a strict Content-Security-Policy (only
//! this origin's script, style and stream; no inline script or style).

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::{Either, Full};
use tokio::sync::watch;

use crate::app::App;
use crate::server::ServerBody;

/// Where the page lives on the sandbox's root URL.
pub(crate) const UI_PATH: &str = "/__sandbox/ui/";

/// The policy of every page answer: this origin only, no inline code, no framing, no forms
/// posted anywhere (the page's actions are `fetch` calls to the control endpoints).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// FNV-1a of the body: the ETag, so a new binary's page is never served from a stale cache.
    hash: u64,
}

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

macro_rules! asset {
    ($name:literal, $file:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../ui/", $file)),
            hash: fnv1a(include_bytes!(concat!("../ui/", $file))),
        }
    };
}

static ASSETS: [Asset; 4] = [
    asset!("", "index.html", "text/html; charset=utf-8"),
    asset!("console.css", "console.css", "text/css; charset=utf-8"),
    asset!("console.js", "console.js", "text/javascript; charset=utf-8"),
    asset!("icon.svg", "icon.svg", "image/svg+xml"),
];

/// The embedded files' total size in bytes (the page, its style, its script and its icon).
#[cfg(test)]
fn page_bytes() -> usize {
    ASSETS.iter().map(|a| a.body.len()).sum()
}

/// Serves the page, its files and the event stream; `None` for every other control path.
/// `rest` is the path after `/__sandbox`.
pub(crate) fn serve(
    app: &Arc<App>,
    method: &Method,
    rest: &str,
    headers: &HeaderMap,
    shutdown: &watch::Receiver<bool>,
) -> Option<Response<ServerBody>> {
    let read = method == Method::GET || method == Method::HEAD;
    if !read {
        return None;
    }
    let head = method == Method::HEAD;
    match rest {
        "" | "/" | "/ui" => Some(redirect(UI_PATH)),
        // GET only: a HEAD would open a stream whose body nobody reads.
        "/events" if !head => Some(events(app, shutdown)),
        "/events" => None,
        _ => {
            let name = rest.strip_prefix("/ui/")?;
            let name = if name == "index.html" { "" } else { name };
            Some(match ASSETS.iter().find(|a| a.name == name) {
                Some(asset) => file(asset, headers, head),
                None => plain(StatusCode::NOT_FOUND, "Not found.\n"),
            })
        }
    }
}

fn file(asset: &Asset, request: &HeaderMap, head: bool) -> Response<ServerBody> {
    let etag = format!("\"{:016x}\"", asset.hash);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let (status, body) = if fresh {
        (StatusCode::NOT_MODIFIED, Bytes::new())
    } else if head {
        (StatusCode::OK, Bytes::new())
    } else {
        (StatusCode::OK, Bytes::from_static(asset.body))
    };
    let mut resp = response(status, body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if head && !fresh {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(asset.body.len()));
    }
    // Always revalidated (a 304 is cheap on loopback), never stale after an upgrade.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

fn events(app: &Arc<App>, shutdown: &watch::Receiver<bool>) -> Response<ServerBody> {
    let Some(body) = crate::console::open(app, shutdown.clone()) else {
        let mut resp = response(
            StatusCode::SERVICE_UNAVAILABLE,
            Bytes::from_static(b"{\"error\":\"too many open event streams\"}"),
        );
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return resp;
    };
    let mut resp = Response::new(Either::Right(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn redirect(to: &'static str) -> Response<ServerBody> {
    let mut resp = response(StatusCode::FOUND, Bytes::new());
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    resp
}

fn plain(status: StatusCode, text: &'static str) -> Response<ServerBody> {
    let mut resp = response(status, Bytes::from_static(text.as_bytes()));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// A response with the headers every page answer carries.
fn response(status: StatusCode, body: Bytes) -> Response<ServerBody> {
    let mut resp = Response::new(Either::Left(Full::new(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_small() {
        // The goal: under 200 KB, uncompressed.
        assert!(page_bytes() < 200 * 1024, "{} bytes", page_bytes());
    }

    #[test]
    fn the_page_has_no_inline_code_and_no_other_origin() {
        let index = std::str::from_utf8(ASSETS[0].body).expect("utf-8");
        assert!(!index.contains("<script>"), "inline script");
        assert!(!index.contains("style="), "inline style");
        assert!(!index.contains("<style"), "inline style sheet");
        // Only the icon names an origin: the SVG namespace, which is never fetched.
        for asset in ASSETS.iter().filter(|a| a.name != "icon.svg") {
            let text = String::from_utf8_lossy(asset.body);
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{} names another origin",
                asset.name
            );
        }
    }
}

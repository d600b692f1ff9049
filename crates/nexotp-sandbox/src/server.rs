//! The HTTP side: accept loop, one hyper connection per socket serving HTTP/1.1 (keep-alive on)
//! or HTTP/2 (told apart by the HTTP/2 preface, so a TLS-terminating proxy in front may pass
//! either through), and the single service function that routes to the control endpoints or the
//! API and applies faults.
//!
//! A "dropped connection" fault is done by returning `Err` from the service: hyper then closes
//! the connection (HTTP/1.1) or resets the stream (HTTP/2) without writing a response, which is
//! exactly what a client sees when an answer is lost. Answers are whole bodies, but for the console's event stream (`ui.rs`, `console.rs`).

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::app::App;
use crate::console::{Answered, EventBody};
use crate::endpoints::ApiCall;
use crate::faults::{FaultKind, StatusFault, default_code};
use crate::recorder::LogEntry;
use crate::reply::{HTML_TYPE, JSON_TYPE, Reply, html_error_page};
use crate::router::{self, Endpoint, Target};
use crate::util::unix_ms_now;

/// A response body: whole, or the console's event stream.
pub(crate) type ServerBody = Either<Full<Bytes>, EventBody>;

/// Largest request body read (WordPress setups commonly cap around here too).
const MAX_BODY: usize = 2 * 1024 * 1024;

/// The error that makes hyper close the connection without an answer.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until `shutdown` flips (or its sender is dropped).
pub(crate) async fn accept_loop(
    app: Arc<App>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    app.count(|s| s.connections_accepted += 1);
                    tokio::spawn(serve_connection(app.clone(), stream, shutdown.clone()));
                }
                // E.g. too many open files: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            _ = shutdown.changed() => break,
        }
    }
}

async fn serve_connection(app: Arc<App>, stream: TcpStream, shutdown: watch::Receiver<bool>) {
    let streams_stop = shutdown.clone();
    let service = service_fn(move |req| handle(app.clone(), req, streams_stop.clone()));
    crate::httpd::serve_conn(stream, service, shutdown).await;
}

async fn read_body(body: Incoming) -> Result<Bytes, Option<Reply>> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(Some(Reply::wp(
                413,
                "rest_request_too_large",
                "The request body is too large.",
                None,
            )))
        }
        Err(_) => Err(None),
    }
}

/// The one service function.
async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
    shutdown: watch::Receiver<bool>,
) -> Result<Response<ServerBody>, DropConnection> {
    let arrived = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let target = router::classify(path, query);
    if let Target::Control(rest) = target {
        if let Some(resp) = crate::ui::serve(&app, &parts.method, rest, &parts.headers, &shutdown) {
            return Ok(resp);
        }
        let reply = match read_body(body).await {
            Ok(bytes) => crate::control::handle(&app, parts.method.as_str(), rest, &bytes),
            Err(Some(reply)) => reply,
            Err(None) => return Err(DropConnection),
        };
        return Ok(into_response(reply));
    }

    let arrived_ms = unix_ms_now();
    let body = match read_body(body).await {
        Ok(bytes) => bytes,
        Err(Some(reply)) => return Ok(into_response(reply)),
        Err(None) => return Err(DropConnection),
    };
    let (is_api, route) = match target {
        Target::Api(route) => (true, route),
        _ => (false, None),
    };
    let method = effective_method(&parts.headers, query, parts.method.as_str());
    let matched = route
        .as_deref()
        .and_then(|r| router::match_route(r, &method));
    let endpoint = matched.map(|(e, _)| e);
    let bucket = endpoint.map(Endpoint::bucket);

    let (fault, latency_ms) = if is_api && app.faults_active() {
        app.pick_fault(parts.method.as_str(), route.as_deref())
    } else {
        (None, 0)
    };
    let extra = if let Some(FaultKind::Delay { ms }) = fault {
        ms
    } else {
        0
    };
    let delay = latency_ms.saturating_add(extra);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }

    let reply = match &fault {
        Some(f) if !f.applies_request() => f
            .status_answer()
            .map(|s| status_answer(&app, &s, &parts.headers)),
        _ => {
            let real = match (is_api, matched) {
                (false, _) => Reply::html(
                    404,
                    "<!DOCTYPE html><html><body><h1>Page not found</h1></body></html>",
                ),
                (true, None) => Reply::no_route(),
                (true, Some((endpoint, path_id))) => crate::endpoints::handle(
                    &app,
                    &ApiCall {
                        endpoint,
                        path_id,
                        query,
                        headers: &parts.headers,
                        body: &body,
                    },
                ),
            };
            if endpoint == Some(Endpoint::CreateOrder) && real.status == 201 {
                app.count(|s| s.orders_created += 1);
            }
            match &fault {
                Some(f) => after_apply(&app, f, real, endpoint, &parts.headers),
                None => Some(real),
            }
        }
    };

    let status = reply.as_ref().map(|r| r.status);
    // The body is shared with the console's copy of the answer, not copied.
    let reply = reply.map(|mut r| {
        let body = Bytes::from(std::mem::take(&mut r.body));
        (r, body)
    });
    if is_api {
        app.count(|s| s.count_request(bucket, status));
    }
    if app.config.log_requests {
        let shown = status.map_or_else(|| "dropped".to_string(), |s| s.to_string());
        // A closed stdout must not take a request down with it.
        let _ = writeln!(
            std::io::stdout().lock(),
            "{} {}{}{} -> {shown}",
            parts.method,
            path,
            if query.is_empty() { "" } else { "?" },
            query
        );
    }
    if app.recording() {
        let slow = match fault {
            Some(FaultKind::SlowAfterApply { ms }) => ms,
            _ => 0,
        };
        let entry = LogEntry {
            version: parts.version,
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            body: body.clone(),
            bucket,
            status,
            at_ms: arrived_ms,
            request_id: reply.as_ref().and_then(|(r, _)| r.request_id.clone()),
            latency_ms: (arrived.elapsed().as_millis() as u64).saturating_add(slow),
        };
        app.record(Answered {
            entry: Arc::new(entry),
            fault: fault.as_ref().map(FaultKind::name),
            headers: reply
                .as_ref()
                .map(|(r, _)| answer_headers(r))
                .unwrap_or_default(),
            body: reply.as_ref().map(|(_, b)| b.clone()).unwrap_or_default(),
        });
    }
    // Counted and logged before the wait: a client that gives up closes the connection, and
    // hyper then drops this future.
    if let Some(FaultKind::SlowAfterApply { ms }) = fault {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match reply {
        Some((reply, body)) => Ok(into_response_with(reply, body)),
        None => Err(DropConnection),
    }
}

/// The headers of an answer as the console lists them.
fn answer_headers(reply: &Reply) -> Vec<(String, String)> {
    let mut headers = vec![("content-type".to_string(), reply.content_type.to_string())];
    if let Some(rid) = &reply.request_id {
        headers.push(("x-request-id".into(), rid.clone()));
    }
    headers.extend(
        reply
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone())),
    );
    headers
}

/// What a fault that applies the request makes of the real answer (`None`: no answer).
fn after_apply(
    app: &Arc<App>,
    fault: &FaultKind,
    real: Reply,
    endpoint: Option<Endpoint>,
    headers: &http::HeaderMap,
) -> Option<Reply> {
    match fault {
        FaultKind::Drop => None,
        FaultKind::Malformed => {
            let mut r = real;
            r.status = 200;
            r.content_type = JSON_TYPE.into();
            let keep = (r.body.len() / 2).max(1);
            r.body.truncate(keep);
            if serde_json::from_slice::<serde_json::Value>(&r.body).is_ok() {
                r.body = b"{\"success\":true,\"data\":{\"id\":".to_vec();
            }
            Some(r)
        }
        FaultKind::Truncate { bytes } => {
            let mut r = real;
            let keep = bytes.unwrap_or(r.body.len() / 2);
            r.body.truncate(keep);
            Some(r)
        }
        FaultKind::WpInternalError => Some(crate::reply::wp_internal_error()),
        FaultKind::InstantCode => Some(instant_code(app, real, endpoint)),
        _ => Some(match fault.status_answer() {
            Some(s) => status_answer(app, &s, headers),
            None => real,
        }),
    }
}

/// The answer of an order just created or resent, after its next code arrived.
fn instant_code(app: &Arc<App>, real: Reply, endpoint: Option<Endpoint>) -> Reply {
    let wanted = match endpoint {
        Some(Endpoint::CreateOrder) => 201,
        Some(Endpoint::ResendOrder) => 200,
        _ => return real,
    };
    let id = serde_json::from_slice::<serde_json::Value>(&real.body)
        .ok()
        .and_then(|v| v["data"]["id"].as_u64());
    let (Some(id), Some(rid)) = (id, real.request_id.clone()) else {
        return real;
    };
    if real.status != wanted {
        return real;
    }
    let now = std::time::Instant::now();
    let coded = app.with_state(|s| {
        s.force_code(id, None, now)
            .ok()
            .map(|order| Reply::ok(wanted, rid, order))
    });
    match coded {
        Some(mut reply) => {
            reply.headers = real.headers;
            reply
        }
        None => real,
    }
}

/// The method WordPress dispatches on: `?_method=`, else `X-HTTP-Method-Override`, else the
/// request's; HEAD is served as GET.
fn effective_method(headers: &http::HeaderMap, query: &str, method: &str) -> String {
    let mut m = None;
    if query.contains("_method") {
        m = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "_method")
            .map(|(_, v)| v.into_owned());
    }
    if m.is_none() {
        m = headers
            .get("x-http-method-override")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
    }
    let m = m.map_or_else(|| method.to_string(), |m| m.trim().to_ascii_uppercase());
    if m == "HEAD" { "GET".to_string() } else { m }
}

/// The answer of a `status` fault (or `html500`).
fn status_answer(app: &App, fault: &StatusFault, headers: &http::HeaderMap) -> Reply {
    let status = fault.status;
    let mut reply = if let Some(body) = &fault.body {
        let json = serde_json::from_str::<serde_json::Value>(body).is_ok();
        Reply {
            content_type: (if json { JSON_TYPE } else { HTML_TYPE }).into(),
            body: body.clone().into_bytes(),
            ..Reply::json(status, Vec::new())
        }
    } else if fault.envelope {
        let code = fault.code.as_deref().unwrap_or(default_code(status));
        let message = format!("Injected fault: HTTP {status}.");
        Reply::err(
            status,
            app.request_id(),
            code,
            &message,
            serde_json::json!({"sandbox_fault": true}),
        )
    } else {
        let host = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| url::Url::parse(&format!("http://{h}/")).ok())
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "example.com".to_string());
        html_error_page(status, &host, &app.ray_id())
    };
    if let Some(ct) = &fault.content_type {
        reply.content_type = ct.clone().into();
    }
    if let Some(ra) = &fault.retry_after {
        reply.headers.push(("retry-after", ra.clone()));
    }
    reply
}

fn into_response(mut reply: Reply) -> Response<ServerBody> {
    let body = Bytes::from(std::mem::take(&mut reply.body));
    into_response_with(reply, body)
}

fn into_response_with(reply: Reply, body: Bytes) -> Response<ServerBody> {
    let mut resp = Response::new(Either::Left(Full::new(body)));
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    if let Ok(ct) = HeaderValue::from_str(&reply.content_type) {
        headers.insert(http::header::CONTENT_TYPE, ct);
    }
    if let Some(rid) = reply.request_id
        && let Ok(v) = HeaderValue::from_str(&rid)
    {
        headers.insert("x-request-id", v);
    }
    for (name, value) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(name, v);
        }
    }
    resp
}

//! The HTTP side: accept loop, one hyper HTTP/1.1 connection per socket (keep-alive on), and the
//! single service function that routes to the control endpoints or the API and applies faults.
//!
//! A "dropped connection" fault is done by returning `Err` from the service: hyper then closes
//! the connection without writing a response, which is exactly what a client sees when an answer
//! is lost.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::app::App;
use crate::endpoints::ApiCall;
use crate::faults::{FaultKind, default_code};
use crate::recorder::LogEntry;
use crate::reply::{CRITICAL_ERROR_HTML, Reply};
use crate::router::{self, Target};
use crate::util::unix_ms_now;

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
                    tokio::spawn(serve_connection(app.clone(), stream, shutdown.clone()));
                }
                // E.g. too many open files: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            _ = shutdown.changed() => break,
        }
    }
}

async fn serve_connection(app: Arc<App>, stream: TcpStream, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| handle(app.clone(), req));
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    if *shutdown.borrow() {
        return;
    }
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
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
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let target = router::classify(path, query);
    if let Target::Control(rest) = target {
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
    let bucket = matched.map(|(e, _)| e.bucket());

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
        Some(FaultKind::DropBeforeApply) => None,
        Some(FaultKind::Status {
            status,
            retry_after,
            envelope,
            code,
        }) => Some(status_fault(
            &app,
            *status,
            retry_after.as_deref(),
            *envelope,
            code.as_deref(),
        )),
        Some(FaultKind::Html500) => Some(Reply::html(500, CRITICAL_ERROR_HTML)),
        _ => Some(match (is_api, matched) {
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
        }),
    };
    let reply = match (reply, &fault) {
        (Some(_), Some(FaultKind::Drop)) | (None, _) => None,
        (Some(mut r), Some(FaultKind::Malformed)) => {
            r.status = 200;
            r.content_type = crate::reply::JSON_TYPE;
            let keep = (r.body.len() / 2).max(1);
            r.body.truncate(keep);
            if serde_json::from_slice::<serde_json::Value>(&r.body).is_ok() {
                r.body = b"{\"success\":true,\"data\":{\"id\":".to_vec();
            }
            Some(r)
        }
        (Some(r), _) => Some(r),
    };

    let status = reply.as_ref().map(|r| r.status);
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
        app.record(LogEntry {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            body: body.clone(),
            bucket,
            status,
            at_ms: arrived_ms,
        });
    }
    match reply {
        Some(reply) => Ok(into_response(reply)),
        None => Err(DropConnection),
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

fn status_fault(
    app: &App,
    status: u16,
    retry_after: Option<&str>,
    envelope: bool,
    code: Option<&str>,
) -> Reply {
    let mut reply = if envelope {
        let code = code.unwrap_or(default_code(status));
        let message = format!("Injected fault: HTTP {status}.");
        Reply::err(
            status,
            app.request_id(),
            code,
            &message,
            serde_json::json!({"sandbox_fault": true}),
        )
    } else {
        Reply::html(status, CRITICAL_ERROR_HTML)
    };
    if let Some(ra) = retry_after {
        reply.headers.push(("retry-after", ra.to_string()));
    }
    reply
}

fn into_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
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

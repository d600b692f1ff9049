//! A minimal HTTP server for the record proxy and the replay server: the same accept loop and
//! HTTP/1.1 + HTTP/2 connection handling as the sandbox (`server.rs`), but with a plain
//! "whole request in, whole answer out" handler, because neither needs the sandbox's faults,
//! control endpoints or event streams.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Largest request body read (the sandbox's own limit).
pub(crate) const MAX_BODY: usize = 2 * 1024 * 1024;

/// A whole answer.
pub(crate) type Answer = Response<Full<Bytes>>;

/// What serves one request: the request with its whole body, to an answer.
pub(crate) type Handler = Arc<
    dyn Fn(http::request::Parts, Bytes) -> Pin<Box<dyn Future<Output = Answer> + Send>>
        + Send
        + Sync,
>;

/// A running server: its address and the switch that stops it.
pub(crate) struct Server {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` and serves every request with `handler` on the current runtime.
    pub async fn start(addr: SocketAddr, handler: Handler) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, handler, rx));
        Ok(Server {
            addr,
            shutdown: tx,
            task: Some(task),
        })
    }

    /// Stops accepting, lets open connections finish their current request (5 s at most).
    pub async fn shutdown(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, handler: Handler, mut shutdown: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, handler.clone(), shutdown.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            _ = shutdown.changed() => break,
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(stream: TcpStream, handler: Handler, shutdown: watch::Receiver<bool>) {
    let service = service_fn(move |req: Request<Incoming>| {
        let handler = handler.clone();
        async move {
            let (parts, body) = req.into_parts();
            let answer = match Limited::new(body, MAX_BODY).collect().await {
                Ok(body) => handler(parts, body.to_bytes()).await,
                Err(_) => plain(413, "the request body is too large or was cut off"),
            };
            Ok::<_, std::convert::Infallible>(answer)
        }
    });
    serve_conn(stream, service, shutdown).await;
}

/// Serves one connection, HTTP/1.1 (keep-alive) or HTTP/2, until it closes or `shutdown`
/// flips; then lets the request in flight finish (5 s at most). The sandbox's server uses it
/// too.
pub(crate) async fn serve_conn<S, B>(
    stream: TcpStream,
    service: S,
    mut shutdown: watch::Receiver<bool>,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let _ = stream.set_nodelay(true);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
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

/// The socket address of a host (an IP, or `localhost` for `127.0.0.1`) and a port.
pub(crate) fn listen_addr(host: &str, port: u16) -> io::Result<SocketAddr> {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = if host.eq_ignore_ascii_case("localhost") {
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
    } else {
        host.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("host must be an IP address or localhost, got {host:?}"),
            )
        })?
    };
    Ok(SocketAddr::new(ip, port))
}

/// A plain-text answer.
pub(crate) fn plain(status: u16, text: &str) -> Answer {
    let mut resp = Response::new(Full::new(Bytes::from(text.to_string())));
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// A NexOTP error envelope (`{"success":false,"error":{..},"meta":{..}}`).
pub(crate) fn envelope_error(
    status: u16,
    code: &str,
    message: &str,
    details: serde_json::Value,
) -> Answer {
    let body = serde_json::json!({
        "success": false,
        "error": {"code": code, "message": message, "details": details},
        "meta": {"request_id": serde_json::Value::Null},
    });
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    resp
}

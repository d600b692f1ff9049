//! A tiny local webhook receiver: accepts POSTs, verifies each with
//! `nexotp::webhook::verify` over the raw body bytes, answers 200 (verified) or 400 (rejected),
//! and hands every delivery to the caller. `nexotp webhooks listen` prints them; `nexotp demo`
//! uses it to show a signed delivery end to end. Loopback only by default: it is a development
//! tool, not a production endpoint.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use nexotp::WebhookEvent;
use nexotp::webhook::SIGNATURE_HEADER;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// Largest delivery body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// One delivery as received.
#[derive(Debug)]
pub struct Delivery {
    /// The request path.
    pub path: String,
    /// The raw body bytes.
    pub body: Bytes,
    /// The signature header's value, when present.
    pub signature: Option<String>,
    /// The verified event, or why it was rejected.
    pub result: Result<WebhookEvent, nexotp::Error>,
}

/// A running receiver; dropping it stops the server.
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    _stop: watch::Sender<bool>,
}

impl Receiver {
    /// Binds `host:port` and starts serving on the current runtime.
    pub async fn start(
        host: &str,
        port: u16,
        secret: String,
        tolerance: Duration,
    ) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind((host, port)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(accept_loop(listener, secret, tolerance, tx, stopped));
        Ok(Receiver {
            addr,
            deliveries: rx,
            _stop: stop,
        })
    }

    /// The URL to register: `http://127.0.0.1:PORT/webhook`.
    pub fn url(&self) -> String {
        format!("http://{}/webhook", self.addr)
    }

    /// The next delivery (`None` once the server stopped).
    pub async fn next(&mut self) -> Option<Delivery> {
        self.deliveries.recv().await
    }
}

async fn accept_loop(
    listener: TcpListener,
    secret: String,
    tolerance: Duration,
    tx: mpsc::UnboundedSender<Delivery>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let secret = secret.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let secret = secret.clone();
                let tx = tx.clone();
                async move { Ok::<_, Infallible>(handle(req, &secret, tolerance, &tx).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(
    req: Request<Incoming>,
    secret: &str,
    tolerance: Duration,
    tx: &mpsc::UnboundedSender<Delivery>,
) -> Response<Full<Bytes>> {
    if req.method() != Method::POST {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({"error": "webhook deliveries are POSTs"}),
        );
    }
    let path = req.uri().path().to_owned();
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::json!({"error": "body too large or cut off"}),
            );
        }
    };
    let result =
        nexotp::webhook::verify(&body, signature.as_deref().unwrap_or(""), secret, tolerance);
    let response = match &result {
        Ok(_) => reply(StatusCode::OK, serde_json::json!({"received": true})),
        Err(e) => reply(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": e.to_string()}),
        ),
    };
    let _ = tx.send(Delivery {
        path,
        body,
        signature,
        result,
    });
    response
}

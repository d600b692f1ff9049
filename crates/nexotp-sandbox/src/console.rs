//! The console's live side: a feed that every change bumps, the recent API requests with their
//! answers, and the event stream (`GET /__sandbox/events`, server-sent events) that the page at
//! `/__sandbox/ui/` listens to.
//!
//! One task per open stream, fed by a bounded channel into the response body. The task ends
//! when the browser goes away (the body is dropped, so the channel closes; a heartbeat finds a
//! dead connection that nobody reads) or when the sandbox shuts down (the body then ends, so
//! the connection closes at once instead of holding up the shutdown).
//!
//! Frames are built from state already redacted like the request log, and every frame passes
//! through one more redaction of the API key before it is sent: the key never reaches the page.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, watch};

use crate::app::App;
use crate::rate_limit::Bucket;
use crate::recorder::{LogEntry, Redactor};
use crate::util::{iso8601_ms, lock, unix_ms_now};

/// Requests (with their answers) the console keeps for a page that opens late.
pub(crate) const CONSOLE_REQUESTS: usize = 500;

/// Orders, transactions and deliveries in one state frame (the newest ones).
pub(crate) const VIEW_LIMIT: usize = 100;

/// Open event streams at most; more get a 503 (each one is a task and a connection).
const MAX_STREAMS: usize = 16;

/// A comment line this often, so that a connection nobody reads any more is noticed.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// Frames of one stream are at least this far apart: a burst of requests makes one frame.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// A body shown in the console is cut after this many bytes.
const MAX_SHOWN_BODY: usize = 64 * 1024;

/// What the console knows beyond the world itself: the change counter the streams wait on and
/// the recent requests with their answers.
pub(crate) struct Feed {
    version: watch::Sender<u64>,
    ring: Mutex<Ring>,
    streams: AtomicUsize,
}

struct Ring {
    /// Bumped when the log is cleared (reset), so that streams start their list again.
    generation: u64,
    next_seq: u64,
    entries: VecDeque<(u64, Arc<Answered>)>,
}

/// One API request and its answer, as the console shows it.
pub(crate) struct Answered {
    pub entry: Arc<LogEntry>,
    /// The injected fault's kind, if one applied.
    pub fault: Option<&'static str>,
    /// The answer's headers (content type, request id, rate-limit and fault headers).
    pub headers: Vec<(String, String)>,
    /// The answer's body (empty when the connection was dropped).
    pub body: Bytes,
}

impl Feed {
    pub fn new() -> Self {
        Feed {
            version: watch::channel(0).0,
            ring: Mutex::new(Ring {
                generation: 0,
                next_seq: 1,
                entries: VecDeque::new(),
            }),
            streams: AtomicUsize::new(0),
        }
    }

    /// Something changed: wakes the open streams (nothing to do when none is open).
    pub fn touch(&self) {
        if self.version.receiver_count() > 0 {
            self.version.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    /// Adds an answered request.
    pub fn push(&self, answered: Answered) {
        {
            let mut ring = lock(&self.ring);
            let seq = ring.next_seq;
            ring.next_seq += 1;
            if ring.entries.len() >= CONSOLE_REQUESTS {
                ring.entries.pop_front();
            }
            ring.entries.push_back((seq, Arc::new(answered)));
        }
        self.touch();
    }

    /// Forgets the requests (the request log was cleared).
    pub fn clear(&self) {
        {
            let mut ring = lock(&self.ring);
            ring.generation += 1;
            ring.entries.clear();
        }
        self.touch();
    }

    /// How many event streams are open.
    pub fn streams(&self) -> usize {
        self.streams.load(Ordering::Relaxed)
    }
}

/// The body of an event stream: what the stream's task sends, until it stops.
pub(crate) struct EventBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// Counts an open stream; dropped when its task ends, however it ends.
struct StreamSlot(Arc<App>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.feed.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Opens an event stream, or `None` when [`MAX_STREAMS`] are open already.
pub(crate) fn open(app: &Arc<App>, shutdown: watch::Receiver<bool>) -> Option<EventBody> {
    let taken = app
        .feed
        .streams
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < MAX_STREAMS).then_some(n + 1)
        });
    if taken.is_err() {
        return None;
    }
    let slot = StreamSlot(app.clone());
    let (tx, rx) = mpsc::channel(8);
    let changes = app.feed.version.subscribe();
    tokio::spawn(run(slot, tx, changes, shutdown));
    Some(EventBody { rx })
}

/// Where a stream is in the request list.
struct Cursor {
    generation: Option<u64>,
    seq: u64,
}

async fn run(
    slot: StreamSlot,
    tx: mpsc::Sender<Bytes>,
    mut changes: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = slot.0.clone();
    let key = Redactor::new(&app.config.api_key, &[]);
    let mut cursor = Cursor {
        generation: None,
        seq: 0,
    };
    let hello = frame(&key, "hello", &hello(&app));
    if !send(
        &tx,
        &mut shutdown,
        Bytes::from(format!("retry: 2000\n{hello}")),
    )
    .await
    {
        return;
    }
    loop {
        changes.borrow_and_update();
        let sent_at = Instant::now();
        let mut frames = frame(&key, "state", &state(&app));
        if let Some(requests) = requests(&app, &mut cursor) {
            frames.push_str(&frame(&key, "requests", &requests));
        }
        if !send(&tx, &mut shutdown, Bytes::from(frames)).await {
            return;
        }
        // Wait for a change, writing a heartbeat now and then.
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
                changed = changes.changed() => match changed {
                    Ok(()) => break,
                    Err(_) => return,
                },
                _ = tokio::time::sleep(HEARTBEAT) => {
                    if !send(&tx, &mut shutdown, Bytes::from_static(b": ping\n\n")).await {
                        return;
                    }
                }
            }
        }
        let wait = MIN_INTERVAL.saturating_sub(sent_at.elapsed());
        if !wait.is_zero() {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Sends bytes to the body; false when the browser went away or the sandbox stops.
async fn send(tx: &mpsc::Sender<Bytes>, shutdown: &mut watch::Receiver<bool>, b: Bytes) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    tokio::select! {
        sent = tx.send(b) => sent.is_ok(),
        _ = shutdown.changed() => false,
    }
}

/// One server-sent event, its data redacted once more (compact JSON has no newline).
fn frame(key: &Redactor, event: &str, data: &Value) -> String {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    format!("event: {event}\ndata: {}\n\n", key.text(&json))
}

/// The first frame: what the sandbox is, for the page's header.
fn hello(app: &App) -> Value {
    let c = &app.config;
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "api_prefix": format!("{}/", crate::router::API_PREFIX),
        "seed": c.seed,
        "code_delay_ms": c.code_delay.as_millis() as u64,
        "order_ttl_ms": c.order_ttl.as_millis() as u64,
        "request_log_limit": c.request_log_limit,
        "console_requests": CONSOLE_REQUESTS,
        "view_limit": VIEW_LIMIT,
    })
}

/// The state frame: the world's newest parts, faults, limits and counters.
fn state(app: &Arc<App>) -> Value {
    let now = Instant::now();
    let world = app.peek_state(|s| {
        s.tick(now);
        s.console_view(VIEW_LIMIT)
    });
    let limits = app.rate_limits();
    let rate_limits: Map<String, Value> = Bucket::ALL
        .into_iter()
        .map(|b| {
            let limit = serde_json::to_value(&limits[b as usize]).unwrap_or(Value::Null);
            (b.as_str().to_string(), limit)
        })
        .collect();
    json!({
        "now_ms": unix_ms_now(),
        "world": world,
        "faults": serde_json::to_value(app.faults()).unwrap_or(Value::Null),
        "rate_limits": rate_limits,
        "stats": serde_json::to_value(app.stats()).unwrap_or(Value::Null),
        "recording": app.recording(),
    })
}

/// The requests frame: the requests this stream has not sent yet (all of them, with
/// `"reset": true`, after the log was cleared), or `None` when there is nothing new.
fn requests(app: &App, cursor: &mut Cursor) -> Option<Value> {
    let (reset, fresh) = {
        let ring = lock(&app.feed.ring);
        let reset = cursor.generation != Some(ring.generation);
        if reset {
            cursor.generation = Some(ring.generation);
            cursor.seq = 0;
        }
        let fresh: Vec<(u64, Arc<Answered>)> = ring
            .entries
            .iter()
            .filter(|(seq, _)| *seq > cursor.seq)
            .cloned()
            .collect();
        if let Some((seq, _)) = fresh.last() {
            cursor.seq = *seq;
        }
        (reset, fresh)
    };
    if fresh.is_empty() && !reset {
        return None;
    }
    let items: Vec<Value> = fresh
        .iter()
        .map(|(seq, a)| answered_json(*seq, a, &app.config.api_key))
        .collect();
    Some(json!({"reset": reset, "items": items}))
}

/// One request as the page shows it, the key redacted everywhere in it.
fn answered_json(seq: u64, a: &Answered, api_key: &str) -> Value {
    let redactor = a.entry.redactor(api_key);
    let public = a.entry.to_public(&redactor);
    let (request_body, request_cut) = shown(&public.body);
    let response_text = redactor.bytes(&a.body);
    let (response_body, response_cut) = shown(&response_text);
    let object = |headers: &[(String, String)]| -> Map<String, Value> {
        headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(redactor.text(v).into_owned())))
            .collect()
    };
    json!({
        "seq": seq,
        "at": iso8601_ms(a.entry.at_ms),
        "method": public.method,
        "path": public.path,
        "query": public.query,
        "status": public.status,
        "bucket": public.bucket,
        "latency_ms": public.latency_ms,
        "request_id": public.request_id,
        "fault": a.fault,
        "request": {"headers": object(&public.headers), "body": request_body, "truncated": request_cut},
        "response": {"headers": object(&a.headers), "body": response_body, "truncated": response_cut},
    })
}

/// A body cut to [`MAX_SHOWN_BODY`] bytes (on a character boundary), and whether it was cut.
fn shown(body: &str) -> (&str, bool) {
    if body.len() <= MAX_SHOWN_BODY {
        return (body, false);
    }
    let mut end = MAX_SHOWN_BODY;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    (&body[..end], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_never_carry_the_key() {
        let key = Redactor::new("sk_live/sec ret", &[]);
        let data = json!({"a": "x sk_live/sec ret y", "b": "sk_live%2Fsec+ret", "c": "sk_live%2Fsec%20ret"});
        let f = frame(&key, "state", &data);
        assert!(
            !f.contains("sec ret") && !f.contains("sec+ret") && !f.contains("sec%20ret"),
            "{f}"
        );
        assert!(
            f.starts_with("event: state\ndata: {") && f.ends_with("}\n\n"),
            "{f}"
        );
        assert_eq!(f.matches('\n').count(), 3, "one data line: {f}");
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let body = "é".repeat(MAX_SHOWN_BODY);
        let (cut, truncated) = shown(&body);
        assert!(truncated);
        assert!(cut.len() <= MAX_SHOWN_BODY && cut.len() >= MAX_SHOWN_BODY - 1);
        assert_eq!(shown("short"), ("short", false));
    }
}

//! A stateful local imitation of the NexOTP REST API (a WordPress plugin selling virtual phone
//! numbers that receive one-time codes), for the SDK's tests in Rust, Python and Node and for
//! users testing their own code offline. The wire shapes follow `spec/contract.md`; WordPress's
//! own behaviour (routing, parameters, errors) is imitated where the real API sits behind it.
//!
//! # Quick start
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! let sandbox = nexotp_sandbox::Sandbox::builder()
//!     .seed(7)
//!     .code_delay(Duration::from_millis(200))
//!     .start()
//!     .await?;
//! println!("{} with key {}", sandbox.base_url(), sandbox.api_key());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The binary does the same from flags and prints the base URL as its first stdout line
//! (see [`SandboxArgs`], [`RecordArgs`], [`ReplayArgs`]):
//!
//! ```text
//! nexotp-sandbox [--port 0] [--host H] [--api-key K] [--seed N] [--code-delay-ms MS]
//!     [--code-delay-spread-ms MS] [--order-ttl-s S] [--countries N] [--balance 25.00]
//!     [--rate BUCKET=N/s[,burst=N][,retry_after=V] ...] [--latency-ms MS] [--error-rate F]
//!     [--drop-rate F] [--malformed-rate F] [--faults JSON] [--request-log-limit N]
//!     [--verbose] [--exit-on-stdin-close]
//! nexotp-sandbox record --upstream https://<real base url> --out traffic.json
//!     [--ca-cert PEM_FILE] [--port 0] [--host H] [--exit-on-stdin-close]
//! nexotp-sandbox replay traffic.json [--port 0] [--host H] [--exit-on-stdin-close]
//! ```
//!
//! # Named scenarios
//!
//! Magic ids that make orders behave in one known way, so a user's test asks for a behaviour by
//! name (as with Stripe's test cards) in any language: services `svc_test_<name>` (any
//! country) and countries `cty_test_<name>` (any service), priced like `svc_telegram` in
//! `cty_us`, for each name of [`SCENARIOS`]: `no_code` (never a code), `code_after_<N>s` (the
//! code after N seconds), `two_codes` (a second code without a resend), `expires` (expires
//! when the code would have come), `cancel_fails` (cancel refused with 409
//! `order_not_cancellable`), `price_jump` (`POST /order` charges [`PRICE_JUMP`] more than
//! `GET /price` quoted). The key [`NO_BALANCE_API_KEY`] is always accepted and has an empty
//! wallet (402 `insufficient_balance`). `GET /__sandbox/scenarios` lists them.
//!
//! # Record and replay
//!
//! [`record`] is a forwarding proxy to a real server that writes every exchange to a
//! [`Traffic`] file with the API key, webhook secrets and phone numbers redacted (phone numbers
//! replaced consistently); [`replay`] serves such a file back, matching requests by method,
//! path, query and body, in order for repeated ones, and answering an unmatched request with
//! a `replay_no_match` error naming the closest recorded one. Both are small async APIs with
//! plain strings and paths, for the Python and Node testing kits to wrap:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use nexotp_sandbox::{Recorder, Replay};
//! let proxy = Recorder::builder()
//!     .upstream("https://example.com/wp-json/nexotp/v1/")
//!     .out("traffic.json")
//!     .start()
//!     .await?;
//! // ... run the client against proxy.base_url() with the real key ...
//! proxy.shutdown().await?;
//! let replay = Replay::from_file("traffic.json")?.start().await?;
//! // ... run it again against replay.base_url() with replay.api_key() ...
//! replay.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # The API
//!
//! Under `/wp-json/nexotp/v1` (also `/?rest_route=/nexotp/v1/...`): the 12 endpoints of the
//! contract, header `X-NexOTP-API-Key`, envelopes `{"success","data","meta":{"request_id"}}`
//! with an `X-Request-Id` header, money as 2-decimal strings, ids as numbers, `/` escaped as
//! `\/`. Like WordPress: paths are case-insensitive, one trailing slash is accepted, `//`,
//! unknown routes, wrong methods and non-numeric ids are 404 `rest_no_route`; a JSON body counts
//! only with `Content-Type: application/json`; parameters come from the JSON body first, then
//! the query, then the path (a body `id` wins over the path's); `_method` and
//! `X-HTTP-Method-Override` are honoured; parameters are validated before the API key is checked.
//!
//! # The seeded world
//!
//! Countries `cty_us`, `cty_gb`, `cty_de`, `cty_in`, `cty_br`; services `svc_telegram`,
//! `svc_whatsapp`, `svc_google`, `svc_facebook`, `svc_discord`, `svc_amazon`; 2–3 pools per pair
//! (`pool_a` is always the cheapest, the last pool has the best success rate). Prices, stock and
//! rates depend on the seed only. **`svc_whatsapp` in `cty_de` has no stock** ([`NO_STOCK`]):
//! ordering it gives 409 `no_numbers_available`. Unknown service, country or pool: 400
//! `invalid_parameter` (details `{"param": ...}`). The wallet starts at 25.00 (a `deposit`
//! transaction); ids start at 5001 (orders), 1 (webhooks), 1001 (transactions).
//!
//! Orders are `pending`, then `received` after the code delay (a seeded 6-digit code), or
//! `expired` (and refunded) after the TTL; cancel (pending only) refunds; resend (received only)
//! goes back to `pending` and later brings a new, different code. Webhook events (`order.created`,
//! `order.code_received`, `order.cancelled`, `order.expired`) are POSTed, signed, to subscribed
//! webhooks (4 attempts at most); see [`signature_header`].
//!
//! # Faults
//!
//! [`Faults`] in JSON (for `POST /__sandbox/faults` and `--faults`), every field optional:
//!
//! ```json
//! {"latency_ms": 0, "error_rate": 0.0, "drop_rate": 0.0, "malformed_rate": 0.0,
//!  "script": [{"match": "POST /order", "fault": "drop", "times": 1},
//!             {"match": "GET /order/*", "fault": "status", "status": 429, "retry_after": "1"}],
//!  "random": [{"rate": 0.2, "match": "GET /**", "fault": "status", "status": 503},
//!             {"rate": 0.05, "fault": "drop"}]}
//! ```
//!
//! A single scripted fault object (with a `fault` key) is also accepted and becomes a one-entry
//! script. `match` is `"METHOD /path"` under the API prefix (`*` one segment, a final `**` the
//! rest, method `*` or left out = any); absent, any API request. Per API request the first
//! matching scripted fault is used (and consumed, `times` defaults to 1); else, when random
//! faults are configured, one draw from the seeded RNG walks the matching `random` entries in
//! order adding up their `rate`s (then `error_rate`, `drop_rate`, `malformed_rate`), and the
//! first whose running total exceeds the draw applies: same seed and same requests, same
//! faults. `latency_ms` is added to every API answer. Control requests are never faulted.
//!
//! Every kind works on every endpoint. "Applied" means the request took effect (an order
//! created, the wallet debited) before the answer went wrong, as on a real server; "not
//! applied" means nothing happened, as when a proxy answers before WordPress runs.
//!
//! | `fault` | applied | answer |
//! |---|---|---|
//! | `{"fault":"status","status":503}` | no | that status, NexOTP error envelope (`code` optional; default `rate_limited` for 429, `service_unavailable` for 503, `server_error` for other 5xx, `sandbox_fault` otherwise); a 2xx gives a 200 with `success: false` |
//! | ... `"after_apply":true` | yes | the same, replacing the real answer |
//! | ... `"envelope":false` | as above | an HTML page: nginx's for 429/502/503/504, Cloudflare's for 520–526, WordPress's critical-error page otherwise |
//! | ... `"body":"..","content_type":".."` | as above | that body verbatim (type: JSON if it parses, else HTML, unless given) |
//! | ... `"retry_after":"0"` | as above | adds that `Retry-After` verbatim (`"0"`, an HTTP date, ..) |
//! | `{"fault":"wp_internal_error"}` | yes | 500 `{"code":"internal_server_error",..,"data":{"status":500},"additional_errors":[]}`, WordPress's fatal-error JSON |
//! | `{"fault":"drop"}` | yes | none: the connection is closed |
//! | `{"fault":"drop_before_apply"}` | no | none: the connection is closed |
//! | `{"fault":"malformed"}` | yes | 200 with a cut-off JSON body |
//! | `{"fault":"truncate","bytes":40}` | yes | the real status and headers, the real body's first `bytes` (default half) |
//! | `{"fault":"html500"}` | no | 500, WordPress's HTML critical-error page |
//! | `{"fault":"delay","ms":1500}` | yes, after the wait | the real answer |
//! | `{"fault":"slow_after_apply","ms":1500}` | yes, before the wait | the real answer, late |
//! | `{"fault":"instant_code"}` | yes | the real answer; a created or resent order already has its next code in it |
//!
//! See [`FaultKind`], [`StatusFault`], [`RandomFault`] and [`ScriptedFault`] for the Rust
//! forms.
//!
//! # Rate limits
//!
//! Off by default. Per bucket: `per_second`, an optional `burst` (default `per_second`, at
//! least one) and an optional `retry_after` (the bucket's 429s then carry exactly that
//! `Retry-After` and no `retry-after-ms`, e.g. `"0"`): [`RateLimit`],
//! [`SandboxBuilder::rate_limit_with`],
//! `POST /__sandbox/rate {"bucket":"POLL","per_second":50,"burst":10,"retry_after":"0"}`,
//! `--rate POLL=50/s,burst=10,retry_after=0`.
//!
//! # Counters
//!
//! [`SandboxHandle::stats`] and `GET /__sandbox/stats` give a [`SandboxStats`]: API requests
//! per bucket, answers per status, dropped connections, the rate limiter's 429s, injected
//! faults per kind, orders created and TCP connections accepted. The server speaks HTTP/1.1 and
//! HTTP/2 (by prior knowledge, e.g. behind a TLS-terminating proxy) on the same port; the
//! request log records each request's `http_version`. `DELETE /__sandbox/stats` and reset set them to zero.
//!
//! # Control endpoints
//!
//! Under `/__sandbox/`, no API key, plain JSON, neither recorded in the request log nor
//! counted: `POST reset`, `GET|POST balance` (`{"balance":"10.00"}`), `GET|POST|DELETE faults`,
//! `PATCH faults` (the given fields only, e.g. `{"error_rate":1}`), `POST faults/script` (one
//! [`ScriptedFault`] appended), `GET|POST rate` (`{"bucket":"POLL","per_second":5}`, `null`
//! removes; `burst`, `retry_after` optional), `GET|DELETE stats`, `POST orders/{id}/code`
//! (`{"code":"123456"}`, optional), `POST orders/{id}/expire`, `POST orders/{id}/cancel`,
//! `GET|DELETE requests` (the last [`DEFAULT_REQUEST_LOG_LIMIT`] by default, see
//! [`SandboxBuilder::request_log_limit`]), `GET state`, `GET deliveries`,
//! `POST deliveries/{id}/replay`, `GET events` (the console's server-sent events), `GET
//! scenarios` (the named scenarios).
//!
//! # The console
//!
//! `GET /__sandbox/ui/` ([`SandboxHandle::console_url`]; the binary prints it on stderr) is a
//! page, embedded in this crate, that shows what the sandbox sees as it happens (the request
//! log with headers and both bodies, orders and their timers, the wallet and ledger, webhooks
//! and deliveries, faults, limits, counters) and drives it through the control endpoints above.
//! It listens to `GET /__sandbox/events`: server-sent events `hello` (what the sandbox is),
//! `state` (the newest 100 orders, transactions and deliveries, the webhooks without secrets,
//! faults, limits, counters) and `requests` (new requests with their answers; `"reset": true`
//! when the list starts again). The API key never appears in the page or the stream: it is
//! redacted wherever a client put it (as in the request log). A stream ends when its browser
//! goes away or the sandbox shuts down ([`SandboxHandle::console_streams`] counts them).

#![deny(missing_docs)]

mod app;
mod catalogue;
mod cli;
mod config;
mod console;
mod control;
pub mod embed;
mod endpoints;
mod faults;
mod handle;
mod httpd;
mod rate_limit;
pub mod record;
mod recorder;
pub mod replay;
mod reply;
mod router;
mod scenarios;
mod server;
mod state;
mod stats;
mod traffic;
mod ui;
mod util;
mod webhooks;
mod wordpress;

pub use catalogue::NO_STOCK;
pub use cli::{
    RecordArgs, ReplayArgs, SandboxArgs, record_from_args, replay_from_args, run_cli,
    serve_from_args,
};
pub use config::{DEFAULT_API_KEY, DEFAULT_REQUEST_LOG_LIMIT, DEFAULT_SEED, SandboxBuilder};
pub use faults::{FaultKind, Faults, RandomFault, ScriptedFault, StatusFault};
pub use handle::{ControlError, Sandbox, SandboxHandle};
pub use rate_limit::{Bucket, RateLimit, UnknownBucket};
pub use record::{RecordError, RecordHandle, Recorder, RecorderBuilder};
pub use recorder::{REDACTED, RecordedRequest};
pub use replay::{NO_MATCH_CODE, REPLAY_API_KEY, Replay, ReplayError, ReplayHandle};
pub use router::API_PREFIX;
pub use scenarios::{
    NO_BALANCE_API_KEY, PRICE_JUMP, SCENARIO_COUNTRY_PREFIX, SCENARIO_SERVICE_PREFIX, SCENARIOS,
};
pub use stats::SandboxStats;
pub use traffic::{Exchange, TRAFFIC_FORMAT, Traffic, TrafficRequest, TrafficResponse};
pub use webhooks::{DeliveryRecord, signature_header};

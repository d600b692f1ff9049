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
//! The binary does the same from flags and prints the base URL as its first stdout line:
//! `nexotp-sandbox --port 0 [--host H] [--api-key K] [--seed N] [--code-delay-ms MS]
//! [--order-ttl-s S] [--balance 25.00] [--rate BUCKET=N/s ...] [--latency-ms MS]
//! [--error-rate F] [--drop-rate F] [--malformed-rate F] [--faults JSON] [--verbose]
//! [--exit-on-stdin-close]` (see [`SandboxArgs`]).
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
//! [`Faults`] in JSON (for `POST /__sandbox/faults` and `--faults`):
//!
//! ```json
//! {"latency_ms": 0, "error_rate": 0.0, "drop_rate": 0.0, "malformed_rate": 0.0,
//!  "script": [{"match": "POST /order", "fault": "drop", "times": 1},
//!             {"match": "GET /order/*", "fault": "status", "status": 429, "retry_after": "1"},
//!             {"fault": "status", "status": 502, "envelope": false},
//!             {"fault": "drop_before_apply"}, {"fault": "malformed"}, {"fault": "html500"},
//!             {"fault": "delay", "ms": 1500}]}
//! ```
//!
//! A single scripted fault object (with a `fault` key) is also accepted and becomes a one-entry
//! script. See [`FaultKind`] for what each does and which ones apply the request.
//!
//! # Control endpoints
//!
//! Under `/__sandbox/`, no API key, plain JSON, not recorded in the request log:
//! `POST reset`, `GET|POST balance` (`{"balance":"10.00"}`), `GET|POST|DELETE faults`,
//! `GET|POST rate` (`{"bucket":"POLL","per_second":5}`, `null` removes),
//! `POST orders/{id}/code` (`{"code":"123456"}`, optional), `POST orders/{id}/expire`,
//! `GET|DELETE requests`, `GET state`, `GET deliveries`.

#![deny(missing_docs)]

mod app;
mod catalogue;
mod cli;
mod config;
mod control;
mod endpoints;
mod faults;
mod handle;
mod rate_limit;
mod recorder;
mod reply;
mod router;
mod server;
mod state;
mod stats;
mod util;
mod webhooks;
mod wordpress;

pub use catalogue::NO_STOCK;
pub use cli::{SandboxArgs, run_cli, serve_from_args};
pub use config::{DEFAULT_API_KEY, DEFAULT_REQUEST_LOG_LIMIT, DEFAULT_SEED, SandboxBuilder};
pub use faults::{FaultKind, Faults, RandomFault, ScriptedFault, StatusFault};
pub use handle::{ControlError, Sandbox, SandboxHandle};
pub use rate_limit::{Bucket, RateLimit, UnknownBucket};
pub use recorder::{REDACTED, RecordedRequest};
pub use router::API_PREFIX;
pub use stats::SandboxStats;
pub use webhooks::{DeliveryRecord, signature_header};

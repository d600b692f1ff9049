//! The control endpoints under `/__sandbox/`: no API key, plain JSON (no envelope), bodies read
//! whatever their content type. They let tests in any language (and the console page) steer the
//! sandbox: reset it, set the balance, faults and rate limits, deliver a code, expire or cancel
//! an order now, replay a webhook delivery, and inspect the request log, the counters, the state
//! and webhook deliveries. Control requests are neither logged nor counted. The page and its
//! event stream are served by `ui.rs`.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::faults::{Faults, ScriptedFault};
use crate::rate_limit::{Bucket, RateLimit};
use crate::reply::{Reply, to_json};
use crate::state::ApiError;

fn ok(value: Value) -> Reply {
    Reply::json(200, to_json(&value))
}

fn fail(status: u16, message: impl Into<String>) -> Reply {
    Reply::json(status, to_json(&json!({"error": message.into()})))
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Self {
        Reply::json(
            e.status,
            to_json(&json!({"error": e.message, "code": e.code})),
        )
    }
}

/// A decimal from a JSON string or number.
pub(crate) fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        Value::Number(n) => {
            let s = n.to_string();
            Decimal::from_str(&s)
                .or_else(|_| Decimal::from_scientific(&s))
                .ok()
        }
        _ => None,
    }
}

/// Parses `POST /__sandbox/faults`: a full [`Faults`] object, or a single scripted fault
/// (an object with a `fault` key), which becomes a one-entry script.
pub(crate) fn parse_faults(v: Value) -> Result<Faults, String> {
    let faults = if v.get("fault").is_some() {
        let one = ScriptedFault::deserialize(v).map_err(|e| e.to_string())?;
        Faults::default().then(one)
    } else {
        Faults::deserialize(v).map_err(|e| e.to_string())?
    };
    faults.validate()?;
    Ok(faults)
}

/// `PATCH /__sandbox/faults`: the given top-level fields replace the current ones, the others
/// stay (the console sets rates without losing a script).
fn patch_faults(current: &Faults, patch: Value) -> Result<Faults, String> {
    let Value::Object(patch) = patch else {
        return Err("expected an object of Faults fields".into());
    };
    let mut merged = match serde_json::to_value(current) {
        Ok(Value::Object(m)) => m,
        _ => Default::default(),
    };
    for (k, v) in patch {
        merged.insert(k, v);
    }
    let faults = Faults::deserialize(Value::Object(merged)).map_err(|e| e.to_string())?;
    faults.validate()?;
    Ok(faults)
}

/// `POST /__sandbox/rate`: `{"bucket", "per_second", "burst", "retry_after"}`.
#[derive(Deserialize)]
struct RateBody {
    bucket: Bucket,
    #[serde(default)]
    per_second: Option<f64>,
    #[serde(default)]
    burst: Option<u32>,
    #[serde(default)]
    retry_after: Option<String>,
}

/// Parses `POST /__sandbox/rate`; `per_second` absent or `null` removes the limit.
fn parse_rate(v: Value) -> Result<(Bucket, Option<RateLimit>), String> {
    let body = RateBody::deserialize(v).map_err(|e| e.to_string())?;
    let Some(per_second) = body.per_second else {
        return Ok((body.bucket, None));
    };
    let limit = RateLimit {
        per_second,
        burst: body.burst,
        retry_after: body.retry_after,
    };
    limit.validate()?;
    Ok((body.bucket, Some(limit)))
}

/// Handles one control request; `rest` is the path after `/__sandbox`.
pub(crate) fn handle(app: &Arc<App>, method: &str, rest: &str, body: &[u8]) -> Reply {
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return fail(400, format!("invalid JSON body: {e}")),
        }
    };
    let path = rest.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let now = Instant::now();
    match (method, segments.as_slice()) {
        ("POST", ["reset"]) => {
            app.reset();
            ok(json!({"ok": true}))
        }
        ("GET", ["scenarios"]) => ok(crate::scenarios::listing()),
        ("GET", ["balance"]) => {
            ok(json!({"balance": crate::util::money(app.with_state(|s| s.balance()))}))
        }
        ("POST", ["balance"]) => match body.get("balance").and_then(decimal) {
            Some(b) => {
                app.with_state(|s| s.set_balance(b, now));
                ok(json!({"ok": true, "balance": crate::util::money(b)}))
            }
            None => fail(400, "expected {\"balance\": \"10.00\"}"),
        },
        ("GET", ["faults"]) => ok(serde_json::to_value(app.faults()).unwrap_or(Value::Null)),
        ("POST" | "PUT", ["faults"]) => match parse_faults(body) {
            Ok(faults) => {
                app.set_faults(faults);
                ok(json!({"ok": true}))
            }
            Err(e) => fail(400, format!("invalid faults: {e}")),
        },
        ("PATCH", ["faults"]) => match patch_faults(&app.faults(), body) {
            Ok(faults) => {
                app.set_faults(faults.clone());
                ok(serde_json::to_value(faults).unwrap_or(Value::Null))
            }
            Err(e) => fail(400, format!("invalid faults: {e}")),
        },
        ("POST", ["faults", "script"]) => match ScriptedFault::deserialize(body) {
            Ok(one) => {
                let faults = app.faults().then(one);
                app.set_faults(faults.clone());
                ok(serde_json::to_value(faults).unwrap_or(Value::Null))
            }
            Err(e) => fail(400, format!("invalid scripted fault: {e}")),
        },
        ("DELETE", ["faults"]) => {
            app.set_faults(Faults::default());
            ok(json!({"ok": true}))
        }
        ("GET", ["rate"]) => {
            let limits = app.rate_limits();
            let rate = |i: usize| limits[i].as_ref().map(|l| l.per_second);
            ok(json!({
                "GENERAL": rate(0), "ORDER": rate(1), "POLL": rate(2),
                "limits": {"GENERAL": limits[0], "ORDER": limits[1], "POLL": limits[2]},
            }))
        }
        ("POST", ["rate"]) => match parse_rate(body) {
            Ok((bucket, limit)) => {
                let answer = json!({
                    "ok": true,
                    "bucket": bucket.as_str(),
                    "per_second": limit.as_ref().map(|l| l.per_second),
                    "burst": limit.as_ref().and_then(|l| l.burst),
                    "retry_after": limit.as_ref().and_then(|l| l.retry_after.clone()),
                });
                app.set_rate_limit(bucket, limit);
                ok(answer)
            }
            Err(e) => fail(
                400,
                format!(
                    "invalid rate ({e}); expected {{\"bucket\": \"GENERAL\"|\"ORDER\"|\"POLL\", \
                     \"per_second\": 5 | null, \"burst\": 10, \"retry_after\": \"0\"}}"
                ),
            ),
        },
        ("GET", ["stats"]) => ok(serde_json::to_value(app.stats()).unwrap_or(Value::Null)),
        ("DELETE", ["stats"]) => {
            app.clear_stats();
            ok(json!({"ok": true}))
        }
        ("POST", ["orders", id, "cancel"]) => {
            let Ok(id) = id.parse::<u64>() else {
                return fail(404, format!("order {id} not found"));
            };
            let result = app.with_state(|s| {
                s.cancel(id, now)
                    .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
            });
            app.ticker.notify_one();
            match result {
                Ok(order) => ok(order),
                Err(e) => e.into(),
            }
        }
        ("POST", ["deliveries", id, "replay"]) => {
            let Ok(id) = id.parse::<u64>() else {
                return fail(404, format!("delivery {id} not found"));
            };
            let result = app.with_state(|s| {
                s.replay_delivery(id)
                    .map(|d| serde_json::to_value(d).unwrap_or(Value::Null))
            });
            match result {
                Ok(delivery) => ok(delivery),
                Err(e) => e.into(),
            }
        }
        ("POST", ["orders", id, action @ ("code" | "expire")]) => {
            let Ok(id) = id.parse::<u64>() else {
                return fail(404, format!("order {id} not found"));
            };
            let code = match body.get("code") {
                None | Some(Value::Null) => None,
                Some(Value::String(c)) if !c.is_empty() => Some(c.clone()),
                Some(_) => return fail(400, "code must be a non-empty string"),
            };
            app.ticker.notify_one();
            let result = app.with_state(|s| {
                let order = if *action == "code" {
                    s.force_code(id, code, now)
                } else {
                    s.force_expire(id, now)
                };
                order.map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
            });
            match result {
                Ok(order) => ok(order),
                Err(e) => e.into(),
            }
        }
        ("GET", ["requests"]) => ok(serde_json::to_value(app.requests()).unwrap_or(Value::Null)),
        ("DELETE", ["requests"]) => {
            app.clear_requests();
            ok(json!({"ok": true}))
        }
        ("GET", ["state"]) => ok(app.with_state(|s| {
            s.tick(now);
            s.snapshot()
        })),
        ("GET", ["deliveries"]) => {
            ok(app.with_state(|s| serde_json::to_value(s.deliveries()).unwrap_or(Value::Null)))
        }
        _ => fail(
            404,
            format!("no control endpoint {method} /__sandbox{rest}"),
        ),
    }
}

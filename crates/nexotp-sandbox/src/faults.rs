//! Fault injection: added latency, a script of faults consumed in order by the requests they
//! match, and random faults (a table of rates, plus the older error / drop / malformed rates)
//! drawn from a seeded RNG. The JSON form (used by `POST /__sandbox/faults` and `--faults`) is
//! documented here, in the crate docs and in contract.md.

use serde::{Deserialize, Serialize};

/// The faults applied to API requests (never to `/__sandbox/` ones).
///
/// JSON form, every field optional: `{"latency_ms": 0, "error_rate": 0.0, "drop_rate": 0.0,
/// "malformed_rate": 0.0, "script": [ScriptedFault, ..], "random": [RandomFault, ..]}`.
///
/// Per API request: a matching scripted fault is used first (and consumed); else, when any
/// random fault is configured, one draw decides between the `random` table's matching entries
/// and then the three older rates, in that order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every API answer, in milliseconds.
    pub latency_ms: u64,
    /// Share (0..=1) of requests answered with a 503 error envelope (`service_unavailable`),
    /// without applying them.
    pub error_rate: f64,
    /// Share of requests that are applied and then get no answer: the connection is closed.
    pub drop_rate: f64,
    /// Share of requests that are applied and answered 200 with a truncated JSON body.
    pub malformed_rate: f64,
    /// Faults for specific requests, consumed in order (see [`ScriptedFault`]).
    pub script: Vec<ScriptedFault>,
    /// Random faults by rate (see [`RandomFault`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub random: Vec<RandomFault>,
}

impl Faults {
    /// No faults at all.
    pub fn none() -> Self {
        Faults::default()
    }

    /// Whether these faults can change anything.
    pub fn is_empty(&self) -> bool {
        self.latency_ms == 0 && self.script.is_empty() && !self.has_random()
    }

    /// Whether a random draw is needed.
    fn has_random(&self) -> bool {
        self.error_rate > 0.0
            || self.drop_rate > 0.0
            || self.malformed_rate > 0.0
            || self.random.iter().any(|r| r.rate > 0.0)
    }

    /// Adds a scripted fault at the end of the script.
    pub fn then(mut self, fault: ScriptedFault) -> Self {
        self.script.push(fault);
        self
    }

    /// Adds an entry at the end of the random table.
    pub fn with_random(mut self, fault: RandomFault) -> Self {
        self.random.push(fault);
        self
    }

    /// Checks that every rate is a number in 0..=1.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("error_rate", self.error_rate),
            ("drop_rate", self.drop_rate),
            ("malformed_rate", self.malformed_rate),
        ];
        let table = self.random.iter().map(|r| ("random[].rate", r.rate));
        match rates
            .into_iter()
            .chain(table)
            .find(|(_, r)| !(0.0..=1.0).contains(r))
        {
            Some((name, r)) => Err(format!("{name} must be between 0 and 1, got {r}")),
            None => Ok(()),
        }
    }
}

/// One scripted fault: applied to the next `times` API requests that match `match`.
///
/// JSON form: `{"match": "POST /order", "fault": "drop", "times": 1}`; `match` is optional
/// (absent = any API request), `times` defaults to 1; the other fields are those of the
/// [`FaultKind`], e.g. `{"fault": "status", "status": 429, "retry_after": "1"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptedFault {
    /// `"METHOD /path"` relative to the API prefix, e.g. `"POST /order"` or `"GET /order/*"`.
    /// `*` matches one path segment and a final `**` the rest; the method may be `*` or left
    /// out (`"/account"`). Paths compare case-insensitively and ignore a trailing slash; the
    /// method is the request's HTTP method (not an override). `None` matches every API request.
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// What happens.
    #[serde(flatten)]
    pub fault: FaultKind,
    /// How many matching requests it applies to.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

impl ScriptedFault {
    /// A fault for the next API request, whatever it is.
    pub fn new(fault: FaultKind) -> Self {
        ScriptedFault {
            pattern: None,
            fault,
            times: 1,
        }
    }

    /// Restricts it to requests matching `pattern` (e.g. `"POST /order"`).
    pub fn matching(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }

    /// Applies it to this many matching requests.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }
}

/// What a fault does. JSON: `{"fault": "<snake_case name>", ..fields}`.
///
/// "Applied" means the request took effect (an order created, the wallet debited, a webhook
/// registered) before the answer went wrong; "not applied" means nothing happened, as when a
/// proxy or the rate limiter answers before WordPress runs.
///
/// | JSON | applied | answer |
/// |---|---|---|
/// | `{"fault": "status", "status": 503}` | no | that status with an error envelope |
/// | `{"fault": "status", "status": 502, "after_apply": true, "envelope": false}` | yes | nginx's 502 page |
/// | `{"fault": "wp_internal_error"}` | yes | 500, WordPress's fatal-error JSON |
/// | `{"fault": "drop"}` | yes | none: the connection is closed |
/// | `{"fault": "drop_before_apply"}` | no | none: the connection is closed |
/// | `{"fault": "malformed"}` | yes | 200 with a cut-off JSON body |
/// | `{"fault": "truncate", "bytes": 40}` | yes | the real status with the real body's first bytes |
/// | `{"fault": "html500"}` | no | 500, WordPress's HTML critical-error page |
/// | `{"fault": "delay", "ms": 1500}` | yes, after the wait | the real answer |
/// | `{"fault": "slow_after_apply", "ms": 1500}` | yes, before the wait | the real answer |
/// | `{"fault": "instant_code"}` | yes | the real answer; a created or resent order already has its next code |
///
/// In Rust, `status` has two forms: the short [`FaultKind::Status`] (kept for source
/// compatibility) and the full [`FaultKind::Respond`]; JSON `"status"` always reads as `Respond`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultKind {
    /// Short form of [`FaultKind::Respond`]: answer with this status without applying the
    /// request. Serialises as `"status"`, which reads back as `Respond`.
    #[serde(rename = "status", skip_deserializing)]
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header value (seconds or an HTTP date), sent verbatim.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<String>,
        /// Error envelope (true) or an HTML page (false).
        #[serde(default = "yes")]
        envelope: bool,
        /// The error code in the envelope.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// `{"fault": "status", "status": N, ..}`: answer with a chosen status, before or after
    /// applying the request (see [`StatusFault`]).
    #[serde(rename = "status")]
    Respond(StatusFault),
    /// Read the request, apply it (an order IS created), then close the connection without an
    /// answer: "the request reached the server but the answer was lost".
    Drop,
    /// Close the connection without applying the request or answering.
    DropBeforeApply,
    /// Apply the request, then answer 200 with a truncated (invalid) JSON body.
    Malformed,
    /// Answer 500 with WordPress's HTML critical-error page, without applying the request.
    Html500,
    /// Wait this long, then handle the request normally.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Apply the request, then answer what WordPress's fatal-error handler sends to a REST
    /// request after a PHP fatal error: 500, `application/json; charset=UTF-8`,
    /// `{"code":"internal_server_error","message":"<p>There has been a critical error on this
    /// website.</p>..","data":{"status":500},"additional_errors":[]}`.
    WpInternalError,
    /// Apply the request, then wait this long before writing its real answer (a client with a
    /// shorter timeout times out after the order was created).
    SlowAfterApply {
        /// Milliseconds.
        ms: u64,
    },
    /// Apply the request, then answer its real status and headers with only the first `bytes`
    /// bytes of its real body (half of it when absent; all of it when shorter).
    Truncate {
        /// How many bytes of the body to send.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<usize>,
    },
    /// Apply the request; when it created or resent an order, that order receives its next
    /// code before the answer is written, so the answer already carries it. Other requests are
    /// answered normally.
    InstantCode,
}

impl FaultKind {
    /// The JSON name of the kind (`"status"`, `"drop"`, ..), as counted in the stats.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Status { .. } | FaultKind::Respond(_) => "status",
            FaultKind::Drop => "drop",
            FaultKind::DropBeforeApply => "drop_before_apply",
            FaultKind::Malformed => "malformed",
            FaultKind::Html500 => "html500",
            FaultKind::Delay { .. } => "delay",
            FaultKind::WpInternalError => "wp_internal_error",
            FaultKind::SlowAfterApply { .. } => "slow_after_apply",
            FaultKind::Truncate { .. } => "truncate",
            FaultKind::InstantCode => "instant_code",
        }
    }

    /// Whether the request takes effect (an order is created, the wallet debited) under this
    /// fault.
    pub fn applies_request(&self) -> bool {
        match self {
            FaultKind::Status { .. } | FaultKind::DropBeforeApply | FaultKind::Html500 => false,
            FaultKind::Respond(s) => s.after_apply,
            _ => true,
        }
    }

    /// The status answer this fault gives, if it is one (`status` in either form, `html500`).
    pub(crate) fn status_answer(&self) -> Option<StatusFault> {
        match self {
            FaultKind::Status {
                status,
                retry_after,
                envelope,
                code,
            } => Some(StatusFault {
                retry_after: retry_after.clone(),
                envelope: *envelope,
                code: code.clone(),
                ..StatusFault::new(*status)
            }),
            FaultKind::Respond(s) => Some(s.clone()),
            FaultKind::Html500 => Some(StatusFault::new(500).with_envelope(false)),
            _ => None,
        }
    }
}

impl From<StatusFault> for FaultKind {
    fn from(s: StatusFault) -> Self {
        FaultKind::Respond(s)
    }
}

/// The `status` fault: `{"fault": "status", "status": 503, "retry_after": "1",
/// "envelope": true, "code": "..", "after_apply": false, "body": "..", "content_type": ".."}`,
/// every field but `status` optional.
///
/// - `after_apply: false` (default): answered without applying the request; `true`: the request
///   is applied first and its real answer replaced by this one.
/// - `envelope: true` (default): a NexOTP error envelope with `code` (default: `rate_limited`
///   for 429, `service_unavailable` for 503, `server_error` for other 5xx, `sandbox_fault`
///   otherwise) and `details: {"sandbox_fault": true}`, also for a 2xx (a 200 with
///   `success: false`). `false`: an HTML page that fits the status: 429 / 502 / 503 / 504 →
///   nginx's default page (`text/html`, `Server: nginx`); 520–526 → a Cloudflare error page
///   (`Server: cloudflare`, a `CF-RAY` header, the Ray ID in the page); anything else →
///   WordPress's critical-error page.
/// - `body`: sent verbatim instead (`content_type` defaults to JSON when the body parses as
///   JSON, else HTML); `content_type` alone overrides the type of any of the answers above.
/// - `retry_after`: sent verbatim as `Retry-After` (`"0"`, `"120"`, an HTTP date, anything).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusFault {
    /// The HTTP status.
    pub status: u16,
    /// The `Retry-After` header value, sent verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// Error envelope (true, the default) or an HTML page that fits the status (false).
    #[serde(default = "yes")]
    pub envelope: bool,
    /// The error code in the envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Apply the request first, then answer this instead of its real answer.
    #[serde(default, skip_serializing_if = "is_false")]
    pub after_apply: bool,
    /// A body sent verbatim instead of the envelope or page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The `Content-Type` of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl StatusFault {
    /// An error envelope with this status, without applying the request.
    pub fn new(status: u16) -> Self {
        StatusFault {
            status,
            retry_after: None,
            envelope: true,
            code: None,
            after_apply: false,
            body: None,
            content_type: None,
        }
    }

    /// Sends this `Retry-After` value verbatim.
    pub fn with_retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// The envelope's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// `false`: an HTML page that fits the status instead of the envelope.
    pub fn with_envelope(mut self, envelope: bool) -> Self {
        self.envelope = envelope;
        self
    }

    /// `true`: apply the request first.
    pub fn with_after_apply(mut self, after_apply: bool) -> Self {
        self.after_apply = after_apply;
        self
    }

    /// Sends this body verbatim.
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sends this `Content-Type`.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }
}

/// One entry of the random fault table: with probability `rate`, a request matching `match`
/// gets `fault`.
///
/// JSON form: `{"rate": 0.2, "match": "GET /**", "fault": "status", "status": 503}`; `match`
/// is optional (absent = any API request), the other fields are those of the [`FaultKind`].
/// Per API request the sandbox draws one number in `[0, 1)` from its seeded RNG and walks the
/// matching entries in order, adding up their rates: the first entry whose running total
/// exceeds the draw applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomFault {
    /// Probability, 0..=1.
    pub rate: f64,
    /// Which requests it may hit, like [`ScriptedFault::pattern`].
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// What happens.
    #[serde(flatten)]
    pub fault: FaultKind,
}

impl RandomFault {
    /// `fault` for a share `rate` of all API requests.
    pub fn new(rate: f64, fault: impl Into<FaultKind>) -> Self {
        RandomFault {
            rate,
            pattern: None,
            fault: fault.into(),
        }
    }

    /// Restricts it to requests matching `pattern` (e.g. `"GET /**"`).
    pub fn matching(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }
}

fn matches(pattern: Option<&str>, method: &str, route: Option<&str>) -> bool {
    pattern.is_none_or(|p| pattern_matches(p, method, route.unwrap_or("")))
}

/// The active faults plus the seeded RNG that drives the random ones.
#[derive(Debug)]
pub(crate) struct FaultState {
    pub faults: Faults,
    rng: fastrand::Rng,
}

impl FaultState {
    /// Faults with an RNG seeded from the sandbox seed.
    pub fn new(faults: Faults, seed: u64) -> Self {
        FaultState {
            faults,
            rng: fastrand::Rng::with_seed(seed ^ 0xFA17),
        }
    }

    /// The fault for one API request, if any: the first matching scripted fault (consumed),
    /// else maybe a random one (one draw per request whenever random faults are configured).
    pub fn pick(&mut self, method: &str, route: Option<&str>) -> Option<FaultKind> {
        if let Some(i) = self
            .faults
            .script
            .iter()
            .position(|f| f.times > 0 && matches(f.pattern.as_deref(), method, route))
        {
            let entry = &mut self.faults.script[i];
            entry.times -= 1;
            let fault = entry.fault.clone();
            if entry.times == 0 {
                self.faults.script.remove(i);
            }
            return Some(fault);
        }
        let f = &self.faults;
        if !f.has_random() {
            return None;
        }
        let draw = self.rng.f64();
        // The older rates come after the table, so an empty table draws as before.
        let older = [
            (f.error_rate, StatusFault::new(503).into()),
            (f.drop_rate, FaultKind::Drop),
            (f.malformed_rate, FaultKind::Malformed),
        ];
        let table = f
            .random
            .iter()
            .filter(|r| matches(r.pattern.as_deref(), method, route))
            .map(|r| (r.rate, &r.fault));
        let mut total = 0.0;
        table
            .chain(older.iter().map(|(rate, fault)| (*rate, fault)))
            .find_map(|(rate, fault)| {
                total += rate.max(0.0);
                (draw < total).then(|| fault.clone())
            })
    }
}

/// Whether `"METHOD /path/*"` matches a request.
pub(crate) fn pattern_matches(pattern: &str, method: &str, route: &str) -> bool {
    let pattern = pattern.trim();
    let (pm, pp) = match pattern.split_once(char::is_whitespace) {
        Some((m, p)) => (m, p.trim()),
        None if pattern.starts_with('/') => ("*", pattern),
        None => (pattern, "/**"),
    };
    if pm != "*" && !pm.eq_ignore_ascii_case(method) {
        return false;
    }
    let pp = pp.trim_start_matches('/');
    let pp = pp.strip_suffix('/').unwrap_or(pp);
    let route = route.trim_start_matches('/');
    let mut want = pp.split('/');
    let mut have = route.split('/');
    loop {
        match (want.next(), have.next()) {
            (Some("**"), _) => return true,
            (Some(w), Some(h)) if w == "*" || w.eq_ignore_ascii_case(h) => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The default error code for an injected status.
pub(crate) fn default_code(status: u16) -> &'static str {
    match status {
        429 => "rate_limited",
        503 => "service_unavailable",
        500..=599 => "server_error",
        _ => "sandbox_fault",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_matches("POST /order", "POST", "/order"));
        assert!(!pattern_matches(
            "POST /order",
            "POST",
            "/order/5001/cancel"
        ));
        assert!(pattern_matches("GET /order/*", "get", "/order/5001"));
        assert!(pattern_matches(
            "POST /order/*/cancel",
            "POST",
            "/order/5001/cancel"
        ));
        assert!(pattern_matches("/account/", "GET", "/account"));
        assert!(pattern_matches("* /order/**", "POST", "/order/1/resend"));
        assert!(pattern_matches("GET", "GET", "/countries"));
        assert!(!pattern_matches("GET /order/*", "POST", "/order/5001"));
    }

    #[test]
    fn json_form() {
        let f: Faults = serde_json::from_str(
            r#"{"script":[{"match":"POST /order","fault":"drop","times":1},
                {"fault":"status","status":429,"retry_after":"1"},{"fault":"delay","ms":5}]}"#,
        )
        .unwrap();
        assert_eq!(f.script[0].fault, FaultKind::Drop);
        assert_eq!(f.script[0].pattern.as_deref(), Some("POST /order"));
        assert_eq!(
            f.script[1].fault,
            FaultKind::Respond(StatusFault::new(429).with_retry_after("1"))
        );
        assert_eq!(f.script[2].fault, FaultKind::Delay { ms: 5 });
        let back: Faults = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn new_json_forms() {
        let f: Faults = serde_json::from_str(
            r#"{"script":[{"fault":"wp_internal_error"},
                {"fault":"status","status":502,"after_apply":true,"envelope":false},
                {"fault":"status","status":200,"body":"ok","content_type":"text/plain"},
                {"fault":"slow_after_apply","ms":300},{"fault":"truncate","bytes":40},
                {"fault":"truncate"},{"fault":"instant_code","times":2}],
              "random":[{"rate":0.2,"match":"GET /**","fault":"status","status":503},
                {"rate":0.05,"fault":"drop"}]}"#,
        )
        .expect("the documented forms parse");
        let kinds: Vec<_> = f.script.iter().map(|s| s.fault.clone()).collect();
        assert_eq!(
            kinds,
            [
                FaultKind::WpInternalError,
                StatusFault::new(502)
                    .with_after_apply(true)
                    .with_envelope(false)
                    .into(),
                StatusFault::new(200)
                    .with_body("ok")
                    .with_content_type("text/plain")
                    .into(),
                FaultKind::SlowAfterApply { ms: 300 },
                FaultKind::Truncate { bytes: Some(40) },
                FaultKind::Truncate { bytes: None },
                FaultKind::InstantCode,
            ]
        );
        assert_eq!(f.script[6].times, 2);
        assert_eq!(
            f.random,
            [
                RandomFault::new(0.2, StatusFault::new(503)).matching("GET /**"),
                RandomFault::new(0.05, FaultKind::Drop),
            ]
        );
        let text = serde_json::to_string(&f).expect("serialises");
        let back: Faults = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, f);
        assert!(f.validate().is_ok());
        let bad = Faults::default().with_random(RandomFault::new(1.5, FaultKind::Drop));
        assert!(bad.validate().is_err());
    }

    #[test]
    fn short_status_form_writes_the_same_json() {
        let short = FaultKind::Status {
            status: 429,
            retry_after: Some("0".into()),
            envelope: true,
            code: None,
        };
        let json = serde_json::to_value(ScriptedFault::new(short.clone())).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"fault": "status", "status": 429, "retry_after": "0",
                "envelope": true, "times": 1})
        );
        let back: ScriptedFault = serde_json::from_value(json).expect("reads back");
        assert_eq!(back.fault.status_answer(), short.status_answer());
        assert!(!short.applies_request());
        assert_eq!(short.name(), "status");
    }

    #[test]
    fn one_draw_walks_the_matching_entries_in_order() {
        let faults = Faults::default()
            .with_random(RandomFault::new(0.5, FaultKind::Drop).matching("POST /order"))
            .with_random(RandomFault::new(0.25, FaultKind::Malformed));
        let mut state = FaultState::new(faults, 1);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..4000 {
            let name = state.pick("GET", Some("/account")).map(|f| f.name());
            *counts.entry(name).or_insert(0) += 1;
        }
        // The drop entry does not match a GET: only the malformed one can hit.
        assert_eq!(counts.get(&Some("drop")), None);
        let malformed = counts[&Some("malformed")];
        assert!((800..1200).contains(&malformed), "{counts:?}");
    }
}

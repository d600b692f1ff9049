//! Fault injection: added latency, random error / drop / malformed answers (from a seeded RNG),
//! and a script of faults consumed in order by the requests they match. The JSON form (used by
//! `POST /__sandbox/faults`) is documented in the crate docs and in contract.md.

use serde::{Deserialize, Serialize};

/// The faults applied to API requests (never to `/__sandbox/` ones).
///
/// JSON form: `{"latency_ms": 0, "error_rate": 0.0, "drop_rate": 0.0, "malformed_rate": 0.0,
/// "script": [ScriptedFault, ..]}`, every field optional.
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
}

impl Faults {
    /// No faults at all.
    pub fn none() -> Self {
        Faults::default()
    }

    /// Whether these faults can change anything.
    pub fn is_empty(&self) -> bool {
        self.latency_ms == 0
            && self.error_rate <= 0.0
            && self.drop_rate <= 0.0
            && self.malformed_rate <= 0.0
            && self.script.is_empty()
    }

    /// Adds a scripted fault at the end of the script.
    pub fn then(mut self, fault: ScriptedFault) -> Self {
        self.script.push(fault);
        self
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status without applying the request. `envelope: true` (the default)
    /// gives an error envelope (code `code`, or one derived from the status: `rate_limited` for
    /// 429, `service_unavailable` for 503, `server_error` for other 5xx, `sandbox_fault`
    /// otherwise); `false` gives WordPress's HTML critical-error page. `retry_after`, when set,
    /// is sent verbatim as `Retry-After`.
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header value (seconds or an HTTP date).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<String>,
        /// Error envelope (true) or HTML page (false).
        #[serde(default = "yes")]
        envelope: bool,
        /// The error code in the envelope.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
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
    /// else maybe a random one.
    pub fn pick(&mut self, method: &str, route: Option<&str>) -> Option<FaultKind> {
        if let Some(i) = self.faults.script.iter().position(|f| {
            f.times > 0
                && f.pattern
                    .as_deref()
                    .is_none_or(|p| pattern_matches(p, method, route.unwrap_or("")))
        }) {
            let entry = &mut self.faults.script[i];
            entry.times -= 1;
            let fault = entry.fault.clone();
            if entry.times == 0 {
                self.faults.script.remove(i);
            }
            return Some(fault);
        }
        let f = &self.faults;
        if f.error_rate <= 0.0 && f.drop_rate <= 0.0 && f.malformed_rate <= 0.0 {
            return None;
        }
        let r = self.rng.f64();
        if r < f.error_rate {
            Some(FaultKind::Status {
                status: 503,
                retry_after: None,
                envelope: true,
                code: None,
            })
        } else if r < f.error_rate + f.drop_rate {
            Some(FaultKind::Drop)
        } else if r < f.error_rate + f.drop_rate + f.malformed_rate {
            Some(FaultKind::Malformed)
        } else {
            None
        }
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
            FaultKind::Status {
                status: 429,
                retry_after: Some("1".into()),
                envelope: true,
                code: None
            }
        );
        assert_eq!(f.script[2].fault, FaultKind::Delay { ms: 5 });
        let back: Faults = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }
}

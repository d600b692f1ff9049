//! Counters of what the sandbox did since it started (or was reset): requests per bucket,
//! answers per status, the rate limiter's 429s, injected faults per kind, orders created. Tests
//! read them to check what a client really caused, e.g. "at most one order" after faults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rate_limit::Bucket;

/// What the sandbox counted (`GET /__sandbox/stats`, [`crate::SandboxHandle::stats`]).
///
/// JSON form: `{"requests": 12, "requests_by_bucket": {"GENERAL": 2, "ORDER": 4, "POLL": 6},
/// "responses_by_status": {"200": 8, "201": 1, "429": 2}, "dropped": 1, "rate_limited": 2,
/// "rate_limited_by_bucket": {"GENERAL": 0, "ORDER": 0, "POLL": 2}, "faults": {"drop": 1},
/// "orders_created": 2, "connections_accepted": 3}`. Only API requests count, never
/// `/__sandbox/` ones (but `connections_accepted` counts every connection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxStats {
    /// API requests received, routed or not.
    pub requests: u64,
    /// API requests per rate bucket of the route they matched (those that matched no route are
    /// only in `requests`). Every bucket is present.
    pub requests_by_bucket: BTreeMap<Bucket, u64>,
    /// Answers written, per HTTP status (after faults).
    pub responses_by_status: BTreeMap<u16, u64>,
    /// Requests whose connection was closed without an answer (`drop`, `drop_before_apply`).
    pub dropped: u64,
    /// 429s sent by the rate limiter (not by `status` faults).
    pub rate_limited: u64,
    /// The rate limiter's 429s per bucket. Every bucket is present.
    pub rate_limited_by_bucket: BTreeMap<Bucket, u64>,
    /// Injected faults per kind ([`crate::FaultKind::name`]).
    pub faults: BTreeMap<String, u64>,
    /// Orders created through the API (a `201` from `POST /order`, whatever answer followed).
    pub orders_created: u64,
    /// TCP connections accepted (API, control and console alike): how many a client opened.
    #[serde(default)]
    pub connections_accepted: u64,
}

impl Default for SandboxStats {
    fn default() -> Self {
        let zeros: BTreeMap<Bucket, u64> = Bucket::ALL.into_iter().map(|b| (b, 0)).collect();
        SandboxStats {
            requests: 0,
            requests_by_bucket: zeros.clone(),
            responses_by_status: BTreeMap::new(),
            dropped: 0,
            rate_limited: 0,
            rate_limited_by_bucket: zeros,
            faults: BTreeMap::new(),
            orders_created: 0,
            connections_accepted: 0,
        }
    }
}

impl SandboxStats {
    /// How many answers had this status.
    pub fn responses(&self, status: u16) -> u64 {
        self.responses_by_status.get(&status).copied().unwrap_or(0)
    }

    /// How many faults of this kind (`"drop"`, `"status"`, ..) were injected.
    pub fn faults_of(&self, kind: &str) -> u64 {
        self.faults.get(kind).copied().unwrap_or(0)
    }

    /// Counts one API request and its answer (`None`: dropped).
    pub(crate) fn count_request(&mut self, bucket: Option<Bucket>, status: Option<u16>) {
        self.requests += 1;
        if let Some(b) = bucket {
            *self.requests_by_bucket.entry(b).or_default() += 1;
        }
        match status {
            Some(s) => *self.responses_by_status.entry(s).or_default() += 1,
            None => self.dropped += 1,
        }
    }

    /// Counts a 429 of the rate limiter.
    pub(crate) fn count_rate_limited(&mut self, bucket: Bucket) {
        self.rate_limited += 1;
        *self.rate_limited_by_bucket.entry(bucket).or_default() += 1;
    }

    /// Counts an injected fault.
    pub(crate) fn count_fault(&mut self, kind: &str) {
        match self.faults.get_mut(kind) {
            Some(n) => *n += 1,
            None => {
                self.faults.insert(kind.to_string(), 1);
            }
        }
    }
}

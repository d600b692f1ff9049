//! What a language binding that embeds the sandbox (`nexotp.testing` in Python,
//! `nexotp/testing` in Node) needs beyond [`crate::SandboxBuilder`] and [`crate::SandboxHandle`]:
//! its options and control arguments in the sandbox's JSON forms, parsed and checked here once,
//! so that every language accepts and refuses exactly the same values and the bindings only
//! convert.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::faults::Faults;
use crate::rate_limit::{Bucket, RateLimit};

/// An argument a binding passed that the sandbox refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{argument}`: {rule}")]
pub struct InvalidArgument {
    /// The argument, as the sandbox names it (`faults`, `rate_limits`, `bucket`, `per_second`).
    pub argument: &'static str,
    /// What is wrong with it.
    pub rule: String,
}

fn invalid(argument: &'static str, rule: impl Into<String>) -> InvalidArgument {
    InvalidArgument {
        argument,
        rule: rule.into(),
    }
}

/// Faults from their JSON text: the form `POST /__sandbox/faults` takes (a [`Faults`] object,
/// or one scripted fault), checked.
pub fn faults_from_json(text: &str) -> Result<Faults, InvalidArgument> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid("faults", e.to_string()))?;
    crate::control::parse_faults(value).map_err(|rule| invalid("faults", rule))
}

/// One bucket's limit: requests per second, or the full object.
#[derive(Deserialize)]
#[serde(untagged)]
enum LimitForm {
    PerSecond(f64),
    Full(RateLimit),
}

/// Rate limits from their JSON text: `{"POLL": 5, "ORDER": {"per_second": 1, "burst": 1,
/// "retry_after": "0"}}` (bucket names in any case), each checked.
pub fn rate_limits_from_json(text: &str) -> Result<Vec<(Bucket, RateLimit)>, InvalidArgument> {
    let map: BTreeMap<String, LimitForm> =
        serde_json::from_str(text).map_err(|e| invalid("rate_limits", e.to_string()))?;
    map.into_iter()
        .map(|(name, form)| {
            let limit = match form {
                LimitForm::PerSecond(per_second) => RateLimit::new(per_second),
                LimitForm::Full(limit) => limit,
            };
            limit
                .validate()
                .map_err(|rule| invalid("rate_limits", rule))?;
            Ok((bucket(&name)?, limit))
        })
        .collect()
}

/// A bucket by name (`GENERAL`, `ORDER`, `POLL`, any case).
pub fn bucket(name: &str) -> Result<Bucket, InvalidArgument> {
    name.parse()
        .map_err(|e: crate::UnknownBucket| invalid("bucket", e.to_string()))
}

/// A limit for [`crate::SandboxHandle::set_rate_limit_with`]: `None` for no `per_second`
/// (no limit), else the limit, checked.
pub fn rate_limit(
    per_second: Option<f64>,
    burst: Option<u32>,
    retry_after: Option<String>,
) -> Result<Option<RateLimit>, InvalidArgument> {
    let Some(per_second) = per_second else {
        return Ok(None);
    };
    let limit = RateLimit {
        per_second,
        burst,
        retry_after,
    };
    limit
        .validate()
        .map_err(|rule| invalid("per_second", rule))?;
    Ok(Some(limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_forms_a_binding_passes() {
        assert_eq!(faults_from_json("{}"), Ok(Faults::default()));
        assert_eq!(
            faults_from_json(r#"{"error_rate": 0.5}"#).map(|f| f.error_rate),
            Ok(0.5)
        );
        assert_eq!(
            faults_from_json(r#"{"fault": "drop"}"#).map(|f| f.script.len()),
            Ok(1)
        );
        assert_eq!(
            faults_from_json(r#"{"error_rate": 2}"#).map_err(|e| e.argument),
            Err("faults")
        );
        assert!(faults_from_json("[").is_err());
        let limits =
            rate_limits_from_json(r#"{"poll": 5, "ORDER": {"per_second": 1, "burst": 2}}"#);
        assert_eq!(
            limits,
            Ok(vec![
                (Bucket::Order, RateLimit::new(1.0).with_burst(2)),
                (Bucket::Poll, RateLimit::new(5.0)),
            ])
        );
        assert!(rate_limits_from_json(r#"{"NOPE": 1}"#).is_err());
        assert!(rate_limits_from_json(r#"{"POLL": -1}"#).is_err());
        assert_eq!(rate_limit(None, Some(1), None), Ok(None));
        assert_eq!(
            rate_limit(Some(0.0), None, None).map_err(|e| e.argument),
            Err("per_second")
        );
        assert_eq!(bucket("Poll"), Ok(Bucket::Poll));
    }
}

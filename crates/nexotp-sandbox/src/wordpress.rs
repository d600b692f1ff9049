//! How WordPress's REST server reads and checks parameters, imitated closely enough that SDK
//! mistakes show up here the way they would against the real plugin:
//!
//! - a JSON body counts only with `Content-Type: application/json`; otherwise it is ignored;
//! - parameters are looked up in the JSON body first, then the query, then the path (so a body
//!   `id` overrides the id in the path);
//! - all missing required parameters are reported together (`rest_missing_callback_param`,
//!   `data.params` a list), before type errors (`rest_invalid_param`, `data.params` an object);
//! - strings must be strings, integers may be `1`, `"1"` or `1.0`, `null` is a type error;
//! - a string schema checks `minLength`, then `maxLength` (in characters), then `pattern`,
//!   which PHP's `preg_match` runs unanchored: a final `$` also matches before one trailing
//!   newline ([`php_end`]), as in Python's `re.search` that schema tools use.

use std::borrow::Cow;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use serde_json::{Map, Value};

use crate::reply::Reply;

/// Whether a `Content-Type` header makes WordPress read the body as JSON.
pub(crate) fn is_json_content_type(ct: Option<&str>) -> bool {
    let Some(ct) = ct else { return false };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// Parses a JSON body the way `WP_REST_Request::parse_json_params` does: empty is fine,
/// invalid JSON is `rest_invalid_json`, a non-object is ignored.
pub(crate) fn parse_json_body(body: &[u8]) -> Result<Option<Map<String, Value>>, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Ok(None),
        Err(e) => {
            let mut extra = Map::new();
            extra.insert("json_error_code".into(), Value::from(4));
            extra.insert(
                "json_error_message".into(),
                Value::from(format!("Syntax error ({e})")),
            );
            Err(Reply::wp(
                400,
                "rest_invalid_json",
                "Invalid JSON body passed.",
                Some(extra),
            ))
        }
    }
}

/// One parameter value as found, before type checks.
pub(crate) enum Raw<'a> {
    /// From the JSON body (any JSON type).
    Json(&'a Value),
    /// From the query string or the path: always a string.
    Str(Cow<'a, str>),
    /// A PHP-style query array (`events[]=a&events[]=b`).
    List(Vec<Cow<'a, str>>),
}

/// The merged parameters of one request.
pub(crate) struct Params<'a> {
    json: Option<&'a Map<String, Value>>,
    query: &'a str,
    path_id: Option<&'a str>,
}

impl<'a> Params<'a> {
    /// Parameters from an (already parsed) JSON body, the raw query string and the path id.
    pub fn new(
        json: Option<&'a Map<String, Value>>,
        query: &'a str,
        path_id: Option<&'a str>,
    ) -> Self {
        Params {
            json,
            query,
            path_id,
        }
    }

    /// Looks a parameter up in WordPress's order: JSON body, query, path.
    pub fn get(&self, name: &str) -> Option<Raw<'a>> {
        if let Some(v) = self.json.and_then(|j| j.get(name)) {
            return Some(Raw::Json(v));
        }
        if !self.query.is_empty() {
            let mut found = None;
            let mut list: Vec<Cow<'a, str>> = Vec::new();
            for (k, v) in url::form_urlencoded::parse(self.query.as_bytes()) {
                if k == name {
                    found = Some(v); // PHP: the last duplicate wins
                } else if k.strip_suffix("[]") == Some(name) {
                    list.push(v);
                }
            }
            if let Some(v) = found {
                return Some(Raw::Str(v));
            }
            if !list.is_empty() {
                return Some(Raw::List(list));
            }
        }
        if name == "id" {
            return self.path_id.map(|s| Raw::Str(Cow::Borrowed(s)));
        }
        None
    }
}

/// PHP's `is_numeric` for strings, near enough: optional surrounding whitespace, a sign,
/// digits with an optional fraction and exponent.
fn is_numeric(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty()
        && t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && t.parse::<f64>().is_ok()
}

/// A string parameter's schema: WordPress checks the lengths, then the pattern.
pub(crate) struct StringRule {
    /// `minLength`, in characters.
    pub min_len: usize,
    /// `maxLength`, in characters.
    pub max_len: usize,
    /// The `pattern` as written in `spec/openapi.yaml`, for the error message.
    pub pattern: &'static str,
    /// Whether a value matches `pattern` (anchored with `^...$`; see [`php_end`]).
    pub matches: fn(&str) -> bool,
}

/// The text a pattern's final `$` is matched against: PCRE's `$` (without `D`) and Python's
/// also match just before one trailing `\n`, so `"cty_us\n"` matches `^cty_[a-z]+$`.
pub(crate) fn php_end(s: &str) -> &str {
    s.strip_suffix('\n').unwrap_or(s)
}

/// Collects missing and invalid parameters, then reports them as WordPress does.
pub(crate) struct Validator<'p, 'a> {
    params: &'p Params<'a>,
    missing: Vec<&'static str>,
    invalid: Vec<(String, &'static str, String)>,
}

impl<'p, 'a> Validator<'p, 'a> {
    /// A validator over these parameters.
    pub fn new(params: &'p Params<'a>) -> Self {
        Validator {
            params,
            missing: Vec::new(),
            invalid: Vec::new(),
        }
    }

    fn type_error(&mut self, name: &str, ty: &str) {
        self.invalid.push((
            name.to_string(),
            "rest_invalid_type",
            format!("{name} is not of type {ty}."),
        ));
    }

    /// Records a plugin-level rule failure for a parameter.
    pub fn invalid(&mut self, name: &str, code: &'static str, message: String) {
        self.invalid.push((name.to_string(), code, message));
    }

    fn fetch(&mut self, name: &'static str, required: bool) -> Option<Raw<'a>> {
        let raw = self.params.get(name);
        if raw.is_none() && required {
            self.missing.push(name);
        }
        raw
    }

    /// A string parameter (JSON numbers and `null` are type errors).
    pub fn string(&mut self, name: &'static str, required: bool) -> Option<String> {
        match self.fetch(name, required)? {
            Raw::Json(Value::String(s)) => Some(s.clone()),
            Raw::Str(s) => Some(s.into_owned()),
            _ => {
                self.type_error(name, "string");
                None
            }
        }
    }

    /// A string parameter checked against its schema (`rest_too_short`, `rest_too_long`,
    /// `rest_invalid_pattern`, in WordPress's order).
    pub fn string_with(
        &mut self,
        name: &'static str,
        required: bool,
        rule: &StringRule,
    ) -> Option<String> {
        let value = self.string(name, required)?;
        let chars = value.chars().count();
        if chars < rule.min_len {
            let s = if rule.min_len == 1 { "" } else { "s" };
            self.invalid(
                name,
                "rest_too_short",
                format!(
                    "{name} must be at least {} character{s} long.",
                    rule.min_len
                ),
            );
        } else if chars > rule.max_len {
            self.invalid(
                name,
                "rest_too_long",
                format!("{name} must be at most {} characters long.", rule.max_len),
            );
        } else if !(rule.matches)(&value) {
            self.invalid(
                name,
                "rest_invalid_pattern",
                format!("{name} does not match pattern {}.", rule.pattern),
            );
        } else {
            return Some(value);
        }
        None
    }

    /// An integer parameter: `1`, `"1"` and `1.0` are accepted, then range-checked.
    pub fn integer(
        &mut self,
        name: &'static str,
        required: bool,
        min: Option<i64>,
        max: Option<i64>,
    ) -> Option<i64> {
        let raw = self.fetch(name, required)?;
        let f = match &raw {
            Raw::Json(Value::Number(n)) => n.as_f64(),
            Raw::Json(Value::String(s)) if is_numeric(s) => s.trim().parse::<f64>().ok(),
            Raw::Str(s) if is_numeric(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let Some(f) = f.filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15) else {
            self.type_error(name, "integer");
            return None;
        };
        let v = f as i64;
        let out_of_bounds = min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m);
        if out_of_bounds {
            let message = match (min, max) {
                (Some(lo), Some(hi)) => {
                    format!("{name} must be between {lo} (inclusive) and {hi} (inclusive)")
                }
                (Some(lo), None) => format!("{name} must be greater than or equal to {lo}"),
                (None, Some(hi)) => format!("{name} must be less than or equal to {hi}"),
                (None, None) => unreachable!("bounds checked above"),
            };
            self.invalid(name, "rest_out_of_bounds", message);
            return None;
        }
        Some(v)
    }

    /// An id from the path (or overriding body/query): an integer; `None` if absent or invalid.
    /// Values too large for `u64` are kept as `u64::MAX`, which no order has.
    pub fn id(&mut self) -> Option<u64> {
        let raw = self.fetch("id", true)?;
        let digits: Option<Cow<'_, str>> = match &raw {
            Raw::Json(Value::Number(n)) => {
                let s = n.to_string();
                if s.bytes().all(|b| b.is_ascii_digit()) {
                    Some(Cow::Owned(s))
                } else {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                        .map(|f| Cow::Owned(format!("{f:.0}")))
                }
            }
            Raw::Json(Value::String(s)) => Some(Cow::Borrowed(s.trim())),
            Raw::Str(s) => Some(Cow::Borrowed(s.trim())),
            _ => None,
        };
        match digits {
            Some(d) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
                Some(d.parse().unwrap_or(u64::MAX))
            }
            Some(d) if is_numeric(&d) => {
                let f = d.parse::<f64>().unwrap_or(-1.0);
                if f >= 0.0 && f.fract() == 0.0 {
                    Some(f as u64)
                } else {
                    self.type_error("id", "integer");
                    None
                }
            }
            _ => {
                self.type_error("id", "integer");
                None
            }
        }
    }

    /// A number parameter (JSON number or numeric string), decoded exactly, `0 ..= max`.
    /// A number with more digits than a decimal holds (`5e-324`, 40 significant digits) is
    /// still a number: it is range-checked, then rounded.
    pub fn money(&mut self, name: &'static str, required: bool, max: Decimal) -> Option<Decimal> {
        let raw = self.fetch(name, required)?;
        let text: Option<Cow<'_, str>> = match &raw {
            Raw::Json(Value::Number(n)) => Some(Cow::Owned(n.to_string())),
            Raw::Json(Value::String(s)) if is_numeric(s) => Some(Cow::Borrowed(s.trim())),
            Raw::Str(s) if is_numeric(s) => Some(Cow::Borrowed(s.trim())),
            _ => None,
        };
        let Some(text) = text else {
            self.type_error(name, "number");
            return None;
        };
        let exact = Decimal::from_str(&text)
            .or_else(|_| Decimal::from_scientific(&text))
            .ok();
        let float = text.parse::<f64>().ok().filter(|f| f.is_finite());
        let (negative, above) = match (exact, float) {
            (Some(d), _) => (d.is_sign_negative() && !d.is_zero(), d > max),
            (None, Some(f)) => (f < 0.0, f > max.to_f64().unwrap_or(f64::MAX)),
            (None, None) => {
                self.type_error(name, "number");
                return None;
            }
        };
        if negative || above {
            self.invalid(
                name,
                "rest_out_of_bounds",
                format!("{name} must be between 0 (inclusive) and {max} (inclusive)"),
            );
            return None;
        }
        // Only a value too small for a decimal (or with too many digits) gets here: round it.
        Some(exact.unwrap_or_else(|| float.and_then(Decimal::from_f64).unwrap_or(Decimal::ZERO)))
    }

    /// A list of strings: a JSON array of strings, a PHP query array, or a string split like
    /// `wp_parse_list` does (`preg_split('/[\s,]+/')`, PCRE's ASCII `\s`).
    pub fn string_list(&mut self, name: &'static str, required: bool) -> Option<Vec<String>> {
        let raw = self.fetch(name, required)?;
        let split = |s: &str| -> Vec<String> {
            s.split([',', ' ', '\t', '\n', '\r', '\x0b', '\x0c'])
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        };
        let list = match raw {
            Raw::Json(Value::String(s)) => split(s),
            Raw::Str(s) => split(&s),
            Raw::List(items) => items.into_iter().map(Cow::into_owned).collect(),
            Raw::Json(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        _ => {
                            self.invalid(
                                name,
                                "rest_invalid_type",
                                format!("{name}[{i}] is not of type string."),
                            );
                            return None;
                        }
                    }
                }
                out
            }
            Raw::Json(_) => {
                self.type_error(name, "array");
                return None;
            }
        };
        Some(list)
    }

    /// `Ok` if nothing is missing or invalid, else WordPress's 400 answer.
    pub fn finish(self) -> Result<(), Reply> {
        if !self.missing.is_empty() {
            let mut extra = Map::new();
            let names: Vec<Value> = self.missing.iter().map(|n| Value::from(*n)).collect();
            extra.insert("params".into(), Value::Array(names));
            let message = format!("Missing parameter(s): {}", self.missing.join(", "));
            return Err(Reply::wp(
                400,
                "rest_missing_callback_param",
                &message,
                Some(extra),
            ));
        }
        if !self.invalid.is_empty() {
            let mut params = Map::new();
            let mut details = Map::new();
            let mut names = Vec::new();
            for (name, code, message) in self.invalid {
                if params.contains_key(&name) {
                    continue;
                }
                names.push(name.clone());
                params.insert(name.clone(), Value::from(message.clone()));
                let mut d = Map::new();
                d.insert("code".into(), Value::from(code));
                d.insert("message".into(), Value::from(message));
                d.insert("data".into(), Value::Null);
                details.insert(name, Value::Object(d));
            }
            let mut extra = Map::new();
            extra.insert("params".into(), Value::Object(params));
            extra.insert("details".into(), Value::Object(details));
            let message = format!("Invalid parameter(s): {}", names.join(", "));
            return Err(Reply::wp(400, "rest_invalid_param", &message, Some(extra)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_like_wordpress() {
        let body: Map<String, Value> =
            serde_json::from_str(r#"{"a":1,"b":"1","c":1.0,"d":1.5,"e":null,"f":true}"#).unwrap();
        let p = Params::new(Some(&body), "g=2&h=x", None);
        let mut v = Validator::new(&p);
        assert_eq!(v.integer("a", true, None, None), Some(1));
        assert_eq!(v.integer("b", true, None, None), Some(1));
        assert_eq!(v.integer("c", true, None, None), Some(1));
        assert_eq!(v.integer("d", true, None, None), None);
        assert_eq!(v.integer("e", true, None, None), None);
        assert_eq!(v.integer("f", true, None, None), None);
        assert_eq!(v.integer("g", true, None, None), Some(2));
        assert_eq!(v.integer("h", true, None, None), None);
        assert!(v.finish().is_err());
    }

    #[test]
    fn body_beats_query_beats_path() {
        let body: Map<String, Value> = serde_json::from_str(r#"{"id":7}"#).unwrap();
        let p = Params::new(Some(&body), "id=8", Some("9"));
        assert_eq!(Validator::new(&p).id(), Some(7));
        let p = Params::new(None, "id=8", Some("9"));
        assert_eq!(Validator::new(&p).id(), Some(8));
        let p = Params::new(None, "", Some("9"));
        assert_eq!(Validator::new(&p).id(), Some(9));
    }
}

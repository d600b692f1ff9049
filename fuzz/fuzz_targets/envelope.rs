//! Any HTTP answer (status, headers, body) through the client's answer decoding: the NexOTP
//! envelope, the API's error envelope, WordPress error objects, HTML and garbage.
//!
//! Input: 2 bytes of status, 1 byte giving the number of header lines (0-3), those lines
//! (`name: value\n`), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexotp::fuzzing::{self, Answer};
use nexotp::{Error, ErrorKind};
use nexotp_fuzz::planted_secrets;
use serde_json::Value;
use serde_json::value::RawValue;

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let status = 100 + u16::from_le_bytes([input[0], input[1]]) % 500;
    let mut rest = &input[3..];
    let mut lines = Vec::new();
    for _ in 0..(input[2] & 3) {
        let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let line = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or_default();
        if let Some(colon) = line.iter().position(|b| *b == b':')
            && let Ok(name) = std::str::from_utf8(&line[..colon])
        {
            lines.push((name, line[colon + 1..].trim_ascii()));
        }
    }
    let headers = fuzzing::header_map(&lines);
    let body = rest.to_vec();
    let ok = (200..300).contains(&status);

    if let Some(wait) = fuzzing::retry_after(&headers) {
        assert!(wait.as_secs() <= 1_000_000_000);
    }
    let snippet = fuzzing::snippet(&body);
    assert!(snippet.chars().count() <= 201);

    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let answer = fuzzing::decode_answer(status, &headers, body.clone());
    let success = parsed
        .as_ref()
        .and_then(|v| v.get("success"))
        .and_then(Value::as_bool);
    match &answer {
        Answer::Payload(payload) => {
            assert!(ok, "HTTP {status} decoded as a success");
            // JSON text (a `Value` may not hold it: `1e400` is JSON but no f64).
            if let Err(e) = serde_json::from_str::<Box<RawValue>>(&payload.data) {
                panic!("payload data is not JSON ({e}): {:?}", payload.data);
            }
            assert_ne!(success, Some(false), "success:false decoded as a success");
            if success == Some(true)
                && let Some(Value::Object(map)) = &parsed
            {
                let data: Value = serde_json::from_str(&payload.data).expect("a part of a Value");
                assert_eq!(&data, map.get("data").unwrap_or(&Value::Null));
            }
            if let Some(id) = &payload.request_id {
                assert!(!id.is_empty());
            }
            // The pagination headers reach the transaction page (the models target fuzzes the
            // page's body).
            let per_page = 1 + u32::from(input[0]) % 100;
            if let Ok(page) = fuzzing::decode_page(payload, 1 + u32::from(input[1] % 4), per_page) {
                nexotp_fuzz::Check::check(&page);
            }
        }
        Answer::ApiError(error) | Answer::Unreadable(error) => {
            if ok && success == Some(true) {
                panic!("a success envelope decoded as an error: {error:?}");
            }
            match error {
                Error::Api(api) => {
                    if !ok {
                        assert_eq!(api.status, status);
                    }
                    assert!(
                        !api.retryable,
                        "decoded errors are not retryable until the table says"
                    );
                    if api.kind == ErrorKind::RateLimit {
                        assert!(api.bucket.is_some());
                    }
                }
                Error::UnexpectedResponse {
                    status: s, snippet, ..
                } => {
                    assert!(ok && *s == status);
                    assert!(snippet.chars().count() <= 201);
                }
                other => panic!("an answer decoded as {other:?}"),
            }
            if matches!(answer, Answer::ApiError(_)) {
                assert!(matches!(error, Error::Api(_)));
            }
            if success == Some(false) {
                assert!(matches!(answer, Answer::ApiError(_)));
            }
            // A webhook secret in the body shows in no error text.
            let text = String::from_utf8_lossy(&body);
            let shown = format!("{error:?}\n{error}");
            for secret in planted_secrets(&text) {
                assert!(
                    !shown.contains(secret),
                    "the secret {secret:?} shows in {shown}"
                );
            }
        }
    }
});

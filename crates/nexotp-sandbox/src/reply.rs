//! The answer a handler builds before the server turns it into an HTTP response, plus the two
//! body shapes every API answer uses: the NexOTP envelope and WordPress's own error object.
//! JSON goes through [`to_json`], which escapes `/` and non-ASCII like PHP's `json_encode` does
//! under WordPress.

use std::io;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::Formatter;

/// Content type of every JSON answer (WordPress's spelling).
pub(crate) const JSON_TYPE: &str = "application/json; charset=UTF-8";

/// A finished answer: status, body, and the few headers that vary.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub request_id: Option<String>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A JSON answer without a request id.
    pub fn json(status: u16, body: Vec<u8>) -> Self {
        Reply {
            status,
            content_type: JSON_TYPE,
            body,
            request_id: None,
            headers: Vec::new(),
        }
    }

    /// A success envelope around `data`.
    pub fn ok<T: Serialize + ?Sized>(status: u16, request_id: String, data: &T) -> Self {
        #[derive(Serialize)]
        struct Envelope<'a, T: ?Sized> {
            success: bool,
            data: &'a T,
            meta: Meta<'a>,
        }
        let body = to_json(&Envelope {
            success: true,
            data,
            meta: Meta {
                request_id: &request_id,
            },
        });
        Reply {
            request_id: Some(request_id),
            ..Reply::json(status, body)
        }
    }

    /// An error envelope (`success: false`).
    pub fn err(status: u16, request_id: String, code: &str, message: &str, details: Value) -> Self {
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            code: &'a str,
            message: &'a str,
            details: Value,
        }
        #[derive(Serialize)]
        struct Envelope<'a> {
            success: bool,
            error: ErrorBody<'a>,
            meta: Meta<'a>,
        }
        let body = to_json(&Envelope {
            success: false,
            error: ErrorBody {
                code,
                message,
                details,
            },
            meta: Meta {
                request_id: &request_id,
            },
        });
        Reply {
            request_id: Some(request_id),
            ..Reply::json(status, body)
        }
    }

    /// WordPress's own error shape: `{"code","message","data":{"status",..extra}}`.
    pub fn wp(
        status: u16,
        code: &str,
        message: &str,
        extra: Option<serde_json::Map<String, Value>>,
    ) -> Self {
        let mut data = serde_json::Map::new();
        data.insert("status".into(), Value::from(status));
        if let Some(extra) = extra {
            data.extend(extra);
        }
        #[derive(Serialize)]
        struct WpError<'a> {
            code: &'a str,
            message: &'a str,
            data: Value,
        }
        Reply::json(
            status,
            to_json(&WpError {
                code,
                message,
                data: Value::Object(data),
            }),
        )
    }

    /// `rest_no_route`, WordPress's answer to an unknown route or a wrong method.
    pub fn no_route() -> Self {
        Reply::wp(
            404,
            "rest_no_route",
            "No route was found matching the URL and request method.",
            None,
        )
    }

    /// An HTML page, like the ones a PHP fatal error or a missing page produce.
    pub fn html(status: u16, body: &str) -> Self {
        Reply {
            status,
            content_type: "text/html; charset=UTF-8",
            body: body.as_bytes().to_vec(),
            request_id: None,
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

#[derive(Serialize)]
struct Meta<'a> {
    request_id: &'a str,
}

/// WordPress's critical-error page (a PHP fatal error answered without `Accept: application/json`).
pub(crate) const CRITICAL_ERROR_HTML: &str = "<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\" />\
<title>WordPress &rsaquo; Error</title></head>\n<body id=\"error-page\">\
<div class=\"wp-die-message\"><p>There has been a critical error on this website.</p>\
<p><a href=\"https://wordpress.org/documentation/article/faq-troubleshooting/\">Learn more about \
troubleshooting WordPress.</a></p></div></body>\n</html>";

/// Serialises like WordPress's `wp_json_encode`: compact, `/` as `\/`, non-ASCII as `\uXXXX`.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(384);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, WpFormatter);
    // Serialising our own types into a Vec cannot fail; fall back to `null` just in case.
    if value.serialize(&mut ser).is_err() {
        out.clear();
        out.extend_from_slice(b"null");
    }
    out
}

/// A compact formatter that escapes what PHP escapes by default.
struct WpFormatter;

impl Formatter for WpFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if ch == '/' || !ch.is_ascii() {
                w.write_all(&bytes[start..i])?;
                if ch == '/' {
                    w.write_all(b"\\/")?;
                } else {
                    let mut units = [0u16; 2];
                    for unit in ch.encode_utf16(&mut units) {
                        write!(w, "\\u{unit:04x}")?;
                    }
                }
                start = i + ch.len_utf8();
            }
        }
        w.write_all(&bytes[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_php() {
        let v = serde_json::json!({"url": "http://a/b", "name": "Zürich 😀", "q": "\"x\""});
        let s = String::from_utf8(to_json(&v)).unwrap();
        assert_eq!(
            s,
            r#"{"url":"http:\/\/a\/b","name":"Z\u00fcrich \ud83d\ude00","q":"\"x\""}"#
        );
    }
}

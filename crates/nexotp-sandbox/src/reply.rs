//! The answer a handler builds before the server turns it into an HTTP response, plus the two
//! body shapes every API answer uses: the NexOTP envelope and WordPress's own error object.
//! JSON goes through [`to_json`], which escapes `/` and non-ASCII like PHP's `json_encode` does
//! under WordPress.

use std::borrow::Cow;
use std::io;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::Formatter;

/// Content type of every JSON answer (WordPress's spelling).
pub(crate) const JSON_TYPE: &str = "application/json; charset=UTF-8";

/// Content type of WordPress's (and Cloudflare's) HTML pages.
pub(crate) const HTML_TYPE: &str = "text/html; charset=UTF-8";

/// A finished answer: status, body, and the few headers that vary.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: Cow<'static, str>,
    pub body: Vec<u8>,
    pub request_id: Option<String>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A JSON answer without a request id.
    pub fn json(status: u16, body: Vec<u8>) -> Self {
        Reply {
            status,
            content_type: Cow::Borrowed(JSON_TYPE),
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
            content_type: Cow::Borrowed(HTML_TYPE),
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

/// The message of WordPress's fatal-error handler (`WP_Fatal_Error_Handler`), as HTML.
const CRITICAL_ERROR_MESSAGE: &str = "<p>There has been a critical error on this website.</p>\
<p><a href=\"https://wordpress.org/documentation/article/faq-troubleshooting/\">Learn more about \
troubleshooting WordPress.</a></p>";

/// What WordPress 6.1 answers a REST request (one that accepts JSON) after a PHP fatal error:
/// `wp_die` in its JSON form, so `/` comes out as `\/`.
pub(crate) fn wp_internal_error() -> Reply {
    Reply::json(
        500,
        to_json(&serde_json::json!({
            "code": "internal_server_error",
            "message": CRITICAL_ERROR_MESSAGE,
            "data": {"status": 500},
            "additional_errors": [],
        })),
    )
}

/// nginx's built-in error page for a status it has one for (as nginx 1.2x writes it).
fn nginx_page(status: u16) -> Option<Reply> {
    let title = match status {
        429 => "429 Too Many Requests",
        502 => "502 Bad Gateway",
        503 => "503 Service Temporarily Unavailable",
        504 => "504 Gateway Time-out",
        _ => return None,
    };
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n\
         <center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    Some(
        Reply {
            content_type: Cow::Borrowed("text/html"),
            body: body.into_bytes(),
            ..Reply::json(status, Vec::new())
        }
        .with_header("server", "nginx".into()),
    )
}

/// Cloudflare's error page for its 52x statuses (the origin failed behind the proxy).
fn cloudflare_page(status: u16, host: &str, ray: &str) -> Option<Reply> {
    let (title, what) = match status {
        520 => (
            "Web server is returning an unknown error",
            "There is an unknown connection issue between Cloudflare and the origin web server.",
        ),
        521 => (
            "Web server is down",
            "The web server is not returning a connection.",
        ),
        522 => (
            "Connection timed out",
            "The initial connection between Cloudflare's network and the origin web server timed out.",
        ),
        523 => (
            "Origin is unreachable",
            "Cloudflare is unable to reach the origin web server.",
        ),
        524 => (
            "A timeout occurred",
            "The origin web server timed out responding to this request.",
        ),
        525 => (
            "SSL handshake failed",
            "Cloudflare is unable to establish an SSL connection to the origin server.",
        ),
        526 => (
            "Invalid SSL certificate",
            "Cloudflare could not validate the SSL certificate on the origin web server.",
        ),
        _ => return None,
    };
    let body = format!(
        "<!DOCTYPE html>\n<html class=\"no-js\" lang=\"en-US\">\n<head>\n\
         <title>{host} | {status}: {title}</title>\n<meta charset=\"UTF-8\" />\n\
         <meta name=\"robots\" content=\"noindex, nofollow\" />\n</head>\n<body>\n\
         <div id=\"cf-wrapper\">\n<div id=\"cf-error-details\">\n<header>\n<h1>\
         <span class=\"inline-block\">{title}</span> \
         <span class=\"code-label\">Error code {status}</span></h1>\n</header>\n\
         <div class=\"cf-section cf-wrapper\">\n<h2>What happened?</h2>\n<p>{what}</p>\n</div>\n\
         <div class=\"cf-error-footer\">\n<p>\
         <span class=\"cf-footer-item\">Cloudflare Ray ID: <strong class=\"font-semibold\">{ray}</strong></span> \
         <span class=\"cf-footer-separator\">&bull;</span> \
         <span class=\"cf-footer-item\">Performance &amp; security by Cloudflare</span></p>\n\
         </div>\n</div>\n</div>\n</body>\n</html>\n"
    );
    Some(
        Reply::html(status, &body)
            .with_header("server", "cloudflare".into())
            .with_header("cf-ray", format!("{ray}-FRA")),
    )
}

/// An HTML error page that fits the status, as the stack in front of WordPress would send:
/// nginx's page for 429 / 502 / 503 / 504, Cloudflare's for 520–526, WordPress's
/// critical-error page for anything else (500 included). `host` names the site in
/// Cloudflare's title; `ray` is its Ray ID.
pub(crate) fn html_error_page(status: u16, host: &str, ray: &str) -> Reply {
    nginx_page(status)
        .or_else(|| cloudflare_page(status, host, ray))
        .unwrap_or_else(|| Reply::html(status, CRITICAL_ERROR_HTML))
}

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

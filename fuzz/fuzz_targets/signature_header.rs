//! The `X-NexOTP-Signature` header parser and the verification built on it.
//!
//! Input: the header value up to the first `\n`, then the body it claims to sign.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use nexotp::webhook::{SignatureHeader, parse_signature_header, sign, verify_at};

const SECRET: &str = "whsec_fuzz_secret";
const TOLERANCE: Duration = Duration::from_secs(300);

fuzz_target!(|input: &[u8]| {
    let end = input
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(input.len());
    let header = String::from_utf8_lossy(&input[..end]);
    let body = input.get(end + 1..).unwrap_or_default();

    let parsed = parse_signature_header(&header);
    let verified = verify_at(
        body,
        &header,
        SECRET,
        TOLERANCE,
        parsed.as_ref().map_or(0, |h| h.timestamp),
    );
    let Ok(parsed) = parsed else {
        assert!(verified.is_err(), "an unparsable header verified");
        return;
    };
    assert!(!parsed.signatures.is_empty());

    // Re-rendered, the header parses to the same thing.
    let mut rendered = format!("t={}", parsed.timestamp);
    for sig in &parsed.signatures {
        rendered.push_str(",v1=");
        rendered.push_str(&hex(sig));
    }
    assert_eq!(parse_signature_header(&rendered).ok(), Some(parsed.clone()));

    // It verifies exactly when one of its signatures is ours.
    let ours = sign(body, SECRET, parsed.timestamp).expect("signs");
    let expected = parse_signature_header(&ours).expect("our header parses");
    let SignatureHeader {
        signatures: ref mine,
        ..
    } = expected;
    let matches = parsed.signatures.iter().any(|s| s == &mine[0]);
    let mismatch = |r: &nexotp::Result<_>| {
        r.as_ref()
            .err()
            .is_some_and(|e| e.to_string().contains("no v1 signature matches"))
    };
    assert_eq!(
        !mismatch(&verified),
        matches,
        "verification disagrees with the signatures"
    );
    if let Err(e) = &verified
        && matches
    {
        assert!(e.to_string().contains("signature is valid"), "{e}");
    }

    // Outside the tolerance, in either direction, it never verifies.
    if let Some(late) = parsed.timestamp.checked_add(301) {
        assert!(verify_at(body, &header, SECRET, TOLERANCE, late).is_err());
    }
    if let Some(early) = parsed.timestamp.checked_sub(301) {
        assert!(verify_at(body, &header, SECRET, TOLERANCE, early).is_err());
    }
    // Our own signature at that time always passes the signature check.
    assert!(!mismatch(&verify_at(
        body,
        &ours,
        SECRET,
        TOLERANCE,
        parsed.timestamp
    )));
});

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

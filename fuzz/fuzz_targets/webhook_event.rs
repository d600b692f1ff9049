//! Webhook event decoding: any body, correctly signed, through `verify_at` (the event decoder
//! runs only after a signature matched).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use nexotp::webhook::{sign, verify_at};
use nexotp::{FromJson, Order};
use nexotp_fuzz::Check;

const SECRET: &str = "whsec_fuzz_secret";
const NOW: i64 = 1_700_000_000;

fuzz_target!(|body: &[u8]| {
    let header = sign(body, SECRET, NOW).expect("signs");
    match verify_at(body, &header, SECRET, Duration::from_secs(300), NOW) {
        Ok(event) => {
            let text = std::str::from_utf8(body).expect("a verified event is UTF-8");
            assert_eq!(event.raw.get(), text.trim_matches([' ', '\t', '\n', '\r']));
            assert!(event.raw.get().starts_with('{'));
            let order = if event.kind.starts_with("order.") {
                Order::from_json(event.data.get()).ok()
            } else {
                None
            };
            assert_eq!(event.order, order);
            if let Some(order) = &event.order {
                order.check();
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains("signature is valid"),
                "a signed body failed: {message}"
            );
        }
    }
});

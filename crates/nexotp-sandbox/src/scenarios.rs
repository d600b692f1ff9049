//! Named scenarios: magic service ids, country codes and an API key that make the sandbox
//! behave in one known way, as Stripe's test cards and Twilio's magic numbers do. They live in
//! the sandbox, so every client (Rust, Python, Node, the CLI, plain HTTP) and the binary get
//! them without any extra API: a test just orders `svc_test_no_code` instead of
//! `svc_telegram`.
//!
//! A scenario service works in every country, and a scenario country with every service; both
//! are priced and stocked like `svc_telegram` / `cty_us` (share their stock), are echoed back
//! as given in orders and prices, and are not listed by `GET /services` or `GET /countries`
//! (so the catalogue stays the seeded one). When both the service and the country name a
//! scenario, the service's applies. `GET /__sandbox/scenarios` lists them all.

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};

/// An API key the sandbox always accepts besides its own, whose wallet is empty: `GET
/// /account` shows a balance of 0.00 and `POST /order` answers 402 `insufficient_balance`;
/// everything else behaves as with the real key (same world).
pub const NO_BALANCE_API_KEY: &str = "sk_test_no_balance";

/// The prefix of scenario service ids.
pub const SCENARIO_SERVICE_PREFIX: &str = "svc_test_";

/// The prefix of scenario country codes.
pub const SCENARIO_COUNTRY_PREFIX: &str = "cty_test_";

/// How much `price_jump` orders cost above the price `GET /price` quoted.
pub const PRICE_JUMP: Decimal = Decimal::from_parts(25, 0, 0, false, 2);

/// The longest `code_after_Ns`.
const MAX_CODE_AFTER_S: u64 = 86_400;

/// The scenario names (after `svc_test_` or `cty_test_`) and what they do.
pub const SCENARIOS: [(&str, &str); 6] = [
    (
        "no_code",
        "the order never receives a code: it stays pending until cancelled or expired \
         (refunded) after the order TTL",
    ),
    (
        "code_after_{N}s",
        "the code arrives N seconds (0 to 86400) after the order or a resend, whatever the \
         sandbox's code delay, e.g. svc_test_code_after_1s",
    ),
    (
        "two_codes",
        "the order receives two codes without a resend: the first after the code delay, \
         the second one code delay later (codes has both, code is the latest)",
    ),
    (
        "expires",
        "the order expires (and is refunded) when its code would have arrived, after the \
         code delay, instead of receiving it",
    ),
    (
        "cancel_fails",
        "cancelling the order is refused: 409 order_not_cancellable, even while pending; \
         the code arrives as usual",
    ),
    (
        "price_jump",
        "GET /price quotes the usual price, but POST /order charges 0.25 more: with \
         max_price set to the quote the order is refused (409 max_price_exceeded), \
         without it the order costs quote + 0.25",
    ),
];

/// One scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    NoCode,
    CodeAfter(Duration),
    TwoCodes,
    Expires,
    CancelFails,
    PriceJump,
}

impl Scenario {
    /// The scenario a service id or country code names, if any.
    pub fn parse(id: &str) -> Option<Scenario> {
        let name = id
            .strip_prefix(SCENARIO_SERVICE_PREFIX)
            .or_else(|| id.strip_prefix(SCENARIO_COUNTRY_PREFIX))?;
        Some(match name {
            "no_code" => Scenario::NoCode,
            "two_codes" => Scenario::TwoCodes,
            "expires" => Scenario::Expires,
            "cancel_fails" => Scenario::CancelFails,
            "price_jump" => Scenario::PriceJump,
            other => {
                let n = other.strip_prefix("code_after_")?.strip_suffix('s')?;
                if n.is_empty() || n.len() > 5 || !n.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let secs: u64 = n.parse().ok()?;
                if secs > MAX_CODE_AFTER_S {
                    return None;
                }
                Scenario::CodeAfter(Duration::from_secs(secs))
            }
        })
    }

    /// The scenario of an order for this service and country (the service's first).
    pub fn of_order(service: &str, country: &str) -> Option<Scenario> {
        Scenario::parse(service).or_else(|| Scenario::parse(country))
    }
}

/// `GET /__sandbox/scenarios`.
pub(crate) fn listing() -> Value {
    let list: Vec<Value> = SCENARIOS
        .iter()
        .map(|(name, what)| {
            json!({
                "name": name,
                "service": format!("{SCENARIO_SERVICE_PREFIX}{name}"),
                "country": format!("{SCENARIO_COUNTRY_PREFIX}{name}"),
                "description": what,
            })
        })
        .collect();
    json!({
        "scenarios": list,
        "api_keys": [{
            "key": NO_BALANCE_API_KEY,
            "description": "accepted besides the sandbox's key; its wallet is empty: balance \
                            0.00, POST /order answers 402 insufficient_balance",
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(Scenario::parse("svc_test_no_code"), Some(Scenario::NoCode));
        assert_eq!(
            Scenario::parse("cty_test_two_codes"),
            Some(Scenario::TwoCodes)
        );
        assert_eq!(
            Scenario::parse("svc_test_code_after_5s"),
            Some(Scenario::CodeAfter(Duration::from_secs(5)))
        );
        assert_eq!(Scenario::parse("svc_test_code_after_86401s"), None);
        assert_eq!(Scenario::parse("svc_test_code_after_s"), None);
        assert_eq!(Scenario::parse("svc_test_code_after_+1s"), None);
        assert_eq!(Scenario::parse("svc_test_nope"), None);
        assert_eq!(Scenario::parse("svc_telegram"), None);
        assert_eq!(PRICE_JUMP.to_string(), "0.25");
        assert_eq!(
            Scenario::of_order("svc_test_expires", "cty_test_no_code"),
            Some(Scenario::Expires)
        );
        assert_eq!(
            Scenario::of_order("svc_telegram", "cty_test_no_code"),
            Some(Scenario::NoCode)
        );
    }
}

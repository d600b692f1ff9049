//! Invariants the fuzz targets check on whatever decoded, shared by the targets.
//!
//! "No panic" is the least a decoder owes; these are the promises that are cheap to check on
//! every input: money keeps its digits, ids are never empty, a model re-decodes from its own
//! `raw` to the same value, a webhook's secret never stays in its `raw`.

use std::collections::HashMap;

use nexotp::fuzzing::{self, Model};
use nexotp::{
    Account, Country, Decimal, Order, OrderStatus, Pool, Price, Service, Transaction,
    TransactionPage, Webhook, WebhookDeleted,
};
use serde_json::value::RawValue;

/// The members of an object's JSON text (last one wins, as the models have none twice).
pub fn members(text: &str) -> HashMap<String, &RawValue> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A plain decimal (`-?(0|[1-9]d*)(.d+)?`) of at most 28 digits: what must come back digit for
/// digit from a `Decimal`.
fn canonical_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let int_ok = int == "0"
        || (!int.is_empty() && !int.starts_with('0') && int.bytes().all(|b| b.is_ascii_digit()));
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    let count = int.len() + frac.map_or(0, str::len);
    int_ok && frac_ok && count <= 28
}

/// A decoded amount against the JSON text it came from (`None` when the field was absent).
pub fn check_money(amount: Decimal, field: Option<&RawValue>) {
    // Re-rendered, it reads back to the same value and the same digits.
    let rendered = amount.to_string();
    let again = fuzzing::money_from_json(&rendered)
        .unwrap_or_else(|e| panic!("{rendered:?} (a decoded amount) does not re-read: {e}"));
    assert_eq!(again, amount);
    assert_eq!(again.to_string(), rendered, "digits changed on re-reading");
    let Some(field) = field else { return };
    let text = field.get().trim();
    let digits = match serde_json::from_str::<String>(text) {
        Ok(s) => s.trim().to_owned(),
        Err(_) => text.to_owned(),
    };
    if canonical_decimal(&digits) {
        // Digit for digit, sign included (but `-0` may come back as `0`).
        let expected = if amount.is_zero() {
            digits.trim_start_matches('-').to_owned()
        } else {
            digits
        };
        assert_eq!(
            rendered.trim_start_matches(if amount.is_zero() { "-" } else { "" }),
            expected,
            "money lost digits: {text} decoded as {amount}"
        );
    }
}

fn check_opt_money(amount: Option<Decimal>, field: Option<&RawValue>) {
    if let Some(amount) = amount {
        check_money(amount, field);
    }
}

fn check_id(id: &str) {
    assert!(!id.is_empty(), "a decoded id is empty");
}

/// Every model but a pool (which may be its id alone) is an object: a list is never a model.
fn object(raw: &str) {
    assert!(raw.starts_with('{'), "a model decoded from {raw:?}");
}

/// Every model: its own `raw` decodes again to the same model.
fn redecodes<T: Model + PartialEq + std::fmt::Debug>(model: &T, raw: &str) {
    let again =
        T::decode_one(raw).unwrap_or_else(|e| panic!("raw {raw:?} does not re-decode: {e}"));
    assert_eq!(&again, model, "re-decoding raw gave another model");
}

/// Invariants of one decoded model.
pub trait Check {
    /// Panics when an invariant does not hold.
    fn check(&self);
}

impl Check for Account {
    fn check(&self) {
        object(self.raw.get());
        let m = members(self.raw.get());
        check_money(self.balance, m.get("balance").copied());
        assert!(self.usage.is_object());
        redecodes(self, self.raw.get());
    }
}

impl Check for Transaction {
    fn check(&self) {
        object(self.raw.get());
        let m = members(self.raw.get());
        check_id(&self.id);
        check_money(self.amount, m.get("amount").copied());
        check_opt_money(self.balance_after, m.get("balance_after").copied());
        redecodes(self, self.raw.get());
    }
}

impl Check for Country {
    fn check(&self) {
        object(self.raw.get());
        check_id(&self.code);
        redecodes(self, self.raw.get());
    }
}

impl Check for Service {
    fn check(&self) {
        object(self.raw.get());
        let m = members(self.raw.get());
        check_id(&self.id);
        check_opt_money(self.price, m.get("price").copied());
        redecodes(self, self.raw.get());
    }
}

impl Check for Pool {
    fn check(&self) {
        let m = members(self.raw.get());
        check_id(&self.id);
        check_opt_money(self.price, m.get("price").copied());
        check_opt_money(self.success_rate, m.get("success_rate").copied());
        redecodes(self, self.raw.get());
    }
}

impl Check for Price {
    fn check(&self) {
        object(self.raw.get());
        let m = members(self.raw.get());
        check_money(self.price, m.get("price").copied());
        self.pools.iter().for_each(Check::check);
        redecodes(self, self.raw.get());
    }
}

impl Check for Order {
    fn check(&self) {
        object(self.raw.get());
        let m = members(self.raw.get());
        check_id(&self.id);
        check_opt_money(self.price, m.get("price").copied());
        check_opt_money(self.refund, m.get("refund").copied());
        assert_eq!(OrderStatus::from(self.status.as_str()), self.status);
        let all = self.all_codes();
        if let Some(code) = &self.code {
            assert!(all.contains(&code.as_str()));
        }
        assert!(all.len() >= self.codes.len());
        redecodes(self, self.raw.get());
    }
}

impl Check for Webhook {
    fn check(&self) {
        object(self.raw.get());
        check_id(&self.id);
        // The secret is kept only in `secret`: `raw` has no member that decodes to `secret`.
        let m = members(self.raw.get());
        assert!(
            !m.contains_key("secret"),
            "the secret stayed in raw: {}",
            self.raw.get()
        );
        if let Some(secret) = &self.secret {
            assert!(!secret.expose().is_empty());
            assert!(format!("{self:?}").contains("WebhookSecret(<redacted>)"));
        }
        let again = Webhook::decode_one(self.raw.get()).expect("raw re-decodes");
        assert_eq!(again.id, self.id);
        assert_eq!(again.events, self.events);
        assert_eq!(again.endpoint_url, self.endpoint_url);
        assert_eq!(again.secret, None);
    }
}

impl Check for WebhookDeleted {
    fn check(&self) {
        object(self.raw.get());
        redecodes(self, self.raw.get());
    }
}

impl Check for TransactionPage {
    fn check(&self) {
        assert!(self.per_page > 0);
        if let (Some(pages), true) = (self.total_pages, self.has_more) {
            assert!(self.page < pages);
        }
        if self.has_more {
            assert!(!self.items.is_empty());
        }
        self.items.iter().for_each(Check::check);
    }
}

/// Decodes `data` as one `T` and as a list of `T`, checking what decodes.
pub fn decode_and_check<T: Model + Check>(data: &str, list: bool) {
    if list {
        if let Ok(items) = T::decode_list(data) {
            items.iter().for_each(Check::check);
        }
    } else if let Ok(model) = T::decode_one(data) {
        model.check();
    }
}

/// The secrets (`whsec_...` tokens of 10 characters or more) that follow `secret":"` in a body,
/// whole or as a server cut off inside one would leave them.
/// The body is read left to right as JSON text is: a `secret":"` inside a value already taken
/// is part of that value, not a key of its own.
pub fn planted_secrets(body: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find("secret\"") {
        rest = &rest[at + "secret\"".len()..];
        let Some(value) = rest
            .trim_start()
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|v| v.strip_prefix('"'))
        else {
            continue;
        };
        let end = closing_quote(value).unwrap_or(value.len());
        // The token a secret is (`whsec_` and letters, digits, `_`, `-`), as far as it goes:
        // text that the excerpt's clean-up (HTML, control characters, spaces) cannot make.
        let token = value
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(value.len());
        let secret = &value[..token];
        // Only a token that appears once in the body: the same text elsewhere may be shown.
        if secret.starts_with("whsec_") && secret.len() >= 10 && body.matches(secret).count() == 1 {
            found.push(secret);
        }
        rest = &value[end..];
    }
    found
}

/// The index of the first unescaped `"` in a JSON string's content.
fn closing_quote(value: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

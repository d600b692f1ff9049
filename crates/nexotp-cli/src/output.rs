//! Rendering: aligned tables and key/value blocks for people, one JSON document for scripts.
//!
//! Money is printed with `Decimal`'s own `Display`, so `0.50` stays `0.50`: never through a
//! float. JSON output is the API's data as received (the models' `raw`), so a script sees every
//! field, including ones this version of the CLI does not know.

use std::fmt::Display;
use std::io::Write;
use std::sync::Mutex;

use nexotp::{Account, Country, Order, Price, Service, Transaction, TransactionPage, Webhook};
use serde_json::{Value, json};

/// A table with aligned columns; columns marked numeric are right-aligned.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<&'static str>,
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers; a header ending in `>` is right-aligned (the `>` is
    /// not printed).
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.trim_end_matches('>')).collect(),
            numeric: headers.iter().map(|h| h.ends_with('>')).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, each line indented by `indent` spaces.
    pub fn render(&self, indent: usize) -> String {
        let cols = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let pad = " ".repeat(indent);
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut out = String::new();
            for (i, cell) in cells.enumerate().take(cols) {
                let fill = widths[i].saturating_sub(cell.chars().count());
                if i > 0 {
                    out.push_str("  ");
                }
                if self.numeric[i] {
                    out.push_str(&" ".repeat(fill));
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    if i + 1 < cols {
                        out.push_str(&" ".repeat(fill));
                    }
                }
            }
            format!("{pad}{}\n", out.trim_end())
        };
        let mut text = line(&mut self.headers.iter().copied());
        for row in &self.rows {
            let mut cells = row.iter().map(String::as_str).chain(std::iter::repeat(""));
            text.push_str(&line(&mut cells));
        }
        if self.rows.is_empty() {
            text.push_str(&format!("{pad}(none)\n"));
        }
        text
    }
}

/// Key/value lines with the values aligned; pairs with no value are left out.
pub fn pairs(items: &[(&str, Option<String>)], indent: usize) -> String {
    let width = items
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let pad = " ".repeat(indent);
    items
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{pad}{k:<width$}  {v}\n")))
        .collect()
}

fn opt<T: Display>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn some<T: Display>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(ToString::to_string)
}

/// Money with its currency when known: `25.00 USD`.
pub fn money(amount: impl Display, currency: &Option<String>) -> String {
    match currency {
        Some(c) => format!("{amount} {c}"),
        None => amount.to_string(),
    }
}

/// The first failure to write stdout other than a closed pipe, kept for `main` to report.
///
/// Printing happens in many places, some of which cannot return an error (the wait's progress
/// callback), so a failure is recorded here and turned into the exit code once the command ends.
static STDOUT_FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Writes text to stdout. A closed pipe (`nexotp ... | head`) is not an error worth a message;
/// any other failure (a full disk: `> /dev/full`) is recorded and reported by [`stdout_failure`].
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let result = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if let Err(e) = result
        && e.kind() != std::io::ErrorKind::BrokenPipe
        && let Ok(mut failure) = STDOUT_FAILURE.lock()
        && failure.is_none()
    {
        *failure = Some(e.to_string());
    }
}

/// The first stdout write failure (other than a closed pipe), if any.
pub fn stdout_failure() -> Option<String> {
    STDOUT_FAILURE.lock().ok().and_then(|f| f.clone())
}

/// Writes one line to stderr. Unlike `eprintln!`, it never panics: when stderr is closed or
/// full there is nowhere left to say anything, and the exit code still tells the outcome.
pub fn eprint(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Writes one JSON document (pretty) to stdout.
pub fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    print(&format!("{text}\n"));
}

/// The account.
pub fn account(a: &Account, indent: usize) -> String {
    let usage = match &a.usage {
        Value::Object(map) if !map.is_empty() => Some(
            map.iter()
                .map(|(k, v)| format!("{k}={}", scalar(v)))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    };
    pairs(
        &[
            ("balance", Some(money(a.balance, &a.currency))),
            ("plan", some(&a.plan)),
            ("email", some(&a.email)),
            ("user", some(&a.user_id)),
            ("usage", usage),
        ],
        indent,
    )
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Countries.
pub fn countries(list: &[Country], indent: usize) -> String {
    let mut t = Table::new(&["CODE", "NAME", "ISO", "DIAL"]);
    for c in list {
        t.row(vec![
            c.code.clone(),
            opt(&c.name),
            opt(&c.iso),
            opt(&c.dial_code),
        ]);
    }
    t.render(indent)
}

/// Services.
pub fn services(list: &[Service], indent: usize) -> String {
    let mut t = Table::new(&["SERVICE", "NAME", "FROM>", "AVAILABLE>"]);
    for s in list {
        t.row(vec![
            s.id.clone(),
            opt(&s.name),
            opt(&s.price),
            opt(&s.available),
        ]);
    }
    t.render(indent)
}

/// A price and its pools.
pub fn price(p: &Price, indent: usize) -> String {
    let mut text = pairs(
        &[
            ("service", some(&p.service)),
            ("country", some(&p.country)),
            ("price", Some(money(p.price, &p.currency))),
            ("available", some(&p.available)),
        ],
        indent,
    );
    if !p.pools.is_empty() {
        let mut t = Table::new(&["POOL", "PRICE>", "AVAILABLE>", "SUCCESS RATE>"]);
        for pool in &p.pools {
            t.row(vec![
                pool.id.clone(),
                opt(&pool.price),
                opt(&pool.available),
                opt(&pool.success_rate),
            ]);
        }
        text.push('\n');
        text.push_str(&t.render(indent));
    }
    text
}

/// An order.
pub fn order(o: &Order, indent: usize) -> String {
    let codes = (!o.codes.is_empty()).then(|| o.codes.join(", "));
    pairs(
        &[
            ("order", Some(o.id.clone())),
            ("status", Some(o.status.to_string())),
            ("service", some(&o.service)),
            ("country", some(&o.country)),
            ("pool", some(&o.pool)),
            ("phone", some(&o.phone)),
            ("price", some(&o.price)),
            ("code", some(&o.code)),
            ("codes", codes),
            ("sms", some(&o.sms)),
            ("refund", some(&o.refund)),
            ("created", some(&o.created_at)),
            ("expires", some(&o.expires_at)),
        ],
        indent,
    )
}

/// Transactions as a table.
pub fn transactions(list: &[Transaction], indent: usize) -> String {
    let mut t = Table::new(&[
        "ID",
        "TYPE",
        "AMOUNT>",
        "BALANCE>",
        "ORDER",
        "CREATED",
        "DESCRIPTION",
    ]);
    for tx in list {
        t.row(vec![
            tx.id.clone(),
            opt(&tx.kind),
            tx.amount.to_string(),
            opt(&tx.balance_after),
            opt(&tx.order_id),
            opt(&tx.created_at),
            opt(&tx.description),
        ]);
    }
    t.render(indent)
}

/// One page of transactions, with where it stands.
pub fn transaction_page(page: &TransactionPage, indent: usize) -> String {
    let mut text = transactions(&page.items, indent);
    let mut footer = format!("page {}", page.page);
    if let Some(pages) = page.total_pages {
        footer.push_str(&format!(" of {pages}"));
    }
    if let Some(total) = page.total {
        footer.push_str(&format!(", {total} transactions"));
    }
    if page.has_more {
        footer.push_str(&format!("; next: --page {}", page.page.saturating_add(1)));
    }
    text.push_str(&format!("{}{footer}\n", " ".repeat(indent)));
    text
}

/// Webhooks as a table.
pub fn webhooks(list: &[Webhook], indent: usize) -> String {
    let mut t = Table::new(&["ID", "URL", "EVENTS", "ACTIVE", "CREATED"]);
    for w in list {
        t.row(vec![
            w.id.clone(),
            opt(&w.endpoint_url),
            w.events.join(","),
            opt(&w.active),
            opt(&w.created_at),
        ]);
    }
    t.render(indent)
}

/// A webhook (with its secret when this is the create answer).
pub fn webhook(w: &Webhook, indent: usize) -> String {
    pairs(
        &[
            ("webhook", Some(w.id.clone())),
            ("url", some(&w.endpoint_url)),
            ("events", Some(w.events.join(", "))),
            ("active", some(&w.active)),
            ("created", some(&w.created_at)),
            (
                "secret",
                w.secret
                    .as_ref()
                    .map(|s| format!("{}  (shown this once: store it now)", s.expose())),
            ),
        ],
        indent,
    )
}

/// The JSON of a webhook: its data, plus the secret when the answer carried one.
pub fn webhook_json(w: &Webhook) -> Value {
    let mut raw = w.raw.to_value();
    if let (Some(secret), Value::Object(map)) = (&w.secret, &mut raw) {
        map.insert("secret".into(), json!(secret.expose()));
    }
    raw
}

/// The JSON of a page of transactions.
pub fn page_json(page: &TransactionPage) -> Value {
    json!({
        "items": page.items.iter().map(|t| t.raw.to_value()).collect::<Vec<_>>(),
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "total_pages": page.total_pages,
        "has_more": page.has_more,
    })
}

/// The JSON list of models' raw data.
pub fn raw_list<'a>(items: impl IntoIterator<Item = &'a nexotp::RawJson>) -> Value {
    Value::Array(items.into_iter().map(nexotp::RawJson::to_value).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_right_align_numbers() {
        let mut t = Table::new(&["ID", "NAME", "PRICE>"]);
        t.row(vec!["1".into(), "Telegram".into(), "0.5".into()]);
        t.row(vec!["22".into(), "X".into(), "12.75".into()]);
        assert_eq!(
            t.render(0),
            "ID  NAME      PRICE\n1   Telegram    0.5\n22  X         12.75\n"
        );
        assert_eq!(Table::new(&["A"]).render(2), "  A\n  (none)\n");
    }

    #[test]
    fn pairs_skip_missing_values() {
        let text = pairs(&[("a", Some("1".into())), ("long", None)], 0);
        assert_eq!(text, "a  1\n");
    }
}

//! Transactions, one page at a time or as a lazy stream.
//!
//! Totals come from the body (`total`, `total_pages`) or from WordPress's `X-WP-Total` /
//! `X-WP-TotalPages` headers, whichever is present; with neither, a short page is the last.
//! [`TransactionPager`] holds the cursor so every binding iterates the same way (Python's
//! iterators and Node's async iterable call [`TransactionPager::next`]).

use std::collections::VecDeque;

use futures_core::Stream;
use serde_json::Value;

use crate::client::{Client, unexpected};
use crate::envelope::Payload;
use crate::error::Result;
use crate::models::{self, Transaction, TransactionPage};
use crate::validate;

/// The page size of `transactions` when the caller gives none (the API's own default).
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// The page size of the all-transactions iterators when the caller gives none (the API's max).
pub const DEFAULT_ITER_PAGE_SIZE: u32 = 100;

/// A count as the API may give it: a number or a numeric string.
fn count<T: TryFrom<u64>>(value: Option<&Value>) -> Option<T> {
    let n = match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    T::try_from(n).ok()
}

/// A page object: the list under one of three names, and the totals, read without parsing
/// the list itself (the models decode it from its text).
#[derive(serde::Deserialize)]
struct PageObject<'a> {
    #[serde(borrow, default)]
    items: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    transactions: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    data: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    page: Option<Value>,
    #[serde(default)]
    current_page: Option<Value>,
    #[serde(default)]
    per_page: Option<Value>,
    #[serde(default)]
    total: Option<Value>,
    #[serde(default)]
    total_items: Option<Value>,
    #[serde(default)]
    total_pages: Option<Value>,
    #[serde(default)]
    pages: Option<Value>,
}

/// Builds a page from the payload and the pagination headers.
pub(crate) fn decode_page(payload: Payload, page: u32, per_page: u32) -> Result<TransactionPage> {
    let data = payload.data();
    let (items, page_no, size, total, total_pages) = if data.trim_start().starts_with('{') {
        let object: PageObject<'_> =
            serde_json::from_str(data).map_err(|e| unexpected(&e.to_string()))?;
        let list = object
            .items
            .or(object.transactions)
            .or(object.data)
            .map_or("[]", |raw| raw.get());
        (
            list,
            count::<u32>(object.page.as_ref().or(object.current_page.as_ref())),
            count::<u32>(object.per_page.as_ref()),
            count::<u64>(object.total.as_ref().or(object.total_items.as_ref())),
            count::<u32>(object.total_pages.as_ref().or(object.pages.as_ref())),
        )
    } else {
        (data, None, None, None, None)
    };
    let items: Vec<Transaction> = models::decode_list(items).map_err(|e| unexpected(&e))?;
    let page = page_no.unwrap_or(page);
    let per_page = size.filter(|s| *s > 0).unwrap_or(per_page);
    let total = total.or(payload.wp_total);
    let total_pages = total_pages.or(payload.wp_total_pages).or_else(|| {
        total.map(|t| u32::try_from(t.div_ceil(u64::from(per_page))).unwrap_or(u32::MAX))
    });
    let has_more = match total_pages {
        Some(pages) => page < pages && !items.is_empty(),
        None => items.len() as u64 >= u64::from(per_page),
    };
    Ok(TransactionPage {
        items,
        page,
        per_page,
        total,
        total_pages,
        has_more,
    })
}

/// A cursor over all transactions, fetching one page when the previous one is used up.
#[derive(Debug)]
pub struct TransactionPager {
    client: Client,
    per_page: u32,
    next_page: Option<u32>,
    buffer: VecDeque<Transaction>,
}

impl TransactionPager {
    /// The next transaction, `None` after the last. Fetches a page when needed.
    pub async fn next(&mut self) -> Result<Option<Transaction>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Ok(Some(item));
            }
            match self.next_page().await? {
                Some(page) => self.buffer.extend(page.items),
                None => return Ok(None),
            }
        }
    }

    /// The next whole page, `None` after the last (for callers that batch).
    pub async fn next_page(&mut self) -> Result<Option<TransactionPage>> {
        let Some(page) = self.next_page else {
            return Ok(None);
        };
        let fetched = self.client.transactions(page, self.per_page).await?;
        // Advance from the page asked for, not the one reported: a server that ignores `page`
        // must not make this loop forever.
        self.next_page =
            (fetched.has_more && !fetched.items.is_empty()).then(|| page.saturating_add(1));
        Ok(Some(fetched))
    }

    /// This cursor as a [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Result<Transaction>> + Send + 'static {
        futures_util::stream::unfold(Some(self), |pager| async move {
            let mut pager = pager?;
            match pager.next().await {
                Ok(Some(item)) => Some((Ok(item), Some(pager))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

impl Client {
    /// A cursor over every transaction, `per_page` (1..=100) at a time. Nothing is fetched
    /// until the first `next`.
    pub fn transaction_pager(&self, per_page: u32) -> Result<TransactionPager> {
        validate::per_page(per_page)?;
        Ok(TransactionPager {
            client: self.clone(),
            per_page,
            next_page: Some(1),
            buffer: VecDeque::new(),
        })
    }

    /// Every transaction as a lazy [`Stream`]; a bad `per_page` is its first (and only) item.
    pub fn transactions_stream(
        &self,
        per_page: u32,
    ) -> impl Stream<Item = Result<Transaction>> + Send + 'static {
        let pager = self.transaction_pager(per_page);
        futures_util::stream::unfold(Some(pager), |state| async move {
            match state? {
                Ok(mut pager) => match pager.next().await {
                    Ok(Some(item)) => Some((Ok(item), Some(Ok(pager)))),
                    Ok(None) => None,
                    Err(e) => Some((Err(e), None)),
                },
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(data: Value, total: Option<u64>, pages: Option<u32>) -> Payload {
        Payload::from_data(&data.to_string(), total, pages)
    }

    fn items(ids: std::ops::Range<u64>) -> Value {
        Value::Array(
            ids.map(|id| json!({"id": id, "type": "order", "amount": "-0.50"}))
                .collect(),
        )
    }

    #[test]
    fn totals_from_the_wordpress_headers_only() {
        // `data` is the bare list; only X-WP-Total / X-WP-TotalPages tell the totals.
        let page = decode_page(payload(items(0..10), Some(25), Some(3)), 1, 10).expect("page");
        assert_eq!(page.items.len(), 10);
        assert_eq!((page.page, page.per_page), (1, 10));
        assert_eq!(page.total, Some(25));
        assert_eq!(page.total_pages, Some(3));
        assert!(page.has_more);
        let last = decode_page(payload(items(20..25), Some(25), Some(3)), 3, 10).expect("page");
        assert!(!last.has_more);
        assert_eq!(last.items[0].id, "20");
    }

    #[test]
    fn total_pages_derived_from_the_total_header() {
        let page = decode_page(payload(items(0..10), Some(30), None), 2, 10).expect("page");
        assert_eq!(page.total_pages, Some(3));
        assert!(page.has_more);
        let page = decode_page(payload(items(0..10), Some(30), None), 3, 10).expect("page");
        assert!(!page.has_more);
    }

    #[test]
    fn without_any_totals_a_short_page_is_the_last() {
        let full = decode_page(payload(items(0..10), None, None), 1, 10).expect("page");
        assert_eq!((full.total, full.total_pages), (None, None));
        assert!(full.has_more);
        let short = decode_page(payload(items(0..4), None, None), 2, 10).expect("page");
        assert!(!short.has_more);
    }

    #[test]
    fn body_totals_win_over_headers() {
        let data =
            json!({"items": items(0..2), "page": 1, "per_page": 2, "total": 3, "total_pages": 2});
        let page = decode_page(payload(data, Some(99), Some(50)), 1, 2).expect("page");
        assert_eq!((page.total, page.total_pages), (Some(3), Some(2)));
    }
}

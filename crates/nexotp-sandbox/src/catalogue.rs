//! The seeded catalogue: countries, services and the supply pools behind each
//! (service, country) pair. Prices, stock and success rates are pure functions of the seed so
//! that two sandboxes started with the same seed answer identically.
//!
//! Fixed facts (independent of the seed), relied on by tests in every language:
//! - `pool_a` is always the cheapest pool of a pair and the last pool has the best success rate;
//! - `svc_whatsapp` in `cty_de` has every pool at 0 stock ([`NO_STOCK`]).
//!
//! The five named countries always come first. A larger catalogue (`--countries N`) appends
//! made-up ones (`cty_x0005`, "Sample Country 5", ...) so that `GET /countries` can answer with
//! a list of realistic size: benchmarks use it for a ~20 KB answer.

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::util::hash;

/// The (service, country) pair whose pools all have 0 stock, for `no_numbers_available` tests.
pub const NO_STOCK: (&str, &str) = ("svc_whatsapp", "cty_de");

/// A country of the catalogue, as `GET /countries` lists it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Country {
    pub code: Cow<'static, str>,
    pub name: Cow<'static, str>,
    pub iso: Cow<'static, str>,
    pub dial_code: Cow<'static, str>,
}

/// A service (the app the number receives codes for).
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub id: &'static str,
    pub name: &'static str,
}

/// One supply pool of a (service, country) pair.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Pool {
    pub id: &'static str,
    #[serde(serialize_with = "crate::util::ser_money")]
    pub price: Decimal,
    pub available: u32,
    #[serde(serialize_with = "crate::util::ser_money")]
    pub success_rate: Decimal,
}

/// The named countries; every catalogue starts with them.
pub(crate) const NAMED_COUNTRIES: usize = 5;

const COUNTRIES: [Country; NAMED_COUNTRIES] = [
    Country {
        code: Cow::Borrowed("cty_us"),
        name: Cow::Borrowed("United States"),
        iso: Cow::Borrowed("US"),
        dial_code: Cow::Borrowed("+1"),
    },
    Country {
        code: Cow::Borrowed("cty_gb"),
        name: Cow::Borrowed("United Kingdom"),
        iso: Cow::Borrowed("GB"),
        dial_code: Cow::Borrowed("+44"),
    },
    Country {
        code: Cow::Borrowed("cty_de"),
        name: Cow::Borrowed("Germany"),
        iso: Cow::Borrowed("DE"),
        dial_code: Cow::Borrowed("+49"),
    },
    Country {
        code: Cow::Borrowed("cty_in"),
        name: Cow::Borrowed("India"),
        iso: Cow::Borrowed("IN"),
        dial_code: Cow::Borrowed("+91"),
    },
    Country {
        code: Cow::Borrowed("cty_br"),
        name: Cow::Borrowed("Brazil"),
        iso: Cow::Borrowed("BR"),
        dial_code: Cow::Borrowed("+55"),
    },
];

const SERVICES: [Service; 6] = [
    Service {
        id: "svc_telegram",
        name: "Telegram",
    },
    Service {
        id: "svc_whatsapp",
        name: "WhatsApp",
    },
    Service {
        id: "svc_google",
        name: "Google",
    },
    Service {
        id: "svc_facebook",
        name: "Facebook",
    },
    Service {
        id: "svc_discord",
        name: "Discord",
    },
    Service {
        id: "svc_amazon",
        name: "Amazon",
    },
];

const POOL_IDS: [&str; 3] = ["pool_a", "pool_b", "pool_c"];

/// The made-up country number `i` of a large catalogue: a valid code (`cty_x0042`), a name,
/// a two-letter ISO-like code and a dial code (code and dial code unique).
fn sample_country(i: usize) -> Country {
    let letter = |n: usize| char::from(b'A' + (n % 26) as u8);
    Country {
        code: Cow::Owned(format!("cty_x{i:04}")),
        name: Cow::Owned(format!("Sample Country {i}")),
        iso: Cow::Owned(format!("{}{}", letter(i / 26), letter(i))),
        dial_code: Cow::Owned(format!("+{}", 1000 + i)),
    }
}

/// Countries, services and pools; `pools[service][country]`.
#[derive(Debug, Clone)]
pub(crate) struct Catalogue {
    pub countries: Vec<Country>,
    pub services: Vec<Service>,
    pools: Vec<Vec<Vec<Pool>>>,
}

impl Catalogue {
    /// Builds the catalogue for a seed, with `countries` countries: the named ones, then made-up
    /// ones up to that number (fewer than the named ones still gives all the named ones).
    pub fn new(seed: u64, countries: usize) -> Self {
        let countries: Vec<Country> = COUNTRIES
            .iter()
            .cloned()
            .chain((NAMED_COUNTRIES..countries).map(sample_country))
            .collect();
        let pools = (0..SERVICES.len() as u64)
            .map(|s| {
                countries
                    .iter()
                    .enumerate()
                    .map(|(c, country)| Self::pools_for(seed, s, c as u64, &country.code))
                    .collect()
            })
            .collect();
        Catalogue {
            countries,
            services: SERVICES.to_vec(),
            pools,
        }
    }

    fn pools_for(seed: u64, s: u64, c: u64, country: &str) -> Vec<Pool> {
        let h = |salt: u64| hash(seed, &[1, s, c, salt]);
        let n = 2 + (h(0) % 2) as usize;
        let no_stock = SERVICES[s as usize].id == NO_STOCK.0 && country == NO_STOCK.1;
        let mut price_cents = 20 + (h(1) % 130) as i64;
        let mut rate_pct = 70 + (h(2) % 10) as i64;
        (0..n)
            .map(|i| {
                if i > 0 {
                    price_cents += 5 + (h(10 + i as u64) % 20) as i64;
                    rate_pct += 5 + (h(20 + i as u64) % 5) as i64;
                }
                Pool {
                    id: POOL_IDS[i],
                    price: Decimal::new(price_cents, 2),
                    available: if no_stock {
                        0
                    } else {
                        100 + (h(30 + i as u64) % 400) as u32
                    },
                    success_rate: Decimal::new(rate_pct, 2),
                }
            })
            .collect()
    }

    /// Index of a country code.
    pub fn country(&self, code: &str) -> Option<usize> {
        self.countries.iter().position(|c| c.code == code)
    }

    /// Index of a service id.
    pub fn service(&self, id: &str) -> Option<usize> {
        self.services.iter().position(|s| s.id == id)
    }

    /// The pools of a pair.
    pub fn pools(&self, s: usize, c: usize) -> &[Pool] {
        &self.pools[s][c]
    }

    /// The pools of a pair, mutable (stock changes with orders).
    pub fn pools_mut(&mut self, s: usize, c: usize) -> &mut [Pool] {
        &mut self.pools[s][c]
    }
}

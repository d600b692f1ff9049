//! Every model's decoder, fed the way the client feeds it: a 2xx body through the envelope
//! decoding, then the payload's text into one model, a list of them, or a transaction page.
//!
//! Input: 1 byte choosing the model and the shape, then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexotp::fuzzing::{self, Answer};
use nexotp::{Account, Country, Order, Pool, Price, Service, Transaction, Webhook, WebhookDeleted};
use nexotp_fuzz::{Check, decode_and_check};

fuzz_target!(|input: &[u8]| {
    let Some((&choice, body)) = input.split_first() else {
        return;
    };
    let headers = fuzzing::header_map(&[]);
    let Answer::Payload(payload) = fuzzing::decode_answer(200, &headers, body.to_vec()) else {
        return;
    };
    let data = payload.data.as_str();
    let list = choice & 0x10 != 0;
    match choice % 16 {
        0 => decode_and_check::<Account>(data, list),
        1 => decode_and_check::<Transaction>(data, list),
        2 => decode_and_check::<Country>(data, list),
        3 => decode_and_check::<Service>(data, list),
        4 => decode_and_check::<Pool>(data, list),
        5 => decode_and_check::<Price>(data, list),
        6 | 7 | 8 => decode_and_check::<Order>(data, list),
        9 => decode_and_check::<Webhook>(data, list),
        10 => decode_and_check::<WebhookDeleted>(data, list),
        _ => {
            let per_page = 1 + u32::from(choice >> 5) * 14;
            if let Ok(page) = fuzzing::decode_page(&payload, 1 + u32::from(choice & 3), per_page) {
                page.check();
            }
        }
    }
});

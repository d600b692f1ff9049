//! Record and replay (`nexotp_sandbox::record` / `replay`), driven by the real client: a flow
//! recorded through the proxy in front of a sandbox, then replayed with identical typed
//! results; the recording holds no API key, webhook secret or real phone number; a request the
//! recording lacks gets an error naming the closest recorded one.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use nexotp::{Client, ErrorKind, OrderRequest, WaitOptions};
use nexotp_sandbox::{NO_MATCH_CODE, Recorder, Replay, ReplayError};

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "nexotp-{name}-{}-{}.json",
        std::process::id(),
        fastrand::u64(..)
    ))
}

fn client_for(base_url: &str, key: &str) -> Client {
    Client::builder()
        .api_key(key)
        .base_url(base_url)
        .timeout(Duration::from_secs(10))
        .max_retries(0)
        .log_from_env(false)
        .build()
        .expect("client builds")
}

/// What a flow produced, as the client typed it.
#[derive(Debug)]
struct Outcome {
    /// `Debug` of every result, in call order.
    results: Vec<String>,
    /// The phone numbers of the orders, in order.
    phones: Vec<String>,
    /// The webhook secret `create_webhook` returned.
    secret: String,
}

/// The full flow: account, catalogue, order, wait, resend, wait, second order, cancel,
/// webhooks create / list / delete, ledger.
async fn flow(client: &Client) -> Outcome {
    let wait = WaitOptions::default()
        .timeout(SOON)
        .poll_interval(Duration::from_millis(100));
    let mut results = Vec::new();
    let mut phones = Vec::new();
    let account = client.account().await.expect("account");
    results.push(format!("{account:?}"));
    let services = client.services("cty_us").await.expect("services");
    results.push(format!("{services:?}"));
    let price = client.price("svc_telegram", "cty_us").await.expect("price");
    results.push(format!("{price:?}"));
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    phones.extend(order.phone.clone());
    results.push(format!("{order:?}"));
    let first = client
        .wait_for_code(&order.id, wait.clone())
        .await
        .expect("code");
    results.push(format!("{first:?}"));
    let resent = client.resend_order(&order.id).await.expect("resend");
    results.push(format!("{resent:?}"));
    let second = client
        .wait_for_code(&order.id, wait.clone())
        .await
        .expect("second code");
    assert_ne!(first.code, second.code);
    results.push(format!("{second:?}"));
    let other = client
        .create_order(&OrderRequest::new("svc_google", "cty_gb"))
        .await
        .expect("second order");
    phones.extend(other.phone.clone());
    results.push(format!("{other:?}"));
    let cancelled = client.cancel_order(&other.id).await.expect("cancel");
    results.push(format!("{cancelled:?}"));
    let hook = client
        .create_webhook(
            "https://example.com/hooks/nexotp",
            &["order.created", "order.code_received"],
        )
        .await
        .expect("webhook");
    let secret = hook
        .secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .expect("a secret");
    results.push(format!("{hook:?}"));
    let hooks = client.webhooks().await.expect("webhooks");
    results.push(format!("{hooks:?}"));
    let deleted = client.delete_webhook(&hook.id).await.expect("delete");
    results.push(format!("{deleted:?}"));
    let ledger = client.transactions(1, 20).await.expect("transactions");
    results.push(format!("{ledger:?}"));
    let after = client.account().await.expect("account after");
    results.push(format!("{after:?}"));
    Outcome {
        results,
        phones,
        secret,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_flow_replays_with_identical_results_and_no_secrets() {
    let sb = sandbox().start().await.expect("sandbox");
    let out = temp_file("traffic");
    let proxy = Recorder::builder()
        .upstream(sb.base_url())
        .out(&out)
        .start()
        .await
        .expect("proxy starts");
    assert_ne!(proxy.base_url(), sb.base_url());
    let recorded = flow(&client_for(proxy.base_url(), KEY)).await;
    let exchanges = proxy.exchanges();
    proxy.shutdown().await.expect("final write");
    // Every request went through the proxy to the sandbox.
    assert_eq!(sb.requests().len(), exchanges);
    assert!(exchanges >= 16, "{exchanges} exchanges");

    // The file holds no secret: not the key, not the webhook secret, not a real number.
    let text = std::fs::read_to_string(&out).expect("the file exists");
    assert!(!text.contains(KEY), "the API key leaked");
    assert!(recorded.secret.starts_with("whsec_"));
    assert!(
        !text.contains(&recorded.secret),
        "the webhook secret leaked"
    );
    assert_eq!(recorded.phones.len(), 2);
    for phone in &recorded.phones {
        let digits = phone.trim_start_matches('+');
        assert!(!text.contains(digits), "the phone number {phone} leaked");
    }
    assert!(text.contains("[REDACTED]"));
    assert!(text.contains("whsec_redacted_1"));

    // The replay answers the same flow identically.
    let replay = Replay::from_file(&out)
        .expect("the file loads")
        .start()
        .await
        .expect("replay starts");
    let replayed = flow(&client_for(replay.base_url(), replay.api_key())).await;
    assert!(replay.unmatched().is_empty(), "{:?}", replay.unmatched());
    assert_eq!(replay.served(), exchanges);
    assert_eq!(replay.unused(), 0);
    assert_eq!(replayed.secret, "whsec_redacted_1");
    // Phones are replaced consistently: one fake per real number, the same one everywhere.
    assert_eq!(replayed.phones, vec!["+99900000001", "+99900000002"]);
    assert_eq!(recorded.results.len(), replayed.results.len());
    for (i, (real, fake)) in recorded.results.iter().zip(&replayed.results).enumerate() {
        let mut real = real.clone();
        for (phone, fake_phone) in recorded.phones.iter().zip(&replayed.phones) {
            real = real.replace(phone.as_str(), fake_phone);
        }
        assert_eq!(&real, fake, "result {i} differs");
    }
    eprintln!(
        "round trip: {exchanges} exchanges recorded ({} bytes), {} served by the replay, \
         {} unmatched, {} typed results identical",
        text.len(),
        replay.served(),
        replay.unmatched().len(),
        replayed.results.len()
    );
    replay.shutdown().await;
    let _ = std::fs::remove_file(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmatched_request_names_the_closest_recorded_one() {
    let (sb, _) = setup().await;
    let out = temp_file("unmatched");
    let proxy = Recorder::builder()
        .upstream(sb.base_url())
        .out(&out)
        .start()
        .await
        .expect("proxy starts");
    let client = client_for(proxy.base_url(), KEY);
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    client.order(&order.id).await.expect("read");
    client.price("svc_telegram", "cty_us").await.expect("price");
    let traffic = proxy.traffic();
    proxy.shutdown().await.expect("final write");
    assert_eq!(traffic.exchanges.len(), 3);

    let replay = Replay::from_traffic(traffic).start().await.expect("replay");
    let client = client_for(replay.base_url(), replay.api_key());
    // Repeated requests beyond the recording get the last recorded answer again.
    for _ in 0..3 {
        let again = client.order(&order.id).await.expect("recorded read");
        assert_eq!(again.id, order.id);
    }
    let err = client.order("5999").await.expect_err("not recorded");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.code(), Some(NO_MATCH_CODE));
    let message = err.to_string();
    assert!(
        message.contains("GET /wp-json/nexotp/v1/order/5999"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "closest recorded request (exchange 2) is GET /wp-json/nexotp/v1/order/{}",
            order.id
        )),
        "{message}"
    );
    assert!(message.contains("differs in path"), "{message}");
    let err = client
        .price("svc_telegram", "cty_gb")
        .await
        .expect_err("other query");
    assert!(err.to_string().contains("differs in query"), "{err}");
    assert_eq!(replay.unmatched().len(), 2);
    replay.shutdown().await;
    let _ = std::fs::remove_file(&out);
}

#[tokio::test]
async fn bad_inputs_are_typed_errors() {
    let no_upstream = Recorder::builder().out("x.json").start().await;
    assert!(matches!(
        no_upstream,
        Err(nexotp_sandbox::RecordError::MissingUpstream)
    ));
    let plain = Recorder::builder()
        .upstream("http://example.com/wp-json/nexotp/v1/")
        .out("x.json")
        .start()
        .await;
    assert!(matches!(
        plain,
        Err(nexotp_sandbox::RecordError::InvalidUpstream { .. })
    ));
    assert!(matches!(
        Replay::from_json("{}"),
        Err(ReplayError::Parse(_))
    ));
    assert!(matches!(
        Replay::from_json(r#"{"format":"nexotp-traffic/9","exchanges":[]}"#),
        Err(ReplayError::UnsupportedFormat { .. })
    ));
    assert!(matches!(
        Replay::from_file("/nonexistent/traffic.json"),
        Err(ReplayError::Read { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_is_recorded_over_rustls() {
    use nexotp_testnet::{TestCa, TlsForwarder};
    let sb = sandbox().start().await.expect("sandbox");
    let ca = TestCa::new().expect("CA");
    let tls = TlsForwarder::start(sb.addr(), &ca)
        .await
        .expect("TLS forwarder");
    let upstream = format!(
        "https://localhost:{}{}/",
        tls.addr().port(),
        nexotp_sandbox::API_PREFIX
    );
    // Without the test CA the upstream's certificate is not trusted: a 502, recorded as such.
    let out = temp_file("https");
    let untrusting = Recorder::builder()
        .upstream(&upstream)
        .out(&out)
        .start()
        .await
        .expect("proxy starts");
    let err = client_for(untrusting.base_url(), KEY)
        .account()
        .await
        .expect_err("untrusted certificate");
    assert_eq!(err.status(), Some(502), "{err}");
    assert_eq!(err.code(), Some("upstream_unreachable"));
    untrusting.shutdown().await.expect("write");

    let proxy = Recorder::builder()
        .upstream(&upstream)
        .ca_certificate_pem(ca.ca_pem())
        .out(&out)
        .start()
        .await
        .expect("proxy starts");
    let client = client_for(proxy.base_url(), KEY);
    let account = client.account().await.expect("account over TLS");
    assert_eq!(account.balance, dec("25.00"));
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order over TLS");
    proxy.shutdown().await.expect("write");
    assert!(!tls.stats().negotiated().is_empty(), "TLS was used");
    assert_eq!(sb.orders_count(), 1);

    let replay = Replay::from_file(&out)
        .expect("load")
        .start()
        .await
        .expect("replay");
    let again = client_for(replay.base_url(), replay.api_key());
    assert_eq!(again.account().await.expect("account"), account);
    let replayed = again
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    assert_eq!(replayed.id, order.id);
    assert_eq!(replayed.phone.as_deref(), Some("+99900000001"));
    replay.shutdown().await;
    let _ = std::fs::remove_file(&out);
}

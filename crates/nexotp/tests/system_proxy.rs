//! `HTTPS_PROXY` and `NO_PROXY` as users expect them, and a loopback base URL never proxied.
//! The only test in this binary: it sets the process environment before any thread starts.

use std::time::Duration;

use nexotp_testnet::{ProxyOptions, TestCa, TestProxy, TlsForwarder};

const KEY: &str = "sk_test_SUPERSECRET_123";

fn client(base_url: &str, ca: &TestCa) -> nexotp::ClientBuilder {
    nexotp::Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        .ca_certificates(ca.ca_pem())
        .timeout(Duration::from_secs(10))
        .log_from_env(false)
}

#[test]
fn https_proxy_and_no_proxy_from_the_environment() {
    let proxy_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let proxy_port = proxy_listener.local_addr().expect("its address").port();
    // SAFETY: no other thread exists yet (the runtime is built below, and this binary has
    // only this test), so nothing reads the environment while it changes.
    unsafe {
        for name in [
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
            "https_proxy",
        ] {
            std::env::remove_var(name);
        }
        std::env::set_var("HTTPS_PROXY", format!("http://127.0.0.1:{proxy_port}"));
        std::env::set_var("NO_PROXY", "direct.nexotp.test");
        std::env::remove_var("no_proxy");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let sb = nexotp_sandbox::Sandbox::builder()
            .api_key(KEY)
            .start()
            .await
            .expect("sandbox starts");
        let ca = TestCa::new().expect("CA");
        let forwarder = TlsForwarder::start(sb.addr(), &ca)
            .await
            .expect("forwarder");
        // The proxy sends every tunnel to the forwarder: `api.nexotp.test` is a name only.
        let proxy = TestProxy::start_on(
            proxy_listener,
            ProxyOptions {
                route: Some(forwarder.addr()),
                ..ProxyOptions::default()
            },
        )
        .await
        .expect("proxy starts");
        let port = forwarder.addr().port();
        let prefix = nexotp_sandbox::API_PREFIX;

        // HTTPS_PROXY carries a remote host's calls, through CONNECT.
        let remote = format!("https://api.nexotp.test:{port}{prefix}/");
        let via_env = client(&remote, &ca).build().expect("client builds");
        via_env.account().await.expect("through HTTPS_PROXY");
        assert_eq!(proxy.stats().connects(), 1);
        assert_eq!(proxy.stats().targets(), [format!("api.nexotp.test:{port}")]);

        // NO_PROXY names a host reached directly (the caller's builder resolves the name).
        let direct = format!("https://direct.nexotp.test:{port}{prefix}/");
        let custom = reqwest::Client::builder().resolve("direct.nexotp.test", forwarder.addr());
        let bypass = client(&direct, &ca)
            .reqwest_builder(custom)
            .build()
            .expect("client builds");
        bypass.account().await.expect("direct, by NO_PROXY");
        assert_eq!(proxy.stats().connects(), 1, "NO_PROXY honoured");

        // A loopback base URL is never proxied by the environment.
        let local = format!("https://127.0.0.1:{port}{prefix}/");
        let loopback = client(&local, &ca).build().expect("client builds");
        loopback.account().await.expect("direct, loopback");
        assert_eq!(proxy.stats().connects(), 1, "loopback not proxied");
        assert_eq!(sb.requests().len(), 3);
    });
}

//! The sandbox serves HTTP/1.1 and HTTP/2 on the same port (told apart by the HTTP/2 preface),
//! records each request's version, and counts the connections it accepted.

use nexotp_sandbox::Sandbox;

#[tokio::test]
async fn serves_both_versions_and_counts_connections() {
    let sb = Sandbox::builder().start().await.expect("sandbox starts");
    let url = format!("{}countries", sb.base_url());
    let h1 = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .build()
        .expect("client");
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    for client in [&h1, &h1, &h2, &h2] {
        let resp = client
            .get(&url)
            .header("X-NexOTP-API-Key", sb.api_key())
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status(), 200);
    }
    let versions: Vec<String> = sb.requests().into_iter().map(|r| r.http_version).collect();
    assert_eq!(versions, ["HTTP/1.1", "HTTP/1.1", "HTTP/2.0", "HTTP/2.0"]);
    // Keep-alive: one connection per client.
    assert_eq!(sb.stats().connections_accepted, 2);
    sb.clear_stats();
    assert_eq!(sb.stats().connections_accepted, 0);
}

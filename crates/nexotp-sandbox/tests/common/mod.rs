//! Helpers shared by the integration tests: a sandbox plus a plain reqwest client.
#![allow(dead_code)]

use std::time::Duration;

use nexotp_sandbox::{Sandbox, SandboxBuilder, SandboxHandle};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    pub fn data(&self) -> Value {
        let v = self.json();
        assert_eq!(
            v["success"],
            Value::Bool(true),
            "not a success envelope: {}",
            self.text
        );
        v["data"].clone()
    }

    /// The error code of an envelope or of a WordPress error.
    pub fn code(&self) -> String {
        let v = self.json();
        v["error"]["code"]
            .as_str()
            .or(v["code"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

pub struct T {
    pub sb: SandboxHandle,
    pub http: reqwest::Client,
}

pub fn fast() -> SandboxBuilder {
    Sandbox::builder().code_delay(Duration::from_millis(150))
}

impl T {
    pub async fn new(builder: SandboxBuilder) -> T {
        let sb = builder.start().await.expect("sandbox starts");
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        T { sb, http }
    }

    pub async fn default() -> T {
        T::new(fast()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sb.base_url(), path.trim_start_matches('/'))
    }

    pub fn root(&self, path: &str) -> String {
        format!("{}{}", self.sb.root_url(), path)
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        self.try_send(rb).await.expect("an HTTP answer")
    }

    pub async fn try_send(&self, rb: reqwest::RequestBuilder) -> Result<Resp, reqwest::Error> {
        let r = rb.send().await?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await?;
        Ok(Resp {
            status,
            headers,
            text,
        })
    }

    pub fn req(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.http
            .request(m, self.url(path))
            .header("X-NexOTP-API-Key", self.sb.api_key())
            .header("Accept", "application/json")
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.req("GET", path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(
            self.req("POST", path)
                .header("Content-Type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.req("DELETE", path)).await
    }

    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.http.request(m, self.root(path));
        if let Some(b) = body {
            rb = rb
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        self.send(rb).await
    }

    pub async fn order(&self, service: &str, country: &str) -> Value {
        let r = self
            .post(
                "/order",
                serde_json::json!({"service": service, "country": country}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.data()
    }

    /// Polls an order until `pred` holds (at most 5 s).
    pub async fn wait_order(&self, id: &Value, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let o = self.get(&format!("/order/{id}")).await.data();
            if pred(&o) {
                return o;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "order never matched: {o}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

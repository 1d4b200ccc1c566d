//! The one raw-HTTP GraphQL client: the tests (in-process servers and `herald`
//! processes) and the benchmark (`benches/throughput.rs` includes this file with
//! `#[path]`) all talk to Herald through it. Self-contained on purpose: it may only use
//! crates both of them depend on, and holds only what both use (the tests' conveniences
//! on it are in `support/mod.rs`).
use serde_json::{json, Value};
use std::time::Duration;

/// A GraphQL endpoint (`{base}/graphql`) and the API token sent with every request (as
/// `X-API-Key`).
#[derive(Clone)]
pub struct GqlClient {
    pub http: reqwest::Client,
    pub endpoint: String,
    pub token: String,
}

impl GqlClient {
    /// `base` is the server's root URL (`http://127.0.0.1:port`).
    pub fn new(base: &str, token: &str) -> Self {
        GqlClient {
            http: reqwest::Client::new(),
            endpoint: format!("{}/graphql", base.trim_end_matches('/')),
            token: token.to_string(),
        }
    }

    /// One POST: (HTTP status, JSON body or Null). Never panics on transport errors
    /// (status 0), so fault tests can count what a client saw.
    pub async fn post(&self, query: &str, variables: Value) -> (u16, Value) {
        let sent = self
            .http
            .post(&self.endpoint)
            .header("x-api-key", &self.token)
            .json(&json!({"query": query, "variables": variables}))
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }
}

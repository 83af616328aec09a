//! RabbitMQ's management HTTP API, as a client of one node.

use std::time::Duration;

use base64::Engine;
use lapin::uri::AMQPUri;

use crate::{LabError, Result};

/// The management API of one node, with the credentials of its AMQP URL.
#[derive(Debug, Clone)]
pub struct Management {
    base: String,
    authorization: String,
}

impl Management {
    /// The API at `base` (e.g. `http://127.0.0.1:15672`), as the user of `amqp_url`.
    pub fn new(base: impl Into<String>, amqp_url: &str) -> Management {
        let (user, password) = match amqp_url.parse::<AMQPUri>() {
            Ok(uri) => (
                uri.authority.userinfo.username,
                uri.authority.userinfo.password,
            ),
            Err(_) => ("guest".to_string(), "guest".to_string()),
        };
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{user}:{password}"));
        Management {
            base: base.into(),
            authorization: format!("Basic {token}"),
        }
    }

    /// Where the API is.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GETs `path` (e.g. `/api/overview`) and parses the JSON answer (10 s bound).
    pub async fn get(&self, path: &str) -> Result<serde_json::Value> {
        self.call("GET", path, None).await
    }

    /// PUTs `body` to `path` (e.g. a policy: `/api/policies/%2f/<name>`).
    pub async fn put(&self, path: &str, body: serde_json::Value) -> Result<()> {
        self.call("PUT", path, Some(body)).await.map(drop)
    }

    /// DELETEs `path`.
    pub async fn delete(&self, path: &str) -> Result<()> {
        self.call("DELETE", path, None).await.map(drop)
    }

    /// One request, bounded by 10 s; an empty answer is JSON `null`.
    async fn call(
        &self,
        method: &'static str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        let authorization = self.authorization.clone();
        let fetch = tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(10)))
                .build()
                .into();
            let fail = |e: ureq::Error| format!("{method} {url}: {e}");
            let mut response = match (method, body) {
                ("PUT", Some(body)) => agent
                    .put(&url)
                    .header("Authorization", &authorization)
                    .send_json(body),
                ("DELETE", _) => agent
                    .delete(&url)
                    .header("Authorization", &authorization)
                    .call(),
                _ => agent
                    .get(&url)
                    .header("Authorization", &authorization)
                    .call(),
            }
            .map_err(fail)?;
            let text = response.body_mut().read_to_string().map_err(fail)?;
            if text.trim().is_empty() {
                return Ok(serde_json::Value::Null);
            }
            serde_json::from_str(&text).map_err(|e| format!("{method} {url}: {e}"))
        });
        fetch
            .await
            .map_err(|e| LabError::step("calling the management API", e))?
            .map_err(|cause| LabError::Broker {
                broker: "RabbitMQ",
                context: "management API".into(),
                cause,
            })
    }
}

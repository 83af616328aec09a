//! [`Rabbit`]: the RabbitMQ brokers a test gets, with their client helpers.

use std::ops::Deref;
use std::time::Duration;

use lapin::Connection;

use crate::brokers::Brokers;
use crate::rabbitmq::management::Management;
use crate::rabbitmq::probe;
use crate::{Result, lab};

/// How long a client waits to connect before the lab reports the broker unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// RabbitMQ brokers: a single node or a 3-node cluster.
#[derive(Debug)]
pub struct Rabbit(pub(crate) Brokers);

impl Deref for Rabbit {
    type Target = Brokers;
    fn deref(&self) -> &Brokers {
        &self.0
    }
}

impl Rabbit {
    /// The AMQP URL of node 1 (with its password: for clients, not for messages).
    pub fn amqp_url(&self) -> &str {
        self.endpoints()[0].as_str()
    }

    /// The management HTTP API of node `number` (1-based), on the lab's layout ports
    /// (native, containers, the compose file) or `BROKERLINGS_RABBIT_MANAGEMENT_URL`.
    pub fn management_url(&self, number: usize) -> String {
        match std::env::var("BROKERLINGS_RABBIT_MANAGEMENT_URL") {
            Ok(url) if !url.is_empty() && number == 1 => url,
            _ => format!(
                "http://127.0.0.1:{}",
                self.topology().node(number).management_port()
            ),
        }
    }

    /// Node 1's management API, as the user of its AMQP URL.
    pub fn management(&self) -> Management {
        Management::new(self.management_url(1), self.amqp_url())
    }

    /// GETs `path` (e.g. `/api/overview`) from node 1's management API.
    pub async fn management_get(&self, path: &str) -> Result<serde_json::Value> {
        self.management().get(path).await
    }

    /// The RabbitMQ version the broker reports about itself.
    pub async fn server_version(&self) -> Result<String> {
        let overview = self.management_get("/api/overview").await?;
        Ok(overview["rabbitmq_version"]
            .as_str()
            .unwrap_or("unknown")
            .to_string())
    }

    /// Opens a lapin connection to node 1 (bounded by [`CONNECT_TIMEOUT`]).
    pub async fn connect(&self) -> Result<Connection> {
        self.connect_to(1).await
    }

    /// Opens a lapin connection to node `number` (1-based).
    pub async fn connect_to(&self, number: usize) -> Result<Connection> {
        let url = self.endpoint(number)?.as_str().to_string();
        let hint = lab().await?.unreachable_hint(self.topology().node(number));
        probe::connect(&url, CONNECT_TIMEOUT, &hint).await
    }
}

crate::brokers::openers! {
    Rabbit, rabbit_for:
    /// The single RabbitMQ node, shared with other tests.
    rabbit => (Rabbit, Shared);
    /// The single RabbitMQ node, alone, for fault experiments.
    rabbit_with_faults => (Rabbit, Faults);
    /// The 3-node RabbitMQ cluster, shared with other tests.
    rabbit_cluster => (RabbitCluster, Shared);
    /// The 3-node RabbitMQ cluster, alone, for fault experiments.
    rabbit_cluster_with_faults => (RabbitCluster, Faults);
}

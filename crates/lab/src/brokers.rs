//! The handles a test gets: [`Rabbit`] and [`Kafka`], with client helpers and
//! fault control.
//!
//! A handle holds a lease on its topology until it is dropped (see `lease`): plain
//! handles share the brokers with other tests; `*_with_faults` handles run alone and
//! may restart, stop, kill and start nodes.

use std::ops::Deref;
use std::time::Duration;

use lapin::Connection;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

use crate::lease::Lease;
use crate::{LabError, Result, Topology, lab, probe};

/// How long a client waits to connect before the lab reports the broker unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How a test uses a topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Alongside other tests; no faults.
    Shared,
    /// Alone, so it may restart, stop, kill and start nodes.
    Faults,
}

/// Running brokers of one topology, as handed to a test.
#[derive(Debug)]
pub struct Brokers {
    topology: Topology,
    addresses: Vec<String>,
    lease: Lease,
}

impl Brokers {
    async fn open(topology: Topology, access: Access) -> Result<Brokers> {
        let lab = lab().await?;
        let lease = Lease::take(topology, access).await?;
        let addresses = lab.backend.ensure(topology).await?;
        Ok(Brokers {
            topology,
            addresses,
            lease,
        })
    }

    /// Which topology these brokers form.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// Client addresses, one per node: AMQP URLs or Kafka `host:port`.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// Stops node `number` (1-based) cleanly, as an operator would.
    pub async fn stop(&self, number: usize) -> Result<()> {
        self.fault("stop", number)?;
        lab()
            .await?
            .backend
            .stop_node(self.topology.node(number), false)
            .await
    }

    /// Kills node `number` (1-based) at once (SIGKILL): a crash, not a shutdown.
    pub async fn kill(&self, number: usize) -> Result<()> {
        self.fault("kill", number)?;
        lab()
            .await?
            .backend
            .stop_node(self.topology.node(number), true)
            .await
    }

    /// Starts node `number` (1-based) again on its old data, and waits until it answers.
    pub async fn start(&self, number: usize) -> Result<()> {
        self.fault("start", number)?;
        lab()
            .await?
            .backend
            .start_node(self.topology.node(number))
            .await
    }

    /// Stops node `number` cleanly and starts it again on the same data.
    pub async fn restart(&self, number: usize) -> Result<()> {
        self.stop(number).await?;
        self.start(number).await
    }

    fn fault(&self, action: &str, number: usize) -> Result<()> {
        if self.lease.access != Access::Faults {
            return Err(LabError::NoFaults(format!(
                "cannot {action} a node through a shared handle; get the {} with `lab::…_with_faults()`",
                self.topology
            )));
        }
        if number == 0 || number > self.topology.size() {
            return Err(LabError::NoFaults(format!(
                "the {} has nodes 1..={}, not {number}",
                self.topology,
                self.topology.size()
            )));
        }
        Ok(())
    }
}

/// RabbitMQ brokers: a single node or a 3-node cluster.
#[derive(Debug)]
pub struct Rabbit(Brokers);

impl Deref for Rabbit {
    type Target = Brokers;
    fn deref(&self) -> &Brokers {
        &self.0
    }
}

impl Rabbit {
    /// The AMQP URL of node 1.
    pub fn amqp_url(&self) -> &str {
        &self.addresses[0]
    }

    /// The management HTTP API of node `number` (1-based), on the lab's layout ports
    /// (native, containers, the compose file) or `BROKERLINGS_RABBIT_MANAGEMENT_URL`.
    pub fn management_url(&self, number: usize) -> String {
        match std::env::var("BROKERLINGS_RABBIT_MANAGEMENT_URL") {
            Ok(url) if !url.is_empty() && number == 1 => url,
            _ => format!(
                "http://127.0.0.1:{}",
                self.topology.node(number).management_port()
            ),
        }
    }

    /// GETs `path` (e.g. `/api/overview`) from node 1's management API as guest.
    pub async fn management_get(&self, path: &str) -> Result<serde_json::Value> {
        let url = format!("{}{path}", self.management_url(1));
        let fetch = tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(10)))
                .build()
                .into();
            agent
                .get(&url)
                .header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=") // guest:guest
                .call()
                .and_then(|mut response| {
                    response.body_mut().read_json::<serde_json::Value>()
                })
                .map_err(|e| format!("GET {url}: {e}"))
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
        let url = self.addresses.get(number - 1).ok_or_else(|| {
            LabError::NoFaults(format!("the {} has no node {number}", self.topology))
        })?;
        probe::amqp_connect(url, CONNECT_TIMEOUT, &hint().await).await
    }
}

/// Kafka brokers: a single node or a 3-node cluster.
#[derive(Debug)]
pub struct Kafka(Brokers);

impl Deref for Kafka {
    type Target = Brokers;
    fn deref(&self) -> &Brokers {
        &self.0
    }
}

impl Kafka {
    /// `bootstrap.servers` for a client: every node's address, comma-separated.
    pub fn bootstrap_servers(&self) -> String {
        self.addresses.join(",")
    }

    /// A client configuration with `bootstrap.servers` set and bounded timeouts,
    /// ready for a producer, consumer or admin client.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", self.bootstrap_servers())
            .set("socket.connection.setup.timeout.ms", "10000")
            .set("message.timeout.ms", "30000");
        config
    }

    /// Creates `name` with `partitions` partitions and replication factor `replicas`,
    /// and waits until the brokers confirm it.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replicas: i32,
    ) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = self
            .client_config()
            .create()
            .map_err(|e| kafka_error("creating an admin client", e))?;
        let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(replicas));
        let options =
            AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = crate::within(
            Duration::from_secs(45),
            format!("Kafka to create topic {name}"),
            admin.create_topics([&topic], &options),
        )
        .await?
        .map_err(|e| kafka_error("creating a topic", e))?;
        for result in results {
            result.map_err(|(topic, code)| LabError::Broker {
                broker: "Kafka",
                context: format!("creating topic {topic}"),
                cause: code.to_string(),
            })?;
        }
        Ok(())
    }

    /// The Kafka version node 1 reports in its log ("Kafka version: ...").
    pub async fn server_version(&self) -> Result<String> {
        lab()
            .await?
            .backend
            .kafka_version(self.topology.node(1))
            .await
    }

    /// Ids of the brokers that the cluster's metadata lists as alive now.
    pub async fn live_broker_ids(&self) -> Result<Vec<i32>> {
        probe::kafka_broker_ids(&self.bootstrap_servers(), Duration::from_secs(10)).await
    }
}

fn kafka_error(context: &str, error: rdkafka::error::KafkaError) -> LabError {
    LabError::Broker {
        broker: "Kafka",
        context: context.into(),
        cause: error.to_string(),
    }
}

/// The next step to suggest when a broker of this lab cannot be reached.
async fn hint() -> String {
    match lab().await.map(|lab| lab.kind()) {
        Ok(crate::BackendKind::External) => {
            "check BROKERLINGS_AMQP_URL / BROKERLINGS_KAFKA_BOOTSTRAP and that those brokers run".into()
        }
        _ => "run `cargo run -p brokerlings -- lab status` to see what is running".into(),
    }
}

/// The RabbitMQ brokers of `topology`, shared with other tests.
pub async fn rabbit_for(topology: Topology) -> Result<Rabbit> {
    Brokers::open(topology, Access::Shared).await.map(Rabbit)
}

/// The Kafka brokers of `topology`, shared with other tests.
pub async fn kafka_for(topology: Topology) -> Result<Kafka> {
    Brokers::open(topology, Access::Shared).await.map(Kafka)
}

/// The single RabbitMQ node, shared with other tests.
pub async fn rabbit() -> Result<Rabbit> {
    Brokers::open(Topology::Rabbit, Access::Shared)
        .await
        .map(Rabbit)
}

/// The single RabbitMQ node, alone, for fault experiments.
pub async fn rabbit_with_faults() -> Result<Rabbit> {
    Brokers::open(Topology::Rabbit, Access::Faults)
        .await
        .map(Rabbit)
}

/// The 3-node RabbitMQ cluster, shared with other tests.
pub async fn rabbit_cluster() -> Result<Rabbit> {
    Brokers::open(Topology::RabbitCluster, Access::Shared)
        .await
        .map(Rabbit)
}

/// The 3-node RabbitMQ cluster, alone, for fault experiments.
pub async fn rabbit_cluster_with_faults() -> Result<Rabbit> {
    Brokers::open(Topology::RabbitCluster, Access::Faults)
        .await
        .map(Rabbit)
}

/// The single Kafka node, shared with other tests.
pub async fn kafka() -> Result<Kafka> {
    Brokers::open(Topology::Kafka, Access::Shared)
        .await
        .map(Kafka)
}

/// The single Kafka node, alone, for fault experiments.
pub async fn kafka_with_faults() -> Result<Kafka> {
    Brokers::open(Topology::Kafka, Access::Faults)
        .await
        .map(Kafka)
}

/// The 3-node Kafka cluster, shared with other tests.
pub async fn kafka_cluster() -> Result<Kafka> {
    Brokers::open(Topology::KafkaCluster, Access::Shared)
        .await
        .map(Kafka)
}

/// The 3-node Kafka cluster, alone, for fault experiments.
pub async fn kafka_cluster_with_faults() -> Result<Kafka> {
    Brokers::open(Topology::KafkaCluster, Access::Faults)
        .await
        .map(Kafka)
}

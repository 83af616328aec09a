//! [`Kafka`]: the Kafka brokers a test gets, with their client helpers.

use std::ops::Deref;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

use crate::brokers::Brokers;
use crate::kafka::probe;
use crate::{LabError, Result, lab};

/// Kafka brokers: a single node or a 3-node cluster.
#[derive(Debug)]
pub struct Kafka(pub(crate) Brokers);

impl Deref for Kafka {
    type Target = Brokers;
    fn deref(&self) -> &Brokers {
        &self.0
    }
}

impl Kafka {
    /// `bootstrap.servers` for a client: every node's address, comma-separated.
    pub fn bootstrap_servers(&self) -> String {
        let addresses: Vec<&str> = self.endpoints().iter().map(|e| e.as_str()).collect();
        addresses.join(",")
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
        self.create_topic_with(name, partitions, replicas, &[])
            .await
    }

    /// Like [`create_topic`](Self::create_topic), with topic-level settings such as
    /// `("max.message.bytes", "200")`.
    pub async fn create_topic_with(
        &self,
        name: &str,
        partitions: i32,
        replicas: i32,
        settings: &[(&str, &str)],
    ) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = self
            .client_config()
            .create()
            .map_err(|e| kafka_error("creating an admin client", e))?;
        let mut topic =
            NewTopic::new(name, partitions, TopicReplication::Fixed(replicas));
        for (key, value) in settings {
            topic = topic.set(key, value);
        }
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
        let log = lab().await?.log(self.topology().node(1)).await?;
        probe::version_in_log(&log).ok_or_else(|| {
            LabError::step(
                "reading the Kafka version",
                "no `Kafka version:` line in the node's log",
            )
        })
    }

    /// Ids of the brokers that the cluster's metadata lists as alive now.
    pub async fn live_broker_ids(&self) -> Result<Vec<i32>> {
        probe::broker_ids(&self.bootstrap_servers(), Duration::from_secs(10)).await
    }
}

/// A Kafka client error, in the lab's terms.
fn kafka_error(context: &str, error: rdkafka::error::KafkaError) -> LabError {
    LabError::Broker {
        broker: "Kafka",
        context: context.into(),
        cause: error.to_string(),
    }
}

crate::brokers::openers! {
    Kafka, kafka_for:
    /// The single Kafka node, shared with other tests.
    kafka => (Kafka, Shared);
    /// The single Kafka node, alone, for fault experiments.
    kafka_with_faults => (Kafka, Faults);
    /// The 3-node Kafka cluster, shared with other tests.
    kafka_cluster => (KafkaCluster, Shared);
    /// The 3-node Kafka cluster, alone, for fault experiments.
    kafka_cluster_with_faults => (KafkaCluster, Faults);
}

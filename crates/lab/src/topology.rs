//! The four broker topologies, their nodes' names and where their nodes listen.
//!
//! Every backend puts a node on the same ports (see the table in the README), so a
//! learner who moves from Docker to the native lab or to `docker compose` keeps the
//! same addresses.

use std::fmt;

use crate::Endpoint;

/// The two brokers the lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Broker {
    /// RabbitMQ, spoken to over AMQP 0.9.1.
    RabbitMq,
    /// Apache Kafka, in KRaft mode.
    Kafka,
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Broker::RabbitMq => "RabbitMQ",
            Broker::Kafka => "Kafka",
        })
    }
}

/// A set of brokers that starts as one, only when something asks for it.
///
/// In `info.toml` a topology is written as its [`slug`](Topology::slug); any other
/// name is an error that lists the valid ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum Topology {
    /// One RabbitMQ node, with the management UI.
    Rabbit,
    /// One Kafka node in KRaft mode (broker and controller in one process).
    Kafka,
    /// Three clustered RabbitMQ nodes; quorum queues replicate across them.
    RabbitCluster,
    /// Three Kafka nodes (each broker + controller); topics default to RF 3 and
    /// `min.insync.replicas=2`.
    KafkaCluster,
}

impl Topology {
    /// All topologies, in the order the lab starts and lists them.
    pub const ALL: [Topology; 4] = [
        Topology::Rabbit,
        Topology::Kafka,
        Topology::RabbitCluster,
        Topology::KafkaCluster,
    ];

    /// Short name used in file names, container names and messages.
    pub fn slug(self) -> &'static str {
        match self {
            Topology::Rabbit => "rabbit",
            Topology::Kafka => "kafka",
            Topology::RabbitCluster => "rabbit-cluster",
            Topology::KafkaCluster => "kafka-cluster",
        }
    }

    /// Parses [`Topology::slug`].
    pub fn from_slug(slug: &str) -> Option<Topology> {
        Topology::ALL.into_iter().find(|t| t.slug() == slug)
    }

    /// In words: "single RabbitMQ", "3-node Kafka cluster", ...
    pub fn description(self) -> &'static str {
        match self {
            Topology::Rabbit => "single RabbitMQ",
            Topology::Kafka => "single Kafka",
            Topology::RabbitCluster => "3-node RabbitMQ cluster",
            Topology::KafkaCluster => "3-node Kafka cluster",
        }
    }

    /// Which broker its nodes run.
    pub fn broker(self) -> Broker {
        match self {
            Topology::Rabbit | Topology::RabbitCluster => Broker::RabbitMq,
            Topology::Kafka | Topology::KafkaCluster => Broker::Kafka,
        }
    }

    /// How many nodes it has.
    pub fn size(self) -> usize {
        match self {
            Topology::Rabbit | Topology::Kafka => 1,
            Topology::RabbitCluster | Topology::KafkaCluster => 3,
        }
    }

    /// Whether its nodes are RabbitMQ nodes (else Kafka).
    pub fn is_rabbit(self) -> bool {
        self.broker() == Broker::RabbitMq
    }

    /// The nodes, numbered from 1 as the brokers number them.
    pub fn nodes(self) -> impl Iterator<Item = NodeLayout> {
        (1..=self.size()).map(move |number| NodeLayout {
            topology: self,
            number,
        })
    }

    /// Node `number` (1-based).
    pub fn node(self, number: usize) -> NodeLayout {
        NodeLayout {
            topology: self,
            number,
        }
    }
}

impl TryFrom<String> for Topology {
    type Error = String;

    fn try_from(slug: String) -> Result<Topology, String> {
        Topology::from_slug(&slug).ok_or_else(|| {
            let known: Vec<&str> = Topology::ALL.iter().map(|t| t.slug()).collect();
            format!("unknown topology `{slug}`; known: {}", known.join(", "))
        })
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// One node of a topology, and the host ports it listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeLayout {
    /// Its topology.
    pub topology: Topology,
    /// 1-based node number (Kafka's `node.id`, the `N` in `rabbitN`).
    pub number: usize,
}

impl NodeLayout {
    /// `rabbit`, `rabbit1`.., `kafka`, `kafka1`..: names of containers and data dirs.
    pub fn name(self) -> String {
        match self.topology {
            Topology::Rabbit => "rabbit".into(),
            Topology::Kafka => "kafka".into(),
            Topology::RabbitCluster => format!("rabbit{}", self.number),
            Topology::KafkaCluster => format!("kafka{}", self.number),
        }
    }

    /// AMQP port on the host: 5672 single, 5673..5675 cluster.
    pub fn amqp_port(self) -> u16 {
        match self.topology {
            Topology::Rabbit => 5672,
            _ => 5672 + self.number as u16,
        }
    }

    /// Management UI / HTTP API port: 15672 single, 15673..15675 cluster.
    pub fn management_port(self) -> u16 {
        self.amqp_port() + 10000
    }

    /// Erlang distribution port (node to node and CLI tools): 25672 single, 25673.. cluster.
    pub fn dist_port(self) -> u16 {
        self.amqp_port() + 20000
    }

    /// Kafka client port: 9092 single; 19092, 29092, 31092 cluster. Every port of
    /// the lab is below Linux's ephemeral range (32768-60999): a port in it can be
    /// taken, while its node is down, by a client's own outgoing connection to it
    /// (a TCP self-connect to 127.0.0.1:39092 kept node 3 from restarting in 8 of
    /// 10 runs of chapter 14's checks).
    pub fn kafka_port(self) -> u16 {
        match (self.topology, self.number) {
            (Topology::Kafka, _) => 9092,
            (_, 1) => 19092,
            (_, 2) => 29092,
            _ => 31092,
        }
    }

    /// Kafka controller (KRaft quorum) port: the client port + 1.
    pub fn controller_port(self) -> u16 {
        self.kafka_port() + 1
    }

    /// Kafka port for broker-to-broker traffic (the `INTERNAL` listener).
    pub fn kafka_internal_port(self) -> u16 {
        self.kafka_port() + 2
    }

    /// The ports a native node binds (and the host ports a container publishes),
    /// to report a clash before starting it.
    pub fn host_ports(self) -> Vec<u16> {
        match self.topology.broker() {
            Broker::RabbitMq => {
                vec![self.amqp_port(), self.management_port(), self.dist_port()]
            }
            Broker::Kafka => vec![
                self.kafka_port(),
                self.controller_port(),
                self.kafka_internal_port(),
            ],
        }
    }

    /// Where a client on this machine reaches the node: its AMQP URL (as guest, the
    /// lab's user) or its Kafka bootstrap address.
    pub fn endpoint(self) -> Endpoint {
        match self.topology.broker() {
            Broker::RabbitMq => Endpoint::Amqp(format!(
                "amqp://guest:guest@127.0.0.1:{}/%2f",
                self.amqp_port()
            )),
            Broker::Kafka => Endpoint::Kafka(format!("127.0.0.1:{}", self.kafka_port())),
        }
    }
}

impl fmt::Display for NodeLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.topology.size() {
            1 => write!(f, "{}", self.topology),
            _ => write!(f, "node {} of the {}", self.number, self.topology),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No two nodes of any topologies share a port, so all four can run at once.
    #[test]
    fn all_nodes_of_all_topologies_use_distinct_ports() {
        let mut seen = std::collections::HashSet::new();
        for topology in Topology::ALL {
            for node in topology.nodes() {
                for port in node.host_ports() {
                    assert!(seen.insert(port), "port {port} used twice ({node})");
                }
            }
        }
    }

    /// No port of the lab is in Linux's default ephemeral range, where a client's
    /// outgoing connection (even to that very port) can hold it while a node is down.
    #[test]
    fn no_port_is_in_the_ephemeral_range() {
        for topology in Topology::ALL {
            for node in topology.nodes() {
                for port in node.host_ports() {
                    assert!(port < 32768, "port {port} of {node} is ephemeral on Linux");
                }
            }
        }
    }

    /// info.toml names topologies by slug; a typo is an error naming the valid ones.
    #[test]
    fn topologies_parse_from_their_slugs_only() {
        assert_eq!(
            Topology::try_from("kafka-cluster".to_string()),
            Ok(Topology::KafkaCluster)
        );
        let error = Topology::try_from("rabit".to_string()).expect_err("a typo");
        assert_eq!(
            error,
            "unknown topology `rabit`; known: rabbit, kafka, rabbit-cluster, kafka-cluster"
        );
    }
}

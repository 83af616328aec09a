//! The four broker topologies and where their nodes listen.
//!
//! Every backend puts a node on the same ports (see the table in the README), so a
//! learner who moves from Docker to the native lab or to `docker compose` keeps the
//! same addresses.

use std::fmt;

/// A set of brokers that starts as one, only when something asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// How many nodes it has.
    pub fn size(self) -> usize {
        match self {
            Topology::Rabbit | Topology::Kafka => 1,
            Topology::RabbitCluster | Topology::KafkaCluster => 3,
        }
    }

    /// Whether its nodes are RabbitMQ nodes (else Kafka).
    pub fn is_rabbit(self) -> bool {
        matches!(self, Topology::Rabbit | Topology::RabbitCluster)
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

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Topology::Rabbit => "single RabbitMQ",
            Topology::Kafka => "single Kafka",
            Topology::RabbitCluster => "3-node RabbitMQ cluster",
            Topology::KafkaCluster => "3-node Kafka cluster",
        })
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

    /// Kafka client port: 9092 single; 19092, 29092, 39092 cluster.
    pub fn kafka_port(self) -> u16 {
        match self.topology {
            Topology::Kafka => 9092,
            _ => self.number as u16 * 10000 + 9092,
        }
    }

    /// Kafka controller (KRaft quorum) port: the client port + 1.
    pub fn controller_port(self) -> u16 {
        self.kafka_port() + 1
    }

    /// Kafka port for broker-to-broker traffic inside a Docker network.
    pub fn kafka_internal_port(self) -> u16 {
        self.kafka_port() + 2
    }

    /// The ports a native node binds, to report a clash before starting it.
    pub fn host_ports(self) -> Vec<u16> {
        if self.topology.is_rabbit() {
            vec![self.amqp_port(), self.management_port(), self.dist_port()]
        } else {
            vec![self.kafka_port(), self.controller_port()]
        }
    }

    /// The address a client uses: an AMQP URL or a Kafka bootstrap address.
    pub fn client_address(self) -> String {
        if self.topology.is_rabbit() {
            format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.amqp_port())
        } else {
            format!("127.0.0.1:{}", self.kafka_port())
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
                let mut ports = node.host_ports();
                if !topology.is_rabbit() {
                    ports.push(node.kafka_internal_port());
                }
                for port in ports {
                    assert!(seen.insert(port), "port {port} used twice ({node})");
                }
            }
        }
    }
}

//! What a backend runs: the description of one broker node.
//!
//! Each broker writes its node's settings once (`rabbitmq::config`,
//! `kafka::config`) as a function of the node and its `Placement`; a
//! backend only renders that description (native: config files and a command line;
//! containers: environment variables and a file copied in) and runs it.

use crate::placement::Placement;
use crate::topology::{Broker, NodeLayout};
use crate::{kafka, rabbitmq};

/// One node, described for a backend to run.
#[derive(Debug, Clone)]
pub(crate) enum NodeSpec {
    /// A RabbitMQ node.
    Rabbit(rabbitmq::config::RabbitNode),
    /// A Kafka node.
    Kafka(kafka::config::KafkaNode),
}

impl NodeSpec {
    /// Describes `node` as it runs at `placement`.
    pub(crate) fn new(node: NodeLayout, placement: &Placement) -> NodeSpec {
        match node.topology.broker() {
            Broker::RabbitMq => NodeSpec::Rabbit(rabbitmq::config::node(node, placement)),
            Broker::Kafka => NodeSpec::Kafka(kafka::config::node(node, placement)),
        }
    }
}

//! A RabbitMQ node's settings, written once: its Erlang node name, `rabbitmq.conf`,
//! the plugins it runs, the cookie its cluster shares, and the environment its start
//! script reads. The native and containers backends render the same description.

use crate::placement::Placement;
use crate::topology::{NodeLayout, Topology};

/// The Erlang cookie the lab's nodes share, so they cluster and CLI tools reach them.
pub(crate) const COOKIE: &str = "brokerlings-lab-cookie";

/// The plugins every node runs: the management UI and HTTP API (port 15672 ...),
/// and the consistent-hash exchange (`x-consistent-hash`, chapter 9). All ship
/// with RabbitMQ 4.0.5; streams over AMQP 0.9.1 need no plugin (the stream
/// *protocol*, port 5552, would need `rabbitmq_stream`).
pub(crate) const PLUGINS: [&str; 2] =
    ["rabbitmq_management", "rabbitmq_consistent_hash_exchange"];

/// Where the enabled-plugins file goes in a container (the official image's).
pub(crate) const CONTAINER_PLUGINS: &str = "/etc/rabbitmq/enabled_plugins";

/// Where the conf file goes in a container: the official image reads
/// `/etc/rabbitmq/conf.d/*.conf` in order, so ours comes last.
pub(crate) const CONTAINER_CONF: &str = "/etc/rabbitmq/conf.d/90-brokerlings.conf";

/// One RabbitMQ node, as a backend runs it.
#[derive(Debug, Clone)]
pub(crate) struct RabbitNode {
    /// Which node of which topology.
    pub(crate) layout: NodeLayout,
    /// The Erlang node name: `rabbit1@localhost` natively, `rabbit1@<container>` in Docker.
    pub(crate) node_name: String,
    /// `rabbitmq.conf`, as `key = value` lines in order.
    pub(crate) conf: Vec<(String, String)>,
}

/// The Erlang node name of `node` at `placement`.
pub(crate) fn node_name(node: NodeLayout, placement: &Placement) -> String {
    format!("{}@{}", node.name(), placement.host_name(node))
}

/// Describes `node` at `placement`.
pub(crate) fn node(layout: NodeLayout, placement: &Placement) -> RabbitNode {
    let bind = placement.bind_address();
    let mut conf = vec![
        (
            "listeners.tcp.default".to_string(),
            format!("{bind}:{}", layout.amqp_port()),
        ),
        ("management.tcp.ip".into(), bind.to_string()),
        (
            "management.tcp.port".into(),
            layout.management_port().to_string(),
        ),
        // guest/guest from anywhere: the lab's ports are on this machine's loopback.
        ("loopback_users".into(), "none".into()),
    ];
    if layout.topology == Topology::RabbitCluster {
        // Each node knows its peers by name and joins them when it first boots.
        conf.push((
            "cluster_formation.peer_discovery_backend".into(),
            "classic_config".into(),
        ));
        for peer in layout.topology.nodes() {
            conf.push((
                format!("cluster_formation.classic_config.nodes.{}", peer.number),
                node_name(peer, placement),
            ));
        }
    }
    RabbitNode {
        layout,
        node_name: node_name(layout, placement),
        conf,
    }
}

impl RabbitNode {
    /// The `rabbitmq.conf` text.
    pub(crate) fn conf_file(&self) -> String {
        let mut text = format!("# Written by the brokerlings lab for {}.\n", self.layout);
        for (key, value) in &self.conf {
            text.push_str(&format!("{key} = {value}\n"));
        }
        text
    }

    /// The `enabled_plugins` file (an Erlang term).
    pub(crate) fn enabled_plugins(&self) -> String {
        format!("[{}].\n", PLUGINS.join(","))
    }

    /// What the server's start script reads from its environment: the node's name,
    /// its AMQP port and its Erlang distribution port (nodes and CLI tools talk
    /// over it).
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        vec![
            ("RABBITMQ_NODENAME".into(), self.node_name.clone()),
            (
                "RABBITMQ_NODE_PORT".into(),
                self.layout.amqp_port().to_string(),
            ),
            (
                "RABBITMQ_DIST_PORT".into(),
                self.layout.dist_port().to_string(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cluster node names all three peers, by the names they run under.
    #[test]
    fn cluster_nodes_list_every_peer_by_node_name() {
        let node = node(Topology::RabbitCluster.node(2), &Placement::Docker);
        let conf = node.conf_file();
        assert_eq!(node.node_name, "rabbit2@brokerlings-rabbit2");
        for peer in 1..=3 {
            assert!(
                conf.contains(&format!(
                    "cluster_formation.classic_config.nodes.{peer} = rabbit{peer}@brokerlings-rabbit{peer}\n"
                )),
                "{conf}"
            );
        }
        assert!(
            conf.contains("listeners.tcp.default = 0.0.0.0:5674\n"),
            "{conf}"
        );
    }

    /// A single node listens on loopback and forms no cluster.
    #[test]
    fn a_single_native_node_listens_on_loopback() {
        let conf = node(Topology::Rabbit.node(1), &Placement::Loopback).conf_file();
        assert!(
            conf.contains("listeners.tcp.default = 127.0.0.1:5672\n"),
            "{conf}"
        );
        assert!(conf.contains("management.tcp.ip = 127.0.0.1\n"), "{conf}");
        assert!(!conf.contains("cluster_formation"), "{conf}");
    }
}

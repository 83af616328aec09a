//! A Kafka node's settings, written once as one list of `server.properties` keys.
//!
//! The native backend writes them as `server.properties`; the containers backend
//! passes them as `KAFKA_*` environment variables, which the `apache/kafka` image
//! turns back into `server.properties` (its rule: strip `KAFKA_`, lowercase, `___`
//! is `-`, `__` is `_`, `_` is `.`). A test below renders every node both ways and
//! asserts the two agree, so a setting changed here reaches both.
//!
//! Every node is broker and controller (KRaft). Clients use the `EXTERNAL` listener
//! on the host's loopback; nodes replicate over `INTERNAL` and vote over
//! `CONTROLLER`, at the address their [`Placement`] gives them.

use crate::placement::Placement;
use crate::topology::{NodeLayout, Topology};

/// The JVM heap of each node: small enough for all four topologies (eight nodes)
/// on a learner's laptop; the `apache/kafka` image's own default is 1 GB each.
/// `docker-compose.yml` sets the same (a lab test compares them).
pub const HEAP_OPTS: &str = "-Xms256m -Xmx768m";

/// JVM options of a node in Docker: look peers' names up again after 1 s.
pub(crate) const JVM_OPTS_IN_DOCKER: &str = "-Dsun.net.inetaddr.ttl=1";

/// The fixed cluster id of a topology (base64 of 16 bytes): a lab node's storage
/// is formatted once, on its first start, with this id.
pub(crate) fn cluster_id(topology: Topology) -> &'static str {
    match topology {
        Topology::KafkaCluster => "YnJva2VybGluZ3Mta2ZrMw",
        _ => "YnJva2VybGluZ3Mta2ZrMQ",
    }
}

/// One Kafka node, as a backend runs it.
#[derive(Debug, Clone)]
pub(crate) struct KafkaNode {
    /// Which node of which topology.
    pub(crate) layout: NodeLayout,
    /// Its `server.properties`, in order.
    pub(crate) settings: Vec<(String, String)>,
}

/// Describes `layout` at `placement`.
pub(crate) fn node(layout: NodeLayout, placement: &Placement) -> KafkaNode {
    let topology = layout.topology;
    let voters: Vec<String> = topology
        .nodes()
        .map(|n| {
            format!(
                "{}@{}:{}",
                n.number,
                placement.address(n),
                n.controller_port()
            )
        })
        .collect();
    let replicas = topology.size().to_string();
    // With three replicas, an `acks=all` write needs two of them in sync.
    let min_isr = if topology.size() == 3 { "2" } else { "1" };
    let bind = placement.bind_address();
    let (port, internal, controller) = (
        layout.kafka_port(),
        layout.kafka_internal_port(),
        layout.controller_port(),
    );
    let settings: Vec<(&str, String)> = vec![
        ("process.roles", "broker,controller".into()),
        ("node.id", layout.number.to_string()),
        ("controller.quorum.voters", voters.join(",")),
        (
            "listeners",
            format!(
                "EXTERNAL://{bind}:{port},INTERNAL://{bind}:{internal},CONTROLLER://{bind}:{controller}"
            ),
        ),
        (
            "advertised.listeners",
            format!(
                "EXTERNAL://127.0.0.1:{port},INTERNAL://{}:{internal}",
                placement.address(layout)
            ),
        ),
        (
            "listener.security.protocol.map",
            "EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT".into(),
        ),
        ("controller.listener.names", "CONTROLLER".into()),
        ("inter.broker.listener.name", "INTERNAL".into()),
        ("num.partitions", "1".into()),
        ("default.replication.factor", replicas.clone()),
        ("min.insync.replicas", min_isr.into()),
        ("offsets.topic.replication.factor", replicas.clone()),
        ("transaction.state.log.replication.factor", replicas.clone()),
        ("transaction.state.log.min.isr", min_isr.into()),
        (
            "share.coordinator.state.topic.replication.factor",
            replicas.clone(),
        ),
        ("share.coordinator.state.topic.min.isr", min_isr.into()),
        // A new group starts at once instead of waiting 3 s for more members.
        ("group.initial.rebalance.delay.ms", "0".into()),
    ];
    KafkaNode {
        layout,
        settings: settings
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

impl KafkaNode {
    /// The node with its data kept in `dir` (`log.dirs`); without it, Kafka keeps
    /// its data where its default configuration (or the image) says.
    pub(crate) fn with_data_dir(mut self, dir: &std::path::Path) -> KafkaNode {
        self.settings
            .push(("log.dirs".into(), dir.display().to_string()));
        self
    }

    /// The `server.properties` text.
    pub(crate) fn properties(&self) -> String {
        let mut text = format!("# Written by the brokerlings lab for {}.\n", self.layout);
        for (key, value) in &self.settings {
            text.push_str(&format!("{key}={value}\n"));
        }
        text
    }

    /// The environment of an `apache/kafka` container: `CLUSTER_ID` (the image
    /// formats the storage with it), the heap, and every setting as `KAFKA_*`.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "CLUSTER_ID".to_string(),
                cluster_id(self.layout.topology).to_string(),
            ),
            ("KAFKA_HEAP_OPTS".to_string(), HEAP_OPTS.to_string()),
            // A node killed and started again may get another address on the Docker
            // network; the JVM would otherwise cache the old one for 30 s.
            ("KAFKA_OPTS".to_string(), JVM_OPTS_IN_DOCKER.to_string()),
        ];
        env.extend(
            self.settings
                .iter()
                .map(|(key, value)| (env_name(key), value.clone())),
        );
        env
    }
}

/// `node.id` -> `KAFKA_NODE_ID`: the `apache/kafka` image's naming, inverted.
pub(crate) fn env_name(key: &str) -> String {
    let name = key
        .replace('_', "__")
        .replace('-', "___")
        .replace('.', "_")
        .to_uppercase();
    format!("KAFKA_{name}")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The image's rule, as its `KafkaDockerWrapper` applies it to `KAFKA_*`.
    fn property_of(env_name: &str) -> Option<String> {
        let name = env_name.strip_prefix("KAFKA_")?;
        if name == "HEAP_OPTS" || name == "OPTS" {
            return None;
        }
        Some(
            name.to_lowercase()
                .replace("___", "\u{0}")
                .replace("__", "\u{1}")
                .replace('_', ".")
                .replace('\u{0}', "-")
                .replace('\u{1}', "_"),
        )
    }

    fn properties_map(text: &str) -> BTreeMap<String, String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Every node of both Kafka topologies: the container's environment, read back
    /// by the image's rule, is exactly the native `server.properties` (data dir
    /// aside), so one setting changed in `node()` shows up in both.
    #[test]
    fn native_and_container_renderings_agree() {
        for topology in [Topology::Kafka, Topology::KafkaCluster] {
            for layout in topology.nodes() {
                let native =
                    node(layout, &Placement::Loopback).with_data_dir("/d".as_ref());
                let mut from_file = properties_map(&native.properties());
                assert_eq!(from_file.remove("log.dirs").as_deref(), Some("/d"));
                // The same description placed on loopback but rendered as env vars.
                let env = native.env();
                let from_env: BTreeMap<String, String> = env
                    .iter()
                    .filter_map(|(k, v)| property_of(k).map(|p| (p, v.clone())))
                    .filter(|(k, _)| k != "log.dirs")
                    .collect();
                assert_eq!(from_env, from_file, "{layout}");
                assert!(
                    env.contains(&("CLUSTER_ID".into(), cluster_id(topology).into()))
                );
                // In Docker only the addresses and the bind interface differ.
                let docker =
                    properties_map(&node(layout, &Placement::Docker).properties());
                let keys: Vec<&String> = docker.keys().collect();
                assert_eq!(keys, from_file.keys().collect::<Vec<_>>(), "{layout}");
            }
        }
    }

    /// The names the image expects for the settings with dots and underscores.
    #[test]
    fn env_names_follow_the_image() {
        assert_eq!(env_name("node.id"), "KAFKA_NODE_ID");
        assert_eq!(
            env_name("listener.security.protocol.map"),
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"
        );
        assert_eq!(env_name("a_b-c.d"), "KAFKA_A__B___C_D");
        assert_eq!(property_of("KAFKA_A__B___C_D").as_deref(), Some("a_b-c.d"));
    }

    /// Cluster nodes vote with each other over their controller ports; in Docker
    /// they find each other by container name.
    #[test]
    fn cluster_voters_are_the_three_nodes() {
        let native = properties_map(
            &node(Topology::KafkaCluster.node(2), &Placement::Loopback).properties(),
        );
        assert_eq!(
            native["controller.quorum.voters"],
            "1@127.0.0.1:19093,2@127.0.0.1:29093,3@127.0.0.1:31093"
        );
        assert_eq!(native["min.insync.replicas"], "2");
        let docker = properties_map(
            &node(Topology::KafkaCluster.node(2), &Placement::Docker).properties(),
        );
        assert_eq!(
            docker["advertised.listeners"],
            "EXTERNAL://127.0.0.1:29092,INTERNAL://brokerlings-kafka2:29094"
        );
    }
}

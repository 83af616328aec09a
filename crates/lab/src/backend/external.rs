//! Brokers somebody else runs: `docker compose`, a classroom server.
//!
//! | variable | meaning | default (the compose file's ports) |
//! |---|---|---|
//! | `BROKERLINGS_AMQP_URL` | single RabbitMQ node | `amqp://guest:guest@127.0.0.1:5672/%2f` |
//! | `BROKERLINGS_AMQP_CLUSTER_URLS` | 3 RabbitMQ nodes, comma-separated | ports 5673, 5674, 5675 |
//! | `BROKERLINGS_KAFKA_BOOTSTRAP` | single Kafka node | `127.0.0.1:9092` |
//! | `BROKERLINGS_KAFKA_CLUSTER_BOOTSTRAP` | 3 Kafka nodes, comma-separated | ports 19092, 29092, 31092 |

use std::collections::HashMap;
use std::time::Duration;

use crate::{Broker, Endpoint, LabError, NodeLayout, Result, Topology};

const VARS: [(Topology, &str); 4] = [
    (Topology::Rabbit, "BROKERLINGS_AMQP_URL"),
    (Topology::Kafka, "BROKERLINGS_KAFKA_BOOTSTRAP"),
    (Topology::RabbitCluster, "BROKERLINGS_AMQP_CLUSTER_URLS"),
    (
        Topology::KafkaCluster,
        "BROKERLINGS_KAFKA_CLUSTER_BOOTSTRAP",
    ),
];

/// How long an external broker gets to answer before we call it unreachable.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct External {
    endpoints: HashMap<Topology, Vec<Endpoint>>,
}

fn variable(topology: Topology) -> &'static str {
    VARS.iter()
        .find(|(t, _)| *t == topology)
        .map_or("", |(_, v)| v)
}

impl External {
    /// Whether any external address is set in the environment.
    pub(crate) fn configured() -> bool {
        VARS.iter()
            .any(|(_, var)| std::env::var(var).is_ok_and(|v| !v.is_empty()))
    }

    /// The endpoints the environment gives (the compose file's where unset).
    pub(crate) fn from_env() -> Result<External> {
        let mut endpoints = HashMap::new();
        for (topology, var) in VARS {
            let list = match std::env::var(var).ok().filter(|v| !v.is_empty()) {
                Some(value) => parse(topology, var, &value)?,
                None => topology.nodes().map(NodeLayout::endpoint).collect(),
            };
            endpoints.insert(topology, list);
        }
        Ok(External { endpoints })
    }

    fn endpoints(&self, topology: Topology) -> Vec<Endpoint> {
        self.endpoints.get(&topology).cloned().unwrap_or_default()
    }

    /// Checks that every node of `topology` answers; an external lab starts nothing.
    pub(crate) async fn ensure(&self, topology: Topology) -> Result<Vec<Endpoint>> {
        let endpoints = self.endpoints(topology);
        let hint = format!(
            "start those brokers (e.g. `docker compose up -d`) or set {}",
            variable(topology)
        );
        match topology.broker() {
            Broker::RabbitMq => {
                for endpoint in &endpoints {
                    endpoint.reachable(ANSWER_TIMEOUT, &hint).await?;
                }
            }
            // One metadata request through all of them answers for the cluster.
            Broker::Kafka => {
                let addresses: Vec<&str> =
                    endpoints.iter().map(Endpoint::as_str).collect();
                Endpoint::Kafka(addresses.join(","))
                    .reachable(ANSWER_TIMEOUT, &hint)
                    .await?;
            }
        }
        Ok(endpoints)
    }

    /// Whether `node` answers now.
    pub(crate) async fn answers(&self, node: NodeLayout) -> bool {
        match self.endpoints(node.topology).get(node.number - 1) {
            Some(endpoint) => endpoint.answers(1).await.unwrap_or(false),
            None => false,
        }
    }

    /// The hint for a node that stopped answering.
    pub(crate) fn unreachable_hint(&self, node: NodeLayout) -> String {
        format!(
            "check {} and that those brokers run",
            variable(node.topology)
        )
    }

    pub(crate) fn no_faults(&self, action: &str, node: NodeLayout) -> Result<()> {
        Err(LabError::NoFaults(format!(
            "the external lab cannot {action} {node}: it runs elsewhere; \
             use the native or containers lab for fault experiments"
        )))
    }
}

/// A comma-separated list of `topology.size()` addresses of the right kind.
fn parse(topology: Topology, var: &'static str, value: &str) -> Result<Vec<Endpoint>> {
    let bad = |expected: String| LabError::BadSetting {
        name: var,
        value: value.to_string(),
        expected,
    };
    let list: Vec<&str> = value.split(',').map(str::trim).collect();
    if list.len() != topology.size() {
        return Err(bad(format!(
            "{} address(es), comma-separated",
            topology.size()
        )));
    }
    list.into_iter()
        .map(|address| match topology.broker() {
            Broker::RabbitMq => Endpoint::amqp(address),
            Broker::Kafka => Endpoint::kafka(address),
        })
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wrong count or a malformed address is a one-line error naming the variable.
    #[test]
    fn bad_addresses_are_refused_with_the_variable() {
        let error =
            parse(Topology::KafkaCluster, "V", "a:1,b:2").expect_err("two of three");
        assert!(error.to_string().contains("3 address(es)"), "{error}");
        let error = parse(Topology::Rabbit, "V", "http://x").expect_err("not AMQP");
        assert!(error.to_string().starts_with("bad setting V="), "{error}");
        assert!(parse(Topology::Kafka, "V", "127.0.0.1:9092").is_ok());
    }
}

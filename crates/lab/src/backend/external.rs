//! Brokers somebody else runs: `docker compose`, a classroom server.
//!
//! | variable | meaning | default (the compose file's ports) |
//! |---|---|---|
//! | `BROKERLINGS_AMQP_URL` | single RabbitMQ node | `amqp://guest:guest@127.0.0.1:5672/%2f` |
//! | `BROKERLINGS_AMQP_CLUSTER_URLS` | 3 RabbitMQ nodes, comma-separated | ports 5673, 5674, 5675 |
//! | `BROKERLINGS_KAFKA_BOOTSTRAP` | single Kafka node | `127.0.0.1:9092` |
//! | `BROKERLINGS_KAFKA_CLUSTER_BOOTSTRAP` | 3 Kafka nodes, comma-separated | ports 19092, 29092, 39092 |

use std::collections::HashMap;
use std::time::Duration;

use crate::{LabError, NodeLayout, Result, Topology, probe};

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
    addresses: HashMap<Topology, Vec<String>>,
}

impl External {
    /// Whether any external address is set in the environment.
    pub(crate) fn configured() -> bool {
        VARS.iter()
            .any(|(_, var)| std::env::var(var).is_ok_and(|v| !v.is_empty()))
    }

    pub(crate) fn from_env() -> Result<External> {
        let mut addresses = HashMap::new();
        for (topology, var) in VARS {
            let list = match std::env::var(var).ok().filter(|v| !v.is_empty()) {
                Some(value) => {
                    let list: Vec<String> =
                        value.split(',').map(|a| a.trim().to_string()).collect();
                    if list.len() != topology.size() || list.iter().any(String::is_empty)
                    {
                        return Err(LabError::BadSetting {
                            name: var,
                            value,
                            expected: format!(
                                "{} address(es), comma-separated",
                                topology.size()
                            ),
                        });
                    }
                    list
                }
                None => topology.nodes().map(NodeLayout::client_address).collect(),
            };
            addresses.insert(topology, list);
        }
        Ok(External { addresses })
    }

    fn addresses(&self, topology: Topology) -> Vec<String> {
        self.addresses.get(&topology).cloned().unwrap_or_default()
    }

    pub(crate) async fn ensure(&self, topology: Topology) -> Result<Vec<String>> {
        let addresses = self.addresses(topology);
        let var = VARS
            .iter()
            .find(|(t, _)| *t == topology)
            .map_or("", |(_, v)| v);
        let hint =
            format!("start those brokers (e.g. `docker compose up -d`) or set {var}");
        if topology.is_rabbit() {
            for url in &addresses {
                let connection = probe::amqp_connect(url, ANSWER_TIMEOUT, &hint).await?;
                let _ = connection.close(200, "lab check".into()).await;
            }
        } else {
            let bootstrap = addresses.join(",");
            probe::kafka_broker_ids(&bootstrap, ANSWER_TIMEOUT)
                .await
                .map_err(|error| LabError::Unreachable {
                    broker: "Kafka",
                    address: bootstrap.clone(),
                    cause: error.to_string(),
                    hint: hint.clone(),
                })?;
        }
        Ok(addresses)
    }

    pub(crate) async fn running(&self, topology: Topology) -> Vec<bool> {
        let mut up = Vec::new();
        for address in self.addresses(topology) {
            let ready = if topology.is_rabbit() {
                probe::rabbit_ready(&address).await
            } else {
                probe::kafka_ready(&address, 1).await
            };
            up.push(ready.unwrap_or(false));
        }
        up
    }

    pub(crate) fn no_faults(&self, node: NodeLayout) -> Result<()> {
        Err(LabError::NoFaults(format!(
            "the external lab cannot stop or start {node}: it runs elsewhere; \
             use the native or containers lab for fault experiments"
        )))
    }
}

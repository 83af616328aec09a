//! What a test gets: running brokers of one topology, held under a lease, with
//! fault control. [`crate::Rabbit`] and [`crate::Kafka`] wrap it with each broker's
//! client helpers.
//!
//! A handle holds a lease on its topology until it is dropped (see `lease`): plain
//! handles share the brokers with other tests; `*_with_faults` handles run alone and
//! may restart, stop, kill and start nodes.

use crate::lease::Lease;
use crate::{Endpoint, LabError, Result, Topology, lab};

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
    endpoints: Vec<Endpoint>,
    lease: Lease,
}

impl Brokers {
    /// Takes a lease on `topology`, starts it if needed and waits until it answers.
    pub(crate) async fn open(topology: Topology, access: Access) -> Result<Brokers> {
        let lab = lab().await?;
        let lease = Lease::take(topology, access).await?;
        let endpoints = lab.ensure(topology).await?;
        Ok(Brokers {
            topology,
            endpoints,
            lease,
        })
    }

    /// Which topology these brokers form.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// Where clients reach each node, node 1 first.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The endpoint of node `number` (1-based).
    pub fn endpoint(&self, number: usize) -> Result<&Endpoint> {
        number
            .checked_sub(1)
            .and_then(|i| self.endpoints.get(i))
            .ok_or(LabError::NoSuchNode {
                topology: self.topology,
                number,
            })
    }

    /// Stops node `number` (1-based) cleanly, as an operator would.
    pub async fn stop(&self, number: usize) -> Result<()> {
        self.fault("stop", number)?;
        lab()
            .await?
            .stop_node(self.topology.node(number), false)
            .await
    }

    /// Kills node `number` (1-based) at once (SIGKILL): a crash, not a shutdown.
    pub async fn kill(&self, number: usize) -> Result<()> {
        self.fault("kill", number)?;
        lab()
            .await?
            .stop_node(self.topology.node(number), true)
            .await
    }

    /// Starts node `number` (1-based) again on its old data, and waits until it answers.
    pub async fn start(&self, number: usize) -> Result<()> {
        self.fault("start", number)?;
        lab().await?.start_node(self.topology.node(number)).await
    }

    /// Stops node `number` cleanly and starts it again on the same data.
    pub async fn restart(&self, number: usize) -> Result<()> {
        self.stop(number).await?;
        self.start(number).await
    }

    fn fault(&self, action: &'static str, number: usize) -> Result<()> {
        if self.lease.access != Access::Faults {
            return Err(LabError::SharedHandle {
                action,
                topology: self.topology,
            });
        }
        self.endpoint(number).map(|_| ())
    }
}

macro_rules! open_fns {
    ($($(#[$doc:meta])* $name:ident -> $handle:ident ($topology:ident, $access:ident);)*) => {
        $(
            $(#[$doc])*
            pub async fn $name() -> Result<crate::$handle> {
                Brokers::open(Topology::$topology, Access::$access)
                    .await
                    .map(crate::$handle)
            }
        )*
    };
}

open_fns! {
    /// The single RabbitMQ node, shared with other tests.
    rabbit -> Rabbit(Rabbit, Shared);
    /// The single RabbitMQ node, alone, for fault experiments.
    rabbit_with_faults -> Rabbit(Rabbit, Faults);
    /// The 3-node RabbitMQ cluster, shared with other tests.
    rabbit_cluster -> Rabbit(RabbitCluster, Shared);
    /// The 3-node RabbitMQ cluster, alone, for fault experiments.
    rabbit_cluster_with_faults -> Rabbit(RabbitCluster, Faults);
    /// The single Kafka node, shared with other tests.
    kafka -> Kafka(Kafka, Shared);
    /// The single Kafka node, alone, for fault experiments.
    kafka_with_faults -> Kafka(Kafka, Faults);
    /// The 3-node Kafka cluster, shared with other tests.
    kafka_cluster -> Kafka(KafkaCluster, Shared);
    /// The 3-node Kafka cluster, alone, for fault experiments.
    kafka_cluster_with_faults -> Kafka(KafkaCluster, Faults);
}

/// The RabbitMQ brokers of `topology`, shared with other tests.
pub async fn rabbit_for(topology: Topology) -> Result<crate::Rabbit> {
    Brokers::open(topology, Access::Shared)
        .await
        .map(crate::Rabbit)
}

/// The Kafka brokers of `topology`, shared with other tests.
pub async fn kafka_for(topology: Topology) -> Result<crate::Kafka> {
    Brokers::open(topology, Access::Shared)
        .await
        .map(crate::Kafka)
}

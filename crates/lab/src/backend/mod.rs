//! The three backends behind one interface (enum dispatch keeps it simple).

pub(crate) mod containers;
pub(crate) mod external;
pub mod native;

use crate::{BackendKind, NodeLayout, Result, Topology};

/// A way of getting brokers.
pub(crate) enum Backend {
    External(external::External),
    Native(native::Native),
    Containers(containers::Containers),
}

impl Backend {
    pub(crate) fn kind(&self) -> BackendKind {
        match self {
            Backend::External(_) => BackendKind::External,
            Backend::Native(_) => BackendKind::Native,
            Backend::Containers(_) => BackendKind::Containers,
        }
    }

    /// Makes sure every node of `topology` runs and answers; returns client addresses.
    pub(crate) async fn ensure(&self, topology: Topology) -> Result<Vec<String>> {
        match self {
            Backend::External(b) => b.ensure(topology).await,
            Backend::Native(b) => b.ensure(topology).await,
            Backend::Containers(b) => b.ensure(topology).await,
        }
    }

    /// Stops one node: cleanly, or with SIGKILL when `kill`.
    pub(crate) async fn stop_node(&self, node: NodeLayout, kill: bool) -> Result<()> {
        match self {
            Backend::External(b) => b.no_faults(node),
            Backend::Native(b) => b.stop_node(node, kill).await,
            Backend::Containers(b) => b.stop_node(node, kill).await,
        }
    }

    /// Starts one node on its existing data and waits until it answers.
    pub(crate) async fn start_node(&self, node: NodeLayout) -> Result<()> {
        match self {
            Backend::External(b) => b.no_faults(node),
            Backend::Native(b) => b.start_node(node).await,
            Backend::Containers(b) => b.start_node(node).await,
        }
    }

    /// The Kafka version a running node reports.
    pub(crate) async fn kafka_version(&self, node: NodeLayout) -> Result<String> {
        match self {
            Backend::External(_) => Err(crate::LabError::NoFaults(
                "the version of an external Kafka is not visible to the lab".into(),
            )),
            Backend::Native(b) => b.kafka_version(node),
            Backend::Containers(b) => b.kafka_version(node).await,
        }
    }

    /// Whether each node of `topology` is running now.
    pub(crate) async fn running(&self, topology: Topology) -> Vec<bool> {
        match self {
            Backend::External(b) => b.running(topology).await,
            Backend::Native(b) => b.running(topology),
            Backend::Containers(b) => b.running(topology).await,
        }
    }

    /// Stops everything this backend started.
    pub(crate) async fn down(&self) -> Result<()> {
        match self {
            Backend::External(_) => Ok(()),
            Backend::Native(b) => b.down().await,
            Backend::Containers(b) => b.down().await,
        }
    }
}

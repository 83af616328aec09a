//! The three ways of getting brokers. A backend only runs node descriptions
//! ([`crate::node::NodeSpec`]): start a node, stop it (cleanly, or with SIGKILL),
//! say whether it runs, show its log. What a node *is* lives with its broker
//! (`rabbitmq`, `kafka`); starting a whole topology lives in `lab`.

pub(crate) mod containers;
pub(crate) mod external;
pub mod native;

use std::fmt;
use std::time::Duration;

use crate::{NodeLayout, Result};

/// The three ways of getting brokers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Docker containers started through testcontainers.
    Containers,
    /// Local processes (RabbitMQ in a Debian 13 chroot, Kafka from its jars).
    Native,
    /// Brokers somebody else runs (docker compose, a classroom server).
    External,
}

impl BackendKind {
    /// The name used in `BROKERLINGS_LAB` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Containers => "containers",
            BackendKind::Native => "native",
            BackendKind::External => "external",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A way of getting brokers (enum dispatch keeps it simple).
pub(crate) enum Backend {
    /// Brokers somebody else runs.
    External(external::External),
    /// Local processes.
    Native(native::Native),
    /// Docker containers.
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

    /// Where this backend runs its nodes (how they name each other).
    pub(crate) fn placement(&self) -> crate::placement::Placement {
        match self {
            Backend::Containers(_) => crate::placement::Placement::Docker,
            _ => crate::placement::Placement::Loopback,
        }
    }

    /// How long one node may take to answer after it was started.
    pub(crate) fn start_timeout(&self) -> Duration {
        match self {
            Backend::Containers(_) => containers::START_TIMEOUT,
            _ => native::START_TIMEOUT,
        }
    }

    /// Starts `node` (on its existing data, if any), without waiting for it to answer.
    pub(crate) async fn start(&self, node: NodeLayout) -> Result<()> {
        match self {
            Backend::External(b) => b.no_faults("start", node),
            Backend::Native(b) => b.start(node).await,
            Backend::Containers(b) => b.start(node).await,
        }
    }

    /// Before a topology starts: removes its nodes if they were made from an older
    /// description (containers only: native nodes are rendered at every start).
    pub(crate) async fn replace_outdated(&self, topology: crate::Topology) -> Result<()> {
        match self {
            Backend::Containers(b) => b.replace_outdated(topology).await.map(drop),
            _ => Ok(()),
        }
    }

    /// Stops `node`: cleanly, or with SIGKILL when `kill`. A stopped node is not an error.
    pub(crate) async fn stop(&self, node: NodeLayout, kill: bool) -> Result<()> {
        match self {
            Backend::External(b) => b.no_faults(if kill { "kill" } else { "stop" }, node),
            Backend::Native(b) => b.stop(node, kill).await,
            Backend::Containers(b) => b.stop(node, kill).await,
        }
    }

    /// Whether `node` runs now (its process or container; for external brokers,
    /// whether it answers).
    pub(crate) async fn running(&self, node: NodeLayout) -> bool {
        match self {
            Backend::External(b) => b.answers(node).await,
            Backend::Native(b) => b.running(node),
            Backend::Containers(b) => b.running(node).await,
        }
    }

    /// The text of `node`'s log.
    pub(crate) async fn log(&self, node: NodeLayout) -> Result<String> {
        match self {
            Backend::External(_) => Err(crate::LabError::NotVisible(format!(
                "the log of {node} (external brokers run elsewhere)"
            ))),
            Backend::Native(b) => b.log(node),
            Backend::Containers(b) => b.log(node).await,
        }
    }

    /// Where a person finds `node`'s log, for messages.
    pub(crate) fn log_hint(&self, node: NodeLayout) -> String {
        match self {
            Backend::External(_) => "it runs elsewhere".into(),
            Backend::Native(b) => format!("its log: {}", b.log_path(node).display()),
            Backend::Containers(_) => format!(
                "its log: `docker logs {}`",
                crate::placement::container_name(node)
            ),
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

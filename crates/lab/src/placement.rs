//! Where a backend runs its nodes, which decides how nodes and clients find them.

use crate::topology::NodeLayout;

/// Where a backend runs its nodes, which decides how nodes and clients find them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Local processes on this machine's loopback, each node on its own ports.
    Loopback,
    /// One container per node on the lab's Docker network, named
    /// [`container_name`].
    Docker,
}

impl Placement {
    /// The address other nodes use to reach `node`.
    pub(crate) fn address(&self, node: NodeLayout) -> String {
        match self {
            Placement::Loopback => "127.0.0.1".into(),
            Placement::Docker => container_name(node),
        }
    }

    /// The host part of `node`'s name where a host *name* is required (Erlang
    /// node names): `localhost` on loopback, the container's name in Docker.
    pub(crate) fn host_name(&self, node: NodeLayout) -> String {
        match self {
            Placement::Loopback => "localhost".into(),
            Placement::Docker => container_name(node),
        }
    }

    /// The interface a node listens on: loopback only, or every interface of its
    /// container (Docker publishes the ports on the host's loopback).
    pub(crate) fn bind_address(&self) -> &'static str {
        match self {
            Placement::Loopback => "127.0.0.1",
            Placement::Docker => "0.0.0.0",
        }
    }
}

/// The container of `node` in the containers lab: `brokerlings-rabbit1`, ...
pub(crate) fn container_name(node: NodeLayout) -> String {
    format!("brokerlings-{}", node.name())
}

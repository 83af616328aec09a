//! [`Lab`]: the backend this process uses, and how a whole topology starts on it.
//!
//! Starting a topology is the same on every backend that runs brokers: take the
//! start lock, check the ports of the nodes that are not running, start them all,
//! wait until each answers (and a RabbitMQ cluster has formed). Only the node's life
//! cycle differs, and that is the backend's (see `backend`).

use std::time::Duration;

use futures::future::join_all;
use tokio::sync::OnceCell;

use crate::backend::{Backend, native};
use crate::rabbitmq::management::Management;
use crate::{
    BackendKind, Broker, Endpoint, LabError, NodeLayout, Result, Topology, lease,
    rabbitmq, select,
};

/// The lab of this process: the chosen backend and why it was chosen.
pub struct Lab {
    pub(crate) backend: Backend,
    reason: String,
}

static LAB: OnceCell<Lab> = OnceCell::const_new();

/// The lab of this process, chosen on first use (see `select` for the order).
pub async fn lab() -> Result<&'static Lab> {
    LAB.get_or_try_init(|| async {
        let (backend, reason) = select::choose().await?;
        Ok(Lab { backend, reason })
    })
    .await
}

impl Lab {
    /// Which backend serves this run.
    pub fn kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// Why that backend was chosen, in words for `lab status` and `doctor`.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Stops every broker of this lab (native: processes; containers: removes them).
    pub async fn down(&self) -> Result<()> {
        self.backend.down().await
    }

    /// For each topology, whether each of its nodes is running now.
    pub async fn status(&self) -> Vec<(Topology, Vec<bool>)> {
        let mut rows = Vec::new();
        for topology in Topology::ALL {
            let nodes = topology.nodes().map(|node| self.backend.running(node));
            rows.push((topology, join_all(nodes).await));
        }
        rows
    }

    /// Starts `topology` (if it is not running) and waits until it is ready.
    pub async fn up(&self, topology: Topology) -> Result<Vec<Endpoint>> {
        let _lease = lease::Lease::take(topology, lease::Access::Shared).await?;
        self.ensure(topology).await
    }

    /// Makes sure every node of `topology` runs and answers; returns the endpoints.
    pub(crate) async fn ensure(&self, topology: Topology) -> Result<Vec<Endpoint>> {
        if let Backend::External(external) = &self.backend {
            return external.ensure(topology).await;
        }
        let timeout = self.backend.start_timeout();
        let _starting = lease::exclusive(
            &format!("{}.start", topology.slug()),
            timeout * 3,
            &format!("another process to finish starting the {topology}"),
        )
        .await?;
        self.backend.replace_outdated(topology).await?;
        let mut stopped = Vec::new();
        for node in topology.nodes() {
            if !self.backend.running(node).await {
                stopped.push(node);
            }
        }
        for node in &stopped {
            for port in node.host_ports() {
                native::port_free(port, &node.to_string())?;
            }
        }
        let starts = stopped.iter().map(|node| self.backend.start(*node));
        join_all(starts)
            .await
            .into_iter()
            .collect::<Result<Vec<()>>>()?;
        let waits = topology.nodes().map(|node| self.wait_ready(node, true));
        join_all(waits)
            .await
            .into_iter()
            .collect::<Result<Vec<()>>>()?;
        if topology == Topology::RabbitCluster {
            self.await_rabbit_cluster(topology).await?;
        }
        Ok(topology.nodes().map(NodeLayout::endpoint).collect())
    }

    /// Starts one node on its existing data and waits until it answers as a member of
    /// its cluster (not until the whole cluster does: a fault experiment may start
    /// one node while another is still down).
    ///
    /// A node that exits while starting is started again, twice at most: another
    /// program may take one of its ports between the free-port check and the bind
    /// ("Address already in use" in the node's log). The lab's ports are below
    /// Linux's ephemeral range (see [`NodeLayout::kafka_port`]), so no outgoing
    /// connection can take them; before they were, node 3's 39092 was taken by a
    /// client's self-connect in 8 of 10 runs of chapter 14's checks.
    pub(crate) async fn start_node(&self, node: NodeLayout) -> Result<()> {
        let mut attempt = 1;
        loop {
            if !self.backend.running(node).await {
                for port in node.host_ports() {
                    native::port_free(port, &node.to_string())?;
                }
                self.backend.start(node).await?;
            }
            match self.wait_ready(node, false).await {
                Err(LabError::Step { .. })
                    if attempt < 3 && !self.backend.running(node).await =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                done => return done,
            }
        }
    }

    /// Stops one node: cleanly, or with SIGKILL when `kill`.
    pub(crate) async fn stop_node(&self, node: NodeLayout, kill: bool) -> Result<()> {
        self.backend.stop(node, kill).await
    }

    /// The text of a node's log.
    pub(crate) async fn log(&self, node: NodeLayout) -> Result<String> {
        self.backend.log(node).await
    }

    /// What to suggest when a client cannot reach `node` of this lab.
    pub(crate) fn unreachable_hint(&self, node: NodeLayout) -> String {
        match &self.backend {
            Backend::External(external) => external.unreachable_hint(node),
            backend => format!(
                "the {} lab started it, so it was stopped or crashed since; {}",
                backend.kind(),
                backend.log_hint(node)
            ),
        }
    }

    /// Waits until `node` answers its clients (`whole`: and sees its whole cluster);
    /// fails at once if it stopped running.
    async fn wait_ready(&self, node: NodeLayout, whole: bool) -> Result<()> {
        let endpoint = node.endpoint();
        let what = format!("{node} to answer at {endpoint}");
        let rejects_peers = std::sync::atomic::AtomicBool::new(false);
        let ready = crate::until(
            self.backend.start_timeout(),
            &what,
            Duration::from_millis(250),
            || async {
                if !self.backend.running(node).await {
                    // Stop waiting: a node that exited will not answer (judged below).
                    return Ok(true);
                }
                if node.topology == Topology::RabbitCluster
                    && self.rejects_peers(node).await
                {
                    // Nor will one that turns its peers away (judged below).
                    rejects_peers.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Ok(true);
                }
                if whole {
                    endpoint.answers(node.topology.size()).await
                } else {
                    endpoint.answers_as(node.number).await
                }
            },
        )
        .await;
        if rejects_peers.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(LabError::NotInCluster {
                node: rabbitmq::config::node_name(node, &self.backend.placement()),
                why: format!(
                    "rejects its peers: its Erlang cookie is not theirs (its log: `{}`)",
                    rabbitmq::probe::COOKIE_REJECTED
                ),
                log_hint: self.backend.log_hint(node),
            });
        }
        if ready.is_ok() && !self.backend.running(node).await {
            return Err(LabError::step(
                format!("starting {node}"),
                format!("it stopped; {}", self.backend.log_hint(node)),
            ));
        }
        ready.map_err(|error| match error {
            LabError::Timeout { what, after } => LabError::Timeout {
                what: format!("{what}; {}", self.backend.log_hint(node)),
                after,
            },
            other => other,
        })
    }

    /// Whether a RabbitMQ node's log shows it turning away peers that knock with
    /// another Erlang cookie.
    async fn rejects_peers(&self, node: NodeLayout) -> bool {
        self.backend
            .log(node)
            .await
            .is_ok_and(|log| log.contains(rabbitmq::probe::COOKIE_REJECTED))
    }

    /// Waits until node 1 of the RabbitMQ cluster sees all three nodes running
    /// (and fails at once if one formed a cluster of its own).
    async fn await_rabbit_cluster(&self, topology: Topology) -> Result<()> {
        debug_assert_eq!(topology.broker(), Broker::RabbitMq);
        let placement = self.backend.placement();
        let nodes: Vec<(String, Management, String)> = topology
            .nodes()
            .map(|node| {
                let management = Management::new(
                    format!("http://127.0.0.1:{}", node.management_port()),
                    node.endpoint().as_str(),
                );
                (
                    rabbitmq::config::node_name(node, &placement),
                    management,
                    self.backend.log_hint(node),
                )
            })
            .collect();
        rabbitmq::probe::await_cluster(&nodes, Duration::from_secs(120)).await
    }
}

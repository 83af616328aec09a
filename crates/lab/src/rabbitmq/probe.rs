//! Is a RabbitMQ node up, and has a cluster formed? The same probes serve every
//! backend.

use std::time::Duration;

use lapin::{Connection, ConnectionProperties};

use crate::error::one_line;
use crate::rabbitmq::management::Management;
use crate::{LabError, Result};

/// Opens an AMQP connection, failing with [`LabError::Unreachable`] after `timeout`.
pub(crate) async fn connect(
    url: &str,
    timeout: Duration,
    hint: &str,
) -> Result<Connection> {
    let unreachable = |cause: String| LabError::Unreachable {
        broker: "RabbitMQ",
        address: redact(url),
        cause,
        hint: hint.to_string(),
    };
    match tokio::time::timeout(
        timeout,
        Connection::connect(url, ConnectionProperties::default()),
    )
    .await
    {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(unreachable(one_line(&error.to_string()))),
        Err(_) => Err(unreachable(format!(
            "no answer within {} s",
            timeout.as_secs()
        ))),
    }
}

/// Whether a RabbitMQ node completes an AMQP handshake now.
pub(crate) async fn ready(url: &str) -> Result<bool> {
    let connection = connect(url, Duration::from_secs(3), "still starting").await?;
    let _ = connection.close(200, "readiness probe".into()).await;
    Ok(true)
}

/// Waits until node 1 of a cluster sees all of `nodes` (Erlang node name, its
/// management API, where its log is) as running members; names the nodes missing
/// if not. A node whose own API lists a set of running members disjoint from node
/// 1's formed a cluster of its own (another cookie, lost membership data): that
/// never heals by waiting (peer discovery runs at a node's first boot only), so it
/// fails at once, naming the node.
pub(crate) async fn await_cluster(
    nodes: &[(String, Management, String)],
    timeout: Duration,
) -> Result<()> {
    let started = std::time::Instant::now();
    let Some((_, first, _)) = nodes.first() else {
        return Ok(());
    };
    loop {
        // While node 1's API is still starting, every node counts as missing.
        let running = running_nodes(first).await.unwrap_or_default();
        let missing: Vec<&str> = nodes
            .iter()
            .map(|(name, _, _)| name.as_str())
            .filter(|name| !running.iter().any(|r| r == name))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if !running.is_empty() {
            for (name, management, log_hint) in nodes.iter().skip(1) {
                if !missing.contains(&name.as_str()) {
                    continue;
                }
                let theirs = running_nodes(management).await.unwrap_or_default();
                if !theirs.is_empty() && theirs.iter().all(|n| !running.contains(n)) {
                    return Err(LabError::NotInCluster {
                        node: name.clone(),
                        why: format!(
                            "runs, but as a cluster of its own (running with it: {})",
                            theirs.join(", ")
                        ),
                        log_hint: log_hint.clone(),
                    });
                }
            }
        }
        if started.elapsed() >= timeout {
            return Err(LabError::ClusterIncomplete {
                missing: missing.join(", "),
                after: timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What a RabbitMQ node's log says when peers knock with another Erlang cookie
/// (Erlang's distribution: "Connection attempt from node ... rejected. Invalid
/// challenge reply."): such a node waits in peer discovery and never answers.
pub(crate) const COOKIE_REJECTED: &str = "Invalid challenge reply";

/// The names of the cluster's members that node's management API lists as running.
async fn running_nodes(management: &Management) -> Result<Vec<String>> {
    let nodes = management.get("/api/nodes").await?;
    Ok(nodes
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter(|n| n["running"] == true)
                .filter_map(|n| n["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// A URL without its password.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => {
                    format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
                }
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

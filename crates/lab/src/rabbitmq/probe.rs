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

/// Waits until node 1 of a cluster sees all of `expected` (Erlang node names) as
/// running members, through its management API; names the nodes missing if not.
pub(crate) async fn await_cluster(
    management: &Management,
    expected: &[String],
    timeout: Duration,
) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        // While node 1's API is still starting, every node counts as missing.
        let running = running_nodes(management).await.unwrap_or_default();
        let missing: Vec<&str> = expected
            .iter()
            .map(String::as_str)
            .filter(|name| !running.iter().any(|r| r == name))
            .collect();
        if missing.is_empty() {
            return Ok(());
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

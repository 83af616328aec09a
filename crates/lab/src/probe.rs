//! Client-side readiness probes, the same for every backend.

use std::time::Duration;

use lapin::{Connection, ConnectionProperties};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::error::one_line;
use crate::{LabError, Result};

/// Opens an AMQP connection, failing with [`LabError::Unreachable`] after `timeout`.
pub(crate) async fn amqp_connect(
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
pub(crate) async fn rabbit_ready(url: &str) -> Result<bool> {
    let connection = amqp_connect(url, Duration::from_secs(3), "still starting").await?;
    let _ = connection.close(200, "readiness probe".into()).await;
    Ok(true)
}

/// The ids of the Kafka brokers that `bootstrap` reports in its metadata.
pub(crate) async fn kafka_broker_ids(
    bootstrap: &str,
    timeout: Duration,
) -> Result<Vec<i32>> {
    let bootstrap = bootstrap.to_string();
    let fetch = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("socket.connection.setup.timeout.ms", "3000")
            .set("log_level", "0")
            .create()
            .map_err(|e| e.to_string())?;
        let metadata = consumer
            .fetch_metadata(None, timeout)
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(metadata.brokers().iter().map(|b| b.id()).collect())
    });
    match fetch.await {
        Ok(Ok(ids)) => Ok(ids),
        Ok(Err(cause)) => Err(LabError::Broker {
            broker: "Kafka",
            context: "fetching cluster metadata".into(),
            cause: one_line(&cause),
        }),
        Err(join) => Err(LabError::step("fetching Kafka metadata", join)),
    }
}

/// Whether the Kafka cluster behind `bootstrap` reports `brokers` live brokers.
pub(crate) async fn kafka_ready(bootstrap: &str, brokers: usize) -> Result<bool> {
    Ok(kafka_broker_ids(bootstrap, Duration::from_secs(3))
        .await?
        .len()
        >= brokers)
}

/// An AMQP URL without its password, for messages.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Passwords of classroom servers never end up in a learner's terminal.
    #[test]
    fn redact_hides_the_password() {
        assert_eq!(
            redact("amqp://ann:secret@host:5672/%2f"),
            "amqp://ann:***@host:5672/%2f"
        );
        assert_eq!(redact("amqp://host:5672"), "amqp://host:5672");
    }
}

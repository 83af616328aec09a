//! Is a Kafka node (or cluster) up? The same probe serves every backend.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::error::one_line;
use crate::{LabError, Result};

/// The ids of the Kafka brokers that `bootstrap` reports in its metadata.
pub(crate) async fn broker_ids(bootstrap: &str, timeout: Duration) -> Result<Vec<i32>> {
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
pub(crate) async fn ready(bootstrap: &str, brokers: usize) -> Result<bool> {
    Ok(broker_ids(bootstrap, Duration::from_secs(3)).await?.len() >= brokers)
}

/// The version a Kafka node's log gives ("Kafka version: 4.1.1").
pub(crate) fn version_in_log(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find_map(|line| line.split("Kafka version: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    /// The broker logs its version once at start (AppInfoParser, level INFO).
    #[test]
    fn the_version_is_read_from_the_log_line() {
        let log = "[2026-12-01 10:00:00,000] INFO Kafka version: 4.1.1 (org.apache.kafka.common.utils.AppInfoParser)\n";
        assert_eq!(super::version_in_log(log).as_deref(), Some("4.1.1"));
        assert_eq!(super::version_in_log("nothing"), None);
    }
}

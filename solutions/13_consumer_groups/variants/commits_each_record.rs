//! Variant: automatic commits off, and a synchronous `commit_message` after each
//! record is processed: at-least-once with a round trip per record.

use anyhow::{Context, Result};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};

// ANCHOR: consumer_config
/// A consumer in `group` that starts a new group at the first record and never
/// lets the group's committed offset pass a record it has not finished processing.
pub fn consumer_config(bootstrap_servers: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", group)
        // A new group has no committed offset; librdkafka's default (`latest`)
        // would skip every record produced before the group first joined.
        .set("auto.offset.reset", "earliest")
        // librdkafka stores a record's offset as soon as it hands the record to
        // you, and the auto-commit thread commits stored offsets every
        // `auto.commit.interval.ms`: a crash mid-processing would lose the record.
        // Store offsets ourselves, after processing; auto-commit stays on and
        // commits only those.
        .set("enable.auto.commit", "false");
    config
}
// ANCHOR_END: consumer_config

// ANCHOR: consume_at_least_once
/// Subscribes `consumer` to `topic`, and for each of the next `count` records calls
/// `process` with its payload. A record is marked done for the group only once
/// `process` has returned `Ok`, so a crash while processing it means it is
/// delivered again.
pub async fn consume_at_least_once(
    consumer: &StreamConsumer,
    topic: &str,
    count: usize,
    mut process: impl AsyncFnMut(&str) -> Result<()>,
) -> Result<()> {
    consumer
        .subscribe(&[topic])
        .with_context(|| format!("subscribing to `{topic}`"))?;
    for _ in 0..count {
        let message = consumer.recv().await.context("receiving a record")?;
        let payload = String::from_utf8_lossy(message.payload().unwrap_or_default());
        // Process first...
        process(&payload)
            .await
            .with_context(|| format!("processing offset {}", message.offset()))?;
        // ...then store offset + 1 (the next record to read); the next automatic
        // commit sends it to the group coordinator.
        consumer
            .commit_message(&message, CommitMode::Sync)
            .context("committing the offset of a processed record")?;
    }
    Ok(())
}
// ANCHOR_END: consume_at_least_once

//! Variant: `enable.idempotence=true` alone (it implies `acks=all`), and records sent one at a time

use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

// ANCHOR: producer_config
/// A producer whose acknowledged records survive the death of a partition's leader.
pub fn producer_config(bootstrap_servers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        // Idempotence implies `acks=all` and unlimited retries, and the broker
        // drops a retried record it already has; `message.timeout.ms` stays at
        // librdkafka's 300 s.
        .set("enable.idempotence", "true");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: send_all
/// Sends each of `values` to `topic` (all in flight at once) and waits for every
/// delivery report; returns the values Kafka acknowledged, in the order given. A
/// value whose delivery failed is left out: it was not sent.
pub async fn send_all(
    producer: &FutureProducer,
    topic: &str,
    values: &[String],
) -> Vec<String> {
    // One at a time: each record waits for its report before the next is sent.
    let mut acknowledged = Vec::new();
    for value in values {
        let record = FutureRecord::to(topic).key("payments").payload(value);
        if producer.send(record, Duration::from_secs(0)).await.is_ok() {
            acknowledged.push(value.clone());
        }
    }
    acknowledged
}
// ANCHOR_END: send_all

// ANCHOR: consumer
/// A consumer in `group` that starts a new group at the first record.
pub fn consumer_config(bootstrap_servers: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest");
    config
}

/// Subscribes `consumer` to `topic` and returns the values of its next `count`
/// records. A broker going away mid-read is reported as an error and librdkafka
/// carries on with the next leader, so such errors are skipped.
pub async fn read_all(
    consumer: &StreamConsumer,
    topic: &str,
    count: usize,
) -> Result<Vec<String>> {
    consumer.subscribe(&[topic]).context("subscribing")?;
    let mut values = Vec::with_capacity(count);
    while values.len() < count {
        match consumer.recv().await {
            Ok(message) => {
                let payload = message.payload().unwrap_or_default();
                values.push(String::from_utf8_lossy(payload).into_owned());
            }
            // Why: a transient error (a leader moved) is not the end of the topic.
            Err(_transient) => {}
        }
    }
    Ok(values)
}
// ANCHOR_END: consumer

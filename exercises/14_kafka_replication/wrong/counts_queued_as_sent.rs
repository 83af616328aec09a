//! Wrong: counts a record as sent once it is queued (`send_result`), without awaiting its delivery report
//! Caught by: acknowledged_records_survive_the_leaders_death

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
        // Why: the leader answers only once every replica in the ISR has the
        // record, and refuses (NOT_ENOUGH_REPLICAS) while fewer than the topic's
        // `min.insync.replicas` are in sync. `acks=1` answers when the leader alone
        // has it: a leader that dies next takes the record with it.
        .set("acks", "all")
        // Why: an election takes seconds (the controller first waits out the dead
        // leader's broker session, 9 s); librdkafka retries a failed send until
        // this much time has passed since `send` (300 s is its default: said here,
        // so nobody "tunes" it below an election).
        .set("message.timeout.ms", "120000");
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
    let mut sent = Vec::new();
    for value in values {
        let record = FutureRecord::to(topic).key("payments").payload(value);
        // Queued without error: counted as sent, the delivery report never awaited.
        if producer.send_result(record).is_ok() {
            sent.push(value.clone());
        }
    }
    sent
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

//! Wrong: librdkafka's default partitioner (CRC32 of the key): a key lands on another
//! partition than a Java producer would put it.
//! Caught by: keys_land_where_java_puts_them

use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Where Kafka stored one produced record, as its delivery report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// The partition the record was appended to.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
}

// ANCHOR: producer_config
/// A producer for the brokers in `bootstrap_servers` that never duplicates or
/// reorders a record when it retries, and puts each key on the partition a Java
/// producer would choose.
pub fn producer_config(bootstrap_servers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        // librdkafka 2.12 leaves idempotence off (the Java client turns it on).
        // With it, the broker drops retried duplicates and keeps per-partition order
        // even with several batches in flight.
        .set("enable.idempotence", "true")
        // Idempotence needs acks=all; saying so makes the intent visible (it is
        // also librdkafka's default, and anything else is refused).
        .set("acks", "all")        // librdkafka's default partitioner hashes keys with CRC32; the Java client
        // uses murmur2. Same key, possibly different partition: pick Java's.
        ;
    config
}
// ANCHOR_END: producer_config

// ANCHOR: send_in_order
/// Produces each `(key, value)` record of `records` to `topic`, and returns once
/// Kafka has stored every one of them, with the delivery report of each, in the
/// order of `records`.
pub async fn send_in_order(
    producer: &FutureProducer,
    topic: &str,
    records: &[(String, String)],
) -> Result<Vec<Delivered>> {
    // Each send is queued when its future is first polled; `try_join_all` polls
    // them in order, so records are queued in order and may all be in flight at
    // once: the idempotent producer keeps their order per partition.
    let sends = records.iter().map(|(key, value)| async move {
        // The key chooses the partition: same key, same partition, kept in order.
        let record = FutureRecord::to(topic).key(key).payload(value);
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("producing `{key}` = `{value}`"))
    });
    // Awaiting every delivery report is what makes this "sent": a send whose
    // future is dropped may still be waiting in the producer's queue.
    let reports = futures::future::try_join_all(sends).await?;
    Ok(reports
        .into_iter()
        .map(|delivery| Delivered {
            partition: delivery.partition,
            offset: delivery.offset,
        })
        .collect())
}
// ANCHOR_END: send_in_order

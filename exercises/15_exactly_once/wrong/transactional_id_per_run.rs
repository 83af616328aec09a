//! Wrong: the `transactional.id` is made unique per process (the id given plus the
//! process id), so a restarted transformer neither fences the killed one nor
//! aborts its open transaction.
//! Caught by: a_transformer_killed_mid_transaction

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// How long one broker call of a transaction may take.
pub const WAIT: Duration = Duration::from_secs(30);

// ANCHOR: transactional_producer
/// A producer with `transactional.id` `transactional_id`, ready for transactions.
/// Every instance of one transformer (a restart, a second copy) uses the same id.
pub fn transactional_producer(
    bootstrap_servers: &str,
    transactional_id: &str,
) -> Result<FutureProducer> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        // The same id on every run: the broker knows it is the same producer, and
        // `init_transactions` fences the older instance and aborts its open
        // transaction. (It also turns on `enable.idempotence`.)
        // Unique per process, so two copies never clash.
        .set(
            "transactional.id",
            format!("{transactional_id}-{}", std::process::id()),
        )
        .create()
        .context("creating the transactional producer")?;
    // Registers the id with its transaction coordinator, bumps its epoch, and
    // finishes (aborts) whatever a previous instance left open.
    producer
        .init_transactions(WAIT)
        .context("init_transactions")?;
    Ok(producer)
}
// ANCHOR_END: transactional_producer

// ANCHOR: consumer_config
/// A consumer in `group` for a transactional pipeline: it starts a new group at
/// the first record, never commits by itself, and reads only committed records.
pub fn consumer_config(bootstrap_servers: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // The offsets are committed by the producer's transaction, not by the
        // consumer.
        .set("enable.auto.commit", "false")
        // librdkafka's default is read_committed already; say it, because the whole
        // pipeline depends on it: no aborted record, nothing past an open one.
        .set("isolation.level", "read_committed");
    config
}
// ANCHOR_END: consumer_config

// ANCHOR: transform_batch
/// Reads the next `count` records of `consumer` (already subscribed), sends
/// `transform(payload)` of each to `output` with the record's key, and commits
/// the output together with the consumer's offsets in one transaction of
/// `producer`. On any error the transaction is aborted and the consumer is moved
/// back to the first record of the batch, so the next call reads it again.
pub async fn transform_batch(
    consumer: &StreamConsumer,
    producer: &FutureProducer,
    output: &str,
    count: usize,
    mut transform: impl AsyncFnMut(&str) -> Result<String>,
) -> Result<()> {
    producer.begin_transaction().context("begin_transaction")?;
    // Per input partition: the first offset this batch read, and the next to read.
    let mut first: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let outcome = async {
        for _ in 0..count {
            let message = consumer.recv().await.context("receiving a record")?;
            let at = (message.topic().to_string(), message.partition());
            first.entry(at.clone()).or_insert(message.offset());
            next.insert(at, message.offset() + 1);
            let payload = String::from_utf8_lossy(message.payload().unwrap_or_default())
                .into_owned();
            let value = transform(&payload).await?;
            let key = message.key().unwrap_or_default();
            producer
                .send(FutureRecord::to(output).key(key).payload(&value), WAIT)
                .await
                .map_err(|(error, _)| error)
                .context("sending the transformed record")?;
        }
        // The input's progress goes into the same transaction: the group's offsets
        // move if and only if the output commits.
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in &next {
            offsets.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
        }
        let group = consumer
            .group_metadata()
            .context("the consumer's group metadata")?;
        producer
            .send_offsets_to_transaction(&offsets, &group, WAIT)
            .context("send_offsets_to_transaction")?;
        producer
            .commit_transaction(WAIT)
            .context("commit_transaction")?;
        anyhow::Ok(())
    }
    .await;
    if let Err(error) = outcome {
        // Nothing of this batch becomes visible to a read_committed reader. (A
        // fenced producer cannot abort either: its error says so, and it stops.)
        let _ = producer.abort_transaction(WAIT);
        // The consumer already moved past the batch: back to its first record, or
        // the next call would skip what was just aborted.
        for ((topic, partition), offset) in first {
            consumer
                .seek(&topic, partition, Offset::Offset(offset), WAIT)
                .with_context(|| format!("seeking {topic} back to {offset}"))?;
        }
        return Err(error);
    }
    Ok(())
}
// ANCHOR_END: transform_batch

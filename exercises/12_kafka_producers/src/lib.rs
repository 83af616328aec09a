//! # Chapter 12: Kafka producers
//!
//! A producer you could ship: keyed (so each key's records stay in order on one
//! partition), idempotent (so retries neither duplicate nor reorder), compatible
//! with Java producers' choice of partition, and one that waits for Kafka's
//! delivery reports instead of firing and forgetting.
//!
//! Fill in every `todo!()` under a `// TODO:` comment. The checks in
//! `tests/check.rs` run your functions against the lab's Kafka 4.1.1 and tell you
//! what they observed. Run them with:
//!
//! ```text
//! cargo test -p exercise_12_kafka_producers
//! ```
//!
//! Read chapter 12 of the book first (`book/src/ch12-kafka-producers.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables)]

use anyhow::Result;
use rdkafka::ClientConfig;
use rdkafka::producer::FutureProducer;

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
    // TODO: set `bootstrap.servers`; turn idempotence on (librdkafka's default is
    // off) with the `acks` it requires; choose the Java-compatible partitioner.
    todo!("configure an idempotent, Java-compatible producer")
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
    // TODO: send every record with its key (`FutureRecord::to(topic).key(..)
    // .payload(..)`), and wait for every delivery report before returning. You may
    // await them one by one, or all together (`futures::future::try_join_all`).
    todo!("produce the keyed records and wait for their delivery reports")
}
// ANCHOR_END: send_in_order

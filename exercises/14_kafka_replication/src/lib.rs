//! # Chapter 14: Kafka replication
//!
//! A producer and a consumer that lose nothing while the lab kills a partition's
//! leader: the producer's acknowledgement must mean "on the in-sync replicas", it
//! must keep retrying through the election of a new leader, and it may count a
//! record as sent only when the record's delivery report says so.
//!
//! Fill in every `todo!()` under a `// TODO:` comment. The checks in
//! `tests/check.rs` run your functions against the lab's 3-node Kafka 4.1.1
//! cluster, kill nodes with SIGKILL while your producer is sending, and tell you
//! which acknowledged records were lost. Run them with:
//!
//! ```text
//! cargo test -p exercise_14_kafka_replication
//! ```
//!
//! Read chapter 14 of the book first (`book/src/ch14-kafka-replication.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables)]

use anyhow::Result;
use rdkafka::ClientConfig;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;

// ANCHOR: producer_config
/// A producer whose acknowledged records survive the death of a partition's leader.
pub fn producer_config(bootstrap_servers: &str) -> ClientConfig {
    // TODO: set `bootstrap.servers`; choose `acks` so that an acknowledgement
    // means every in-sync replica has the record; and give librdkafka enough
    // time (`message.timeout.ms`) to retry through a leader election.
    todo!("configure a producer that survives a leader's death")
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
    // TODO: send each value (`FutureRecord::to(topic).payload(value)`, any key),
    // await every delivery report (`futures::future::join_all`), and keep the
    // values whose report is `Ok`.
    todo!("send every value and keep the acknowledged ones")
}
// ANCHOR_END: send_all

// ANCHOR: consumer
/// A consumer in `group` that starts a new group at the first record.
pub fn consumer_config(bootstrap_servers: &str, group: &str) -> ClientConfig {
    // TODO: `bootstrap.servers`, `group.id`, and `auto.offset.reset` so that a new
    // group starts at the beginning of the topic.
    todo!("configure a consumer that reads the topic from its start")
}

/// Subscribes `consumer` to `topic` and returns the values of its next `count`
/// records. A broker going away mid-read is reported as an error and librdkafka
/// carries on with the next leader, so such errors are skipped.
pub async fn read_all(
    consumer: &StreamConsumer,
    topic: &str,
    count: usize,
) -> Result<Vec<String>> {
    // TODO: subscribe; then `recv()` until `count` values, skipping `Err`s.
    todo!("read `count` records of the topic")
}
// ANCHOR_END: consumer

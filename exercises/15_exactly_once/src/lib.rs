//! # Chapter 15: exactly once
//!
//! A consume-transform-produce step that is exactly once inside Kafka: each batch
//! of input records is transformed and written in one transaction, together with
//! the consumer's offsets, so the output and the input's progress commit or abort
//! as one; a restarted (or duplicated) transformer fences the old one.
//!
//! Fill in every `todo!()` under a `// TODO:` comment. The checks in
//! `tests/check.rs` run your functions against the lab's Kafka 4.1.1 (one of them
//! in a separate process, `src/bin/transformer.rs`, that they kill with SIGKILL in
//! the middle of a transaction) and tell you what they observed. Run them with:
//!
//! ```text
//! cargo test -p exercise_15_exactly_once
//! ```
//!
//! Read chapter 15 of the book first (`book/src/ch15-exactly-once.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables, unused_mut)]

use std::time::Duration;

use anyhow::Result;
use rdkafka::ClientConfig;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;

/// How long one broker call of a transaction may take.
pub const WAIT: Duration = Duration::from_secs(30);

// ANCHOR: transactional_producer
/// A producer with `transactional.id` `transactional_id`, ready for transactions.
/// Every instance of one transformer (a restart, a second copy) uses the same id.
pub fn transactional_producer(
    bootstrap_servers: &str,
    transactional_id: &str,
) -> Result<FutureProducer> {
    // TODO: create a `FutureProducer` with `bootstrap.servers` and
    // `transactional.id`, then call `init_transactions(WAIT)` on it (the
    // `rdkafka::producer::Producer` trait).
    todo!("create a transactional producer and initialize its transactions")
}
// ANCHOR_END: transactional_producer

// ANCHOR: consumer_config
/// A consumer in `group` for a transactional pipeline: it starts a new group at
/// the first record, never commits by itself, and reads only committed records.
pub fn consumer_config(bootstrap_servers: &str, group: &str) -> ClientConfig {
    // TODO: `bootstrap.servers`, `group.id`, `auto.offset.reset`,
    // `enable.auto.commit`, and the `isolation.level` that hides aborted records.
    todo!("configure the pipeline's consumer")
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
    // TODO: `begin_transaction`; `count` times: `recv()`, remember the record's
    // offset, `transform` its payload, `send` the result (await the delivery);
    // then `send_offsets_to_transaction` (the next offset to read of each
    // partition, and `consumer.group_metadata()`), and `commit_transaction`.
    // On an error: `abort_transaction`, `seek` each partition back to the first
    // offset this batch read, and return the error.
    todo!("one transaction: records, offsets, commit (or abort and seek back)")
}
// ANCHOR_END: transform_batch

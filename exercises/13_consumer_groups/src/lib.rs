//! # Chapter 13: consumer groups
//!
//! An at-least-once consumer: it belongs to a consumer group, starts a new group at
//! the first record, and tells the group a record is done only after processing
//! it, so a consumer killed in the middle of a record does not lose it.
//!
//! Fill in every `todo!()` under a `// TODO:` comment. The checks in
//! `tests/check.rs` run your functions against the lab's Kafka 4.1.1 (one of them
//! in a separate process, `src/bin/crash_consumer.rs`, that they kill with
//! SIGKILL) and tell you what they observed. Run them with:
//!
//! ```text
//! cargo test -p exercise_13_consumer_groups
//! ```
//!
//! Read chapter 13 of the book first (`book/src/ch13-consumer-groups.md`).

// The stubs do not use their parameters yet (nor call `process`, which needs its
// `mut`); your code will.
#![allow(unused_variables, unused_mut)]

use anyhow::Result;
use rdkafka::ClientConfig;
use rdkafka::consumer::StreamConsumer;

// ANCHOR: consumer_config
/// A consumer in `group` that starts a new group at the first record and never
/// lets the group's committed offset pass a record it has not finished processing.
pub fn consumer_config(bootstrap_servers: &str, group: &str) -> ClientConfig {
    // TODO: set `bootstrap.servers` and `group.id`; make a new group start at the
    // earliest offset; and stop librdkafka from storing each record's offset the
    // moment it hands you the record (its default).
    todo!("configure an at-least-once consumer")
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
    // TODO: subscribe; then `count` times: `recv()` a record, `process(payload)
    // .await?`, and only then mark it done (`store_offset_from_message`).
    todo!("consume, process, then store each record's offset")
}
// ANCHOR_END: consume_at_least_once

//! # Chapter 9: ordering in RabbitMQ
//!
//! Per-key ordered processing with parallelism: the events of one account must be
//! processed in the order they were published, while different accounts are
//! processed side by side. RabbitMQ keeps order per queue, for one consumer at a
//! time; so you spread the keys over [`SHARDS`] queues with a stable key-to-queue
//! map, and give each queue a single active consumer that processes one event at a
//! time. You write:
//!
//! - [`shard_of`]: the stable map from a key to its queue;
//! - [`declare_shards`]: the shard queues, each with a single active consumer;
//! - [`publish_events`]: each event to its key's queue, confirmed;
//! - [`process_shard`]: one event at a time, a failed one tried again before the next.
//!
//! The checks in `tests/check.rs` publish numbered events of several keys, run
//! two workers per queue with a handler that is slow on some events and fails on
//! others, kill a worker process (`src/bin/ordering_worker.rs`) with SIGKILL in
//! the middle of a stream, and look at the order in which each key's events were
//! processed. Run them with:
//!
//! ```text
//! cargo test -p exercise_09_rabbit_ordering
//! ```
//!
//! Read chapter 9 of the book first (`book/src/ch09-rabbit-ordering.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables)]

use anyhow::Result;
use lapin::Channel;

/// How many queues the events are spread over: up to this many keys are
/// processed in parallel, each key by one consumer at a time.
pub const SHARDS: usize = 3;

// The events and the handler type: given, in `src/events.rs`.
mod events;
pub use events::{Event, Handler, handler};

/// The name of shard `shard` (0 .. [`SHARDS`]) of the queues named after `prefix`.
pub fn shard_queue(prefix: &str, shard: usize) -> String {
    format!("{prefix}.shard-{shard}")
}

// ANCHOR: shard_of
/// The shard (0 .. [`SHARDS`]) every event of `key` goes to: the same shard for
/// the same key, in every process, every run.
pub fn shard_of(key: &str) -> usize {
    // TODO: hash the key's bytes with a hash that depends on nothing else (FNV-1a
    // is five lines: start from 0xcbf29ce484222325; for each byte, xor it in, then
    // multiply by 0x100000001b3 with `wrapping_mul`), and take it modulo SHARDS.
    todo!("map a key to its shard")
}
// ANCHOR_END: shard_of

// ANCHOR: declare_shards
/// Declares the [`SHARDS`] durable queues named after `prefix`
/// ([`shard_queue`]), each with a single active consumer; returns their names.
pub async fn declare_shards(channel: &Channel, prefix: &str) -> Result<Vec<String>> {
    // TODO: for each shard 0..SHARDS, declare the durable queue `shard_queue(prefix,
    // shard)` with the argument `x-single-active-consumer` = true, and return the
    // names in shard order.
    todo!("declare the shard queues")
}
// ANCHOR_END: declare_shards

// ANCHOR: publish_events
/// Publishes `events`, in order, each to the shard queue of its key, as
/// persistent messages, and waits until the broker has confirmed them all.
pub async fn publish_events(
    channel: &Channel,
    prefix: &str,
    events: &[Event],
) -> Result<()> {
    // TODO: turn publisher confirms on; publish each event's `body()` through the
    // default exchange to the queue of its key's shard, persistent; then wait for
    // every confirm and check it is an ack.
    todo!("publish each event to its shard")
}
// ANCHOR_END: publish_events

// ANCHOR: process_shard
/// Processes the events of `queue` with `handler`, one at a time, in queue order,
/// until the channel closes. A failed event is tried again before the next one.
pub async fn process_shard(
    channel: &Channel,
    queue: &str,
    handler: Handler,
) -> Result<()> {
    // TODO: set the prefetch, consume `queue` with manual acks, and for each
    // delivery: parse the event, await `handler(event)`, ack if it succeeded; if it
    // failed, make sure it is tried again *before* the events behind it.
    todo!("process a shard in order")
}
// ANCHOR_END: process_shard

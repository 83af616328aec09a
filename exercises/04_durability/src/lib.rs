//! # Chapter 4: durability
//!
//! What survives a broker restart? A queue survives if it is *durable*; a message
//! in a classic queue survives if it is also *persistent*; a quorum queue keeps
//! every message. You write the three calls that make a queue and its messages
//! survive:
//!
//! - [`declare_classic_queue`]: a classic queue that survives a restart;
//! - [`declare_quorum_queue`]: a quorum queue;
//! - [`store_messages`]: publish messages that survive a restart, confirmed.
//!
//! The checks in `tests/check.rs` restart the broker between publishing and
//! reading, and count what is left. Run them with:
//!
//! ```text
//! cargo test -p exercise_04_durability
//! ```
//!
//! Read chapter 4 of the book first (`book/src/ch04-durability.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables)]

use anyhow::Result;
use lapin::Channel;

// ANCHOR: declare_classic_queue
/// Declares `queue` as a classic queue whose definition survives a broker restart.
pub async fn declare_classic_queue(channel: &Channel, queue: &str) -> Result<()> {
    // TODO: declare the queue with `channel.queue_declare`, durable.
    todo!("declare a durable classic queue")
}
// ANCHOR_END: declare_classic_queue

// ANCHOR: declare_quorum_queue
/// Declares `queue` as a quorum queue.
pub async fn declare_quorum_queue(channel: &Channel, queue: &str) -> Result<()> {
    // TODO: declare the queue with the argument `x-queue-type` = "quorum" (a
    // `FieldTable` entry holding an `AMQPValue::LongString`). Quorum queues must
    // be declared durable.
    todo!("declare a quorum queue")
}
// ANCHOR_END: declare_quorum_queue

// ANCHOR: store_messages
/// Publishes each body, in order, to `queue` so that it survives a broker restart,
/// and returns once the broker has confirmed every one.
pub async fn store_messages(
    channel: &Channel,
    queue: &str,
    bodies: &[String],
) -> Result<()> {
    // TODO: turn on publisher confirms, publish each body through the default
    // exchange as a persistent message (delivery mode 2), and wait for the
    // broker's confirm of every one (fail if one is a nack).
    todo!("publish persistent, confirmed messages")
}
// ANCHOR_END: store_messages

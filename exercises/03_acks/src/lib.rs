//! # Chapter 3: acknowledgements
//!
//! An *at-least-once* worker: RabbitMQ keeps each job until the worker
//! acknowledges it, so a worker that crashes loses nothing; the price is that a job
//! can arrive twice, so processing must be *idempotent*. You write:
//!
//! - [`subscribe`]: manual acks and a bounded prefetch;
//! - [`handle`]: record a job in the [`Ledger`] unless it is already there, then
//!   ack; reject a job that has no id.
//!
//! The checks in `tests/check.rs` run your worker as a separate program
//! (`src/bin/acks_worker.rs`), kill it with SIGKILL in the middle of a job, start
//! another, and read the ledger. Run them with:
//!
//! ```text
//! cargo test -p exercise_03_acks
//! ```
//!
//! Read chapter 3 of the book first (`book/src/ch03-acks.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables)]

use std::io::Write;

use anyhow::{Context, Result};
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::{Channel, Consumer};

/// How many unacknowledged jobs a worker may hold at once.
pub const PREFETCH: u16 = 10;

// The ledger the worker records jobs in: given, in `src/ledger.rs`.
mod ledger;
pub use ledger::{Ledger, Stall};

/// What [`handle`] did with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// A new job: recorded, then acked.
    Recorded,
    /// A job the ledger already had (a redelivery of a job done but not acked):
    /// acked without recording it again.
    AlreadyRecorded,
    /// A delivery without a job id: rejected, not requeued.
    Rejected,
}

/// The job id of a delivery: its `message_id` property, set by the publisher.
pub fn job_id(delivery: &Delivery) -> Option<&str> {
    delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str())
}

// ANCHOR: subscribe
/// Subscribes to `queue` for at-least-once processing: manual acks, and at most
/// [`PREFETCH`] unacknowledged jobs held at once.
pub async fn subscribe(channel: &Channel, queue: &str) -> Result<Consumer> {
    // TODO: limit the channel to PREFETCH unacknowledged deliveries
    // (`basic_qos`), then `basic_consume` from `queue` with manual acks.
    todo!("subscribe for at-least-once processing")
}
// ANCHOR_END: subscribe

// ANCHOR: handle
/// Handles one delivered job so that its effect happens once, however often it is
/// delivered: records it unless the ledger already has it, and acks it after that.
/// A delivery without a job id cannot be deduplicated: reject it without requeueing.
pub async fn handle(delivery: &Delivery, ledger: &mut Ledger) -> Result<Handled> {
    // TODO: without a job id (`job_id`), reject the delivery with `requeue: false`.
    // Otherwise record the job unless `ledger.contains` it already, and only then
    // ack the delivery. Return what you did.
    todo!("handle one job")
}
// ANCHOR_END: handle

// ANCHOR: work
/// The worker: handles every job from `queue` until the consumer ends, printing one
/// line per delivery (the checks read these lines).
pub async fn work(channel: &Channel, queue: &str, ledger: &mut Ledger) -> Result<()> {
    let mut consumer = subscribe(channel, queue).await?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery.context("receiving a job")?;
        let handled = handle(&delivery, ledger).await?;
        println!(
            "{handled:?}: {} (redelivered: {})",
            job_id(&delivery).unwrap_or("<no id>"),
            delivery.redelivered
        );
        let _ = std::io::stdout().flush();
    }
    Ok(())
}
// ANCHOR_END: work

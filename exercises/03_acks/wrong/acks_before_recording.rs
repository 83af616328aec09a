//! Wrong: the worker acks a job first and records it after: a crash in between
//! loses the job, which RabbitMQ has already forgotten.
//! Caught by: job_stuck_before_recording_is_not_lost_when_the_worker_is_killed

use std::io::Write;

use anyhow::{Context, Result};
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};

/// How many unacknowledged jobs a worker may hold at once.
pub const PREFETCH: u16 = 10;

// The ledger is the exercise's own file: the code the learner is given exists once.
#[path = "../../../exercises/03_acks/src/ledger.rs"]
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
    // Bounded prefetch: a crash puts back at most PREFETCH jobs, and a slow worker
    // does not hoard the queue (chapter 2).
    channel
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await
        .context("setting the prefetch count")?;
    // Manual acks: RabbitMQ keeps each job until we ack it, and gives it back to
    // the queue if this worker's connection goes. With automatic acks the job is
    // gone the moment it is sent.
    let options = BasicConsumeOptions {
        no_ack: false,
        ..Default::default()
    };
    let consumer = channel
        .basic_consume(
            queue.into(),
            "acks-worker".into(),
            options,
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consuming from `{queue}`"))?;
    Ok(consumer)
}
// ANCHOR_END: subscribe

// ANCHOR: handle
/// Handles one delivered job so that its effect happens once, however often it is
/// delivered: records it unless the ledger already has it, and acks it after that.
/// A delivery without a job id cannot be deduplicated: reject it without requeueing.
pub async fn handle(delivery: &Delivery, ledger: &mut Ledger) -> Result<Handled> {
    let Some(id) = job_id(delivery) else {
        // Requeueing would hand it straight back, forever. Rejected without
        // requeue, it is dropped, or dead-lettered if the queue has a DLX.
        delivery
            .reject(BasicRejectOptions { requeue: false })
            .await
            .context("rejecting a job without id")?;
        return Ok(Handled::Rejected);
    };
    // Check the ledger for every delivery, not only when `redelivered` is set: the
    // flag is a hint. A job that was recorded before a crash, but never acked,
    // comes back; recording it again would do its effect twice.
    delivery
        .ack(BasicAckOptions::default())
        .await
        .with_context(|| format!("acking job {id}"))?;
    let handled = if ledger.contains(id)? {
        Handled::AlreadyRecorded
    } else {
        ledger.record(id).await?;
        Handled::Recorded
    };
    Ok(handled)
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

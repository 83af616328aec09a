//! # Chapter 2: work queues
//!
//! Several workers share one queue of tasks, the shape of every background-job
//! system. You write the worker:
//!
//! - [`fair_consumer`] subscribes so that RabbitMQ hands a worker a new task only
//!   when it has finished the previous one (fair dispatch), instead of dealing the
//!   tasks out in turn whatever each worker is doing;
//! - [`work`] does each task, acknowledges it, and reports it done.
//!
//! The checks in `tests/check.rs` start a fast and a slow worker on one queue and
//! count who did what. Run them with:
//!
//! ```text
//! cargo test -p exercise_02_work_queues
//! ```
//!
//! Read chapter 2 of the book first (`book/src/ch02-work-queues.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables, unused_mut)]

use std::time::Duration;

use anyhow::Result;
use lapin::{Channel, Consumer};
use tokio::sync::mpsc::UnboundedSender;

/// What a worker reports for each task it has finished: who did it, and the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// The worker's name, as given to [`work`].
    pub worker: String,
    /// The task's body.
    pub task: String,
}

// ANCHOR: fair_consumer
/// Subscribes to `queue` as a *fair* worker: it acknowledges each task itself, and
/// RabbitMQ sends it a new task only once it has acknowledged the previous one.
pub async fn fair_consumer(
    channel: &Channel,
    queue: &str,
    tag: &str,
) -> Result<Consumer> {
    // TODO: limit this worker to one unacknowledged task with `channel.basic_qos`,
    // then subscribe with `basic_consume` (consumer tag `tag`) in manual-ack mode.
    todo!("subscribe as a fair worker")
}
// ANCHOR_END: fair_consumer

// ANCHOR: work
/// Works through the tasks `consumer` delivers, spending `pace` on each, until the
/// consumer ends (its channel closed). After each task it acknowledges the delivery
/// and reports the task on `done`.
pub async fn work(
    mut consumer: Consumer,
    worker: &str,
    pace: Duration,
    done: UnboundedSender<Done>,
) -> Result<()> {
    // TODO: for each delivery: "work" for `pace` (an async sleep), ack the delivery,
    // then send a `Done { worker, task }` with the body as text. Return when the
    // stream ends, or when nobody listens on `done` any more.
    todo!("work through the tasks")
}
// ANCHOR_END: work

//! Wrong: prefetch 1, but with automatic acks (`no_ack: true`): a delivery counts
//! as acknowledged when it is sent, so the limit never applies.
//! Caught by: a_busy_worker_holds_one_task_and_leaves_the_rest

use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
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
    // Prefetch 1: at most one unacknowledged task per consumer. Without it RabbitMQ
    // deals the tasks out round-robin as they arrive, however busy a worker is.
    // `global: false` (the default) makes the limit per consumer in RabbitMQ.
    channel
        .basic_qos(1, BasicQosOptions::default())
        .await
        .context("setting the prefetch count")?;
    // Manual acks (`no_ack: false`, the default): the prefetch limit counts
    // unacknowledged deliveries, so it means nothing with automatic acks.
    let consumer = channel
        .basic_consume(
            queue.into(),
            tag.into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consuming from `{queue}`"))?;
    Ok(consumer)
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
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery.context("receiving a task")?;
        // The work itself. An async sleep, never `std::thread::sleep`, which would
        // block every other task of the runtime (the official lapin port does that).
        tokio::time::sleep(pace).await;
        let task = String::from_utf8_lossy(&delivery.data).into_owned();
        let report = Done {
            worker: worker.to_string(),
            task,
        };
        if done.send(report).is_err() {
            // Nobody listens any more: stop working.
            break;
        }
    }
    Ok(())
}
// ANCHOR_END: work

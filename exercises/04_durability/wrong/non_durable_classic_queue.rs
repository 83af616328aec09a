//! Wrong: the classic queue is declared non-durable: a restart deletes it, and its
//! persistent messages with it.
//! Caught by: classic_queue_is_durable, queues_and_messages_survive_a_broker_restart

use anyhow::{Context, Result, bail};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};

// ANCHOR: declare_classic_queue
/// Declares `queue` as a classic queue whose definition survives a broker restart.
pub async fn declare_classic_queue(channel: &Channel, queue: &str) -> Result<()> {
    // Durable: the queue is stored on disk and declared again when the node
    // starts. A non-durable queue is deleted by a restart, messages and all.
    let options = QueueDeclareOptions::default();
    channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await
        .with_context(|| format!("declaring classic queue `{queue}`"))?;
    Ok(())
}
// ANCHOR_END: declare_classic_queue

// ANCHOR: declare_quorum_queue
/// Declares `queue` as a quorum queue.
pub async fn declare_quorum_queue(channel: &Channel, queue: &str) -> Result<()> {
    // The queue type is an argument of the declaration. Quorum queues are always
    // durable (RabbitMQ refuses `durable: false`) and keep every message on disk,
    // replicated by Raft on a cluster (chapter 10).
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(queue.into(), QueueDeclareOptions::durable(), arguments)
        .await
        .with_context(|| format!("declaring quorum queue `{queue}`"))?;
    Ok(())
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
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .context("turning on publisher confirms")?;
    // Delivery mode 2, persistent: a classic queue writes the message to disk. A
    // transient message (mode 1, or no mode, lapin's default) is dropped when the
    // node restarts, even from a durable queue.
    let persistent = BasicProperties::default().with_delivery_mode(2);
    let mut confirms = Vec::with_capacity(bodies.len());
    for body in bodies {
        let confirm = channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                persistent.clone(),
            )
            .await
            .with_context(|| format!("publishing `{body}`"))?;
        confirms.push(confirm);
    }
    // For a persistent message in a durable queue the confirm comes once it is on
    // disk: only then would it survive a crash. Wait for all of them together.
    for (body, confirm) in bodies.iter().zip(confirms) {
        if !confirm.await.context("waiting for a confirm")?.is_ack() {
            bail!("the broker refused `{body}`");
        }
    }
    Ok(())
}
// ANCHOR_END: store_messages

//! # Chapter 9: ordering in RabbitMQ (reference solution)
//!
//! The exercise in `exercises/09_rabbit_ordering`, solved. The comments say why
//! each line the learner writes is there. [`Event`], [`Handler`], [`SHARDS`] and
//! [`shard_queue`] are given in the exercise as they are here.

use anyhow::{Context, Result};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};

/// How many queues the events are spread over: up to this many keys are
/// processed in parallel, each key by one consumer at a time.
pub const SHARDS: usize = 3;

// The events are the exercise's own file: the code the learner is given exists once.
#[path = "../../../exercises/09_rabbit_ordering/src/events.rs"]
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
    // FNV-1a, written out: a hash that depends on the key's bytes only. (std's
    // `RandomState` is seeded at random per process, and a counter or a random
    // pick sends one key's events to several queues, whose consumers then race.)
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % SHARDS as u64) as usize
}
// ANCHOR_END: shard_of

// ANCHOR: declare_shards
/// Declares the [`SHARDS`] durable queues named after `prefix`
/// ([`shard_queue`]), each with a single active consumer; returns their names.
pub async fn declare_shards(channel: &Channel, prefix: &str) -> Result<Vec<String>> {
    let mut queues = Vec::new();
    for shard in 0..SHARDS {
        let queue = shard_queue(prefix, shard);
        // Single active consumer: however many workers subscribe (for failover),
        // RabbitMQ delivers to one of them at a time, so one queue's messages are
        // never processed by two consumers at once.
        let mut arguments = FieldTable::default();
        arguments.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                arguments,
            )
            .await
            .with_context(|| format!("declaring the shard queue {queue}"))?;
        queues.push(queue);
    }
    Ok(queues)
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
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .context("turning publisher confirms on")?;
    let mut confirms = Vec::new();
    for event in events {
        // One channel, one queue per key: RabbitMQ keeps the order in which this
        // channel published into each queue.
        let queue = shard_queue(prefix, shard_of(&event.key));
        let confirm = channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                event.body().as_bytes(),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .with_context(|| format!("publishing {} to {queue}", event.body()))?;
        confirms.push((event, confirm));
    }
    for (event, confirm) in confirms {
        let confirmation = confirm
            .await
            .with_context(|| format!("waiting for the confirm of {}", event.body()))?;
        anyhow::ensure!(confirmation.is_ack(), "the broker refused {}", event.body());
    }
    Ok(())
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
    // Prefetch 1: the broker hands out the next event only after this one is
    // acked, so a nacked event goes back to the head of the queue with no
    // successor already handed out, and comes back next.
    channel
        .basic_qos(1, BasicQosOptions::default())
        .await
        .context("setting the prefetch to 1")?;
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consuming from {queue}"))?;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery.context("receiving an event")?;
        let event = Event::parse(&delivery.data)?;
        // Awaited here, not spawned: the next event starts after this one is done.
        match handler(event).await {
            Ok(()) => {
                delivery.ack(BasicAckOptions::default()).await?;
            }
            // Requeue: back to its place at the head of the queue, to be tried
            // again before anything behind it.
            Err(_) => {
                let requeue = BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                };
                delivery.nack(requeue).await?;
            }
        }
    }
    Ok(())
}
// ANCHOR_END: process_shard

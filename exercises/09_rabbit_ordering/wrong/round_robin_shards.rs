//! Wrong: keys are dealt to the shards in turn (a counter), so one key's events
//! land in several queues, whose consumers race each other.
//! Caught by: each_key_stays_in_one_queue_in_publish_order

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use futures::StreamExt;
use futures::future::BoxFuture;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};

/// How many queues the events are spread over: up to this many keys are
/// processed in parallel, each key by one consumer at a time.
pub const SHARDS: usize = 3;

/// One event of an entity (an account, an order): its key, and its number in
/// that key's sequence (1, 2, 3 ...). Events of one key must be processed in
/// sequence order; events of different keys may be processed in any order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    /// The entity the event belongs to.
    pub key: String,
    /// Its number in the key's sequence, from 1.
    pub seq: u32,
}

impl Event {
    /// Event number `seq` of `key`.
    pub fn new(key: &str, seq: u32) -> Event {
        Event {
            key: key.to_string(),
            seq,
        }
    }

    /// The message body: `<key>#<seq>`.
    pub fn body(&self) -> String {
        format!("{}#{}", self.key, self.seq)
    }

    /// Reads an event from a message body written by [`Event::body`].
    pub fn parse(body: &[u8]) -> Result<Event> {
        let text = String::from_utf8_lossy(body);
        let (key, seq) = text
            .rsplit_once('#')
            .with_context(|| format!("{text:?} is not `<key>#<seq>`"))?;
        let seq = seq
            .parse()
            .with_context(|| format!("the sequence number of {text:?}"))?;
        Ok(Event::new(key, seq))
    }
}

/// What the application does with one event: an `Err` means "failed, try again"
/// (a database that was briefly away, a timeout). The checks give their own.
pub type Handler = Arc<dyn Fn(Event) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// Makes a [`Handler`] of an async function or closure.
pub fn handler<F, Fut>(function: F) -> Handler
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |event| Box::pin(function(event)))
}

/// The name of shard `shard` (0 .. [`SHARDS`]) of the queues named after `prefix`.
pub fn shard_queue(prefix: &str, shard: usize) -> String {
    format!("{prefix}.shard-{shard}")
}

// ANCHOR: shard_of
/// The shard (0 .. [`SHARDS`]) every event of `key` goes to: the same shard for
/// the same key, in every process, every run.
pub fn shard_of(key: &str) -> usize {
    // Spread the load evenly: each event to the next shard in turn.
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS
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
            .queue_declare(queue.as_str().into(), QueueDeclareOptions::durable(), arguments)
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
pub async fn publish_events(channel: &Channel, prefix: &str, events: &[Event]) -> Result<()> {
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
pub async fn process_shard(channel: &Channel, queue: &str, handler: Handler) -> Result<()> {
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

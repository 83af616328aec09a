//! Small RabbitMQ steps the proofs of chapters 2 to 5 share: declare, publish with
//! confirms, count, consume. Each is one broker operation with a bounded wait.

use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, Consumer};

/// How long a proof waits for one broker answer.
pub const WAIT: Duration = Duration::from_secs(30);

/// Where most proofs start: the lab's single RabbitMQ, a connection, a `setup`
/// channel to publish and count on, and a fresh durable queue.
pub struct Scene {
    /// Held for the whole proof: it keeps fault tests off this broker.
    pub rabbit: lab::Rabbit,
    /// The proof's connection.
    pub connection: Connection,
    /// A channel for publishing and counting.
    pub setup: Channel,
    /// The queue's unique name.
    pub queue: String,
}

impl Scene {
    /// Connects and declares a durable queue named after `prefix`.
    pub async fn new(prefix: &str) -> Result<Scene> {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let queue = lab::unique_name(prefix);
        let setup = connection.create_channel().await?;
        durable_queue(&setup, &queue).await?;
        Ok(Scene {
            rabbit,
            connection,
            setup,
            queue,
        })
    }
}

/// Declares a durable classic queue.
pub async fn durable_queue(channel: &Channel, queue: &str) -> Result<()> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("declaring durable queue {queue}"))?;
    Ok(())
}

/// Declares a quorum queue (always durable).
pub async fn quorum_queue(channel: &Channel, queue: &str) -> Result<()> {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(queue.into(), QueueDeclareOptions::durable(), arguments)
        .await
        .with_context(|| format!("declaring quorum queue {queue}"))?;
    Ok(())
}

/// Publishes `bodies` to `queue` through the default exchange with confirms on, as
/// persistent (delivery mode 2) or transient (1) messages, and waits until the
/// broker has confirmed them all.
pub async fn publish_all(
    channel: &Channel,
    queue: &str,
    bodies: &[String],
    persistent: bool,
) -> Result<()> {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mode = if persistent { 2 } else { 1 };
    for body in bodies {
        channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default().with_delivery_mode(mode),
            )
            .await?;
    }
    let returned =
        lab::within(WAIT, "publisher confirms", channel.wait_for_confirms()).await??;
    anyhow::ensure!(returned.is_empty(), "a message was returned unroutable");
    Ok(())
}

/// `prefix-1` .. `prefix-count`.
pub fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("{prefix}-{i}")).collect()
}

/// Messages ready for delivery (delivered-but-unacked ones are not counted).
pub async fn ready(channel: &Channel, queue: &str) -> Result<u32> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    Ok(channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
        .with_context(|| format!("counting the messages of {queue}"))?
        .message_count())
}

/// Waits until the number of messages ready in `queue` satisfies `want`.
pub async fn until_ready(
    channel: &Channel,
    queue: &str,
    what: &str,
    timeout: Duration,
    want: impl Fn(u32) -> bool,
) -> Result<()> {
    lab::until(timeout, what, Duration::from_millis(50), || async {
        ready(channel, queue)
            .await
            .map(&want)
            .map_err(|e| lab::LabError::step("counting", e))
    })
    .await?;
    Ok(())
}

/// Subscribes with manual (`no_ack: false`) or automatic acks.
pub async fn consume(channel: &Channel, queue: &str, auto_ack: bool) -> Result<Consumer> {
    let tag = lab::unique_name("consumer");
    let options = BasicConsumeOptions {
        no_ack: auto_ack,
        ..Default::default()
    };
    channel
        .basic_consume(queue.into(), tag.into(), options, FieldTable::default())
        .await
        .with_context(|| format!("consuming from {queue}"))
}

/// Counts deliveries on `consumer` until none has come for `quiet`.
pub async fn count_until_quiet(
    consumer: &mut Consumer,
    quiet: Duration,
) -> Result<usize> {
    let mut count = 0;
    while let Ok(Some(delivery)) = tokio::time::timeout(quiet, consumer.next()).await {
        delivery?;
        count += 1;
    }
    Ok(count)
}

/// Takes every message from `queue` with `basic.get` (auto-ack) and returns the
/// bodies in queue order.
pub async fn drain(channel: &Channel, queue: &str) -> Result<Vec<String>> {
    let mut bodies = Vec::new();
    while let Some(message) = channel
        .basic_get(
            queue.into(),
            lapin::options::BasicGetOptions { no_ack: true },
        )
        .await?
    {
        bodies.push(String::from_utf8(message.delivery.data.clone())?);
    }
    Ok(bodies)
}

//! Wrong: tasks go out with lapin's default properties, as transient messages
//! (delivery mode 1): a durable queue drops them on a restart.
//! Caught by: tasks_are_persistent

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Where Kafka stored one produced event, as its delivery report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// The partition the event was appended to.
    pub partition: i32,
    /// Its offset in that partition: its position in the log, counting from 0.
    pub offset: i64,
}

// ANCHOR: declare_task_queue
/// Declares `queue` so that it survives a broker restart, like the original
/// tutorial's `task_queue`.
pub async fn declare_task_queue(channel: &Channel, queue: &str) -> Result<()> {
    // Durable: the queue's definition is stored on disk and survives a restart.
    // (Its messages survive only if they are persistent too.)
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("declaring queue `{queue}`"))?;
    Ok(())
}
// ANCHOR_END: declare_task_queue

// ANCHOR: send_tasks
/// Publishes each task, in order, to `queue` through the default exchange, as
/// persistent messages, and waits until the broker has confirmed each one.
pub async fn send_tasks(channel: &Channel, queue: &str, tasks: &[String]) -> Result<()> {
    // Without confirms, awaiting `basic_publish` only means "written to the socket".
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .context("turning on publisher confirms")?;
    let persistent = BasicProperties::default();
    for task in tasks {
        // The default exchange ("") routes a message to the queue named by its
        // routing key.
        let confirm = channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                task.as_bytes(),
                persistent.clone(),
            )
            .await
            .with_context(|| format!("publishing `{task}`"))?;
        // The second await is the broker's answer: the message is in the queue.
        if !confirm.await.context("waiting for a confirm")?.is_ack() {
            bail!("the broker refused `{task}`");
        }
    }
    Ok(())
}
// ANCHOR_END: send_tasks

// ANCHOR: receive_tasks
/// Consumes `count` tasks from `queue`, acknowledging each after reading it, and
/// returns their bodies in the order they arrived.
pub async fn receive_tasks(
    channel: &Channel,
    queue: &str,
    count: usize,
) -> Result<Vec<String>> {
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "first-contact".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consuming from `{queue}`"))?;
    let mut tasks = Vec::with_capacity(count);
    // Take exactly `count`: a consumer is an endless stream.
    while tasks.len() < count {
        let delivery = consumer
            .next()
            .await
            .context("the consumer was cancelled")?
            .context("receiving a delivery")?;
        tasks.push(String::from_utf8_lossy(&delivery.data).into_owned());
        // The ack tells RabbitMQ it may forget the message; unacked messages are
        // redelivered when the channel closes.
        delivery
            .ack(BasicAckOptions::default())
            .await
            .context("acking a task")?;
    }
    Ok(tasks)
}
// ANCHOR_END: receive_tasks

// ANCHOR: producer_config
/// The producer configuration of the original tutorial: client id `my-app`,
/// talking to the brokers in `bootstrap_servers`.
pub fn producer_config(bootstrap_servers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("client.id", "my-app");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: send_events
/// Produces each event, in order, to `topic`, and returns the delivery report of each.
pub async fn send_events(
    producer: &FutureProducer,
    topic: &str,
    events: &[String],
) -> Result<Vec<Delivered>> {
    let mut reports = Vec::with_capacity(events.len());
    for event in events {
        let record: FutureRecord<'_, (), _> = FutureRecord::to(topic).payload(event);
        // The future resolves with the delivery report: where the event was stored.
        let delivery = producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("producing `{event}`"))?;
        reports.push(Delivered {
            partition: delivery.partition,
            offset: delivery.offset,
        });
    }
    Ok(reports)
}
// ANCHOR_END: send_events

// ANCHOR: consumer_config
/// The configuration of a consumer in group `group` that reads a topic from its
/// first record, even when the records were produced before the group existed.
pub fn consumer_config(bootstrap_servers: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", group)
        // A new group has no committed offset; rdkafka then starts at the end
        // ("latest") unless told otherwise.
        .set("auto.offset.reset", "earliest");
    config
}
// ANCHOR_END: consumer_config

// ANCHOR: receive_events
/// Subscribes `consumer` to `topic` and returns the payloads of the first `count`
/// records it receives, in order.
pub async fn receive_events(
    consumer: &StreamConsumer,
    topic: &str,
    count: usize,
) -> Result<Vec<String>> {
    consumer
        .subscribe(&[topic])
        .with_context(|| format!("subscribing to `{topic}`"))?;
    let mut events = Vec::with_capacity(count);
    while events.len() < count {
        let message = consumer.recv().await.context("receiving a record")?;
        let payload = message.payload().unwrap_or_default();
        events.push(String::from_utf8_lossy(payload).into_owned());
    }
    Ok(events)
}
// ANCHOR_END: receive_events

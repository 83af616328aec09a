//! # Chapter 1: first contact
//!
//! Your first round trip through both brokers, in the order the book explains them:
//!
//! - **RabbitMQ** (lapin): declare a durable queue, publish tasks to it through the
//!   default exchange, consume them and acknowledge each one.
//! - **Kafka** (rdkafka): produce events to a topic and read the delivery reports
//!   (partition and offset), then consume the events with a consumer group.
//!
//! Fill in every `todo!()` under a `// TODO:` comment. The checks in
//! `tests/check.rs` run your functions against real brokers and tell you what they
//! observed. Run them with:
//!
//! ```text
//! cargo test -p exercise_01_first_contact
//! ```
//!
//! Read chapter 1 of the book first (`book/src/ch01-first-contact.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables)]

use anyhow::Result;
use lapin::Channel;
use rdkafka::ClientConfig;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;

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
    // TODO: declare the queue with `channel.queue_declare`, as a durable queue.
    todo!("declare a durable queue")
}
// ANCHOR_END: declare_task_queue

// ANCHOR: send_tasks
/// Publishes each task, in order, to `queue` through the default exchange, as
/// persistent messages, and waits until the broker has confirmed each one.
pub async fn send_tasks(channel: &Channel, queue: &str, tasks: &[String]) -> Result<()> {
    // TODO: turn on publisher confirms, then publish each task with the default
    // exchange (""), `queue` as the routing key and delivery mode 2 (persistent).
    // Await `basic_publish` twice: once to send, once for the broker's confirm.
    todo!("publish the tasks")
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
    // TODO: start a consumer with `basic_consume`, take `count` deliveries from it
    // (it is a `Stream`), ack each one, and stop: do not wait for more.
    todo!("consume the tasks")
}
// ANCHOR_END: receive_tasks

// ANCHOR: producer_config
/// The producer configuration of the original tutorial: client id `my-app`,
/// talking to the brokers in `bootstrap_servers`.
pub fn producer_config(bootstrap_servers: &str) -> ClientConfig {
    // TODO: set `bootstrap.servers` and `client.id`.
    todo!("configure the producer")
}
// ANCHOR_END: producer_config

// ANCHOR: send_events
/// Produces each event, in order, to `topic`, and returns the delivery report of each.
pub async fn send_events(
    producer: &FutureProducer,
    topic: &str,
    events: &[String],
) -> Result<Vec<Delivered>> {
    // TODO: send each event with `producer.send(FutureRecord::to(topic)...)`, wait
    // for its delivery report, and collect the partition and offset it gives.
    todo!("produce the events")
}
// ANCHOR_END: send_events

// ANCHOR: consumer_config
/// The configuration of a consumer in group `group` that reads a topic from its
/// first record, even when the records were produced before the group existed.
pub fn consumer_config(bootstrap_servers: &str, group: &str) -> ClientConfig {
    // TODO: set `bootstrap.servers`, `group.id`, and the setting that makes a new
    // group start at the earliest offset (rdkafka's default is the latest).
    todo!("configure the consumer")
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
    // TODO: subscribe, then `recv()` `count` records and collect their payloads.
    todo!("consume the events")
}
// ANCHOR_END: receive_events

//! # Chapter 10: quorum queues and replication
//!
//! A publisher and a consumer that lose nothing while the lab kills the node that
//! leads their queue. You write:
//!
//! - [`declare_queue`]: a queue that survives the loss of any one node;
//! - [`Publisher::send`]: `Ok` only once the broker confirmed the message; on a
//!   failed connection or a missing confirm, connect to another node and send again;
//! - [`receive`]: consume with manual acks, reconnecting to another node when the
//!   connection dies, and drop copies by `message_id`.
//!
//! The checks in `tests/check.rs` kill the queue's leader after your publisher
//! reported 10 messages sent, and kill two of three nodes to see what your
//! publisher reports without a majority. Run them with:
//!
//! ```text
//! cargo test -p exercise_10_quorum_replication
//! ```
//!
//! Read chapter 10 of the book first (`book/src/ch10-quorum-replication.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables, unused_imports, dead_code)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

/// How long a publisher waits for one confirm before it counts the message as
/// unconfirmed and tries again on another node.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`Publisher::send`] keeps trying before it reports the message unsent.
pub const SEND_FOR: Duration = Duration::from_secs(30);

/// How long one connection attempt to one node may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects to the first node of `nodes` that answers, trying them in turn from
/// index `from` (wrapping around); returns the index of the node it reached.
pub async fn connect_any(nodes: &[String], from: usize) -> Result<(usize, Connection)> {
    let mut errors = Vec::new();
    for offset in 0..nodes.len() {
        let index = (from + offset) % nodes.len();
        let attempt = Connection::connect(&nodes[index], ConnectionProperties::default());
        match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            Ok(Ok(connection)) => return Ok((index, connection)),
            Ok(Err(error)) => errors.push(format!("node {index}: {error}")),
            Err(_) => {
                errors.push(format!("node {index}: no answer in {CONNECT_TIMEOUT:?}"))
            }
        }
    }
    bail!("no node of the cluster answered: {}", errors.join("; "))
}

/// Declares `queue` so that it survives the loss of any one node of the cluster.
pub async fn declare_queue(channel: &Channel, queue: &str) -> Result<()> {
    // TODO: declare `queue` durable, as a quorum queue (argument `x-queue-type`).
    todo!("declare a queue that survives the loss of a node")
}

/// Sends messages to one queue of the cluster, one confirmed message at a time,
/// moving to another node when the one it uses fails.
pub struct Publisher {
    nodes: Vec<String>,
    queue: String,
    /// The index in `nodes` of the node to use (or try first) next.
    node: usize,
    /// The connection and its confirm-mode channel, once connected.
    link: Option<(Connection, Channel)>,
}

impl Publisher {
    /// A publisher for `queue`, trying the nodes at `nodes` (AMQP URLs) in order;
    /// it connects on its first [`send`](Publisher::send).
    pub fn new(nodes: &[String], queue: &str) -> Publisher {
        Publisher {
            nodes: nodes.to_vec(),
            queue: queue.to_string(),
            node: 0,
            link: None,
        }
    }

    /// Sends one persistent message with `message_id` `id`, and returns `Ok` only
    /// once the broker confirmed it (acked). Connects again, to the next node that
    /// answers, when the connection fails or a confirm does not come; sends again
    /// after a nack. Gives up with an error after [`SEND_FOR`].
    pub async fn send(&mut self, id: &str, body: &str) -> Result<()> {
        // TODO: connect (with `connect_any`, from `self.node`) if not connected, turn
        // on confirms, publish persistent with `message_id` `id`, and wait (bounded by
        // CONFIRM_TIMEOUT) for the confirm. Return Ok only on an ack. On an error or a
        // missing confirm, drop the link and try again from the next node; give up
        // after SEND_FOR.
        todo!("send one message and return once the broker acked it")
    }
}

/// Consumes from `queue` until `count` distinct messages (by `message_id`) have
/// arrived, and returns their ids in arrival order. Acks each message after
/// recording it; moves to the next node that answers when the connection fails.
pub async fn receive(nodes: &[String], queue: &str, count: usize) -> Result<Vec<String>> {
    // TODO: connect with `connect_any`, set a prefetch, `basic_consume` with manual
    // acks; record each new `message_id`, then ack it; when the stream ends or
    // fails, connect again (to another node) until `count` ids arrived.
    todo!("receive count distinct messages, surviving the loss of a node")
}

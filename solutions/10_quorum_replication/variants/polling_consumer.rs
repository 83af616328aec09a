//! Variant: the consumer polls with `basic.get` instead of subscribing with `basic.consume`
//!
//! # Chapter 10: quorum queues and replication (reference solution)
//!
//! The exercise in `exercises/10_quorum_replication`, solved. The comments say why
//! each line the learner writes is there. [`connect_any`], the constants and the
//! [`Publisher`]'s fields are given in the exercise as they are here.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lapin::options::{
    BasicAckOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
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

// ANCHOR: declare
/// Declares `queue` so that it survives the loss of any one node of the cluster.
pub async fn declare_queue(channel: &Channel, queue: &str) -> Result<()> {
    // A quorum queue: its messages are in a Raft log on 3 nodes, and a write is
    // confirmed once a majority (2 of 3) has it on disk. A classic queue would live
    // on the one node that declared it, and be gone while that node is down.
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(queue.into(), QueueDeclareOptions::durable(), arguments)
        .await
        .with_context(|| format!("declaring the quorum queue {queue}"))?;
    Ok(())
}
// ANCHOR_END: declare

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

    // ANCHOR: send
    /// Sends one persistent message with `message_id` `id`, and returns `Ok` only
    /// once the broker confirmed it (acked). Connects again, to the next node that
    /// answers, when the connection fails or a confirm does not come; sends again
    /// after a nack. Gives up with an error after [`SEND_FOR`].
    pub async fn send(&mut self, id: &str, body: &str) -> Result<()> {
        let started = Instant::now();
        loop {
            let error = match self.try_send(id, body).await {
                Ok(true) => return Ok(()),
                // A nack: the queue did not take it (e.g. it is full). Not sent.
                Ok(false) => anyhow::anyhow!("{id} was nacked"),
                Err(error) => {
                    // The node died, or its confirm never came: forget this
                    // connection and start at the next node. The message may be
                    // stored already; sending it again may store it twice (the
                    // consumer drops the copy by its id).
                    self.link = None;
                    self.node = (self.node + 1) % self.nodes.len();
                    error
                }
            };
            if started.elapsed() > SEND_FOR {
                bail!("{id} was not confirmed within {SEND_FOR:?}: {error:#}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// One attempt: `Ok(true)` acked, `Ok(false)` nacked, `Err` no answer.
    async fn try_send(&mut self, id: &str, body: &str) -> Result<bool> {
        if self.link.is_none() {
            let (index, connection) = connect_any(&self.nodes, self.node).await?;
            let channel = connection.create_channel().await?;
            // Without confirm mode a publish is only "written to the socket".
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            self.node = index;
            self.link = Some((connection, channel));
        }
        let (_, channel) = self.link.as_ref().expect("connected above");
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(id.into());
        let confirm = channel
            .basic_publish(
                "".into(),
                self.queue.as_str().into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                properties,
            )
            .await
            .with_context(|| format!("publishing {id}"))?;
        // Bounded: without a majority the leader cannot commit, and the confirm
        // does not come at all (see ch10 'Two of three down').
        let answer = tokio::time::timeout(CONFIRM_TIMEOUT, confirm)
            .await
            .with_context(|| {
                format!("no confirm for {id} within {CONFIRM_TIMEOUT:?}")
            })??;
        Ok(answer.is_ack())
    }
    // ANCHOR_END: send
}

// ANCHOR: receive
/// Polls `queue` with `basic.get` (manual acks) until `count` distinct messages (by
/// `message_id`) have arrived, and returns their ids in arrival order; moves to the
/// next node that answers when a get fails.
pub async fn receive(nodes: &[String], queue: &str, count: usize) -> Result<Vec<String>> {
    let mut received: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut node = 0;
    while received.len() < count {
        let (index, connection) = connect_any(nodes, node).await?;
        node = index + 1;
        let Ok(channel) = connection.create_channel().await else {
            continue;
        };
        while received.len() < count {
            let options = lapin::options::BasicGetOptions { no_ack: false };
            let Ok(got) = channel.basic_get(queue.into(), options).await else {
                break;
            };
            let Some(message) = got else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let delivery = message.delivery;
            let id = delivery
                .properties
                .message_id()
                .as_ref()
                .map_or_else(String::new, |id| id.to_string());
            if seen.insert(id.clone()) {
                received.push(id);
            }
            // Ack after recording, as with a consumer.
            if delivery.ack(BasicAckOptions::default()).await.is_err() {
                break;
            }
        }
    }
    Ok(received)
}
// ANCHOR_END: receive

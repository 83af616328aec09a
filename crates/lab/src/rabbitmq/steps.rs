//! RabbitMQ test steps, shared by the exercise checks, the proofs and the lab's own
//! tests: declare queues and exchanges, bind, publish with confirms, count, consume,
//! drain. Each is one broker operation with a bounded wait, and says in its error
//! what it was doing.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use lab::rabbitmq::steps::{self, Acks};
//! let rabbit = lab::rabbit().await?;
//! let channel = rabbit.connect().await?.create_channel().await?;
//! let queue = lab::unique_name("tasks");
//! steps::durable_queue(&channel, &queue).await?;
//! steps::publish_all(&channel, &queue, &steps::numbered("task", 10), true).await?;
//! assert_eq!(steps::ready(&channel, &queue).await?, 10);
//! let mut consumer = steps::consume(&channel, &queue, Acks::Auto).await?;
//! let first = steps::next(&mut consumer).await?;
//! assert_eq!(steps::body(&first), "task-1");
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicConsumeOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, Consumer, ExchangeKind};

/// How long a step waits for one broker answer.
pub const WAIT: Duration = Duration::from_secs(30);

/// Queue arguments, e.g. `arguments([("x-max-length", AMQPValue::LongLongInt(5))])`.
pub fn arguments<const N: usize>(pairs: [(&str, AMQPValue); N]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in pairs {
        table.insert(key.into(), value);
    }
    table
}

/// A string argument value, e.g. `text("quorum")` for `x-queue-type`.
pub fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}

/// Declares `queue` with `options` and `arguments`; `what` names it in errors.
async fn declare(
    channel: &Channel,
    queue: &str,
    options: QueueDeclareOptions,
    arguments: FieldTable,
    what: &str,
) -> Result<()> {
    channel
        .queue_declare(queue.into(), options, arguments)
        .await
        .with_context(|| format!("declaring {what} {queue}"))?;
    Ok(())
}

/// Declares a durable classic queue with `arguments`.
pub async fn queue_with(
    channel: &Channel,
    queue: &str,
    arguments: FieldTable,
) -> Result<()> {
    let durable = QueueDeclareOptions::durable();
    declare(channel, queue, durable, arguments, "durable queue").await
}

/// Declares a durable classic queue.
pub async fn durable_queue(channel: &Channel, queue: &str) -> Result<()> {
    queue_with(channel, queue, FieldTable::default()).await
}

/// How long a test waits after declaring durable queues and before it SIGKILLs the
/// broker (see [`until_declarations_survive_a_kill`]).
pub const DECLARATIONS_TO_DISK: Duration = Duration::from_secs(5);

/// Waits until queues declared just now survive a SIGKILL of the broker, before a
/// test kills it. RabbitMQ 4.0 keeps queue records in Mnesia, whose log is flushed
/// lazily (RabbitMQ's own `mnesia_sync.erl`: "sync_transaction fails to guarantee
/// that the log is flushed to disk at commit"), and nothing over AMQP or the
/// management API tells when it was: a kill within a second of the declaration
/// lost the whole queue in 1 of 16 runs of chapter 5's proof, and in 1 of 4 runs of
/// chapter 4's on a loaded machine. A clean stop or restart flushes, so only kills
/// need this; what the test then observes is its evidence, not this wait.
pub async fn until_declarations_survive_a_kill() {
    tokio::time::sleep(DECLARATIONS_TO_DISK).await;
}

/// Declares a quorum queue (always durable; replicated on a cluster).
pub async fn quorum_queue(channel: &Channel, queue: &str) -> Result<()> {
    let quorum = arguments([("x-queue-type", text("quorum"))]);
    let durable = QueueDeclareOptions::durable();
    declare(channel, queue, durable, quorum, "quorum queue").await
}

/// Declares a non-durable (transient) classic queue, not exclusive, not auto-deleted.
pub async fn transient_queue(channel: &Channel, queue: &str) -> Result<()> {
    let transient = QueueDeclareOptions {
        durable: false,
        ..Default::default()
    };
    let none = FieldTable::default();
    declare(channel, queue, transient, none, "non-durable queue").await
}

/// Declares a durable exchange of `kind` with `arguments` (e.g.
/// `arguments([("alternate-exchange", text("unrouted"))])`).
pub async fn exchange_with(
    channel: &Channel,
    exchange: &str,
    kind: ExchangeKind,
    arguments: FieldTable,
) -> Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(exchange.into(), kind.clone(), durable, arguments)
        .await
        .with_context(|| format!("declaring the {kind:?} exchange {exchange}"))
}

/// Declares a durable exchange of `kind`.
pub async fn exchange(
    channel: &Channel,
    exchange: &str,
    kind: ExchangeKind,
) -> Result<()> {
    exchange_with(channel, exchange, kind, FieldTable::default()).await
}

/// Binds `queue` to `exchange` with `binding_key` and `arguments` (a headers
/// exchange matches on the arguments and ignores the key).
pub async fn bind_with(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    binding_key: &str,
    arguments: FieldTable,
) -> Result<()> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            binding_key.into(),
            QueueBindOptions::default(),
            arguments,
        )
        .await
        .with_context(|| format!("binding {queue} to {exchange} with {binding_key:?}"))
}

/// Binds `queue` to `exchange` with `binding_key`.
pub async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    binding_key: &str,
) -> Result<()> {
    bind_with(channel, queue, exchange, binding_key, FieldTable::default()).await
}

/// Declares a fresh durable queue named after `prefix` and binds it to `exchange`
/// with each of `binding_keys`; returns its name.
pub async fn bound_queue(
    channel: &Channel,
    prefix: &str,
    exchange: &str,
    binding_keys: &[&str],
) -> Result<String> {
    let queue = crate::unique_name(prefix);
    durable_queue(channel, &queue).await?;
    for key in binding_keys {
        bind(channel, &queue, exchange, key).await?;
    }
    Ok(queue)
}

/// Where most RabbitMQ checks and proofs start: the lab's single RabbitMQ, a
/// connection, a `setup` channel to publish and count on, and a fresh durable queue.
pub struct Scene {
    /// Held for the whole test: it keeps fault experiments off this broker.
    pub rabbit: crate::Rabbit,
    /// The test's connection.
    pub connection: Connection,
    /// A channel for publishing and counting.
    pub setup: Channel,
    /// The queue's unique name.
    pub queue: String,
}

impl Scene {
    /// Connects and declares a durable queue named after `prefix`.
    pub async fn new(prefix: &str) -> Result<Scene> {
        Scene::with_arguments(prefix, FieldTable::default()).await
    }

    /// Connects and declares a durable queue named after `prefix`, with `arguments`.
    pub async fn with_arguments(prefix: &str, arguments: FieldTable) -> Result<Scene> {
        let rabbit = crate::rabbit().await?;
        let connection = rabbit.connect().await?;
        let queue = crate::unique_name(prefix);
        let setup = connection.create_channel().await?;
        queue_with(&setup, &queue, arguments).await?;
        Ok(Scene {
            rabbit,
            connection,
            setup,
            queue,
        })
    }

    /// Publishes `bodies` to the scene's queue as persistent messages, confirmed.
    pub async fn publish(&self, bodies: &[String]) -> Result<()> {
        publish_all(&self.setup, &self.queue, bodies, true).await
    }

    /// A new channel with at most `prefetch` unacknowledged deliveries per consumer
    /// (`basic.qos`; `None` leaves it unlimited), and a consumer of the scene's
    /// queue on it.
    pub async fn consumer(
        &self,
        prefetch: Option<u16>,
        acks: Acks,
    ) -> Result<(Channel, Consumer)> {
        let channel = self.connection.create_channel().await?;
        if let Some(prefetch) = prefetch {
            channel
                .basic_qos(prefetch, lapin::options::BasicQosOptions::default())
                .await
                .context("setting the prefetch")?;
        }
        let consumer = consume(&channel, &self.queue, acks).await?;
        Ok((channel, consumer))
    }
}

/// `prefix-1` .. `prefix-count`, numbered from 1 as delivery tags are.
pub fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("{prefix}-{i}")).collect()
}

/// Properties of a persistent (delivery mode 2) or transient (1) message.
pub fn persistence(persistent: bool) -> BasicProperties {
    BasicProperties::default().with_delivery_mode(if persistent { 2 } else { 1 })
}

/// Turns publisher confirms on for `channel` (idempotent).
pub async fn confirm_mode(channel: &Channel) -> Result<()> {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .context("turning publisher confirms on")
}

/// Publishes each `(body, properties)` to `queue` through the default exchange
/// with confirms on, and waits until the broker confirmed them all.
pub async fn publish_each(
    channel: &Channel,
    queue: &str,
    messages: &[(String, BasicProperties)],
) -> Result<()> {
    confirm_mode(channel).await?;
    for (body, properties) in messages {
        channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                properties.clone(),
            )
            .await
            .with_context(|| format!("publishing {body} to {queue}"))?;
    }
    let returned = crate::within(WAIT, "publisher confirms", channel.wait_for_confirms())
        .await?
        .context("waiting for publisher confirms")?;
    anyhow::ensure!(
        returned.is_empty(),
        "a message to {queue} was returned unroutable"
    );
    Ok(())
}

/// Publishes `bodies` to `queue` through the default exchange with confirms on, as
/// persistent or transient messages, and waits until the broker confirmed them all.
pub async fn publish_all(
    channel: &Channel,
    queue: &str,
    bodies: &[String],
    persistent: bool,
) -> Result<()> {
    let messages: Vec<(String, BasicProperties)> = bodies
        .iter()
        .map(|body| (body.clone(), persistence(persistent)))
        .collect();
    publish_each(channel, queue, &messages).await
}

/// Publishes one message (confirms must be on) and returns the broker's answer.
pub async fn publish_one(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    options: BasicPublishOptions,
    body: &[u8],
    properties: BasicProperties,
) -> Result<Confirmation> {
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            options,
            body,
            properties,
        )
        .await
        .with_context(|| format!("publishing to {exchange:?} with key {routing_key}"))?;
    Ok(crate::within(WAIT, "the broker's confirm", confirm).await??)
}

/// Publishes one persistent message through the default exchange, `mandatory` or
/// not, with confirms turned on, and returns the broker's answer.
pub async fn publish_persistent(
    channel: &Channel,
    routing_key: &str,
    mandatory: bool,
    body: &str,
) -> Result<Confirmation> {
    confirm_mode(channel).await?;
    let options = BasicPublishOptions {
        mandatory,
        ..Default::default()
    };
    let persistent = persistence(true);
    publish_one(
        channel,
        "",
        routing_key,
        options,
        body.as_bytes(),
        persistent,
    )
    .await
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

/// Consumers subscribed to `queue` now, as the broker counts them (a consumer
/// whose connection died is gone from the count once the broker noticed).
pub async fn consumers(channel: &Channel, queue: &str) -> Result<u32> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    Ok(channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
        .with_context(|| format!("counting the consumers of {queue}"))?
        .consumer_count())
}

/// Ready messages of `queue`, or `None` if it does not exist. Asking for a missing
/// queue closes the channel that asked, so each look opens a fresh channel.
pub async fn ready_if_exists(
    connection: &Connection,
    queue: &str,
) -> Result<Option<u32>> {
    let channel = connection.create_channel().await?;
    match ready(&channel, queue).await {
        Ok(count) => Ok(Some(count)),
        Err(error) if format!("{error:#}").contains("NOT_FOUND") => Ok(None),
        Err(error) => Err(error),
    }
}

/// Waits (bounded by `timeout`) until the number of messages ready in `queue`
/// satisfies `want`; `what` says what was expected if it never does.
pub async fn until_ready(
    channel: &Channel,
    queue: &str,
    what: &str,
    timeout: Duration,
    want: impl Fn(u32) -> bool,
) -> Result<()> {
    until_count(what, timeout, || ready(channel, queue), want).await
}

/// Waits (bounded by `timeout`) until what `count` counts satisfies `want`.
async fn until_count<Counted: Future<Output = Result<u32>>>(
    what: &str,
    timeout: Duration,
    count: impl Fn() -> Counted,
    want: impl Fn(u32) -> bool,
) -> Result<()> {
    crate::until(timeout, what, Duration::from_millis(50), || async {
        count()
            .await
            .map(&want)
            .map_err(|e| crate::LabError::step("counting", format!("{e:#}")))
    })
    .await?;
    Ok(())
}

/// Waits (bounded by `timeout`) until the number of consumers of `queue`
/// satisfies `want`: e.g. until the broker has dropped the consumer of a killed
/// process, and so put back what it held. `what` says what was expected.
pub async fn until_consumers(
    channel: &Channel,
    queue: &str,
    what: &str,
    timeout: Duration,
    want: impl Fn(u32) -> bool,
) -> Result<()> {
    until_count(what, timeout, || consumers(channel, queue), want).await
}

/// Who acknowledges a consumer's deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// The consumer acks each delivery (`no_ack: false`).
    Manual,
    /// The broker counts a delivery as acked once it is sent (`no_ack: true`).
    Auto,
}

/// Subscribes to `queue` under a unique consumer tag.
pub async fn consume(channel: &Channel, queue: &str, acks: Acks) -> Result<Consumer> {
    let tag = crate::unique_name("consumer");
    let options = BasicConsumeOptions {
        no_ack: acks == Acks::Auto,
        ..Default::default()
    };
    channel
        .basic_consume(queue.into(), tag.into(), options, FieldTable::default())
        .await
        .with_context(|| format!("consuming from {queue}"))
}

/// The consumer's next delivery, within [`WAIT`].
pub async fn next(consumer: &mut Consumer) -> Result<Delivery> {
    crate::within(WAIT, "a delivery", consumer.next())
        .await?
        .context("the consumer was cancelled")?
        .context("receiving a delivery")
}

/// A delivery's body as text.
pub fn body(delivery: &Delivery) -> String {
    String::from_utf8_lossy(&delivery.data).into_owned()
}

/// Counts deliveries on `consumer` until none has come for `quiet`.
pub async fn count_until_quiet(
    consumer: &mut Consumer,
    quiet: Duration,
) -> Result<usize> {
    Ok(bodies_until_quiet(consumer, quiet).await?.len())
}

/// The bodies of the deliveries on `consumer`, in arrival order, until none has
/// come for `quiet`. Nothing is acknowledged.
pub async fn bodies_until_quiet(
    consumer: &mut Consumer,
    quiet: Duration,
) -> Result<Vec<String>> {
    let mut bodies = Vec::new();
    while let Ok(Some(delivery)) = tokio::time::timeout(quiet, consumer.next()).await {
        bodies.push(body(&delivery?));
    }
    Ok(bodies)
}

/// Takes every message from `queue` with `basic.get` (auto-ack) and returns the
/// bodies in queue order.
pub async fn drain(channel: &Channel, queue: &str) -> Result<Vec<String>> {
    let mut bodies = Vec::new();
    while let Some(message) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .with_context(|| format!("getting a message from {queue}"))?
    {
        bodies.push(body(&message.delivery));
    }
    Ok(bodies)
}

/// Takes every message ready in `queue` and counts how often each `message_id`
/// occurs (`<no message_id>` for messages without one).
pub async fn message_ids(
    connection: &Connection,
    queue: &str,
) -> Result<BTreeMap<String, usize>> {
    let channel = connection.create_channel().await?;
    let stored = ready(&channel, queue).await? as usize;
    let mut consumer = consume(&channel, queue, Acks::Auto).await?;
    let mut times = BTreeMap::new();
    for _ in 0..stored {
        let delivery = next(&mut consumer).await?;
        let id = delivery
            .properties
            .message_id()
            .as_ref()
            .map_or_else(|| "<no message_id>".to_string(), |id| id.to_string());
        *times.entry(id).or_insert(0) += 1;
    }
    Ok(times)
}

/// One entry of a dead-lettered message's `x-death` header: the broker adds one
/// per (queue, reason) the message was dead-lettered from, and counts repeats.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Death {
    /// The queue it was dead-lettered from.
    pub queue: String,
    /// Why: `expired`, `rejected`, `maxlen` or `delivery_limit`.
    pub reason: String,
    /// How many times, from this queue for this reason.
    pub count: i64,
}

/// The `x-death` entries of `delivery`, in the broker's order (most recent
/// first); empty if it was never dead-lettered.
pub fn x_death(delivery: &Delivery) -> Vec<Death> {
    let Some(headers) = delivery.properties.headers() else {
        return Vec::new();
    };
    let Some(AMQPValue::FieldArray(entries)) = headers.inner().get("x-death") else {
        return Vec::new();
    };
    let text = |entry: &FieldTable, key: &str| match entry.inner().get(key) {
        Some(AMQPValue::LongString(text)) => text.to_string(),
        _ => String::new(),
    };
    entries
        .as_slice()
        .iter()
        .filter_map(|entry| match entry {
            AMQPValue::FieldTable(entry) => Some(Death {
                queue: text(entry, "queue"),
                reason: text(entry, "reason"),
                count: match entry.inner().get("count") {
                    Some(AMQPValue::LongLongInt(count)) => *count,
                    _ => 0,
                },
            }),
            _ => None,
        })
        .collect()
}

/// The `x-delivery-count` header a quorum queue puts on a redelivery (how many
/// times it was delivered before), or `None` on a first delivery.
pub fn delivery_count(delivery: &Delivery) -> Option<i64> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().get("x-delivery-count")? {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        _ => None,
    }
}

// Replication on the 3-node cluster: which node leads a queue, and waits for
// elections and for killed members to come back.

/// Where a queue lives on the cluster, as the management API of a node that is up
/// reports it. Nodes are numbered 1..=3 (`rabbitN@host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replicas {
    /// The quorum queue's Raft leader, or a classic queue's home node; `None`
    /// while no node leads it.
    pub leader: Option<usize>,
    /// A quorum queue's members (empty for a classic queue).
    pub members: Vec<usize>,
    /// The members whose node is up and whose replica runs.
    pub online: Vec<usize>,
}

impl Replicas {
    /// The members that do not lead.
    pub fn followers(&self) -> Vec<usize> {
        self.members
            .iter()
            .copied()
            .filter(|m| Some(*m) != self.leader)
            .collect()
    }

    /// Every member is online and one of them leads (a classic queue: its node is up).
    pub fn whole(&self) -> bool {
        self.leader.is_some() && self.members.iter().all(|m| self.online.contains(m))
    }
}

/// How long a test waits for a leader election or for killed members to rejoin.
pub const FAILOVER: Duration = Duration::from_secs(60);

/// The node number of `rabbit3@localhost`.
fn node_number(name: &serde_json::Value) -> Option<usize> {
    let name = name.as_str()?;
    let short = name.split('@').next()?;
    short.trim_start_matches("rabbit").parse().ok()
}

fn node_numbers(names: &serde_json::Value) -> Vec<usize> {
    let mut numbers: Vec<usize> = names
        .as_array()
        .map(|names| names.iter().filter_map(node_number).collect())
        .unwrap_or_default();
    numbers.sort_unstable();
    numbers
}

/// Where `queue` lives now: asks the management API of each node in turn, so it
/// answers while some nodes are down.
pub async fn replicas(rabbit: &crate::Rabbit, queue: &str) -> Result<Replicas> {
    let path = format!("/api/queues/%2f/{queue}");
    let mut last = None;
    for number in 1..=rabbit.topology().size() {
        let api = crate::rabbitmq::management::Management::new(
            rabbit.management_url(number),
            rabbit.amqp_url(),
        );
        match api.get(&path).await {
            Ok(info) => {
                let online = node_numbers(&info["online"]);
                let down = info["state"].as_str() == Some("down");
                let leader = info
                    .get("leader")
                    .and_then(node_number)
                    .or_else(|| info.get("node").and_then(node_number))
                    // A leader the API still names after its node went down leads nothing.
                    .filter(|l| !down && (online.is_empty() || online.contains(l)));
                return Ok(Replicas {
                    leader,
                    members: node_numbers(&info["members"]),
                    online,
                });
            }
            Err(error) => last = Some(error),
        }
    }
    Err(anyhow::anyhow!(
        "no node's management API described {queue}: {}",
        last.map_or_else(|| "no nodes".to_string(), |e| e.to_string())
    ))
}

/// Waits (bounded by `timeout`) until `queue`'s replicas satisfy `want`, e.g. a
/// new leader after a kill: `until_replicas(&cluster, &q, FAILOVER, "a new
/// leader", |r| r.leader.is_some_and(|l| l != old))`. Returns what it saw last.
pub async fn until_replicas(
    rabbit: &crate::Rabbit,
    queue: &str,
    timeout: Duration,
    what: &str,
    want: impl Fn(&Replicas) -> bool,
) -> Result<Replicas> {
    let started = std::time::Instant::now();
    let mut last: Option<Replicas> = None;
    loop {
        match replicas(rabbit, queue).await {
            Ok(seen) if want(&seen) => return Ok(seen),
            Ok(seen) => last = Some(seen),
            Err(_) => {}
        }
        if started.elapsed() >= timeout {
            anyhow::bail!(
                "{queue}: expected {what} within {timeout:?}; last seen: {last:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts each of `nodes` again (together, after kills) and waits until every
/// member of `queue` is online and one leads: a restarted member catches up from
/// the leader's log by itself. Fault experiments end with it, so the next one
/// finds the cluster whole.
pub async fn start_and_rejoin(
    rabbit: &crate::Rabbit,
    queue: &str,
    nodes: &[usize],
) -> Result<Replicas> {
    let starts = nodes.iter().map(|node| rabbit.start(*node));
    for started in futures::future::join_all(starts).await {
        started?;
    }
    let what = format!("nodes {nodes:?} back as online members");
    until_replicas(rabbit, queue, FAILOVER, &what, Replicas::whole).await
}

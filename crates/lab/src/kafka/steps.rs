//! Kafka test steps, shared by the exercise checks, the proofs and the lab's own
//! tests: produce, read back (a whole partition, tombstones included, or until a
//! compacted topic shows what the log cleaner kept), transactions (a transactional
//! producer, a `read_committed` read), events at chosen timestamps
//! ([`produce_at`]), committed offsets, a group's lag ([`lag`]) and an offset reset
//! ([`commit_offset`]), a group's state ([`until_group`]), a partition's leader
//! and in-sync replicas ([`partition`], and [`until_partition`] to wait for a
//! failover or a full ISR). Each is bounded and says in its error what it was
//! doing.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use lab::kafka::steps;
//! let kafka = lab::kafka().await?;
//! let topic = lab::unique_name("events");
//! kafka.create_topic(&topic, 1, 1).await?;
//! steps::produce(&kafka, &topic, "k", &steps::numbered("event", 10)).await?;
//! let records = steps::read(&kafka, &topic, 10).await?;
//! assert_eq!(records[3].value, "event-3"); // numbered from 0, like offsets
//! # Ok(()) }
//! ```

use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::metadata::MetadataPartition;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::Kafka;

/// How long a step waits for one broker answer.
pub const WAIT: Duration = Duration::from_secs(30);

/// `prefix-0` .. `prefix-<count-1>`: numbered from 0, so on a new one-partition
/// topic `prefix-N` is at offset N.
pub fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

/// One record as Kafka stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its key, if it has one.
    pub key: Option<String>,
    /// Its value, as text (empty for a tombstone).
    pub value: String,
    /// Whether it has no value at all (a null payload, not an empty one): on a
    /// compacted topic, a tombstone that deletes its key.
    pub tombstone: bool,
    /// Its partition.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
}

impl Record {
    fn of(message: &impl Message) -> Record {
        Record {
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            value: String::from_utf8_lossy(message.payload().unwrap_or_default())
                .into_owned(),
            tombstone: message.payload().is_none(),
            partition: message.partition(),
            offset: message.offset(),
        }
    }
}

/// Sends each of `values` with `key` through `producer`, one after the other, each
/// acknowledged before the next; returns each delivery's (partition, offset).
pub async fn produce_with(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    values: &[String],
) -> Result<Vec<(i32, i64)>> {
    let mut reports = Vec::with_capacity(values.len());
    for value in values {
        let delivery = producer
            .send(FutureRecord::to(topic).key(key).payload(value), WAIT)
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("producing {value} to {topic}"))?;
        reports.push((delivery.partition, delivery.offset));
    }
    Ok(reports)
}

/// Sends one record per `(key, timestamp)` of `events` to partition 0 of `topic`,
/// each acknowledged before the next, with that timestamp (milliseconds since the
/// epoch) as the record's `CreateTime` and `key@timestamp` as its value: events
/// whose *event time* the test chooses, whenever they are produced. Returns each
/// delivery's offset.
pub async fn produce_at(
    kafka: &Kafka,
    topic: &str,
    events: &[(&str, i64)],
) -> Result<Vec<i64>> {
    let producer: FutureProducer = kafka
        .client_config()
        .create()
        .context("creating a producer")?;
    let mut offsets = Vec::with_capacity(events.len());
    for (key, timestamp) in events {
        let value = format!("{key}@{timestamp}");
        let record = FutureRecord::to(topic)
            .key(*key)
            .payload(&value)
            .partition(0)
            .timestamp(*timestamp);
        let delivery = producer
            .send(record, WAIT)
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("producing {value} to {topic}"))?;
        offsets.push(delivery.offset);
    }
    Ok(offsets)
}

/// [`produce_with`] a producer of the lab's client configuration (librdkafka's
/// defaults: `acks=all`).
pub async fn produce(
    kafka: &Kafka,
    topic: &str,
    key: &str,
    values: &[String],
) -> Result<Vec<(i32, i64)>> {
    let producer: FutureProducer = kafka
        .client_config()
        .create()
        .context("creating a producer")?;
    produce_with(&producer, topic, key, values).await
}

/// A new topic of one partition (replication factor 1) holding `count` records
/// `prefix-0`.. produced with one key; returns its name.
pub async fn topic_with(kafka: &Kafka, prefix: &str, count: usize) -> Result<String> {
    let topic = crate::unique_name(prefix);
    kafka.create_topic(&topic, 1, 1).await?;
    produce(kafka, &topic, "k", &numbered("record", count)).await?;
    Ok(topic)
}

/// A consumer in `group` that starts at the earliest offset where the group has
/// none committed, and never commits by itself.
pub fn group_consumer(kafka: &Kafka, group: &str) -> Result<StreamConsumer> {
    kafka
        .client_config()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .with_context(|| format!("creating a consumer in group {group}"))
}

/// A [`group_consumer`] of a new, unique group.
pub fn reader(kafka: &Kafka) -> Result<StreamConsumer> {
    group_consumer(kafka, &crate::unique_name("reader"))
}

/// Reads `count` records of `topic` from the beginning with a new group, in the
/// order the consumer receives them. librdkafka reports a broker going away as an
/// error and carries on with the others; such errors are skipped.
pub async fn read(kafka: &Kafka, topic: &str, count: usize) -> Result<Vec<Record>> {
    let consumer = reader(kafka)?;
    consumer.subscribe(&[topic])?;
    let mut records = Vec::with_capacity(count);
    while records.len() < count {
        let what = format!("record {} of {count} from {topic}", records.len() + 1);
        match crate::within(WAIT, what, consumer.recv()).await? {
            Ok(message) => records.push(Record::of(&message)),
            Err(_transient) => {}
        }
    }
    Ok(records)
}

/// The values of [`read`].
pub async fn read_values(
    kafka: &Kafka,
    topic: &str,
    count: usize,
) -> Result<Vec<String>> {
    Ok(read(kafka, topic, count)
        .await?
        .into_iter()
        .map(|r| r.value)
        .collect())
}

/// Reads `topic` with `group` from the earliest offset until `quiet` passes without
/// a record (or `max` came), commits what it read, and returns the values.
pub async fn read_and_commit(
    kafka: &Kafka,
    topic: &str,
    group: &str,
    max: usize,
    quiet: Duration,
) -> Result<Vec<String>> {
    let consumer = group_consumer(kafka, group)?;
    consumer.subscribe(&[topic])?;
    let mut values = Vec::new();
    while values.len() < max {
        match tokio::time::timeout(quiet, consumer.recv()).await {
            Ok(Ok(message)) => values.push(Record::of(&message).value),
            Ok(Err(_transient)) => {}
            Err(_) => break,
        }
    }
    if !values.is_empty() {
        consumer
            .commit_consumer_state(CommitMode::Sync)
            .context("committing")?;
    }
    Ok(values)
}

/// The low and high watermarks of `partition` of `topic`: the first offset still
/// in the log and the offset the next record will get.
pub async fn watermarks(
    kafka: &Kafka,
    topic: &str,
    partition: i32,
) -> Result<(i64, i64)> {
    let consumer: BaseConsumer = kafka.client_config().create()?;
    let name = topic.to_string();
    tokio::task::spawn_blocking(move || {
        consumer.fetch_watermarks(&name, partition, Duration::from_secs(10))
    })
    .await?
    .with_context(|| format!("fetching the watermarks of {topic}"))
}

/// Every record of `partition` of `topic` from its start to its end (the high
/// watermark when the read began), in offset order, tombstones included: what a
/// consumer that replays the log sees. On a compacted topic, offsets have gaps
/// where the log cleaner removed records.
pub async fn read_partition(
    kafka: &Kafka,
    topic: &str,
    partition: i32,
) -> Result<Vec<Record>> {
    let (_low, high) = watermarks(kafka, topic, partition).await?;
    let consumer = reader(kafka)?;
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition_offset(topic, partition, Offset::Beginning)?;
    consumer.assign(&partitions)?;
    let mut records = Vec::new();
    // The last record of a partition is in its active segment, which the log
    // cleaner never touches, so the read ends exactly at `high - 1`.
    while records.last().is_none_or(|r: &Record| r.offset + 1 < high) && high > 0 {
        let what = format!("the records of {topic} up to offset {}", high - 1);
        match crate::within(WAIT, what, consumer.recv()).await? {
            Ok(message) => records.push(Record::of(&message)),
            Err(_transient) => {}
        }
    }
    Ok(records)
}

/// Reads partition 0 of `topic` ([`read_partition`]) once a second until `done`
/// holds for what it read, for at most `timeout`; returns that read. For waiting
/// on the log cleaner of a compacted topic, which runs in the background (every
/// `log.cleaner.backoff.ms`, 15 s by default in Kafka 4.1, when it has nothing to
/// do) and only on segments that are no longer active.
pub async fn until_read(
    kafka: &Kafka,
    topic: &str,
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&[Record]) -> bool,
) -> Result<Vec<Record>> {
    let mut last = Vec::new();
    let reached = crate::within(timeout, what, async {
        loop {
            last = read_partition(kafka, topic, 0).await?;
            if done(&last) {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    match reached {
        Ok(Ok(())) => Ok(last),
        Ok(Err(error)) => Err(error),
        Err(timeout) => Err(anyhow::Error::new(timeout).context(format!(
            "the last read of {topic} had {} records: {:?}",
            last.len(),
            last.iter()
                .map(|r| format!("{}@{}", r.key.as_deref().unwrap_or("-"), r.offset))
                .collect::<Vec<_>>()
        ))),
    }
}

/// Reads partition 0 of `topic` from the beginning with a new group whose
/// `isolation.level` is `isolation` (`read_committed` or `read_uncommitted`) until
/// `quiet` passes without a record or `max` came; returns what it read. For
/// transactions: a `read_committed` reader never receives aborted records, nor
/// anything at or after the first still-open transaction (the last stable offset).
pub async fn read_isolated(
    kafka: &Kafka,
    topic: &str,
    isolation: &str,
    max: usize,
    quiet: Duration,
) -> Result<Vec<Record>> {
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", crate::unique_name("reader"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .with_context(|| format!("creating a {isolation} reader"))?;
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&partitions)?;
    let mut records = Vec::new();
    while records.len() < max {
        match tokio::time::timeout(quiet, consumer.recv()).await {
            Ok(Ok(message)) => records.push(Record::of(&message)),
            Ok(Err(_transient)) => {}
            Err(_) => break,
        }
    }
    Ok(records)
}

/// The values of [`read_isolated`] with `read_committed`: what a downstream
/// consumer of a transactional topic sees.
pub async fn read_committed_values(
    kafka: &Kafka,
    topic: &str,
    max: usize,
    quiet: Duration,
) -> Result<Vec<String>> {
    Ok(read_isolated(kafka, topic, "read_committed", max, quiet)
        .await?
        .into_iter()
        .map(|r| r.value)
        .collect())
}

/// A transactional producer with `transactional.id` `id`, its transactions
/// initialized (`init_transactions`: this fences any older producer with the same
/// id and aborts its open transaction). `settings` are extra client settings, e.g.
/// a short `transaction.timeout.ms`.
pub fn transactional_producer(
    kafka: &Kafka,
    id: &str,
    settings: &[(&str, &str)],
) -> Result<FutureProducer> {
    let mut config = kafka.client_config();
    config.set("transactional.id", id);
    for (key, value) in settings {
        config.set(*key, *value);
    }
    let producer: FutureProducer = config
        .create()
        .with_context(|| format!("creating the transactional producer {id}"))?;
    producer
        .init_transactions(WAIT)
        .with_context(|| format!("init_transactions of {id}"))?;
    Ok(producer)
}

/// Sends each of `values` with `key` in one transaction of `producer` (begun
/// here), each acknowledged, then commits it if `commit`, else aborts it.
pub async fn produce_in_transaction(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    values: &[String],
    commit: bool,
) -> Result<Vec<(i32, i64)>> {
    producer.begin_transaction().context("begin_transaction")?;
    let reports = produce_with(producer, topic, key, values).await?;
    if commit {
        producer
            .commit_transaction(WAIT)
            .context("commit_transaction")?;
    } else {
        producer
            .abort_transaction(WAIT)
            .context("abort_transaction")?;
    }
    Ok(reports)
}

/// The offset `group` has committed for `partition` of `topic`, if any.
pub async fn committed(
    kafka: &Kafka,
    topic: &str,
    group: &str,
    partition: i32,
) -> Result<Option<i64>> {
    let consumer: BaseConsumer = kafka.client_config().set("group.id", group).create()?;
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(topic, partition);
    let offsets = tokio::task::spawn_blocking(move || {
        consumer.committed_offsets(partitions, Duration::from_secs(10))
    })
    .await?
    .with_context(|| format!("asking for the committed offset of {group}"))?;
    Ok(offsets.elements().first().and_then(|e| match e.offset() {
        Offset::Offset(offset) => Some(offset),
        _ => None,
    }))
}

/// The lag of `group` on `partition` of `topic`: the partition's high watermark
/// (the offset the next record will get) minus the group's committed offset, or
/// minus the low watermark if the group has committed none (what
/// `kafka-consumer-groups.sh --describe` shows as LAG, there as `-` in that case).
/// It is computed from two numbers the brokers keep, so it exists whether or not
/// the group has a running member.
pub async fn lag(kafka: &Kafka, topic: &str, group: &str, partition: i32) -> Result<i64> {
    let (low, high) = watermarks(kafka, topic, partition).await?;
    let position = committed(kafka, topic, group, partition)
        .await?
        .unwrap_or(low);
    Ok(high - position)
}

/// Commits `offset` for `group` on `partition` of `topic` without joining the
/// group (a consumer that assigns itself the partition), as
/// `kafka-consumer-groups.sh --reset-offsets --execute` does; the group must have
/// no running member, or the coordinator refuses a commit from outside it.
pub async fn commit_offset(
    kafka: &Kafka,
    topic: &str,
    group: &str,
    partition: i32,
    offset: i64,
) -> Result<()> {
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let mut offsets = TopicPartitionList::new();
    offsets.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    tokio::task::spawn_blocking(move || consumer.commit(&offsets, CommitMode::Sync))
        .await?
        .with_context(|| format!("committing offset {offset} for {group}"))
}

/// The first record `group` reads when it resumes partition 0 of `topic` from its
/// committed offset (assigned directly, so no rebalance waits for a dead member's
/// session to time out).
pub async fn first_on_resume(kafka: &Kafka, topic: &str, group: &str) -> Result<Record> {
    let consumer = group_consumer(kafka, group)?;
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(topic, 0);
    consumer.assign(&partitions)?;
    let message =
        crate::within(WAIT, "the group's next record", consumer.recv()).await??;
    Ok(Record::of(&message))
}

/// One partition as the cluster's metadata describes it at one moment: who leads
/// it, which nodes hold a copy, and which of those are in sync with the leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The node id of its leader, or `None` while it has none (every replica that
    /// may lead is down: the partition is offline).
    pub leader: Option<i32>,
    /// The node ids of its replicas (the replication factor is their number).
    pub replicas: Vec<i32>,
    /// The in-sync replicas: the leader and the followers that have caught up with
    /// it (within `replica.lag.time.max.ms`) and are not fenced. An `acks=all`
    /// write waits for each of them, and needs `min.insync.replicas` of them.
    pub isr: Vec<i32>,
}

impl Partition {
    /// Whether every replica is in sync again.
    pub fn fully_in_sync(&self) -> bool {
        let (mut isr, mut replicas) = (self.isr.clone(), self.replicas.clone());
        isr.sort_unstable();
        replicas.sort_unstable();
        !isr.is_empty() && isr == replicas
    }

    /// The replicas that are not the leader.
    pub fn followers(&self) -> Vec<i32> {
        let leader = self.leader;
        self.replicas
            .iter()
            .copied()
            .filter(|r| Some(*r) != leader)
            .collect()
    }
}

/// `partition` of `topic` as the cluster's metadata describes it now (asked of
/// whichever node answers first; a node that is down is skipped).
pub async fn partition(kafka: &Kafka, topic: &str, partition: i32) -> Result<Partition> {
    let consumer: BaseConsumer = kafka.client_config().create()?;
    let name = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let metadata = consumer
            .fetch_metadata(Some(&name), Duration::from_secs(10))
            .context("fetching metadata")?;
        let found: &MetadataPartition = metadata
            .topics()
            .first()
            .and_then(|t| t.partitions().iter().find(|p| p.id() == partition))
            .with_context(|| {
                format!("no partition {partition} of {name} in the metadata")
            })?;
        Ok(Partition {
            leader: Some(found.leader()).filter(|id| *id >= 0),
            replicas: found.replicas().to_vec(),
            isr: found.isr().to_vec(),
        })
    })
    .await?
}

/// How long [`until_partition`] waits by default for a partition to change after a
/// node was killed or started: the controller fences a killed node once its broker
/// session times out (`broker.session.timeout.ms`, 9 s in Kafka 4.1), and a node
/// started again needs a few seconds to load its logs and catch up.
pub const FAILOVER: Duration = Duration::from_secs(60);

/// Reads `partition` of `topic` every 250 ms until `done` holds for what the
/// metadata says (bounded by `timeout`), and returns that state: the one step for
/// "the leader moved after a kill" (`|p| p.leader.is_some_and(|l| l != old)`),
/// "the ISR is full again" ([`Partition::fully_in_sync`]), "the partition has no
/// leader" (`|p| p.leader.is_none()`). A metadata request that fails while the
/// cluster changes is retried. On timeout the error says `what` was expected and
/// the last state seen.
pub async fn until_partition(
    kafka: &Kafka,
    topic: &str,
    index: i32,
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&Partition) -> bool,
) -> Result<Partition> {
    let started = std::time::Instant::now();
    let mut last: Option<Partition> = None;
    let mut last_error = None;
    loop {
        match partition(kafka, topic, index).await {
            Ok(now) if done(&now) => return Ok(now),
            Ok(now) => last = Some(now),
            Err(error) => last_error = Some(format!("{error:#}")),
        }
        if started.elapsed() >= timeout {
            let seen = match (&last, &last_error) {
                (Some(p), _) => format!(
                    "last seen: leader {}, replicas {:?}, ISR {:?}",
                    p.leader.map_or("none".to_string(), |l| l.to_string()),
                    p.replicas,
                    p.isr
                ),
                (None, Some(error)) => format!("no metadata: {error}"),
                (None, None) => "no metadata".to_string(),
            };
            anyhow::bail!(
                "waited {} s for {what} on partition {index} of {topic}: {seen}",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A new topic `prefix.<unique>` of one partition replicated on three nodes, with
/// `min.insync.replicas=2` and any other topic `settings`, once it has a leader
/// and all three replicas are in sync; returns its name and that state.
pub async fn replicated_topic(
    kafka: &Kafka,
    prefix: &str,
    settings: &[(&str, &str)],
) -> Result<(String, Partition)> {
    let topic = crate::unique_name(prefix);
    let mut all = vec![("min.insync.replicas", "2")];
    all.extend_from_slice(settings);
    kafka.create_topic_with(&topic, 1, 3, &all).await?;
    let ready = |p: &Partition| p.leader.is_some() && p.fully_in_sync();
    let what = "a new topic with a leader and all three replicas in sync";
    let state = until_partition(kafka, &topic, 0, FAILOVER, what, ready).await?;
    Ok((topic, state))
}

/// Starts each of `nodes` again (after a kill; a node that runs is left alone),
/// together, and waits until every replica of
/// `partition` of `topic` is back in its ISR: a restarted node fetches what it
/// missed from the leader and the leader adds it back, with no operator command.
/// Fault experiments end with it, so the next one finds the cluster whole.
pub async fn start_and_resync(
    kafka: &Kafka,
    topic: &str,
    partition: i32,
    nodes: &[i32],
) -> Result<Partition> {
    // Together: with two of three nodes down, one node alone has no KRaft quorum
    // to register with, so it would never answer.
    let starts = nodes
        .iter()
        .map(|node| kafka.start(usize::try_from(*node).unwrap_or(0)));
    for started in futures::future::join_all(starts).await {
        started?;
    }
    let what = format!("nodes {nodes:?} to rejoin the ISR");
    until_partition(
        kafka,
        topic,
        partition,
        FAILOVER,
        &what,
        Partition::fully_in_sync,
    )
    .await
}

/// The state and member count of `group`, as the group coordinator reports them
/// (`("Stable", 4)`), or `None` if the coordinator does not know it.
pub async fn group_state(kafka: &Kafka, group: &str) -> Result<Option<(String, usize)>> {
    let admin: BaseConsumer = kafka.client_config().create()?;
    let name = group.to_string();
    let groups = tokio::task::spawn_blocking(move || {
        admin
            .fetch_group_list(Some(&name), Duration::from_secs(10))
            .map(|list| {
                list.groups()
                    .iter()
                    .map(|g| (g.state().to_string(), g.members().len()))
                    .collect::<Vec<_>>()
            })
    })
    .await?
    .with_context(|| format!("describing group {group}"))?;
    Ok(groups.into_iter().next())
}

/// Asks for the state of `group` ([`group_state`]) every 250 ms until `done` holds
/// for it, for at most `timeout`, and returns that state: "the group is Stable
/// with 2 members" (`|g| g == Some(("Stable".into(), 2))`), "a killed member's
/// session has expired" (`|g| g.is_some_and(|(state, _)| state == "Empty")`). On
/// timeout the error says `what` was expected and the last state seen.
pub async fn until_group(
    kafka: &Kafka,
    group: &str,
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&Option<(String, usize)>) -> bool,
) -> Result<Option<(String, usize)>> {
    let started = std::time::Instant::now();
    loop {
        let now = group_state(kafka, group).await?;
        if done(&now) {
            return Ok(now);
        }
        if started.elapsed() >= timeout {
            anyhow::bail!(
                "waited {} s for {what} in group {group}: last seen {now:?}",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// How many partitions each member of `group` is assigned, as the group
/// coordinator reports the assignment the group leader made (classic protocol),
/// with the group's state; `None` if the coordinator does not know the group.
pub async fn group_assignment(
    kafka: &Kafka,
    group: &str,
) -> Result<Option<(String, Vec<usize>)>> {
    let admin: BaseConsumer = kafka.client_config().create()?;
    let name = group.to_string();
    let groups = tokio::task::spawn_blocking(move || {
        admin
            .fetch_group_list(Some(&name), Duration::from_secs(10))
            .map(|list| {
                list.groups()
                    .iter()
                    .map(|g| {
                        let partitions = g
                            .members()
                            .iter()
                            .map(|m| m.assignment().map_or(0, assigned_partitions))
                            .collect::<Vec<usize>>();
                        (g.state().to_string(), partitions)
                    })
                    .collect::<Vec<_>>()
            })
    })
    .await?
    .with_context(|| format!("describing group {group}"))?;
    Ok(groups.into_iter().next())
}

/// The number of partitions in a consumer-protocol assignment (Kafka's
/// `ConsumerProtocolAssignment`: version int16, then an array (int32 count) of
/// topics, each a string (int16 length) and an array of int32 partitions).
fn assigned_partitions(bytes: &[u8]) -> usize {
    let read_i16 = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
    };
    let read_i32 = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut at = 2; // version
    let Some(topics) = read_i32(at) else {
        return 0;
    };
    at += 4;
    let mut partitions = 0;
    for _ in 0..topics.max(0) {
        let Some(name) = read_i16(at) else {
            return partitions;
        };
        at += 2 + name.max(0) as usize;
        let Some(count) = read_i32(at) else {
            return partitions;
        };
        at += 4 + 4 * count.max(0) as usize;
        partitions += count.max(0) as usize;
    }
    partitions
}

/// Counts what `consumer` (subscribed to `topic`) receives before a marker record
/// that `producer` sends after the consumer joined: the records it could see from
/// before. Markers are sent every second until one arrives (bounded: 60 s).
pub async fn records_before_marker(
    consumer: &StreamConsumer,
    producer: &FutureProducer,
    topic: &str,
) -> Result<usize> {
    let mut before = 0;
    crate::within(Duration::from_secs(60), "a marker record", async {
        loop {
            produce_with(producer, topic, "k", &["marker".to_string()]).await?;
            while let Ok(message) =
                tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await
            {
                match message?.payload() {
                    Some(b"marker") => return anyhow::Ok(()),
                    _ => before += 1,
                }
            }
        }
    })
    .await??;
    Ok(before)
}

#[cfg(test)]
mod tests {
    /// One topic with partitions 0 and 2; an empty assignment has none.
    #[test]
    fn assignments_are_counted() {
        let mut bytes = vec![0, 1, 0, 0, 0, 1, 0, 1, b't'];
        bytes.extend([0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2]);
        bytes.extend([0, 0, 0, 0]); // user data: empty
        assert_eq!(super::assigned_partitions(&bytes), 2);
        assert_eq!(super::assigned_partitions(&[0, 1, 0, 0, 0, 0]), 0);
        assert_eq!(super::assigned_partitions(&[]), 0);
    }
}

//! Wrong: `cleanup.policy=compact` with the default segment settings: every
//! record stays in the active segment (7 days), which is never compacted.
//! Caught by: snapshot_topic_keeps_the_latest_balance_per_account

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// How long one call waits for one broker answer.
const WAIT: Duration = Duration::from_secs(10);

// ANCHOR: projection
/// The state of the accounts, derived from the event log: what a service would
/// keep in memory (or in a database) and can always rebuild from the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// The balance of each open account.
    pub balances: BTreeMap<String, i64>,
    /// Accounts closed by a `close` event: gone from `balances`.
    pub closed: BTreeSet<String>,
    /// The offset of the next event to apply: every event before it is in this
    /// state. A snapshot stores it, so a restore knows where to resume.
    pub next_offset: i64,
}

impl Projection {
    /// Applies one event of the log (`deposit 100`, `withdraw 30`, `close`) to
    /// `account`, and moves `next_offset` past it.
    pub fn apply(&mut self, account: &str, event: &str, offset: i64) -> Result<()> {
        match event.split_once(' ') {
            Some(("deposit", amount)) => {
                *self.balances.entry(account.to_string()).or_default() +=
                    amount.parse::<i64>()?;
            }
            Some(("withdraw", amount)) => {
                *self.balances.entry(account.to_string()).or_default() -=
                    amount.parse::<i64>()?;
            }
            None if event == "close" => {
                self.balances.remove(account);
                self.closed.insert(account.to_string());
            }
            _ => bail!("unknown event {event:?} for account {account}"),
        }
        self.next_offset = offset + 1;
        Ok(())
    }
}
// ANCHOR_END: projection

// ANCHOR: snapshot_topic_settings
/// The topic-level settings of the snapshot topic: a compacted topic that keeps
/// the latest snapshot record of each account, tuned so that the lab's log
/// cleaner compacts it within seconds (production topics keep the defaults).
pub fn snapshot_topic_settings() -> Vec<(&'static str, &'static str)> {
    vec![
        // Keep the latest record per key instead of deleting by age; the log
        // cleaner does the rest, as soon as 1% of the log is dirty.
        ("cleanup.policy", "compact"),
        ("min.cleanable.dirty.ratio", "0.01"),
    ]
}
// ANCHOR_END: snapshot_topic_settings

// ANCHOR: read_from
/// Reads partition 0 of `topic` from `start` to its end (the high watermark when
/// the read begins), calling `each` with every record's key, value (`None` for a
/// tombstone) and offset.
async fn read_from(
    bootstrap_servers: &str,
    topic: &str,
    start: Offset,
    mut each: impl FnMut(&str, Option<&str>, i64) -> Result<()>,
) -> Result<()> {
    // A replay reads the log itself and must not depend on (or move) a committed
    // offset: `assign` at an explicit offset, no `subscribe`, no commits.
    // (librdkafka 2.12 needs a `group.id` even for `assign`; it is never used.)
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", "account-service")
        .set("enable.auto.commit", "false")
        .create()
        .context("creating a consumer")?;
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, WAIT)
        .with_context(|| format!("fetching the end of `{topic}`"))?;
    let first = match start {
        Offset::Offset(offset) => offset.max(low),
        _ => low,
    };
    if first >= high {
        return Ok(()); // nothing to read
    }
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition_offset(topic, 0, Offset::Offset(first))?;
    consumer.assign(&partitions)?;
    loop {
        let message = tokio::time::timeout(WAIT, consumer.recv())
            .await
            .with_context(|| {
                format!("waiting for the records of `{topic}` up to offset {high}")
            })?
            .context("reading a record")?;
        let key = message
            .key()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let value = message.payload().map(String::from_utf8_lossy);
        each(&key, value.as_deref(), message.offset())?;
        // Offsets of a compacted topic have gaps, but the last record is in the
        // active segment, never compacted: the read ends at `high - 1`.
        if message.offset() + 1 >= high {
            return Ok(());
        }
    }
}
// ANCHOR_END: read_from

// ANCHOR: replay
/// Rebuilds the projection from the beginning of the event log `events_topic`
/// (one partition; key: the account, value: the event).
pub async fn replay(bootstrap_servers: &str, events_topic: &str) -> Result<Projection> {
    let mut projection = Projection::default();
    // From the first offset, every time: the log is the source of truth.
    read_from(
        bootstrap_servers,
        events_topic,
        Offset::Beginning,
        |account, event, offset| {
            projection.apply(account, event.unwrap_or_default(), offset)
        },
    )
    .await?;
    Ok(projection)
}
// ANCHOR_END: replay

// ANCHOR: write_snapshot
/// Writes `projection` to the compacted `snapshot_topic`: one record per open
/// account (key: the account, value: `<balance>@<next_offset>`) and a tombstone
/// for each closed one.
pub async fn write_snapshot(
    producer: &FutureProducer,
    snapshot_topic: &str,
    projection: &Projection,
) -> Result<()> {
    for (account, balance) in &projection.balances {
        // The key is the account, the same in every snapshot: compaction keeps
        // the latest record of each key, so the topic stays one record per account.
        let value = format!("{balance}@{}", projection.next_offset);
        let record = FutureRecord::to(snapshot_topic)
            .key(account)
            .payload(&value);
        producer
            .send(record, WAIT)
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("writing the snapshot of {account}"))?;
    }
    for account in &projection.closed {
        // A tombstone: the key with no payload at all (an empty payload is a value).
        // Compaction drops the account's older records, and, after
        // `delete.retention.ms`, the tombstone itself.
        let record = FutureRecord::<str, str>::to(snapshot_topic).key(account);
        producer
            .send(record, WAIT)
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("deleting the snapshot of {account}"))?;
    }
    Ok(())
}
// ANCHOR_END: write_snapshot

// ANCHOR: restore
/// Restores the projection from the latest snapshot in `snapshot_topic`, then
/// applies the events of `events_topic` that the snapshot does not contain.
pub async fn restore(
    bootstrap_servers: &str,
    snapshot_topic: &str,
    events_topic: &str,
) -> Result<Projection> {
    let mut projection = Projection::default();
    read_from(
        bootstrap_servers,
        snapshot_topic,
        Offset::Beginning,
        |account, value, _| {
            match value {
                // Later records of a key replace earlier ones (compaction or not).
                Some(value) => {
                    let (balance, next) = value
                        .split_once('@')
                        .with_context(|| format!("a snapshot record {value:?}"))?;
                    projection
                        .balances
                        .insert(account.to_string(), balance.parse()?);
                    projection.next_offset = projection.next_offset.max(next.parse()?);
                }
                // A tombstone deletes the account (it may also be gone already, if
                // the cleaner removed it after `delete.retention.ms`).
                None => {
                    projection.balances.remove(account);
                    projection.closed.insert(account.to_string());
                }
            }
            Ok(())
        },
    )
    .await?;
    // Only the events after the snapshot: the ones before are in it already.
    let resume = Offset::Offset(projection.next_offset);
    read_from(
        bootstrap_servers,
        events_topic,
        resume,
        |account, event, offset| {
            projection.apply(account, event.unwrap_or_default(), offset)
        },
    )
    .await?;
    Ok(projection)
}
// ANCHOR_END: restore

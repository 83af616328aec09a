//! # Chapter 16: event sourcing
//!
//! An account service whose source of truth is an event log: it rebuilds its state
//! by replaying the log from the beginning, keeps a snapshot of that state in a
//! compacted topic (one record per account, a tombstone for a closed one), and
//! restores from the snapshot plus the events after it.
//!
//! Fill in every `todo!()` under a `// TODO:` comment (`Projection` is given).
//! The checks in `tests/check.rs` run your functions against the lab's Kafka 4.1.1,
//! wait for its log cleaner to compact your snapshot topic, and tell you what they
//! observed. Run them with:
//!
//! ```text
//! cargo test -p exercise_16_event_sourcing
//! ```
//!
//! Read chapter 16 of the book first (`book/src/ch16-event-sourcing.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]
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
    // TODO: make the topic compacted (`cleanup.policy`), and make compaction happen
    // within seconds in the lab: roll segments every 100 ms (`segment.ms`; the
    // active segment is never compacted) and clean once 1% of the log is dirty
    // (`min.cleanable.dirty.ratio`).
    todo!("the settings of a compacted snapshot topic")
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
    // TODO: a consumer that never commits (a replay must not depend on committed
    // offsets; librdkafka still wants a `group.id`); the partition's end with
    // `fetch_watermarks(topic, 0, ..)`; return at once if there is nothing from
    // `start` on; `assign` partition 0 at `start` and `recv()` until the record at
    // `high - 1`, calling `each` with its key, its payload (`None` for a
    // tombstone) and its offset.
    todo!("read partition 0 from `start` to its end")
}
// ANCHOR_END: read_from

// ANCHOR: replay
/// Rebuilds the projection from the beginning of the event log `events_topic`
/// (one partition; key: the account, value: the event).
pub async fn replay(bootstrap_servers: &str, events_topic: &str) -> Result<Projection> {
    // TODO: apply every event of the log, from its first offset, to an empty
    // projection (use `read_from`).
    todo!("replay the event log from the beginning")
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
    // TODO: one record per open account: the account as its key (the same key in
    // every snapshot) and `<balance>@<next_offset>` as its value; then, for each
    // closed account, a tombstone: its key with no payload at all.
    todo!("write one snapshot record per account")
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
    // TODO: read the snapshot topic from the beginning: a later record of an
    // account replaces an earlier one, a tombstone removes it, and the largest
    // `next_offset` says where the snapshot ends; then apply only the events from
    // that offset on.
    todo!("restore from the snapshot, then the events after it")
}
// ANCHOR_END: restore

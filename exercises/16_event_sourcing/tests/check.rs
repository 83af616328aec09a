//! Checks for chapter 16 (do not modify): they run your account service against
//! the lab's Kafka, wait for the log cleaner to compact your snapshot topic, and
//! assert what the topics hold and what your functions rebuilt.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::collections::BTreeMap;
use std::time::Duration;

use event_sourcing::{
    Projection, replay, restore, snapshot_topic_settings, write_snapshot,
};
use lab::kafka::steps::{Record, produce_with, read_partition, until_read};
use rdkafka::producer::FutureProducer;

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// Where chapter 16 explains replaying the log.
const REPLAY: &str = "see ch16 'The log is the source of truth'";
/// Where chapter 16 explains compaction.
const COMPACTION: &str = "see ch16 'Compacted topics: the latest value per key'";
/// Where chapter 16 explains tombstones.
const TOMBSTONES: &str = "see ch16 'Tombstones'";
/// Where chapter 16 explains snapshot + replay.
const SNAPSHOTS: &str = "see ch16 'Snapshot + replay'";

/// The account events of the checks, in log order: (account, event).
const EVENTS: [(&str, &str); 12] = [
    ("alice", "deposit 100"),
    ("bob", "deposit 50"),
    ("alice", "withdraw 30"),
    ("carol", "deposit 10"),
    ("bob", "deposit 25"),
    ("alice", "deposit 5"),
    ("carol", "close"),
    ("bob", "withdraw 70"),
    ("dave", "deposit 40"),
    ("alice", "withdraw 15"),
    ("dave", "close"),
    ("bob", "deposit 1"),
];

/// The balances after the first `count` of [`EVENTS`], worked out by hand.
fn balances_after(count: usize) -> BTreeMap<String, i64> {
    let expected: &[(&str, i64)] = match count {
        4 => &[("alice", 70), ("bob", 50), ("carol", 10)],
        8 => &[("alice", 75), ("bob", 5)],
        12 => &[("alice", 60), ("bob", 6)],
        _ => unreachable!("the checks only ask for 4, 8 or 12"),
    };
    expected.iter().map(|(a, b)| (a.to_string(), *b)).collect()
}

/// A new one-partition event log holding the first `count` of [`EVENTS`].
async fn event_log(kafka: &lab::Kafka, count: usize) -> anyhow::Result<String> {
    let topic = lab::unique_name("account-events");
    kafka.create_topic(&topic, 1, 1).await?;
    append_events(kafka, &topic, 0..count).await?;
    Ok(topic)
}

/// Appends [`EVENTS`]`[range]` to `topic`, each keyed by its account.
async fn append_events(
    kafka: &lab::Kafka,
    topic: &str,
    range: std::ops::Range<usize>,
) -> anyhow::Result<()> {
    let producer: FutureProducer = kafka.client_config().create()?;
    for (account, event) in &EVENTS[range] {
        produce_with(&producer, topic, account, &[event.to_string()]).await?;
    }
    Ok(())
}

/// A new snapshot topic with the settings of `snapshot_topic_settings`.
async fn snapshot_topic(kafka: &lab::Kafka) -> anyhow::Result<String> {
    let topic = lab::unique_name("account-snapshots");
    kafka
        .create_topic_with(&topic, 1, 1, &snapshot_topic_settings())
        .await?;
    Ok(topic)
}

/// `key@offset` of each record, for messages.
fn layout(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{}@{}", r.key.as_deref().unwrap_or("(no key)"), r.offset))
        .collect()
}

/// A replay reads the whole log from its first offset, every time: two replays of
/// the same 12 events rebuild the same balances, and both have applied all 12.
#[tokio::test]
async fn replay_rebuilds_every_balance_from_the_beginning() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "replaying an event log of 12 events twice", async {
        let kafka = lab::kafka().await?;
        let events = event_log(&kafka, 12).await?;
        for attempt in ["first", "second"] {
            let projection = lab::within(
                Duration::from_secs(30),
                format!("the {attempt} replay to reach the end of the log: a replay reads from the first offset, whatever a group committed before ({REPLAY})"),
                replay(&kafka.bootstrap_servers(), &events),
            )
            .await??;
            assert_eq!(
                projection.balances,
                balances_after(12),
                "the balances of the {attempt} replay of 12 events ({REPLAY})"
            );
            assert_eq!(
                projection.next_offset, 12,
                "after the {attempt} replay of offsets 0..=11 the next offset should be 12 ({REPLAY})"
            );
        }
        Ok(())
    })
    .await
}

/// Three snapshots of the same accounts, written more than a second apart (so
/// each starts a new segment): once the log cleaner has run, the records of the
/// first snapshot are gone, because later records have the same keys, and what
/// is left are records as they were written, at their original offsets.
#[tokio::test]
async fn snapshot_topic_keeps_the_latest_balance_per_account() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "compacting three snapshots", async {
        let kafka = lab::kafka().await?;
        let snapshots = snapshot_topic(&kafka).await?;
        let producer: FutureProducer = kafka.client_config().create()?;
        let mut written = Vec::new();
        for round in 1..=3 {
            let projection = Projection {
                balances: [("alice", 10 * round), ("bob", 20 * round)]
                    .iter()
                    .map(|(a, b)| (a.to_string(), *b))
                    .collect(),
                next_offset: round,
                ..Projection::default()
            };
            write_snapshot(&producer, &snapshots, &projection).await?;
            // What was written, read while it is in the active segment, which the
            // cleaner never compacts (it may already compact earlier snapshots).
            for record in read_partition(&kafka, &snapshots, 0).await? {
                if !written.iter().any(|w: &Record| w.offset == record.offset) {
                    written.push(record);
                }
            }
            // Longer than `segment.ms`: the next snapshot starts a new segment.
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        assert_eq!(
            written.len(),
            6,
            "3 snapshots of 2 accounts should be 6 records, but the topic holds {:?}",
            layout(&written)
        );
        let first: Vec<i64> = written.iter().take(2).map(|r| r.offset).collect();
        let compacted = until_read(
            &kafka,
            &snapshots,
            Duration::from_secs(60),
            "the log cleaner to remove the first snapshot",
            |records| records.iter().all(|r| !first.contains(&r.offset)),
        )
        .await;
        let compacted = match compacted {
            Ok(records) => records,
            Err(error) => anyhow::bail!(
                "the first snapshot's records (offsets {first:?}) were still in the topic after 60 s: \
                 compaction keeps the latest record *per key* (write every snapshot of an account \
                 under the same key), only on a topic with `cleanup.policy=compact`, and never in \
                 the active segment (roll segments with a small `segment.ms`) ({COMPACTION}): {error:#}"
            ),
        };
        for record in &compacted {
            assert!(
                written.contains(record),
                "after compaction the topic holds {record:?}, which was never written that way: \
                 compaction keeps records as they are, at their offsets ({COMPACTION})"
            );
        }
        let last = &written[4..];
        assert!(
            last.iter().all(|r| compacted.contains(r)),
            "the latest snapshot {:?} must survive compaction, but the topic holds {:?} ({COMPACTION})",
            layout(last),
            layout(&compacted)
        );
        Ok(())
    })
    .await
}

/// A closed account is deleted from the snapshot topic with a tombstone (its key
/// and no value at all), and a restore from that snapshot does not bring it back.
#[tokio::test]
async fn closed_account_is_deleted_by_a_tombstone() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "snapshotting a closed account", async {
        let kafka = lab::kafka().await?;
        let events = event_log(&kafka, 4).await?;
        let snapshots = snapshot_topic(&kafka).await?;
        let producer: FutureProducer = kafka.client_config().create()?;
        let before = replay(&kafka.bootstrap_servers(), &events).await?;
        write_snapshot(&producer, &snapshots, &before).await?;
        append_events(&kafka, &events, 4..8).await?; // carol closes
        let after = replay(&kafka.bootstrap_servers(), &events).await?;
        write_snapshot(&producer, &snapshots, &after).await?;
        let records = read_partition(&kafka, &snapshots, 0).await?;
        let carol = records
            .iter()
            .rev()
            .find(|r| r.key.as_deref() == Some("carol"));
        let found = match carol {
            None => "missing".to_string(),
            Some(r) if r.tombstone => "a tombstone".to_string(),
            Some(r) => format!("the value {:?}", r.value),
        };
        assert!(
            carol.is_some_and(|r| r.tombstone),
            "the latest snapshot record of the closed account `carol` is {found}, not a \
             tombstone: a value (even an empty one or \"closed\") is kept forever by compaction; \
             delete a key with a record that has no payload ({TOMBSTONES})"
        );
        let restored = restore(&kafka.bootstrap_servers(), &snapshots, &events).await?;
        assert!(
            !restored.balances.contains_key("carol"),
            "the restore brought back the closed account `carol` (balance {:?}), whose latest \
             snapshot record is a tombstone: a tombstone removes its key ({TOMBSTONES})",
            restored.balances.get("carol")
        );
        assert_eq!(
            restored.balances,
            balances_after(8),
            "restored from a snapshot in which `carol` was deleted by a tombstone ({TOMBSTONES})"
        );
        Ok(())
    })
    .await
}

/// Snapshot + replay: two snapshots (after 4 and after 8 events), then 4 more
/// events. A restore takes the latest snapshot of each account and applies only
/// the events after it: the result equals a full replay of the 12 events.
#[tokio::test]
async fn restore_equals_a_full_replay() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "restoring from a snapshot and the events after it", async {
        let kafka = lab::kafka().await?;
        let events = event_log(&kafka, 4).await?;
        let snapshots = snapshot_topic(&kafka).await?;
        let producer: FutureProducer = kafka.client_config().create()?;
        for upto in [4, 8] {
            if upto == 8 {
                append_events(&kafka, &events, 4..8).await?;
            }
            let projection = replay(&kafka.bootstrap_servers(), &events).await?;
            write_snapshot(&producer, &snapshots, &projection).await?;
        }
        append_events(&kafka, &events, 8..12).await?;
        let restored = lab::within(
            Duration::from_secs(30),
            format!("the restore to reach the end of both topics ({SNAPSHOTS})"),
            restore(&kafka.bootstrap_servers(), &snapshots, &events),
        )
        .await??;
        assert_eq!(
            restored.balances,
            balances_after(12),
            "the restore (left: the snapshot after 8 events, then the 4 events after it) differs \
             from a full replay of the 12 events (right): apply only the events from the \
             snapshot's next offset on, onto the latest snapshot of each account ({SNAPSHOTS})"
        );
        assert_eq!(
            restored.next_offset, 12,
            "after restoring, the next event to apply is offset 12 ({SNAPSHOTS})"
        );
        Ok(())
    })
    .await
}

//! Checks for chapter 13 (do not modify): they run your consumer against the lab's
//! Kafka, one of them in a separate process that they kill, and assert what the
//! consumer group saw and committed.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::time::Duration;

use consumer_groups::{consume_at_least_once, consumer_config};
use lab::kafka::steps::{committed, first_on_resume, topic_with};
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// The consumer program of the package under test: the exercise builds
/// `crash_consumer`, the solution `solution_crash_consumer` (distinct names, so
/// neither can run the other's).
const CRASH_CONSUMER: &str = match option_env!("CARGO_BIN_EXE_crash_consumer") {
    Some(path) => path,
    None => match option_env!("CARGO_BIN_EXE_solution_crash_consumer") {
        Some(path) => path,
        None => panic!("the package under test builds the consumer program"),
    },
};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// Where chapter 13 explains where a group resumes.
const OFFSETS: &str = "see ch13 'Offsets: where the group resumes'";
/// Where chapter 13 explains storing and committing offsets.
const COMMITTING: &str = "see ch13 'Committing in librdkafka: stored, then committed'";

/// Every record is processed once, in order, and afterwards the group's committed
/// offset is the last processed offset + 1: the next record to read. The records
/// were produced before the group existed.
#[tokio::test]
async fn processed_records_are_committed() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "consuming 10 records", async {
        let kafka = lab::kafka().await?;
        let topic = topic_with(&kafka, "payments", 10).await?;
        let group = lab::unique_name("billing");
        let consumer: StreamConsumer =
            consumer_config(&kafka.bootstrap_servers(), &group).create()?;
        let mut processed = Vec::new();
        lab::within(
            Duration::from_secs(40),
            format!("10 records produced before the group existed: a new group starts at the end unless `auto.offset.reset` is `earliest` ({OFFSETS})"),
            consume_at_least_once(&consumer, &topic, 10, async |payload: &str| {
                processed.push(payload.to_string());
                Ok(())
            }),
        )
        .await??;
        let expected: Vec<String> = (0..10).map(|i| format!("record-{i}")).collect();
        assert_eq!(
            processed, expected,
            "the records processed, in order ({OFFSETS})"
        );
        // The consumer is still running; its automatic commit (or yours) must reach
        // the group within a few commit intervals.
        let mut last = None;
        let reached = lab::within(Duration::from_secs(20), "the commit", async {
            loop {
                last = committed(&kafka, &topic, &group, 0).await?;
                if last == Some(10) {
                    return anyhow::Ok(());
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await;
        assert!(
            matches!(reached, Ok(Ok(()))),
            "after processing offsets 0..=9 the group's committed offset should become 10 (the next to read), but it is {last:?} ({COMMITTING})"
        );
        Ok(())
    })
    .await
}

/// The crash: a consumer process receives `record-3`, is still processing it when
/// automatic commits happen, and is killed (SIGKILL). The group must deliver
/// `record-3` again, and nothing before it.
#[tokio::test]
async fn record_in_progress_at_a_kill_is_delivered_again() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "killing a consumer in the middle of a record", async {
        let kafka = lab::kafka().await?;
        let topic = topic_with(&kafka, "payments", 10).await?;
        let group = lab::unique_name("billing");
        let args = [kafka.bootstrap_servers(), topic.clone(), group.clone()];
        let mut consumer = lab::ClientProcess::spawn(CRASH_CONSUMER, args)?;
        let reached = consumer
            .line_containing("processing record-3", Duration::from_secs(60))
            .await;
        if let Err(error) = reached {
            anyhow::bail!(
                "the consumer process never reached record-3 (it printed {:?}): {error}",
                consumer.lines_seen()
            );
        }
        // Several automatic commits (every 500 ms in crash_consumer) happen while
        // record-3 is "being processed".
        tokio::time::sleep(Duration::from_secs(3)).await;
        consumer.kill().await?;
        let resumed = first_on_resume(&kafka, &topic, &group).await?.value;
        let offset = committed(&kafka, &topic, &group, 0).await?;
        assert_eq!(
            resumed, "record-3",
            "the group resumed at {resumed} (committed offset {offset:?}): record-3 was marked done before it was processed, so the kill lost it ({COMMITTING})"
        );
        Ok(())
    })
    .await
}

/// A record whose processing fails is not marked done: `consume_at_least_once`
/// returns the error, and the group's committed offset stays at that record (3),
/// so the group reads it again. (The consumer commits every 300 ms here.)
#[tokio::test]
async fn a_record_whose_processing_fails_is_not_committed() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a processing step that fails for record-3", async {
        let kafka = lab::kafka().await?;
        let topic = topic_with(&kafka, "payments", 10).await?;
        let group = lab::unique_name("billing");
        let consumer: StreamConsumer = consumer_config(&kafka.bootstrap_servers(), &group)
            .set("auto.commit.interval.ms", "300")
            .create()?;
        let consumed = lab::within(
            Duration::from_secs(40),
            format!("the records up to record-3 ({OFFSETS})"),
            consume_at_least_once(&consumer, &topic, 10, async |payload: &str| {
                anyhow::ensure!(payload != "record-3", "the payment service is down");
                Ok(())
            }),
        )
        .await?;
        assert!(
            consumed.is_err(),
            "consume_at_least_once returned Ok though processing record-3 failed: return the error ({COMMITTING})"
        );
        // Watch the committed offset for a while: it must reach 3 and never pass it.
        let mut seen = Vec::new();
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            let now = committed(&kafka, &topic, &group, 0).await?;
            if seen.last() != Some(&now) {
                seen.push(now);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let last = seen.last().copied().flatten();
        assert!(
            seen.iter().all(|c| c.is_none_or(|offset| offset <= 3)),
            "the group's committed offset went to {:?} though record-3 (offset 3) failed: the group \
             would resume after it and never process it; store or commit an offset only after its \
             record was processed ({COMMITTING})",
            seen.iter().flatten().max()
        );
        assert_eq!(
            last,
            Some(3),
            "records 0..=2 were processed, so the committed offset should be 3, but it is {last:?} ({COMMITTING})"
        );
        Ok(())
    })
    .await
}

/// Offsets are per partition: on a topic of three partitions, once every record is
/// processed, the group has committed the end of each partition.
#[tokio::test]
async fn every_partition_is_committed() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "consuming a topic of 3 partitions", async {
        let kafka = lab::kafka().await?;
        let topic = lab::unique_name("payments");
        kafka.create_topic(&topic, 3, 1).await?;
        let producer: FutureProducer = kafka.client_config().create()?;
        for partition in 0..3 {
            for i in 0..4 {
                let value = format!("record-{partition}-{i}");
                let record = FutureRecord::to(&topic)
                    .key("k")
                    .payload(&value)
                    .partition(partition);
                producer
                    .send(record, Duration::from_secs(30))
                    .await
                    .map_err(|(e, _)| e)?;
            }
        }
        let group = lab::unique_name("billing");
        let consumer: StreamConsumer = consumer_config(&kafka.bootstrap_servers(), &group)
            .set("auto.commit.interval.ms", "300")
            .create()?;
        lab::within(
            Duration::from_secs(40),
            format!("12 records on 3 partitions ({OFFSETS})"),
            consume_at_least_once(&consumer, &topic, 12, async |_: &str| Ok(())),
        )
        .await??;
        let mut last = Vec::new();
        let all = lab::within(Duration::from_secs(20), "the commits", async {
            loop {
                last.clear();
                for partition in 0..3 {
                    last.push(committed(&kafka, &topic, &group, partition).await?);
                }
                if last.iter().all(|c| *c == Some(4)) {
                    return anyhow::Ok(());
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await;
        assert!(
            matches!(all, Ok(Ok(()))),
            "after processing 4 records on each of partitions 0, 1, 2, the group's committed \
             offsets should be 4, 4, 4, but they are {last:?}: an offset belongs to the \
             partition of its record ({COMMITTING})"
        );
        Ok(())
    })
    .await
}

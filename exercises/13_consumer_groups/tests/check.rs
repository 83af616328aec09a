//! Checks for chapter 13 (do not modify): they run your consumer against the lab's
//! Kafka, one of them in a separate process that they kill, and assert what the
//! consumer group saw and committed.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::process::Stdio;
use std::time::Duration;

use consumer_groups::{consume_at_least_once, consumer_config};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::io::{AsyncBufReadExt, BufReader};

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

/// Produces `record-0` .. `record-9` to a new one-partition topic; returns its name.
async fn ten_records(kafka: &lab::Kafka) -> anyhow::Result<String> {
    let topic = lab::unique_name("payments");
    kafka.create_topic(&topic, 1, 1).await?;
    let producer: FutureProducer = kafka.client_config().create()?;
    for i in 0..10 {
        producer
            .send(
                FutureRecord::to(&topic)
                    .key("k")
                    .payload(&format!("record-{i}")),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)?;
    }
    Ok(topic)
}

/// The offset `group` has committed for partition 0 of `topic`, if any.
async fn committed(
    kafka: &lab::Kafka,
    topic: &str,
    group: &str,
) -> anyhow::Result<Option<i64>> {
    let consumer: BaseConsumer = kafka.client_config().set("group.id", group).create()?;
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(topic, 0);
    let offsets = tokio::task::spawn_blocking(move || {
        consumer.committed_offsets(partitions, Duration::from_secs(10))
    })
    .await??;
    Ok(offsets.elements().first().and_then(|e| match e.offset() {
        Offset::Offset(offset) => Some(offset),
        _ => None,
    }))
}

/// The first record `group` reads when it resumes partition 0 of `topic` from its
/// committed offset (assigned directly, so no rebalance has to wait for the dead
/// member to time out).
async fn first_record_on_resume(
    kafka: &lab::Kafka,
    topic: &str,
    group: &str,
) -> anyhow::Result<String> {
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(topic, 0);
    consumer.assign(&partitions)?;
    let message = lab::within(
        Duration::from_secs(30),
        "the group to read a record",
        consumer.recv(),
    )
    .await??;
    Ok(String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned())
}

/// Every record is processed once, in order, and afterwards the group's committed
/// offset is the last processed offset + 1: the next record to read. The records
/// were produced before the group existed.
#[tokio::test]
async fn processed_records_are_committed() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "consuming 10 records", async {
        let kafka = lab::kafka().await?;
        let topic = ten_records(&kafka).await?;
        let group = lab::unique_name("billing");
        let consumer: StreamConsumer =
            consumer_config(&kafka.bootstrap_servers(), &group).create()?;
        let mut processed = Vec::new();
        lab::within(
            Duration::from_secs(40),
            "10 records produced before the group existed (does a new group start at the earliest offset?)",
            consume_at_least_once(&consumer, &topic, 10, async |payload: &str| {
                processed.push(payload.to_string());
                Ok(())
            }),
        )
        .await??;
        let expected: Vec<String> = (0..10).map(|i| format!("record-{i}")).collect();
        assert_eq!(processed, expected, "the records processed, in order");
        // The consumer is still running; its automatic commit (or yours) must reach
        // the group within a few commit intervals.
        let mut last = None;
        let reached = lab::within(Duration::from_secs(20), "the commit", async {
            loop {
                last = committed(&kafka, &topic, &group).await?;
                if last == Some(10) {
                    return anyhow::Ok(());
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await;
        assert!(
            matches!(reached, Ok(Ok(()))),
            "after processing offsets 0..=9 the group's committed offset should become 10 (the next to read), but it is {last:?}"
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
        let topic = ten_records(&kafka).await?;
        let group = lab::unique_name("billing");
        let mut command = std::process::Command::new(CRASH_CONSUMER);
        command
            .args([kafka.bootstrap_servers(), topic.clone(), group.clone()])
            .stdout(Stdio::piped());
        let mut child = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let waited = lab::within(
            Duration::from_secs(60),
            "the consumer process to print `processing record-3`",
            async {
                while let Some(line) = lines.next_line().await? {
                    seen.push(line.clone());
                    if line == "processing record-3" {
                        return anyhow::Ok(());
                    }
                }
                anyhow::bail!("the consumer process ended first")
            },
        )
        .await;
        if !matches!(waited, Ok(Ok(()))) {
            child.start_kill()?;
            let status = child.wait().await?;
            anyhow::bail!(
                "the consumer process never reached record-3 (it printed {seen:?}, exit {status}): {waited:?}"
            );
        }
        // Several automatic commits (every 500 ms in crash_consumer) happen while
        // record-3 is "being processed".
        tokio::time::sleep(Duration::from_secs(3)).await;
        child.start_kill()?;
        child.wait().await?;
        let resumed = first_record_on_resume(&kafka, &topic, &group).await?;
        let offset = committed(&kafka, &topic, &group).await?;
        assert_eq!(
            resumed, "record-3",
            "the group resumed at {resumed} (committed offset {offset:?}): record-3 was marked done before it was processed, so the kill lost it"
        );
        Ok(())
    })
    .await
}

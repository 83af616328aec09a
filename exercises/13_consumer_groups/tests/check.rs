//! Checks for chapter 13 (do not modify): they run your consumer against the lab's
//! Kafka, one of them in a separate process that they kill, and assert what the
//! consumer group saw and committed.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::time::Duration;

use consumer_groups::{consume_at_least_once, consumer_config};
use lab::kafka::steps::{committed, first_on_resume, topic_with};
use rdkafka::consumer::StreamConsumer;

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
            "the group resumed at {resumed} (committed offset {offset:?}): record-3 was marked done before it was processed, so the kill lost it"
        );
        Ok(())
    })
    .await
}

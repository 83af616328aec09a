//! Proofs of chapter 13's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's Kafka 4.1.1
//! with rdkafka 0.39 (librdkafka 2.12, classic group protocol) and asserts it equals
//! the key in `book/quizzes/13_consumer_groups.toml`.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use proofs::{assert_key, bounded};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::io::{AsyncBufReadExt, BufReader};

const CHAPTER: &str = "13_consumer_groups";
const WAIT: Duration = Duration::from_secs(30);

/// Produces `record-0` .. `record-<count-1>` to `topic` (key `k`, so one partition).
async fn produce(kafka: &lab::Kafka, topic: &str, count: usize) -> Result<()> {
    let producer: FutureProducer = kafka.client_config().create()?;
    for i in 0..count {
        producer
            .send(
                FutureRecord::to(topic)
                    .key("k")
                    .payload(&format!("record-{i}")),
                WAIT,
            )
            .await
            .map_err(|(e, _)| e)?;
    }
    Ok(())
}

/// A new topic of one partition holding `count` records.
async fn topic_with(kafka: &lab::Kafka, count: usize) -> Result<String> {
    let topic = lab::unique_name("events");
    kafka.create_topic(&topic, 1, 1).await?;
    produce(kafka, &topic, count).await?;
    Ok(topic)
}

/// Counts what a consumer of a new group receives before a marker produced after
/// it joined; `reset` is its `auto.offset.reset`, or rdkafka's default if `None`.
async fn records_before_marker(
    kafka: &lab::Kafka,
    topic: &str,
    reset: Option<&str>,
) -> Result<usize> {
    let mut config = kafka.client_config();
    config.set("group.id", lab::unique_name("group"));
    if let Some(reset) = reset {
        config.set("auto.offset.reset", reset);
    }
    let consumer: StreamConsumer = config.create()?;
    consumer.subscribe(&[topic])?;
    let producer: FutureProducer = kafka.client_config().create()?;
    let mut before = 0;
    lab::within(Duration::from_secs(60), "a marker record", async {
        loop {
            producer
                .send(FutureRecord::to(topic).key("k").payload("marker"), WAIT)
                .await
                .map_err(|(e, _)| e)?;
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

#[tokio::test]
async fn default_reset_reads_old_records() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka().await?;
        let topic = topic_with(&kafka, 10).await?;
        let seen = records_before_marker(&kafka, &topic, None).await?;
        assert_key(CHAPTER, "default_reset_reads_old_records", seen);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn earliest_reads_old_records() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka().await?;
        let topic = topic_with(&kafka, 10).await?;
        let seen = records_before_marker(&kafka, &topic, Some("earliest")).await?;
        assert_key(CHAPTER, "earliest_reads_old_records", seen);
        Ok(())
    })
    .await
}

/// Reads with `group` from the earliest offset until `quiet` passes without a
/// record, commits, and returns how many records it read.
async fn read_and_commit(
    kafka: &lab::Kafka,
    topic: &str,
    group: &str,
    quiet: Duration,
) -> Result<usize> {
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[topic])?;
    let mut read = 0;
    while let Ok(message) = tokio::time::timeout(quiet, consumer.recv()).await {
        message?;
        read += 1;
    }
    if read > 0 {
        consumer.commit_consumer_state(CommitMode::Sync)?;
    }
    Ok(read)
}

#[tokio::test]
async fn second_group_reads_again() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka().await?;
        let topic = topic_with(&kafka, 10).await?;
        let first = read_and_commit(
            &kafka,
            &topic,
            &lab::unique_name("a"),
            Duration::from_secs(10),
        )
        .await?;
        assert_eq!(first, 10, "group A should read all 10 records");
        let second = read_and_commit(
            &kafka,
            &topic,
            &lab::unique_name("b"),
            Duration::from_secs(10),
        )
        .await?;
        assert_key(CHAPTER, "second_group_reads_again", second);
        Ok(())
    })
    .await
}

/// The offset `group` has committed for partition 0 of `topic`.
async fn committed(kafka: &lab::Kafka, topic: &str, group: &str) -> Result<Option<i64>> {
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

#[tokio::test]
async fn committed_offset_after_processing() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka().await?;
        let topic = topic_with(&kafka, 10).await?;
        let group = lab::unique_name("group");
        let consumer: StreamConsumer = kafka
            .client_config()
            .set("group.id", &group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()?;
        consumer.subscribe(&[topic.as_str()])?;
        // Process offsets 0..=4, then commit the last one processed.
        for expected in 0..5 {
            let message = lab::within(WAIT, "a record", consumer.recv()).await??;
            assert_eq!(message.offset(), expected);
            if expected == 4 {
                consumer.commit_message(&message, CommitMode::Sync)?;
            }
        }
        let offset = committed(&kafka, &topic, &group).await?.unwrap_or(-1);
        assert_key(CHAPTER, "committed_offset_after_processing", offset);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn idle_consumers() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka().await?;
        let topic = lab::unique_name("orders");
        kafka.create_topic(&topic, 3, 1).await?;
        let group = lab::unique_name("group");
        let mut consumers = Vec::new();
        let mut pollers = Vec::new();
        for _ in 0..4 {
            let consumer: Arc<StreamConsumer> = Arc::new(
                kafka
                    .client_config()
                    .set("group.id", &group)
                    .set("auto.offset.reset", "earliest")
                    .create()?,
            );
            consumer.subscribe(&[topic.as_str()])?;
            // A consumer takes part in rebalances only while it is polled.
            let polled = Arc::clone(&consumer);
            pollers.push(tokio::spawn(async move {
                loop {
                    let _ = polled.recv().await;
                }
            }));
            consumers.push(consumer);
        }
        let admin: BaseConsumer = kafka.client_config().create()?;
        let admin = Arc::new(admin);
        // Wait until the group is stable with all four members and the three
        // partitions are assigned.
        let idle = lab::within(
            Duration::from_secs(90),
            "the group to settle with 4 members",
            async {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let (admin, name) = (Arc::clone(&admin), group.clone());
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
                    .await??;
                    let counts: Vec<usize> = consumers
                        .iter()
                        .map(|c| c.assignment().map(|a| a.count()).unwrap_or(0))
                        .collect();
                    if groups == [("Stable".to_string(), 4)]
                        && counts.iter().sum::<usize>() == 3
                    {
                        return anyhow::Ok(counts.iter().filter(|&&n| n == 0).count());
                    }
                }
            },
        )
        .await;
        for poller in pollers {
            poller.abort();
        }
        assert_key(CHAPTER, "idle_consumers", idle??);
        Ok(())
    })
    .await
}

/// Runs the crash consumer in `mode` on a topic of 10 records, kills it while it is
/// processing `record-3` and after several automatic commits, and returns whether
/// the group then delivers `record-3` again.
async fn record_three_redelivered(mode: &str) -> Result<bool> {
    let kafka = lab::kafka().await?;
    let topic = topic_with(&kafka, 10).await?;
    let group = lab::unique_name("group");
    let mut command =
        std::process::Command::new(env!("CARGO_BIN_EXE_kafka_crash_consumer"));
    command
        .args([
            mode.to_string(),
            kafka.bootstrap_servers(),
            topic.clone(),
            group.clone(),
        ])
        .stdout(Stdio::piped());
    let mut child = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let reached = lab::within(Duration::from_secs(60), "`processing record-3`", async {
        while let Some(line) = lines.next_line().await? {
            if line == "processing record-3" {
                return anyhow::Ok(());
            }
        }
        anyhow::bail!("the consumer process ended first")
    })
    .await;
    if !matches!(reached, Ok(Ok(()))) {
        child.start_kill()?;
        child.wait().await?;
        anyhow::bail!("the crash consumer never reached record-3: {reached:?}");
    }
    // auto.commit.interval.ms is 500: several commits happen meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;
    child.start_kill()?; // SIGKILL
    child.wait().await?;
    // Resume the group's partition from its committed offset.
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", &group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(&topic, 0);
    consumer.assign(&partitions)?;
    let message = lab::within(WAIT, "the group's next record", consumer.recv()).await??;
    Ok(message.payload() == Some(b"record-3".as_slice()))
}

#[tokio::test]
async fn auto_store_kill_redelivers() -> Result<()> {
    bounded(async {
        let again = record_three_redelivered("auto-store").await?;
        assert_key(CHAPTER, "auto_store_kill_redelivers", again);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn manual_store_kill_redelivers() -> Result<()> {
    bounded(async {
        let again = record_three_redelivered("manual-store").await?;
        assert_key(CHAPTER, "manual_store_kill_redelivers", again);
        Ok(())
    })
    .await
}

//! Proofs of chapter 13's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's Kafka 4.1.1
//! with rdkafka 0.39 (librdkafka 2.12, classic group protocol) and asserts it equals
//! the key in `book/quizzes/13_consumer_groups.toml`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use lab::kafka::steps::{
    WAIT, committed, first_on_resume, group_state, read_and_commit,
    records_before_marker, topic_with,
};
use proofs::proof;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;

const CHAPTER: &str = "13_consumer_groups";

/// Counts what a consumer of a new group receives before a marker produced after
/// it joined; `reset` is its `auto.offset.reset`, or rdkafka's default if `None`.
async fn seen_before_joining(
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
    records_before_marker(&consumer, &producer, topic).await
}

proof!(default_reset_reads_old_records, async {
    let kafka = lab::kafka().await?;
    let topic = topic_with(&kafka, "events", 10).await?;
    let seen = seen_before_joining(&kafka, &topic, None).await?;
    Ok(seen)
});

proof!(earliest_reads_old_records, async {
    let kafka = lab::kafka().await?;
    let topic = topic_with(&kafka, "events", 10).await?;
    let seen = seen_before_joining(&kafka, &topic, Some("earliest")).await?;
    Ok(seen)
});

proof!(second_group_reads_again, async {
    let kafka = lab::kafka().await?;
    let topic = topic_with(&kafka, "events", 10).await?;
    let quiet = Duration::from_secs(10);
    let (a, b) = (lab::unique_name("a"), lab::unique_name("b"));
    let first = read_and_commit(&kafka, &topic, &a, usize::MAX, quiet).await?;
    assert_eq!(first.len(), 10, "group A should read all 10 records");
    let second = read_and_commit(&kafka, &topic, &b, usize::MAX, quiet).await?;
    Ok(second.len())
});

proof!(committed_offset_after_processing, async {
    let kafka = lab::kafka().await?;
    let topic = topic_with(&kafka, "events", 10).await?;
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
    let offset = committed(&kafka, &topic, &group, 0).await?.unwrap_or(-1);
    Ok(offset)
});

proof!(idle_consumers, async {
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
    // Wait until the group is stable with all four members and the three
    // partitions are assigned.
    let idle = lab::within(
        Duration::from_secs(90),
        "the group to settle with 4 members",
        async {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let state = group_state(&kafka, &group).await?;
                let counts: Vec<usize> = consumers
                    .iter()
                    .map(|c| c.assignment().map(|a| a.count()).unwrap_or(0))
                    .collect();
                if state == Some(("Stable".to_string(), 4))
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
    idle?
});

/// Runs the crash consumer in `mode` on a topic of 10 records, kills it while it is
/// processing `record-3` and after several automatic commits, and returns whether
/// the group then delivers `record-3` again.
async fn record_three_redelivered(mode: &str) -> Result<bool> {
    let kafka = lab::kafka().await?;
    let topic = topic_with(&kafka, "events", 10).await?;
    let group = lab::unique_name("group");
    let args = [
        mode.to_string(),
        kafka.bootstrap_servers(),
        topic.clone(),
        group.clone(),
    ];
    let mut consumer =
        lab::ClientProcess::spawn(env!("CARGO_BIN_EXE_kafka_crash_consumer"), args)?;
    consumer
        .line_containing("processing record-3", Duration::from_secs(60))
        .await?;
    // auto.commit.interval.ms is 500: several commits happen meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;
    consumer.kill().await?; // SIGKILL
    let next = first_on_resume(&kafka, &topic, &group).await?;
    Ok(next.value == "record-3")
}

proof!(auto_store_kill_redelivers, async {
    let again = record_three_redelivered("auto-store").await?;
    Ok(again)
});

proof!(manual_store_kill_redelivers, async {
    let again = record_three_redelivered("manual-store").await?;
    Ok(again)
});

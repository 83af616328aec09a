//! Proofs of chapter 13's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's Kafka 4.1.1
//! with rdkafka 0.39 (librdkafka 2.12, classic group protocol) and asserts it equals
//! the key in `book/quizzes/13_consumer_groups.toml`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use lab::kafka::steps::{
    WAIT, committed, first_on_resume, group_assignment, group_state, read_and_commit,
    records_before_marker, topic_with,
};
use proofs::proof;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use rdkafka::{Message, Offset, TopicPartitionList};

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
    // Wait for the state the question names: the coordinator reports the group
    // Stable with all four members. Only then read the assignment the group
    // leader made, member by member, from the coordinator's description.
    let settled = lab::until(
        Duration::from_secs(90),
        "the group to be Stable with 4 members",
        Duration::from_millis(250),
        || async {
            let state = group_state(&kafka, &group).await.map_err(|e| {
                lab::LabError::step("describing the group", format!("{e:#}"))
            })?;
            Ok(state == Some(("Stable".to_string(), 4)))
        },
    )
    .await;
    let assignment = group_assignment(&kafka, &group).await;
    for poller in pollers {
        poller.abort();
    }
    settled?;
    let (state, partitions) = assignment?.context("the group is gone")?;
    println!("group {state}: partitions per member {partitions:?}");
    assert_eq!(partitions.len(), 4, "four members");
    assert_eq!(
        partitions.iter().sum::<usize>(),
        3,
        "the group assigns each of the 3 partitions to one member"
    );
    Ok(partitions.iter().filter(|&&n| n == 0).count())
});

/// Runs the crash consumer in `mode` on a topic of 10 records, kills it (SIGKILL)
/// while it is processing `record-3`, once the group's committed offset has stopped
/// moving (its automatic commits, every 500 ms, went on meanwhile), and returns the
/// group's committed offset and the record the group resumes at.
async fn kill_while_processing_record_three(mode: &str) -> Result<(Option<i64>, String)> {
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
    // The state the question names: automatic commits happened while record-3
    // was being processed. Wait until the committed offset covers records 0..=2
    // and has not moved for four commit intervals.
    let mut last = None;
    let mut stable_since = std::time::Instant::now();
    lab::within(
        Duration::from_secs(30),
        "the automatic commits to settle",
        async {
            loop {
                let now = committed(&kafka, &topic, &group, 0).await?;
                if now != last {
                    last = now;
                    stable_since = std::time::Instant::now();
                }
                if last.is_some_and(|offset| offset >= 3)
                    && stable_since.elapsed() >= Duration::from_secs(2)
                {
                    return anyhow::Ok(());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        },
    )
    .await??;
    consumer.kill().await?; // SIGKILL
    let next = first_on_resume(&kafka, &topic, &group).await?;
    Ok((last, next.value))
}

proof!(auto_store_kill_redelivers, async {
    let (committed, resumed) = kill_while_processing_record_three("auto-store").await?;
    // The mechanism: the offset of record-3 was stored (and committed) when the
    // record was handed over, so the group committed 4 and resumes after it.
    assert_eq!(committed, Some(4), "the group committed past record-3");
    assert_eq!(
        resumed, "record-4",
        "the group resumes at the committed offset"
    );
    Ok(resumed == "record-3")
});

proof!(manual_store_kill_redelivers, async {
    let (committed, resumed) = kill_while_processing_record_three("manual-store").await?;
    // The mechanism: only records 0..=2 were stored, so the group committed 3.
    assert_eq!(committed, Some(3), "the group committed up to record-3");
    Ok(resumed == "record-3")
});

/// One way of marking the record at offset 4 of partition 0 done.
#[derive(Debug, Clone, Copy)]
enum Mark {
    StoreOffset,
    StoreOffsetFromMessage,
    StoreOffsets,
    CommitMessage,
}

proof!(who_adds_the_one, async {
    let kafka = lab::kafka().await?;
    let topic = topic_with(&kafka, "events", 10).await?;
    let marks = [
        ("`store_offset(topic, 0, 4)`", Mark::StoreOffset),
        (
            "`store_offset_from_message(&message)`",
            Mark::StoreOffsetFromMessage,
        ),
        (
            "`store_offsets(&list)`, the list holding partition 0 at `Offset::Offset(4)`",
            Mark::StoreOffsets,
        ),
        (
            "`commit_message(&message, CommitMode::Sync)`",
            Mark::CommitMessage,
        ),
    ];
    let mut leave_five = Vec::new();
    for (option, mark) in marks {
        let group = lab::unique_name("group");
        let consumer: StreamConsumer = kafka
            .client_config()
            .set("group.id", &group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .create()?;
        let mut partitions = TopicPartitionList::new();
        partitions.add_partition(&topic, 0);
        consumer.assign(&partitions)?;
        let message = loop {
            let message =
                lab::within(WAIT, "the record at offset 4", consumer.recv()).await??;
            if message.offset() == 4 {
                break message;
            }
        };
        match mark {
            Mark::StoreOffset => consumer.store_offset(&topic, 0, 4)?,
            Mark::StoreOffsetFromMessage => {
                consumer.store_offset_from_message(&message)?
            }
            Mark::StoreOffsets => {
                let mut list = TopicPartitionList::new();
                list.add_partition_offset(&topic, 0, Offset::Offset(4))?;
                consumer.store_offsets(&list)?;
            }
            Mark::CommitMessage => consumer.commit_message(&message, CommitMode::Sync)?,
        }
        if !matches!(mark, Mark::CommitMessage) {
            consumer.commit_consumer_state(CommitMode::Sync)?;
        }
        let offset = committed(&kafka, &topic, &group, 0).await?;
        println!("{option}: committed {offset:?}");
        // The mechanism: each call commits either the record's own offset or the next.
        assert!(
            matches!(offset, Some(4) | Some(5)),
            "{option} left {offset:?}"
        );
        if offset == Some(5) {
            leave_five.push(option);
        }
    }
    Ok(leave_five)
});

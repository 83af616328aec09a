//! Proofs of chapter 17's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's Kafka 4.1.1
//! with rdkafka 0.39 (librdkafka 2.12, classic group protocol unless it says
//! otherwise) and asserts it equals the key in `book/quizzes/17_stream_processing.toml`.
//! The two rebalance proofs also print what the rebalance cost the first member
//! (run them with `-- --nocapture`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lab::kafka::steps::{
    WAIT, commit_offset, committed, group_consumer, group_state, lag, produce_at,
    read_and_commit, records_before_marker, topic_with,
};
use proofs::proof;
use rdkafka::consumer::{
    BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::producer::FutureProducer;
use rdkafka::{ClientContext, Message, Timestamp};

const CHAPTER: &str = "17_stream_processing";

/// 2020-09-13 12:26:40 UTC, in milliseconds: an event time long before the proof runs.
const EVENT_TIME: i64 = 1_600_000_000_000;

proof!(lag_is_end_minus_committed, async {
    let kafka = lab::kafka().await?;
    let topic = topic_with(&kafka, "clicks", 10).await?;
    let group = lab::unique_name("counter");
    // The group processed offsets 0..=5: its committed offset is 6, the next to read.
    commit_offset(&kafka, &topic, &group, 0, 6).await?;
    // Lag needs no running member: two numbers the brokers keep.
    let members = group_state(&kafka, &group).await?.map_or(0, |(_, n)| n);
    assert_eq!(members, 0, "the group should have no running member");
    assert_eq!(committed(&kafka, &topic, &group, 0).await?, Some(6));
    lag(&kafka, &topic, &group, 0).await
});

/// A topic of 10 records that `group` has read and committed to the end.
async fn read_to_the_end(kafka: &lab::Kafka) -> Result<(String, String)> {
    let topic = topic_with(kafka, "clicks", 10).await?;
    let group = lab::unique_name("counter");
    let quiet = Duration::from_secs(3);
    let read = read_and_commit(kafka, &topic, &group, 10, quiet).await?;
    assert_eq!(read.len(), 10, "the group should read all 10 records");
    assert_eq!(committed(kafka, &topic, &group, 0).await?, Some(10));
    Ok((topic, group))
}

/// How many records a new member of `group` (with `auto.offset.reset=earliest`)
/// receives before a marker produced after it joined.
async fn replayed(kafka: &lab::Kafka, topic: &str, group: &str) -> Result<usize> {
    let consumer = group_consumer(kafka, group)?;
    consumer.subscribe(&[topic])?;
    let producer: FutureProducer = kafka.client_config().create()?;
    records_before_marker(&consumer, &producer, topic).await
}

proof!(earliest_does_not_replay, async {
    let kafka = lab::kafka().await?;
    let (topic, group) = read_to_the_end(&kafka).await?;
    replayed(&kafka, &topic, &group).await
});

proof!(reset_offsets_replays, async {
    let kafka = lab::kafka().await?;
    let (topic, group) = read_to_the_end(&kafka).await?;
    // What `kafka-consumer-groups.sh --reset-offsets --to-earliest --execute` does,
    // with the group stopped: commit the log's first offset for it.
    commit_offset(&kafka, &topic, &group, 0, 0).await?;
    replayed(&kafka, &topic, &group).await
});

/// The timestamp of the first record of partition 0 of `topic`, read from the start.
async fn first_timestamp(kafka: &lab::Kafka, topic: &str) -> Result<Timestamp> {
    let consumer = lab::kafka::steps::reader(kafka)?;
    consumer.subscribe(&[topic])?;
    let message = lab::within(WAIT, "the event", consumer.recv()).await??;
    Ok(message.timestamp())
}

proof!(create_time_is_the_producers, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("clicks");
    kafka.create_topic(&topic, 1, 1).await?;
    produce_at(&kafka, &topic, &[("alice", EVENT_TIME)]).await?;
    match first_timestamp(&kafka, &topic).await? {
        Timestamp::CreateTime(millis) => Ok(millis),
        other => {
            anyhow::bail!("the record's timestamp should be a CreateTime, not {other:?}")
        }
    }
});

proof!(log_append_time_replaces_it, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("clicks");
    let settings = [("message.timestamp.type", "LogAppendTime")];
    kafka.create_topic_with(&topic, 1, 1, &settings).await?;
    let before = now_millis()?;
    produce_at(&kafka, &topic, &[("alice", EVENT_TIME)]).await?;
    let kept = match first_timestamp(&kafka, &topic).await? {
        Timestamp::LogAppendTime(millis) => {
            // The broker's clock at the append, not the producer's 2020.
            assert!(
                millis >= before - 5_000,
                "a LogAppendTime of {millis} is not the append's"
            );
            millis == EVENT_TIME
        }
        other => anyhow::bail!(
            "the record's timestamp should be a LogAppendTime, not {other:?}"
        ),
    };
    Ok(kept)
});

fn now_millis() -> Result<i64> {
    let elapsed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    Ok(i64::try_from(elapsed.as_millis())?)
}

/// What one member's assignment was after each rebalance callback, and when.
#[derive(Clone, Default)]
struct Recorder {
    /// (when, partitions held afterwards, partitions revoked by this callback).
    log: Arc<Mutex<Vec<(Instant, usize, usize)>>>,
}

impl Recorder {
    fn entries(&self) -> Vec<(Instant, usize, usize)> {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }
}

impl ClientContext for Recorder {}

impl ConsumerContext for Recorder {
    // rdkafka calls this after it applied the (incremental) assign or unassign.
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let revoked = match rebalance {
            Rebalance::Revoke(list) => list.count(),
            _ => 0,
        };
        let held = consumer.assignment().map_or(0, |list| list.count());
        if let Ok(mut log) = self.log.lock() {
            log.push((Instant::now(), held, revoked));
        }
    }
}

/// Not an assignment strategy: the new consumer group protocol (KIP-848).
const CONSUMER_PROTOCOL: &str = "group.protocol=consumer";

/// A member of `group` on `topic` with `strategy` (or [`CONSUMER_PROTOCOL`]), polled in the background (the
/// callbacks run inside `recv`); its recorder; and the task, to abort.
fn member(
    kafka: &lab::Kafka,
    topic: &str,
    group: &str,
    strategy: &str,
) -> Result<(Recorder, tokio::task::JoinHandle<()>)> {
    let recorder = Recorder::default();
    let mut config = kafka.client_config();
    config.set("group.id", group);
    if strategy == CONSUMER_PROTOCOL {
        // KIP-848: the broker assigns (its `uniform` assignor by default) and sets
        // the heartbeat interval (`group.consumer.heartbeat.interval.ms`, 5 s);
        // librdkafka refuses the classic protocol's settings with it.
        config.set("group.protocol", "consumer");
    } else {
        config
            .set("partition.assignment.strategy", strategy)
            // A member learns of a rebalance from a heartbeat's answer: every 3 s
            // by default; 500 ms here so the proof is quick (and the numbers smaller).
            .set("heartbeat.interval.ms", "500")
            .set("session.timeout.ms", "6000");
    }
    let consumer: StreamConsumer<Recorder> = config
        .create_with_context(recorder.clone())
        .with_context(|| format!("creating a {strategy} member"))?;
    consumer.subscribe(&[topic])?;
    let polling = tokio::spawn(async move {
        loop {
            let _ = consumer.recv().await;
        }
    });
    Ok((recorder, polling))
}

/// What the first member of a group of one saw when a second member joined: how
/// many partitions it had revoked, and how long it held none (zero if never).
async fn second_member_joins(strategy: &str) -> Result<(usize, Duration)> {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("clicks");
    kafka.create_topic(&topic, 4, 1).await?;
    let group = lab::unique_name("counter");
    let (first, first_task) = member(&kafka, &topic, &group, strategy)?;
    let holds = |recorder: &Recorder, n: usize| {
        let recorder = recorder.clone();
        move || {
            let held = recorder.entries().last().map(|e| e.1);
            async move { Ok(held == Some(n)) }
        }
    };
    lab::until(
        WAIT,
        "the first member to hold all 4 partitions",
        Duration::from_millis(50),
        holds(&first, 4),
    )
    .await?;
    let joined_at = Instant::now();
    let before = first.entries().len();
    let (second, second_task) = member(&kafka, &topic, &group, strategy)?;
    let settled = async {
        lab::until(
            WAIT,
            "the second member to hold 2 partitions",
            Duration::from_millis(50),
            holds(&second, 2),
        )
        .await?;
        lab::until(
            WAIT,
            "the first member to hold 2 partitions",
            Duration::from_millis(50),
            holds(&first, 2),
        )
        .await
    }
    .await;
    first_task.abort();
    second_task.abort();
    settled?;
    let after: Vec<(Instant, usize, usize)> = first.entries().split_off(before);
    let revoked = after.iter().map(|e| e.2).sum();
    // How long the first member held no partition: from the callback that left it
    // none to the next one that gave it some.
    let mut idle = Duration::ZERO;
    let mut empty_since = None;
    for (when, held, _) in &after {
        match (held, empty_since) {
            (0, None) => empty_since = Some(*when),
            (1.., Some(since)) => {
                idle += when.duration_since(since);
                empty_since = None;
            }
            _ => {}
        }
    }
    // The moving partitions: revoked from the first member, then held by nobody
    // until the second member's assignment of 2.
    let revoked_at = after.iter().find(|e| e.2 > 0).map(|e| e.0);
    let second_holds_at = second.entries().iter().find(|e| e.1 == 2).map(|e| e.0);
    let ms = |from: Instant, to: Option<Instant>| {
        to.map_or(-1, |to| {
            to.saturating_duration_since(from).as_millis() as i64
        })
    };
    println!(
        "{strategy}: the first member had {revoked} of 4 partitions revoked {} ms after the \
         second member subscribed and held none for {} ms; the moving partitions had no \
         owner for {} ms; the second member held its 2 partitions {} ms after it subscribed",
        ms(joined_at, revoked_at),
        idle.as_millis(),
        revoked_at.map_or(-1, |at| ms(at, second_holds_at)),
        ms(joined_at, second_holds_at),
    );
    Ok((revoked, idle))
}

proof!(eager_revokes_every_partition, async {
    let (revoked, idle) = second_member_joins("range").await?;
    assert!(
        idle > Duration::ZERO,
        "an eager member holds nothing between revoke and assign"
    );
    Ok(revoked)
});

proof!(cooperative_revokes_only_what_moves, async {
    let (revoked, idle) = second_member_joins("cooperative-sticky").await?;
    assert_eq!(
        idle,
        Duration::ZERO,
        "a cooperative member keeps 2 partitions throughout"
    );
    Ok(revoked)
});

proof!(consumer_protocol_revokes_only_what_moves, async {
    let (revoked, idle) = second_member_joins(CONSUMER_PROTOCOL).await?;
    assert_eq!(
        idle,
        Duration::ZERO,
        "a KIP-848 member keeps 2 partitions throughout"
    );
    Ok(revoked)
});

//! Proofs of chapter 16's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's Kafka 4.1.1
//! with rdkafka 0.39 (librdkafka 2.12) and asserts it equals the key in
//! `book/quizzes/16_event_sourcing.toml`.
//!
//! The log cleaner runs in the background: a proof waits (bounded) for the state
//! it needs, e.g. "the older values of key `a` are gone", and then observes.

use std::time::Duration;

use anyhow::{Context, Result};
use lab::kafka::steps::{Record, produce, produce_with, read_partition, until_read};
use proofs::proof;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};

const CHAPTER: &str = "16_event_sourcing";

/// A compacted topic the lab's log cleaner compacts within seconds: a new segment
/// every 100 ms, cleaned once 1% of the log is dirty; plus `extra` settings.
async fn compacted_topic(kafka: &lab::Kafka, extra: &[(&str, &str)]) -> Result<String> {
    let topic = lab::unique_name("compacted");
    let mut settings = vec![
        ("cleanup.policy", "compact"),
        ("segment.ms", "100"),
        ("min.cleanable.dirty.ratio", "0.01"),
    ];
    settings.extend_from_slice(extra);
    kafka.create_topic_with(&topic, 1, 1, &settings).await?;
    Ok(topic)
}

/// Produces `key`: `value` pairs in order, each acknowledged before the next.
async fn produce_pairs(
    kafka: &lab::Kafka,
    topic: &str,
    pairs: &[(&str, &str)],
) -> Result<()> {
    for (key, value) in pairs {
        produce(kafka, topic, key, &[value.to_string()]).await?;
    }
    Ok(())
}

/// A tombstone for `key`: the key with no payload at all.
async fn tombstone(kafka: &lab::Kafka, topic: &str, key: &str) -> Result<()> {
    let producer: FutureProducer = kafka.client_config().create()?;
    producer
        .send(
            FutureRecord::<str, str>::to(topic).key(key),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(error, _)| error)
        .context("producing a tombstone")?;
    Ok(())
}

/// Waits longer than `segment.ms` (100 ms), then appends a record of key `roll`:
/// the append starts a new segment, so everything before it is no longer in the
/// active segment and may be compacted.
async fn roll_segment(kafka: &lab::Kafka, topic: &str) -> Result<()> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    produce(kafka, topic, "roll", &["roll".to_string()]).await?;
    Ok(())
}

/// The records of `key` in `records`.
fn of_key<'a>(records: &'a [Record], key: &str) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.key.as_deref() == Some(key))
        .collect()
}

proof!(latest_value_keeps_its_offset, async {
    let kafka = lab::kafka().await?;
    let topic = compacted_topic(&kafka, &[]).await?;
    produce_pairs(
        &kafka,
        &topic,
        &[
            ("a", "a-0"),
            ("b", "b-0"),
            ("a", "a-1"),
            ("b", "b-1"),
            ("a", "a-2"),
        ],
    )
    .await?;
    roll_segment(&kafka, &topic).await?;
    let compacted = until_read(
        &kafka,
        &topic,
        Duration::from_secs(90),
        "the log cleaner to keep one record of key a",
        |records| of_key(records, "a").len() == 1,
    )
    .await?;
    let a = of_key(&compacted, "a");
    assert_eq!(
        a[0].value, "a-2",
        "compaction keeps the latest value of a key"
    );
    let offsets: Vec<i64> = compacted.iter().map(|r| r.offset).collect();
    assert!(
        offsets.is_sorted(),
        "records stay in offset order: {offsets:?}"
    );
    println!("after compaction: {offsets:?}");
    Ok(a[0].offset)
});

/// Whether the log cleaner removed the first of two records of key `a` in `topic`.
async fn compacted(kafka: &lab::Kafka, topic: &str) -> Result<bool> {
    Ok(of_key(&read_partition(kafka, topic, 0).await?, "a").len() < 2)
}

proof!(which_topics_compact, async {
    let kafka = lab::kafka().await?;
    // Each option of the question and its topic's settings.
    let options: [(&str, &[(&str, &str)]); 5] = [
        (
            "compact, segment.ms=100, min.cleanable.dirty.ratio=0.01",
            &[
                ("cleanup.policy", "compact"),
                ("segment.ms", "100"),
                ("min.cleanable.dirty.ratio", "0.01"),
            ],
        ),
        (
            "compact, segment.ms=100, min.cleanable.dirty.ratio left at its default",
            &[("cleanup.policy", "compact"), ("segment.ms", "100")],
        ),
        (
            "compact, segment settings left at their defaults",
            &[
                ("cleanup.policy", "compact"),
                ("min.cleanable.dirty.ratio", "0.01"),
            ],
        ),
        (
            "delete, segment.ms=100",
            &[("cleanup.policy", "delete"), ("segment.ms", "100")],
        ),
        (
            "compact, segment.ms=100, min.cleanable.dirty.ratio=0.01, min.compaction.lag.ms=3600000",
            &[
                ("cleanup.policy", "compact"),
                ("segment.ms", "100"),
                ("min.cleanable.dirty.ratio", "0.01"),
                ("min.compaction.lag.ms", "3600000"),
            ],
        ),
    ];
    let mut topics = Vec::new();
    for (option, settings) in options {
        let topic = lab::unique_name("cleanup");
        kafka.create_topic_with(&topic, 1, 1, settings).await?;
        topics.push((option, topic));
    }
    let (fast, default_ratio) = (&topics[0].1, &topics[1].1);
    for (_, topic) in &topics {
        produce_pairs(&kafka, topic, &[("a", "a-0"), ("a", "a-1")]).await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (_, topic) in &topics {
        produce(&kafka, topic, "roll", &["roll".to_string()]).await?;
    }
    // The first topic is the control: once the cleaner has compacted it, and the
    // second (which should compact on its first pass too), has had its chance,
    // observe all five. (Bounded: 90 s; a topic that did not compact is observed
    // as such.)
    let _ = lab::within(
        Duration::from_secs(90),
        "the two topics expected to compact",
        async {
            while !(compacted(&kafka, fast).await?
                && compacted(&kafka, default_ratio).await?)
            {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            anyhow::Ok(())
        },
    )
    .await;
    anyhow::ensure!(
        compacted(&kafka, fast).await?,
        "the control topic never compacted in 90 s"
    );
    let mut held = Vec::new();
    for (option, topic) in &topics {
        let done = compacted(&kafka, topic).await?;
        println!("{option}: compacted {done}");
        if done {
            held.push(*option);
        }
    }
    Ok(held)
});

proof!(tombstone_is_delivered, async {
    let kafka = lab::kafka().await?;
    let topic = compacted_topic(&kafka, &[]).await?;
    produce_pairs(&kafka, &topic, &[("a", "a-0"), ("b", "b-0")]).await?;
    tombstone(&kafka, &topic, "a").await?;
    roll_segment(&kafka, &topic).await?;
    // Compacted: the value a-0 is gone, replaced by the later tombstone.
    let compacted = until_read(
        &kafka,
        &topic,
        Duration::from_secs(90),
        "the log cleaner to remove a's value",
        |records| of_key(records, "a").len() == 1,
    )
    .await?;
    let a = of_key(&compacted, "a");
    println!("key a after compaction: {a:?}");
    // `delete.retention.ms` is at its default (24 h), so the tombstone is kept:
    // a replaying consumer receives key a with no payload at all.
    let seen = match a.as_slice() {
        [] => "Nothing: the tombstone deleted key `a` and itself",
        [r] if r.tombstone && r.offset == 2 => {
            "A record of key `a` with no payload (the tombstone), at its original offset"
        }
        [r] if r.value.is_empty() => {
            "A record of key `a` with an empty string as its value"
        }
        _ => "The value `a` had before the tombstone",
    };
    Ok(vec![seen])
});

proof!(tombstone_eventually_vanishes, async {
    let kafka = lab::kafka().await?;
    let topic = compacted_topic(&kafka, &[("delete.retention.ms", "100")]).await?;
    produce_pairs(&kafka, &topic, &[("a", "a-0"), ("b", "b-0")]).await?;
    tombstone(&kafka, &topic, "a").await?;
    // The cleaner removes a's value on one pass and records when the tombstone may
    // go (now + delete.retention.ms); a later pass removes it. Later passes need
    // new dirty segments: keep appending, one record per segment, while waiting.
    let producer: FutureProducer = kafka.client_config().create()?;
    let mut filler = 0;
    let mut seen_tombstone = false;
    let gone = lab::within(Duration::from_secs(120), "key a to vanish", async {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            produce_with(&producer, &topic, "filler", &[format!("filler-{filler}")])
                .await?;
            filler += 1;
            let records = read_partition(&kafka, &topic, 0).await?;
            let a = of_key(&records, "a");
            seen_tombstone |= a.len() == 1 && a[0].tombstone;
            if a.is_empty() {
                return anyhow::Ok(());
            }
        }
    })
    .await;
    println!("tombstone seen alone first: {seen_tombstone}; {filler} filler records");
    Ok(matches!(gone, Ok(Ok(()))))
});

proof!(keyless_record_rejected, async {
    let kafka = lab::kafka().await?;
    let topic = compacted_topic(&kafka, &[]).await?;
    let producer: FutureProducer = kafka.client_config().create()?;
    let sent = producer
        .send(
            FutureRecord::<str, str>::to(&topic).payload("no key"),
            Duration::from_secs(30),
        )
        .await;
    let rejected = match sent {
        Ok(_) => false,
        Err((KafkaError::MessageProduction(RDKafkaErrorCode::InvalidRecord), _)) => true,
        Err((error, _)) => anyhow::bail!("an unexpected error: {error}"),
    };
    let stored = read_partition(&kafka, &topic, 0).await?;
    println!("rejected: {rejected}; stored: {stored:?}");
    let seen = if rejected && stored.is_empty() {
        "The broker rejects it: the delivery fails with `InvalidRecord` and nothing is stored"
    } else {
        "It is stored and kept forever: compaction only removes records that have a key"
    };
    Ok(vec![seen])
});

proof!(compaction_is_not_immediate, async {
    let kafka = lab::kafka().await?;
    let topic = compacted_topic(&kafka, &[]).await?;
    // Five values of one key, sent together, then read at once.
    let producer: FutureProducer = kafka.client_config().create()?;
    let values: Vec<String> = (0..5).map(|i| format!("a-{i}")).collect();
    let sends = values.iter().map(|value| {
        producer.send(
            FutureRecord::to(&topic).key("a").payload(value),
            Duration::from_secs(30),
        )
    });
    for delivery in futures::future::join_all(sends).await {
        delivery.map_err(|(error, _)| error)?;
    }
    let records = read_partition(&kafka, &topic, 0).await?;
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(
        offsets,
        (0..records.len() as i64).collect::<Vec<_>>(),
        "no gaps"
    );
    Ok(records.len())
});

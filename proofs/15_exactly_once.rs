//! Proofs of chapter 15's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's Kafka 4.1.1
//! with rdkafka 0.39 (librdkafka 2.12) and asserts it equals the key in
//! `book/quizzes/15_exactly_once.toml`.

use std::time::Duration;

use anyhow::{Context, Result};
use lab::kafka::steps::{
    WAIT, committed, group_consumer, numbered, produce, produce_in_transaction,
    produce_with, read_isolated, transactional_producer,
};
use proofs::proof;
use rdkafka::consumer::Consumer;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::Producer;
use rdkafka::{Message, Offset, TopicPartitionList};

const CHAPTER: &str = "15_exactly_once";

/// How long a reader waits for one more record before it stops.
const QUIET: Duration = Duration::from_secs(2);

/// A new one-partition topic.
async fn topic(kafka: &lab::Kafka, prefix: &str) -> Result<String> {
    let topic = lab::unique_name(prefix);
    kafka.create_topic(&topic, 1, 1).await?;
    Ok(topic)
}

/// A topic holding a transaction of 3 records, aborted, then one of 2, committed.
async fn aborted_then_committed(kafka: &lab::Kafka) -> Result<String> {
    let topic = topic(kafka, "txn").await?;
    let producer = transactional_producer(kafka, &lab::unique_name("txn"), &[])?;
    produce_in_transaction(&producer, &topic, "k", &numbered("aborted", 3), false)
        .await?;
    produce_in_transaction(&producer, &topic, "k", &numbered("committed", 2), true)
        .await?;
    Ok(topic)
}

proof!(aborted_records_hidden, async {
    let kafka = lab::kafka().await?;
    let topic = aborted_then_committed(&kafka).await?;
    let seen = read_isolated(&kafka, &topic, "read_committed", 10, QUIET).await?;
    let values: Vec<&str> = seen.iter().map(|r| r.value.as_str()).collect();
    anyhow::ensure!(
        values == ["committed-0", "committed-1"],
        "read_committed saw {values:?}"
    );
    // The aborted records are still in the log: offsets 0..=2, the marker at 3.
    anyhow::ensure!(seen[0].offset == 4, "committed-0 at {}", seen[0].offset);
    Ok(seen.len())
});

proof!(read_uncommitted_sees_aborted, async {
    let kafka = lab::kafka().await?;
    let topic = aborted_then_committed(&kafka).await?;
    let seen = read_isolated(&kafka, &topic, "read_uncommitted", 10, QUIET).await?;
    let aborted = seen
        .iter()
        .filter(|r| r.value.starts_with("aborted"))
        .count();
    anyhow::ensure!(aborted == 3, "read_uncommitted saw {seen:?}");
    Ok(seen.len())
});

proof!(abort_marker_takes_an_offset, async {
    let kafka = lab::kafka().await?;
    let topic = topic(&kafka, "markers").await?;
    let producer = transactional_producer(&kafka, &lab::unique_name("txn"), &[])?;
    let aborted =
        produce_in_transaction(&producer, &topic, "k", &numbered("aborted", 3), false)
            .await?;
    anyhow::ensure!(
        aborted.iter().map(|(_, o)| *o).collect::<Vec<_>>() == [0, 1, 2],
        "the aborted records were at {aborted:?}"
    );
    let reports =
        produce_in_transaction(&producer, &topic, "k", &numbered("committed", 1), true)
            .await?;
    let seen = read_isolated(&kafka, &topic, "read_committed", 10, QUIET).await?;
    anyhow::ensure!(
        seen.len() == 1 && seen[0].offset == reports[0].1,
        "read_committed saw {seen:?}, the delivery report said {reports:?}"
    );
    // Its commit marker takes the next offset: the high watermark is 6.
    let (_, high) = lab::kafka::steps::watermarks(&kafka, &topic, 0).await?;
    anyhow::ensure!(high == 6, "high watermark {high}");
    Ok(reports[0].1)
});

proof!(zombie_is_fenced, async {
    let kafka = lab::kafka().await?;
    let topic = topic(&kafka, "zombie").await?;
    let id = lab::unique_name("invoicer");
    let a = transactional_producer(&kafka, &id, &[])?;
    a.begin_transaction()?;
    produce_with(&a, &topic, "k", &["from-a".to_string()]).await?;
    // B's init_transactions succeeds: it fences A and aborts A's transaction.
    let b = transactional_producer(&kafka, &id, &[])?;
    let commit = a.commit_transaction(WAIT);
    println!("A's commit_transaction after B's init_transactions: {commit:?}");
    let fenced = match &commit {
        Err(error) => {
            let code = error.rdkafka_error_code();
            let fatal = matches!(error, rdkafka::error::KafkaError::Transaction(e) if e.is_fatal());
            println!("error code {code:?}, fatal: {fatal}");
            fatal
                && matches!(
                    code,
                    Some(RDKafkaErrorCode::Fenced | RDKafkaErrorCode::ProducerFenced)
                )
        }
        Ok(()) => false,
    };
    let seen = read_isolated(&kafka, &topic, "read_committed", 10, QUIET).await?;
    // B works: its own transaction commits.
    produce_in_transaction(&b, &topic, "k", &["from-b".to_string()], true).await?;
    let after = read_isolated(&kafka, &topic, "read_committed", 10, QUIET).await?;
    anyhow::ensure!(
        after.iter().map(|r| r.value.as_str()).collect::<Vec<_>>() == ["from-b"],
        "after B's commit, read_committed saw {after:?}"
    );
    Ok(vec![if fenced && seen.is_empty() {
        "A's commit fails (fenced), and its record never reaches a read_committed consumer"
    } else if commit.is_ok() {
        "A's transaction commits: its record was already acknowledged"
    } else {
        "something else"
    }])
});

proof!(open_transaction_holds_back, async {
    let kafka = lab::kafka().await?;
    let topic = topic(&kafka, "lso").await?;
    let producer = transactional_producer(&kafka, &lab::unique_name("txn"), &[])?;
    producer.begin_transaction()?;
    produce_with(&producer, &topic, "k", &["in-transaction".to_string()]).await?;
    produce(&kafka, &topic, "k", &["after".to_string()]).await?;
    // Both are in the log...
    let uncommitted = read_isolated(&kafka, &topic, "read_uncommitted", 2, QUIET).await?;
    anyhow::ensure!(
        uncommitted.len() == 2,
        "read_uncommitted saw {uncommitted:?}"
    );
    // ...but a read_committed reader stops at the open transaction.
    let while_open = read_isolated(&kafka, &topic, "read_committed", 2, QUIET).await?;
    producer.commit_transaction(WAIT)?;
    let after_commit = read_isolated(&kafka, &topic, "read_committed", 2, QUIET).await?;
    anyhow::ensure!(
        after_commit.len() == 2,
        "after the commit, read_committed saw {after_commit:?}"
    );
    Ok(while_open.iter().any(|r| r.value == "after"))
});

proof!(aborted_offsets_not_committed, async {
    let kafka = lab::kafka().await?;
    let input = topic(&kafka, "input").await?;
    let output = topic(&kafka, "output").await?;
    produce(&kafka, &input, "k", &numbered("record", 3)).await?;
    let group = lab::unique_name("billing");
    let consumer = group_consumer(&kafka, &group)?;
    consumer.subscribe(&[input.as_str()])?;
    let producer = transactional_producer(&kafka, &lab::unique_name("txn"), &[])?;
    // One round: read 0..=2, send the results and offset 3, then end it with `commit`.
    let round = async |commit: bool| -> Result<()> {
        producer.begin_transaction()?;
        for _ in 0..3 {
            let message = lab::within(WAIT, "an input record", consumer.recv()).await??;
            let value = String::from_utf8_lossy(message.payload().unwrap_or_default())
                .to_uppercase();
            produce_with(&producer, &output, "k", &[value]).await?;
        }
        let mut offsets = TopicPartitionList::new();
        offsets.add_partition_offset(&input, 0, Offset::Offset(3))?;
        let metadata = consumer.group_metadata().context("group metadata")?;
        producer.send_offsets_to_transaction(&offsets, &metadata, WAIT)?;
        if commit {
            producer.commit_transaction(WAIT)?;
        } else {
            producer.abort_transaction(WAIT)?;
        }
        Ok(())
    };
    round(false).await?;
    let after_abort = committed(&kafka, &input, &group, 0).await?;
    // The same round again, committed this time: then the offset is there.
    consumer.seek(&input, 0, Offset::Offset(0), WAIT)?;
    round(true).await?;
    let after_commit = committed(&kafka, &input, &group, 0).await?;
    anyhow::ensure!(
        after_commit == Some(3),
        "after the commit: {after_commit:?}"
    );
    Ok(after_abort.is_some())
});

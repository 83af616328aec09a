//! Checks for chapter 15 (do not modify): they run your transactional
//! consume-transform-produce step against the lab's Kafka, one of them in a
//! separate process that they kill in the middle of a transaction, and assert what
//! a `read_committed` consumer of the output sees and what the group committed.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::time::Duration;

use exactly_once::{consumer_config, transactional_producer, transform_batch};
use lab::kafka::steps::{
    committed, numbered, produce, produce_in_transaction, read_committed_values,
    read_isolated,
};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;

/// The transformer program of the package under test: the exercise builds
/// `transformer`, the solution `solution_transformer` (distinct names, so neither
/// can run the other's).
const TRANSFORMER: &str = match option_env!("CARGO_BIN_EXE_transformer") {
    Some(path) => path,
    None => match option_env!("CARGO_BIN_EXE_solution_transformer") {
        Some(path) => path,
        None => panic!("the package under test builds the transformer program"),
    },
};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a reader of the output waits for one more record before it stops.
const QUIET: Duration = Duration::from_secs(3);

/// Where chapter 15 explains consume-transform-produce.
const PIPELINE: &str = "see ch15 'Consume, transform, produce'";
/// Where chapter 15 explains read_committed.
const ISOLATION: &str = "see ch15 'What a consumer sees: isolation.level'";
/// Where chapter 15 explains fencing.
const FENCING: &str = "see ch15 'Zombies and fencing'";

/// `RECORD-0` .. `RECORD-<count-1>`: what the transformer makes of the input.
fn upper(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("RECORD-{i}")).collect()
}

/// A new input topic holding `count` records `record-0`.., a new output topic, a
/// new group and a new transactional id.
async fn pipeline(kafka: &lab::Kafka, count: usize) -> anyhow::Result<[String; 4]> {
    let input = lab::unique_name("orders");
    let output = lab::unique_name("invoices");
    kafka.create_topic(&input, 1, 1).await?;
    kafka.create_topic(&output, 1, 1).await?;
    if count > 0 {
        produce(kafka, &input, "k", &numbered("record", count)).await?;
    }
    Ok([
        input,
        output,
        lab::unique_name("billing"),
        lab::unique_name("invoicer"),
    ])
}

/// Your consumer in `group`, subscribed to `input`.
fn subscribed(
    kafka: &lab::Kafka,
    input: &str,
    group: &str,
) -> anyhow::Result<StreamConsumer> {
    let consumer: StreamConsumer =
        consumer_config(&kafka.bootstrap_servers(), group).create()?;
    consumer.subscribe(&[input])?;
    Ok(consumer)
}

/// Two batches of 3: the output holds each record once, transformed, in order,
/// and the group's committed offset is 6.
#[tokio::test]
async fn each_record_is_transformed_once() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "two transactions of 3 records", async {
        let kafka = lab::kafka().await?;
        let [input, output, group, id] = pipeline(&kafka, 6).await?;
        let producer = transactional_producer(&kafka.bootstrap_servers(), &id)?;
        let consumer = subscribed(&kafka, &input, &group)?;
        for batch in 0..2 {
            lab::within(
                Duration::from_secs(30),
                format!("transaction {} of 2 ({PIPELINE})", batch + 1),
                transform_batch(&consumer, &producer, &output, 3, async |p: &str| {
                    Ok(p.to_uppercase())
                }),
            )
            .await??;
        }
        let seen = read_committed_values(&kafka, &output, 10, QUIET).await?;
        assert_eq!(
            seen,
            upper(0, 6),
            "what a read_committed consumer of the output sees after two committed transactions ({PIPELINE})"
        );
        let offset = committed(&kafka, &input, &group, 0).await?;
        assert_eq!(
            offset,
            Some(6),
            "the group's committed offset after transforming offsets 0..=5 should be 6: send the consumer's offsets in the transaction ({PIPELINE})"
        );
        Ok(())
    })
    .await
}

/// The input itself was written with transactions: `a-0..a-2` committed, `x-0..x-2`
/// aborted, `a-3..a-5` committed. Only the six committed records may be
/// transformed.
#[tokio::test]
async fn aborted_input_is_never_transformed() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "an input with an aborted transaction", async {
        let kafka = lab::kafka().await?;
        let [input, output, group, id] = pipeline(&kafka, 0).await?;
        let upstream: FutureProducer = lab::kafka::steps::transactional_producer(
            &kafka,
            &lab::unique_name("upstream"),
            &[],
        )?;
        let values = |prefix: &str, from: usize| -> Vec<String> {
            (from..from + 3).map(|i| format!("{prefix}-{i}")).collect()
        };
        produce_in_transaction(&upstream, &input, "k", &values("a", 0), true).await?;
        produce_in_transaction(&upstream, &input, "k", &values("x", 0), false).await?;
        produce_in_transaction(&upstream, &input, "k", &values("a", 3), true).await?;
        let producer = transactional_producer(&kafka.bootstrap_servers(), &id)?;
        let consumer = subscribed(&kafka, &input, &group)?;
        lab::within(
            Duration::from_secs(30),
            format!("6 committed input records ({ISOLATION})"),
            transform_batch(&consumer, &producer, &output, 6, async |p: &str| {
                Ok(p.to_uppercase())
            }),
        )
        .await??;
        let seen = read_committed_values(&kafka, &output, 10, QUIET).await?;
        let expected: Vec<String> = ["A-0", "A-1", "A-2", "A-3", "A-4", "A-5"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            seen, expected,
            "the output of an input whose middle transaction (x-0 to x-2) was aborted: an aborted record reached the transformer, so its consumer reads uncommitted records ({ISOLATION})"
        );
        Ok(())
    })
    .await
}

/// The transformation fails once at `record-4` (in the second batch, 3..=5): that
/// transaction is aborted, the group's offset stays at 3, and the next call
/// transforms 3, 4, 5 again, so the output holds each record once.
#[tokio::test]
async fn a_failed_batch_is_aborted_and_retried() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a transformation that fails once", async {
        let kafka = lab::kafka().await?;
        let [input, output, group, id] = pipeline(&kafka, 9).await?;
        let producer = transactional_producer(&kafka.bootstrap_servers(), &id)?;
        let consumer = subscribed(&kafka, &input, &group)?;
        let mut failed_once = false;
        let mut results = Vec::new();
        for _ in 0..4 {
            let result = lab::within(
                Duration::from_secs(15),
                format!(
                    "call {} of 4 to read 3 records of 9 (after an abort, seek the consumer back to the batch's first record, or the aborted records are skipped and the input runs out) ({PIPELINE})",
                    results.len() + 1
                ),
                transform_batch(&consumer, &producer, &output, 3, async |p: &str| {
                    if p == "record-4" && !failed_once {
                        failed_once = true;
                        anyhow::bail!("the invoice service is down");
                    }
                    Ok(p.to_uppercase())
                }),
            )
            .await?;
            if results.len() == 1 {
                let offset = committed(&kafka, &input, &group, 0).await?;
                assert_eq!(
                    offset,
                    Some(3),
                    "after the second batch (record-3 to record-5) failed at record-4, the group's committed offset should still be 3, but it is {offset:?}: an offset committed outside the transaction survives its abort, so a crash now would skip record-3 ({PIPELINE})"
                );
            }
            results.push(result.is_ok());
        }
        assert_eq!(
            results,
            [true, false, true, true],
            "which of four calls succeeded: the second must return the transformation's error ({PIPELINE})"
        );
        let seen = read_committed_values(&kafka, &output, 20, QUIET).await?;
        assert_eq!(
            seen,
            upper(0, 9),
            "the output after the batch record-3 to record-5 failed once and was retried: after an abort, seek the consumer back to the batch's first record, or the next transaction skips the aborted ones ({PIPELINE})"
        );
        Ok(())
    })
    .await
}

/// A zombie: while the transformer is in the middle of a transaction, a second
/// instance with the same transactional id starts (`transactional_producer`).
/// The first must fail (fenced), and nothing it sent may reach a read_committed
/// consumer; the second then does the batch once.
#[tokio::test]
async fn a_fenced_zombie_commits_nothing() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a second transformer with the same id", async {
        let kafka = lab::kafka().await?;
        let [input, output, group, id] = pipeline(&kafka, 3).await?;
        let bootstrap = kafka.bootstrap_servers();
        let zombie = transactional_producer(&bootstrap, &id)?;
        let consumer = subscribed(&kafka, &input, &group)?;
        let mut successor = None;
        let outcome = lab::within(
            Duration::from_secs(30),
            format!("the first transformer's transaction ({FENCING})"),
            transform_batch(&consumer, &zombie, &output, 3, async |p: &str| {
                if p == "record-2" {
                    // The new instance starts while the old one is mid-transaction.
                    successor = Some(transactional_producer(&bootstrap, &id)?);
                }
                Ok(p.to_uppercase())
            }),
        )
        .await?;
        let seen = read_committed_values(&kafka, &output, 10, QUIET).await?;
        assert!(
            outcome.is_err() && seen.is_empty(),
            "the first transformer was replaced mid-transaction by one with the same transactional id, yet its transform_batch returned {outcome:?} and a read_committed consumer saw {seen:?}: the new instance's init_transactions must fence it (the same transactional.id in both) ({FENCING})"
        );
        drop(consumer);
        let successor = successor.expect("the transformation ran up to record-2");
        let consumer = subscribed(&kafka, &input, &group)?;
        lab::within(
            Duration::from_secs(30),
            format!("the new transformer's transaction ({FENCING})"),
            transform_batch(&consumer, &successor, &output, 3, async |p: &str| {
                Ok(p.to_uppercase())
            }),
        )
        .await??;
        let seen = read_committed_values(&kafka, &output, 10, QUIET).await?;
        assert_eq!(
            seen,
            upper(0, 3),
            "the output once the new transformer did the batch the fenced one could not commit ({FENCING})"
        );
        Ok(())
    })
    .await
}

/// The crash: a transformer process commits `record-0..2`, sends `RECORD-3` in its
/// second transaction, and is killed (SIGKILL) while transforming `record-4`. A
/// restarted transformer (same transactional id) must finish the 9 records, and a
/// read_committed consumer of the output must then see each record exactly once.
#[tokio::test]
async fn a_transformer_killed_mid_transaction() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "killing a transformer mid-transaction", async {
        let kafka = lab::kafka().await?;
        let [input, output, group, id] = pipeline(&kafka, 9).await?;
        let args = |stall: &str| {
            [
                kafka.bootstrap_servers(),
                input.clone(),
                output.clone(),
                group.clone(),
                id.clone(),
                stall.to_string(),
            ]
        };
        let mut first = lab::ClientProcess::spawn(TRANSFORMER, args("record-4"))?;
        if let Err(error) = first
            .line_containing("transforming record-4", Duration::from_secs(60))
            .await
        {
            anyhow::bail!(
                "the transformer never reached record-4 (it printed {:?}): {error}",
                first.lines_seen()
            );
        }
        // The window is real: RECORD-3 is in the output's log, uncommitted.
        let in_log = lab::within(
            Duration::from_secs(20),
            "RECORD-3 in the output's log (read_uncommitted)",
            async {
                loop {
                    let values: Vec<String> =
                        read_isolated(&kafka, &output, "read_uncommitted", 4, QUIET)
                            .await?
                            .into_iter()
                            .map(|r| r.value)
                            .collect();
                    if values.contains(&"RECORD-3".to_string()) {
                        return anyhow::Ok(values);
                    }
                }
            },
        )
        .await??;
        assert_eq!(in_log, upper(0, 4), "the output's log (read_uncommitted) while the transformer is stuck at record-4");
        first.kill().await?;
        let mut second = lab::ClientProcess::spawn(TRANSFORMER, args("-"))?;
        let finished = second.line_containing("finished", Duration::from_secs(30)).await;
        if let Err(error) = finished {
            let offset = committed(&kafka, &input, &group, 0).await?;
            anyhow::bail!(
                "the restarted transformer did not finish the 9 records in batches of 3 (it printed {:?}; the group's committed offset is {offset:?}, and the first transformer was killed after committing record-0 to record-2, so it should be 3: an offset committed outside the transaction survived the kill) ({PIPELINE}): {error}",
                second.lines_seen()
            );
        }
        let seen = read_committed_values(&kafka, &output, 20, QUIET).await?;
        let offset = committed(&kafka, &input, &group, 0).await?;
        assert!(
            seen.len() >= 4,
            "a read_committed consumer of the output saw only {seen:?} after the restarted transformer finished (group offset {offset:?}): the killed transformer's transaction is still open and holds back everything after it; the restart must use the same transactional.id so that init_transactions aborts it ({FENCING})"
        );
        assert_eq!(
            seen,
            upper(0, 9),
            "a read_committed consumer of the output after a kill mid-transaction and a restart (group offset {offset:?}): each record exactly once, in order, means the offsets commit with the output, in the transaction ({PIPELINE})"
        );
        Ok(())
    })
    .await
}

//! Wrong: reads a stream with automatic acks, since an ack deletes nothing from a stream
//! Caught by: two_readers_each_replay_the_whole_stream

use std::path::Path;

use anyhow::{Context, Result};
use futures::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};

// The given types are the exercise's own file: the code the learner is given exists once.
#[path = "../../../exercises/11_streams/src/given.rs"]
mod given;
pub use given::{PREFETCH, Record, SEGMENT_BYTES, Start, offset_of, stored_offset};

// ANCHOR: declare_stream
/// Declares the durable stream `stream`, which keeps about `max_bytes` bytes: its
/// segment files are at most [`SEGMENT_BYTES`] each, and the oldest segment is
/// deleted once the stream holds more than `max_bytes`.
pub async fn declare_stream(channel: &Channel, stream: &str, max_bytes: i64) -> Result<()> {
    let mut arguments = FieldTable::default();
    // A stream is a queue type: an append-only log that reading does not empty.
    arguments.insert("x-queue-type".into(), AMQPValue::LongString("stream".into()));
    // Retention is by size (or age, `x-max-age`), and it removes whole segments:
    // small segments make it take effect early.
    arguments.insert("x-max-length-bytes".into(), AMQPValue::LongLongInt(max_bytes));
    arguments.insert(
        "x-stream-max-segment-size-bytes".into(),
        AMQPValue::LongLongInt(SEGMENT_BYTES),
    );
    channel
        // A stream must be durable: RabbitMQ refuses a transient one.
        .queue_declare(stream.into(), QueueDeclareOptions::durable(), arguments)
        .await
        .with_context(|| format!("declaring the stream {stream}"))?;
    Ok(())
}
// ANCHOR_END: declare_stream

// ANCHOR: append
/// Appends `bodies` to `stream`, in order, and waits until the broker confirmed
/// every one.
pub async fn append(channel: &Channel, stream: &str, bodies: &[String]) -> Result<()> {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .context("turning publisher confirms on")?;
    let mut confirms = Vec::new();
    for body in bodies {
        // Publishing to a stream is publishing to a queue: the default exchange,
        // the stream's name as routing key.
        let confirm = channel
            .basic_publish(
                "".into(),
                stream.into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default(),
            )
            .await
            .with_context(|| format!("appending {body} to {stream}"))?;
        confirms.push(confirm);
    }
    for confirm in confirms {
        anyhow::ensure!(confirm.await?.is_ack(), "the broker refused a record");
    }
    Ok(())
}
// ANCHOR_END: append

// ANCHOR: read
/// Reads `count` records of `stream` from `start`, in offset order, on a
/// consumer of its own.
pub async fn read(
    channel: &Channel,
    stream: &str,
    start: Start,
    count: usize,
) -> Result<Vec<Record>> {
    // A stream consumer must have a prefetch: RabbitMQ closes the channel of one
    // without it (406 PRECONDITION_FAILED).
    channel
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await
        .context("setting the prefetch")?;
    // Where to start is an argument of basic.consume; without it, a stream
    // consumer starts at `next` and sees only what is appended after it subscribed.
    let mut arguments = FieldTable::default();
    arguments.insert("x-stream-offset".into(), start.argument());
    let mut consumer = channel
        .basic_consume(
            stream.into(),
            "".into(),
            // Manual acks: a stream refuses automatic ones, and acks are what lets
            // the broker send more than PREFETCH records.
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            arguments,
        )
        .await
        .with_context(|| format!("consuming from {stream}"))?;
    let mut records = Vec::new();
    while records.len() < count {
        let delivery = consumer
            .next()
            .await
            .context("the consumer was cancelled")?
            .context("receiving a record")?;
        let offset = offset_of(&delivery).context("a stream delivery has its offset")?;
        records.push(Record {
            offset,
            body: String::from_utf8_lossy(&delivery.data).into_owned(),
        });
    }
    // Done with this reader: cancel it, so the broker stops sending.
    channel
        .basic_cancel(consumer.tag(), Default::default())
        .await
        .context("cancelling the reader")?;
    Ok(records)
}
// ANCHOR_END: read

// ANCHOR: resume
/// Reads the next `count` records of `stream` for a reader that keeps its place
/// in the file `store`: after the offset stored there, or from the first record
/// the stream still has if nothing is stored yet. Stores the offset of each
/// record it read.
pub async fn resume(
    channel: &Channel,
    stream: &str,
    store: &Path,
    count: usize,
) -> Result<Vec<Record>> {
    // The broker does not remember where an AMQP 0.9.1 reader was: the reader
    // stores its offset and starts after it. Nothing stored: from the first record.
    let start = match stored_offset(store)? {
        Some(offset) => Start::Offset(offset + 1),
        None => Start::First,
    };
    let records = read(channel, stream, start, count).await?;
    if let Some(last) = records.last() {
        std::fs::write(store, last.offset.to_string())
            .with_context(|| format!("storing the offset in {}", store.display()))?;
    }
    Ok(records)
}
// ANCHOR_END: resume

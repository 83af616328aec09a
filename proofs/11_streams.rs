//! Proofs of chapter 11's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's RabbitMQ
//! (streams consumed over AMQP 0.9.1) and asserts it equals the key in
//! `book/quizzes/11_streams.toml`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use lab::rabbitmq::steps::{
    Acks, Scene, arguments, bodies_until_quiet, body, count_until_quiet, next, numbered,
    text,
};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Consumer};
use proofs::proof;

const CHAPTER: &str = "11_streams";

/// How long a consumer that got everything it will get stays quiet before we count.
const QUIET: Duration = Duration::from_millis(500);

/// A fresh stream on the lab's RabbitMQ: a [`Scene`] whose durable queue is
/// declared with `x-queue-type: stream` and `extra` arguments.
struct Stream(Scene);

impl Stream {
    async fn declare(extra: &[(&str, AMQPValue)]) -> Result<Stream> {
        let mut args = arguments([("x-queue-type", text("stream"))]);
        for (key, value) in extra {
            args.insert((*key).into(), value.clone());
        }
        Ok(Stream(Scene::with_arguments("stream", args).await?))
    }

    async fn append(&self, bodies: &[String]) -> Result<()> {
        self.0.publish(bodies).await
    }

    /// A reader on a new channel: `prefetch` (None: no basic.qos), `acks`, and
    /// `x-stream-offset` = `start` (None: no argument).
    async fn reader(
        &self,
        prefetch: Option<u16>,
        acks: Acks,
        start: Option<AMQPValue>,
    ) -> Result<(Channel, Consumer)> {
        let channel = self.0.connection.create_channel().await?;
        if let Some(prefetch) = prefetch {
            channel
                .basic_qos(prefetch, BasicQosOptions::default())
                .await?;
        }
        let mut args = FieldTable::default();
        if let Some(start) = start {
            args.insert("x-stream-offset".into(), start);
        }
        let options = BasicConsumeOptions {
            no_ack: acks == Acks::Auto,
            ..Default::default()
        };
        let consumer = channel
            .basic_consume(self.0.queue.as_str().into(), "".into(), options, args)
            .await
            .with_context(|| format!("consuming from {}", self.0.queue))?;
        Ok((channel, consumer))
    }

    /// Reads `count` records from the first, acking each; returns their offsets.
    async fn read_first(&self, count: usize) -> Result<Vec<i64>> {
        let (_channel, mut consumer) =
            self.reader(Some(100), Acks::Manual, Some(first())).await?;
        let mut offsets = Vec::new();
        for _ in 0..count {
            let delivery = next(&mut consumer).await?;
            offsets.push(
                offset(&delivery).context("a stream delivery has x-stream-offset")?,
            );
            delivery.ack(BasicAckOptions::default()).await?;
        }
        Ok(offsets)
    }
}

fn first() -> AMQPValue {
    text("first")
}

/// The `x-stream-offset` header RabbitMQ puts on a delivery from a stream.
fn offset(delivery: &Delivery) -> Option<i64> {
    match delivery
        .properties
        .headers()
        .as_ref()?
        .inner()
        .get("x-stream-offset")?
    {
        AMQPValue::LongLongInt(offset) => Some(*offset),
        AMQPValue::LongInt(offset) => Some(i64::from(*offset)),
        _ => None,
    }
}

/// What a subscription the broker refused was closed with, or `None` if it was
/// accepted: the channel-level error of `basic.consume`, or the channel's closing
/// once the broker refused the consumer.
async fn refusal(result: Result<(Channel, Consumer)>) -> Option<String> {
    match result {
        Err(error) => Some(format!("{error:#}")),
        Ok((channel, mut consumer)) => {
            use futures::StreamExt;
            match tokio::time::timeout(Duration::from_secs(2), consumer.next()).await {
                Ok(Some(Err(error))) => Some(format!("{error:#}")),
                _ if !channel.status().connected() => {
                    Some("the channel was closed".into())
                }
                _ => None,
            }
        }
    }
}

proof!(second_reader_gets_everything, async {
    let stream = Stream::declare(&[]).await?;
    stream.append(&numbered("event", 20)).await?;
    let a = stream.read_first(20).await?;
    ensure!(
        a == (0..20).collect::<Vec<i64>>(),
        "reader A saw offsets {a:?}"
    );
    // Reader A acked all 20; a second reader from `first` on another channel.
    let (_channel, mut b) = stream
        .reader(Some(100), Acks::Manual, Some(first()))
        .await?;
    let received = bodies_until_quiet(&mut b, QUIET).await?;
    ensure!(
        received.first().map(String::as_str) == Some("event-1"),
        "reader B starts at the first record, not after reader A"
    );
    Ok(received.len())
});

proof!(classic_queue_refuses_stream_offset, async {
    // The same reader as on a stream, on a durable classic queue.
    let classic = Stream(Scene::new("classic").await?);
    classic.append(&numbered("event", 3)).await?;
    let subscribed = classic.reader(Some(100), Acks::Manual, Some(first())).await;
    if let Err(error) = &subscribed {
        let why = format!("{error:#}");
        println!("refused: {why}");
        ensure!(why.contains("invalid arg 'x-stream-offset'"), "{why}");
    }
    Ok(subscribed.is_ok())
});

proof!(consume_without_prefetch, async {
    let stream = Stream::declare(&[]).await?;
    stream.append(&numbered("event", 3)).await?;
    let refused = refusal(stream.reader(None, Acks::Manual, Some(first())).await).await;
    if let Some(why) = &refused {
        println!("refused: {why}");
        ensure!(
            why.contains("PRECONDITION_FAILED") || why.contains("406"),
            "{why}"
        );
    }
    Ok(refused.is_none())
});

proof!(auto_ack_reader, async {
    let stream = Stream::declare(&[]).await?;
    stream.append(&numbered("event", 3)).await?;
    let refused = refusal(stream.reader(Some(10), Acks::Auto, Some(first())).await).await;
    if let Some(why) = &refused {
        println!("refused: {why}");
        ensure!(why.contains("NOT_IMPLEMENTED"), "{why}");
    }
    Ok(refused.is_none())
});

proof!(default_start_is_next, async {
    let stream = Stream::declare(&[]).await?;
    stream.append(&numbered("old", 10)).await?;
    let (_channel, mut reader) = stream.reader(Some(100), Acks::Manual, None).await?;
    let old = count_until_quiet(&mut reader, QUIET).await?;
    // The reader works: it gets what is appended now.
    stream.append(&numbered("new", 1)).await?;
    let new = next(&mut reader).await?;
    ensure!(
        body(&new) == "new-1",
        "the reader without x-stream-offset got {}",
        body(&new)
    );
    Ok(old)
});

proof!(offset_of_first_delivery, async {
    let stream = Stream::declare(&[]).await?;
    stream.append(&numbered("event", 10)).await?;
    let (_channel, mut reader) = stream
        .reader(Some(100), Acks::Manual, Some(AMQPValue::LongLongInt(7)))
        .await?;
    let delivery = next(&mut reader).await?;
    ensure!(
        body(&delivery) == "event-8",
        "offset 7 is the 8th record, got {}",
        body(&delivery)
    );
    offset(&delivery).context("a stream delivery has x-stream-offset")
});

proof!(unacked_reader_stalls, async {
    let stream = Stream::declare(&[]).await?;
    stream.append(&numbered("event", 50)).await?;
    let (_channel, mut reader) =
        stream.reader(Some(10), Acks::Manual, Some(first())).await?;
    let mut held = Vec::new();
    use futures::StreamExt;
    while let Ok(Some(delivery)) = tokio::time::timeout(QUIET, reader.next()).await {
        held.push(delivery?);
    }
    let stalled = held.len();
    // Acking is what lets more come: ack one, one more arrives.
    held[0].ack(BasicAckOptions::default()).await?;
    let more = next(&mut reader).await?;
    ensure!(
        offset(&more) == Some(stalled as i64),
        "the next record after the ack"
    );
    Ok(stalled)
});

/// Appends 400 records of about 110 bytes to a stream with `x-max-length-bytes`
/// 10 000 and `segment` bytes segments (None: the default), and says whether offset
/// 0 is still readable once the broker had time to apply retention (it does so when
/// a segment fills).
async fn offset_zero_survives(segment: Option<i64>) -> Result<bool> {
    let mut extra = vec![("x-max-length-bytes", AMQPValue::LongLongInt(10_000))];
    if let Some(segment) = segment {
        extra.push((
            "x-stream-max-segment-size-bytes",
            AMQPValue::LongLongInt(segment),
        ));
    }
    let stream = Stream::declare(&extra).await?;
    let payload = "x".repeat(100);
    let bodies: Vec<String> = (0..400).map(|i| format!("{i:04}-{payload}")).collect();
    for batch in bodies.chunks(50) {
        stream.append(batch).await?;
    }
    let first_offset = std::cell::Cell::new(0);
    let deleted = lab::until(
        Duration::from_secs(3),
        "the stream's first offset to move past 0",
        Duration::from_millis(200),
        || {
            let (stream, first_offset) = (&stream, &first_offset);
            async move {
                let read = stream.read_first(1).await;
                let read =
                    read.map_err(|e| lab::LabError::step("reading the first record", e))?;
                first_offset.set(read[0]);
                Ok(read[0] > 0)
            }
        },
    )
    .await
    .is_ok();
    println!("first offset: {}", first_offset.get());
    Ok(!deleted)
}

proof!(retention_with_small_segments, async {
    offset_zero_survives(Some(4_000)).await
});

proof!(retention_with_default_segments, async {
    offset_zero_survives(None).await
});

proof!(timestamp_start, async {
    let stream = Stream::declare(&[]).await?;
    stream.append(&numbered("before", 10)).await?;
    // AMQP timestamps are whole seconds: wait for the next second to begin.
    let since = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let at = since.as_secs() + 1;
    tokio::time::sleep(Duration::from_secs(at) - since + Duration::from_millis(10)).await;
    stream.append(&numbered("after", 10)).await?;
    let (_channel, mut reader) = stream
        .reader(Some(100), Acks::Manual, Some(AMQPValue::Timestamp(at)))
        .await?;
    let received = bodies_until_quiet(&mut reader, QUIET).await?;
    ensure!(
        received.iter().filter(|b| b.starts_with("after")).count() == 10,
        "the reader from the timestamp got every later record: {received:?}"
    );
    Ok(received.iter().filter(|b| b.starts_with("before")).count())
});

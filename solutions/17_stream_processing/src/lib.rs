//! # Chapter 17: stream processing (reference solution)
//!
//! A windowed count in plain rdkafka: events are counted per key in tumbling
//! windows of *event time* (the record's timestamp, set by whoever produced the
//! event), a window's count is produced to an output topic once the watermark has
//! passed its end plus a grace period, an event that arrives after its window
//! closed is reported apart as late, and the input offset is committed only up to
//! the first record of the oldest window still open, so a processor killed
//! mid-window counts that window again from its start.
//!
//! See chapter 17 of the book (`book/src/ch17-stream-processing.md`).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// How long one answer from Kafka may take.
const WAIT: Duration = Duration::from_secs(30);

/// The count of one key in one window, once the window has closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowCount {
    /// The key the events were counted for.
    pub key: String,
    /// The start of the window, in milliseconds since the epoch (event time).
    pub start_ms: i64,
    /// How many events of `key` had an event time in the window.
    pub count: u64,
}

impl WindowCount {
    /// The output record's value: `alice@1600000000000=3`.
    pub fn line(&self) -> String {
        format!("{}@{}={}", self.key, self.start_ms, self.count)
    }
}

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Counted in its window, which is still open; `closed` are the windows the
    /// event's time closed (the watermark moved past their end plus grace).
    Counted {
        /// Windows now closed, to be produced.
        closed: Vec<WindowCount>,
    },
    /// Its window had already closed: not counted, reported apart.
    Late {
        /// The start of the (closed) window its event time belongs to.
        window_start_ms: i64,
    },
}

/// The open windows of one partition: their counts, the watermark, and where each
/// window's first record is in the input.
#[derive(Debug)]
pub struct Windows {
    /// The length of each tumbling window.
    size_ms: i64,
    /// How long after a window's end events for it are still counted.
    grace_ms: i64,
    /// The largest event time seen: no window ending before it minus grace will
    /// receive more events (that is the bet every watermark makes).
    watermark: Option<i64>,
    /// Open windows by (start, key): their count and the offset of their first record.
    open: BTreeMap<(i64, String), (u64, i64)>,
}

impl Windows {
    /// No window open yet.
    pub fn new(size_ms: i64, grace_ms: i64) -> Windows {
        Windows {
            size_ms,
            grace_ms,
            watermark: None,
            open: BTreeMap::new(),
        }
    }

    // ANCHOR: window_start
    /// The start of the tumbling window that `event_time_ms` falls into: windows are
    /// `[k * size, (k + 1) * size)`, aligned on the epoch.
    pub fn window_start(&self, event_time_ms: i64) -> i64 {
        // rem_euclid, not %: it stays right for times before the epoch too.
        event_time_ms - event_time_ms.rem_euclid(self.size_ms)
    }
    // ANCHOR_END: window_start

    // ANCHOR: add
    /// Counts one event of `key` at `event_time_ms`, read at `offset`: in its
    /// window if that window is still open, else as late; then closes every window
    /// whose end plus grace the watermark has reached.
    pub fn add(&mut self, key: &str, event_time_ms: i64, offset: i64) -> Outcome {
        let start = self.window_start(event_time_ms);
        // Late: the watermark already closed this window (its count is out).
        // Counting it now would reopen the window with a count of 1.
        if self
            .watermark
            .is_some_and(|w| start + self.size_ms + self.grace_ms <= w)
        {
            return Outcome::Late {
                window_start_ms: start,
            };
        }
        let window = self
            .open
            .entry((start, key.to_string()))
            .or_insert((0, offset));
        window.0 += 1;
        // The watermark follows the largest event time, never the clock, and never
        // goes back: an out-of-order event within grace leaves it where it was.
        let watermark = self
            .watermark
            .map_or(event_time_ms, |w| w.max(event_time_ms));
        self.watermark = Some(watermark);
        let (size, grace) = (self.size_ms, self.grace_ms);
        let closing: Vec<(i64, String)> = self
            .open
            .keys()
            .filter(|(start, _)| start + size + grace <= watermark)
            .cloned()
            .collect();
        let closed = closing
            .into_iter()
            .filter_map(|k| {
                self.open.remove(&k).map(|(count, _)| WindowCount {
                    key: k.1,
                    start_ms: k.0,
                    count,
                })
            })
            .collect();
        Outcome::Counted { closed }
    }
    // ANCHOR_END: add

    /// The offset a restarted processor must resume at: the first record of the
    /// oldest open window, or `next_offset` (the record after the last one read)
    /// when no window is open.
    pub fn resume_offset(&self, next_offset: i64) -> i64 {
        self.open
            .values()
            .map(|(_, first)| *first)
            .min()
            .unwrap_or(next_offset)
    }
}

// ANCHOR: processor_config
/// A consumer in `group` for the processor: a new group starts at the first
/// record, and offsets are committed only by the processor itself.
pub fn processor_config(bootstrap_servers: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // The automatic commit would commit what was read, including the records
        // of windows still open: a crash would lose their counts.
        .set("enable.auto.commit", "false");
    config
}
// ANCHOR_END: processor_config

// ANCHOR: run
/// Subscribes `consumer` to `input` and counts its events in `windows` until no
/// record arrives for `idle`. Each closed window is produced to `output` (key: the
/// event key, value: [`WindowCount::line`]), each late event as `late <key>@<start>`;
/// each is acknowledged before the input offset is committed, and the offset
/// committed is [`Windows::resume_offset`]. `processed` is called with each
/// record's offset once all that is done.
pub async fn run(
    consumer: &StreamConsumer,
    producer: &FutureProducer,
    input: &str,
    output: &str,
    windows: &mut Windows,
    idle: Duration,
    mut processed: impl FnMut(i64),
) -> Result<()> {
    consumer.subscribe(&[input]).context("subscribing")?;
    while let Ok(received) = tokio::time::timeout(idle, consumer.recv()).await {
        let message = received.context("receiving an event")?;
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        // Event time: the record's timestamp (CreateTime: the producer's), not
        // the moment this process happens to read it.
        let event_time = message
            .timestamp()
            .to_millis()
            .context("an event without a timestamp")?;
        let lines: Vec<(String, String)> =
            match windows.add(&key, event_time, message.offset()) {
                Outcome::Counted { closed } => closed
                    .iter()
                    .map(|window| (window.key.clone(), window.line()))
                    .collect(),
                Outcome::Late { window_start_ms } => {
                    vec![(key.clone(), format!("late {key}@{window_start_ms}"))]
                }
            };
        for (key, line) in &lines {
            producer
                .send(FutureRecord::to(output).key(key).payload(line), WAIT)
                .await
                .map_err(|(error, _)| error)
                .with_context(|| format!("producing {line}"))?;
        }
        // Only now, with the output acknowledged: commit up to the oldest open
        // window's first record, never past it.
        let resume = windows.resume_offset(message.offset() + 1);
        let mut offsets = TopicPartitionList::new();
        offsets.add_partition_offset(
            input,
            message.partition(),
            Offset::Offset(resume),
        )?;
        consumer
            .commit(&offsets, CommitMode::Sync)
            .context("committing the input offset")?;
        processed(message.offset());
    }
    Ok(())
}
// ANCHOR_END: run

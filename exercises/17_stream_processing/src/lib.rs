//! # Chapter 17: stream processing
//!
//! A windowed count in plain rdkafka: events are counted per key in tumbling
//! windows of *event time* (the record's timestamp, set by whoever produced the
//! event), a window's count is produced to an output topic once the watermark has
//! passed its end plus a grace period, an event that arrives after its window
//! closed is reported apart as late, and the input offset is committed only up to
//! the first record of the oldest window still open, so a processor killed
//! mid-window counts that window again from its start.
//!
//! Fill in every `todo!()` under a `// TODO:` comment. The checks in
//! `tests/check.rs` produce events with chosen timestamps to the lab's Kafka 4.1.1,
//! run your processor (one of them in a separate process,
//! `src/bin/window_processor.rs`, that they kill with SIGKILL) and read what it
//! produced. Run them with:
//!
//! ```text
//! cargo test -p exercise_17_stream_processing
//! ```
//!
//! Read chapter 17 of the book first (`book/src/ch17-stream-processing.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

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
        // TODO: the start of the window `[k * size, (k + 1) * size)` holding the
        // event time (`self.size_ms`). Careful with `%` on negative numbers.
        todo!("the start of the event's window")
    }
    // ANCHOR_END: window_start

    // ANCHOR: add
    /// Counts one event of `key` at `event_time_ms`, read at `offset`: in its
    /// window if that window is still open, else as late; then closes every window
    /// whose end plus grace the watermark has reached.
    pub fn add(&mut self, key: &str, event_time_ms: i64, offset: i64) -> Outcome {
        // TODO: if the watermark (`self.watermark`: the largest event time so far)
        // has already reached this window's end + grace, the event is late: return
        // `Outcome::Late`. Otherwise count it in `self.open` (remember `offset` for
        // a new window), move the watermark, and remove and return every open
        // window whose end + grace the watermark has reached.
        todo!("count the event in its window, or report it late")
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
    // TODO: `bootstrap.servers`, `group.id`, start a new group at the earliest
    // offset, and leave committing to the processor (no automatic commits).
    todo!("configure the processor's consumer")
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
    // TODO: subscribe; until `recv()` has been quiet for `idle`: take the record's
    // key and its timestamp (event time), `windows.add(..)`, produce each closed
    // window's `line()` (or `late <key>@<start>`) to `output` and await its
    // delivery report, then commit `windows.resume_offset(offset + 1)` for the
    // record's partition, and call `processed(offset)`.
    todo!("count, produce, then commit")
}
// ANCHOR_END: run

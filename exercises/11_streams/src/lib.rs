//! # Chapter 11: RabbitMQ streams
//!
//! A stream is a RabbitMQ queue type that is an append-only log: reading a record
//! does not remove it, so any number of readers replay it, each from where it
//! chooses (`x-stream-offset`), and only retention (size or age, by whole
//! segments) deletes records. You write, over AMQP 0.9.1 with lapin:
//!
//! - [`declare_stream`]: a durable stream with size retention and small segments;
//! - [`append`]: records appended in order, confirmed;
//! - [`read`]: `count` records from a [`Start`] (first, next, last, an offset, a
//!   timestamp), with the prefetch and manual acks a stream consumer needs;
//! - [`resume`]: a reader that stores its offset in a file and carries on after
//!   it when it starts again.
//!
//! [`Record`], [`Start`], [`offset_of`] and [`stored_offset`] are given in
//! `src/given.rs`. The checks in `tests/check.rs` append numbered records, read
//! them back with several independent readers from several starts, restart a
//! reader, and fill a small stream past its retention. Run them with:
//!
//! ```text
//! cargo test -p exercise_11_streams
//! ```
//!
//! Read chapter 11 of the book first (`book/src/ch11-streams.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables)]

use std::path::Path;

use anyhow::Result;
use lapin::Channel;

mod given;
pub use given::{PREFETCH, Record, SEGMENT_BYTES, Start, offset_of, stored_offset};

// ANCHOR: declare_stream
/// Declares the durable stream `stream`, which keeps about `max_bytes` bytes: its
/// segment files are at most [`SEGMENT_BYTES`] each, and the oldest segment is
/// deleted once the stream holds more than `max_bytes`.
pub async fn declare_stream(
    channel: &Channel,
    stream: &str,
    max_bytes: i64,
) -> Result<()> {
    // TODO: `queue_declare` a durable queue with the arguments `x-queue-type`
    // ("stream"), `x-max-length-bytes` (max_bytes) and
    // `x-stream-max-segment-size-bytes` (SEGMENT_BYTES), as `AMQPValue`s.
    todo!("declare a durable stream with size retention and small segments")
}
// ANCHOR_END: declare_stream

// ANCHOR: append
/// Appends `bodies` to `stream`, in order, and waits until the broker confirmed
/// every one.
pub async fn append(channel: &Channel, stream: &str, bodies: &[String]) -> Result<()> {
    // TODO: turn on publisher confirms, publish each body through the default
    // exchange ("") with the stream's name as routing key, then await each confirm.
    todo!("append the bodies to the stream, confirmed")
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
    // TODO: set a prefetch (PREFETCH), consume with the argument `x-stream-offset`
    // (`start.argument()`), and for each delivery take its offset (`offset_of`),
    // ack it and keep a `Record`; stop after `count` and cancel the consumer.
    todo!("read count records from start")
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
    // TODO: `stored_offset(store)` says where this reader was; start after it (or
    // from the first record), `read`, and write the last record's offset to `store`.
    todo!("resume after the stored offset, and store the new one")
}
// ANCHOR_END: resume

//! Given: what a reader reads ([`Record`]), where it starts ([`Start`]), and how to
//! find a delivery's offset ([`offset_of`]) and a stored one ([`stored_offset`]).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use lapin::message::Delivery;
use lapin::types::AMQPValue;

/// How many records the broker may send a reader before it acks some: a stream
/// consumer must set one (`basic.qos`).
pub const PREFETCH: u16 = 100;

/// The largest segment file of a stream, in bytes (`x-stream-max-segment-size-bytes`;
/// RabbitMQ's default is 500 MB). Retention deletes whole segments, so small ones
/// make it visible with a few kilobytes.
pub const SEGMENT_BYTES: i64 = 4_000;

/// One record of a stream, as a reader saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its place in the stream: 0, 1, 2 ... in the order it was appended.
    pub offset: u64,
    /// Its body, as text.
    pub body: String,
}

/// Where a reader starts in a stream: the value of the `x-stream-offset` argument
/// of its `basic.consume`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The first record the stream still has (retention may have removed older ones).
    First,
    /// Only records appended after the reader subscribed (the default).
    Next,
    /// The last chunk of records the stream wrote (a batch, not one record).
    Last,
    /// The record at this offset.
    Offset(u64),
    /// The first chunk written at or after this time.
    Timestamp(SystemTime),
}

impl Start {
    /// The `x-stream-offset` value that asks for this start.
    pub fn argument(self) -> AMQPValue {
        match self {
            Start::First => AMQPValue::LongString("first".into()),
            Start::Next => AMQPValue::LongString("next".into()),
            Start::Last => AMQPValue::LongString("last".into()),
            Start::Offset(offset) => AMQPValue::LongLongInt(offset as i64),
            // An AMQP timestamp is whole seconds since the Unix epoch.
            Start::Timestamp(at) => AMQPValue::Timestamp(
                at.duration_since(UNIX_EPOCH)
                    .map_or(0, |since| since.as_secs()),
            ),
        }
    }
}

/// The offset of a delivery from a stream: RabbitMQ puts it in the message's
/// `x-stream-offset` header.
pub fn offset_of(delivery: &Delivery) -> Option<u64> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().get("x-stream-offset")? {
        AMQPValue::LongLongInt(offset) => u64::try_from(*offset).ok(),
        AMQPValue::LongInt(offset) => u64::try_from(*offset).ok(),
        AMQPValue::Timestamp(offset) => Some(*offset),
        _ => None,
    }
}

/// The offset stored in the file `store`, or `None` if there is no such file yet.
pub fn stored_offset(store: &Path) -> Result<Option<u64>> {
    match std::fs::read_to_string(store) {
        Ok(text) => {
            Ok(Some(text.trim().parse().with_context(|| {
                format!("{} holds an offset", store.display())
            })?))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", store.display())),
    }
}

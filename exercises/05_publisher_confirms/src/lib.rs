//! # Chapter 5: publisher confirms
//!
//! A publisher that never loses a message the broker confirmed, even when the
//! broker restarts in the middle of a stream. You write:
//!
//! - [`publish_confirmed`]: publish with confirms, many in flight at once, and
//!   report which messages the broker acked;
//! - [`send_all`]: keep going until every message is acked: connect again after
//!   losing the broker and send the unconfirmed messages again.
//!
//! The checks in `tests/check.rs` restart the broker while your publisher is
//! sending, then count every message in the queue: none may be missing, and they
//! count the duplicates that sending again produces. Run them with:
//!
//! ```text
//! cargo test -p exercise_05_publisher_confirms
//! ```
//!
//! Read chapter 5 of the book first (`book/src/ch05-publisher-confirms.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables)]

use std::future::Future;
use std::time::Duration;

use anyhow::Result;
use lapin::Connection;

/// At most this many messages are published and not yet confirmed at once.
pub const WINDOW: usize = 100;

/// How long a publisher waits for one confirm before it counts the message as
/// unconfirmed (and so to be sent again).
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`send_all`] keeps trying to reach the broker again after losing it.
pub const RECONNECT_FOR: Duration = Duration::from_secs(60);

/// One message of a stream: a unique id, sent as its `message_id`, and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Unique within the stream; consumers use it to spot duplicates.
    pub id: String,
    /// The payload.
    pub body: String,
}

/// What one call of [`publish_confirmed`] achieved.
#[derive(Debug, Default)]
pub struct Confirmed {
    /// Ids of the messages the broker acked, in the order their acks were seen.
    pub acked: Vec<String>,
    /// How many messages were published (sent on the channel), acked or not.
    pub published: usize,
    /// Why it stopped early: the channel or connection failed, or a confirm did
    /// not come in time. `None` if every message got its answer (ack or nack).
    pub stopped_by: Option<anyhow::Error>,
}

/// What [`send_all`] did to get every message confirmed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Publishes in total: the messages, plus every republish.
    pub publishes: usize,
    /// How many times it connected again after losing the broker.
    pub reconnects: usize,
}

// ANCHOR: publish_confirmed
/// Publishes `messages` to `queue` on a new channel of `connection`, persistent,
/// with publisher confirms and at most [`WINDOW`] unconfirmed at once, and reports
/// which ones the broker acked. A nacked message, or one whose confirm did not come
/// within [`CONFIRM_TIMEOUT`], is not acked.
pub async fn publish_confirmed(
    connection: &Connection,
    queue: &str,
    messages: &[Outgoing],
) -> Confirmed {
    // TODO: open a channel and turn on confirms (`confirm_select`). Publish each
    // message through the default exchange, persistent, with its id as
    // `message_id`, keeping the `PublisherConfirm`s of at most WINDOW messages in
    // flight (await the oldest before publishing more). Count each publish; an ack
    // adds the id to `acked`. Stop at the first error or a confirm that takes longer
    // than CONFIRM_TIMEOUT, and put it in `stopped_by`.
    todo!("publish with confirms")
}
// ANCHOR_END: publish_confirmed

// ANCHOR: send_all
/// Sends every message so that each is in `queue` at least once, whatever happens
/// to the broker: publishes with [`publish_confirmed`], and while some messages are
/// not acked, connects again with `connect` and publishes those again. Gives up
/// when the broker stays unreachable for [`RECONNECT_FOR`].
pub async fn send_all<C, F>(
    connect: C,
    queue: &str,
    messages: &[Outgoing],
) -> Result<Sent>
where
    C: Fn() -> F,
    F: Future<Output = Result<Connection>>,
{
    // TODO: connect, then publish every message that has no ack yet with
    // `publish_confirmed`, and repeat until all are acked. When a round stopped
    // early, connect again (retry every 250 ms or so while the broker is down,
    // for up to RECONNECT_FOR) before the next round. Count publishes and
    // reconnects in the `Sent` you return.
    todo!("send every message until it is confirmed")
}
// ANCHOR_END: send_all

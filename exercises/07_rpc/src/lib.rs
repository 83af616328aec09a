//! # Chapter 7: request/reply (RPC) over RabbitMQ
//!
//! A client calls a service through a queue and waits for the answer: the request
//! carries `reply_to` (where to answer) and `correlation_id` (which call it
//! answers). You write:
//!
//! - [`serve`]: the server; it answers each request to its `reply_to`, with its
//!   `correlation_id`, and acks the request only once the reply is sent;
//! - [`RpcClient::connect`]: one reply consumer on direct reply-to
//!   (`amq.rabbitmq.reply-to`) that hands each reply to the call waiting for it,
//!   and discards replies no call waits for any more;
//! - [`RpcClient::call`]: publish a request and wait for its reply, at most
//!   `timeout`.
//!
//! The checks in `tests/check.rs` run your server in the test and as its own
//! program (`src/bin/rpc_server.rs`), which they kill with SIGKILL in the middle of
//! a request. Run them with:
//!
//! ```text
//! cargo test -p exercise_07_rpc
//! ```
//!
//! Read chapter 7 of the book first (`book/src/ch07-rpc.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables, unused_imports, dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    BasicRejectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection};
use tokio::sync::oneshot;

// The service the server offers: given, in `src/service.rs`.
mod service;
pub use service::{SLOW, Service};

/// The pseudo-queue of direct reply-to: a client consumes from it (with automatic
/// acks) and names it as `reply_to`; RabbitMQ routes replies straight to that
/// consumer, with no reply queue at all.
pub const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// Why a call has no answer.
#[derive(Debug)]
pub enum CallError {
    /// No reply came within the call's timeout (the server is slow, busy or gone).
    TimedOut(Duration),
    /// The broker or the connection failed.
    Broker(anyhow::Error),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::TimedOut(after) => write!(f, "no reply within {after:?}"),
            CallError::Broker(error) => write!(f, "{error:#}"),
        }
    }
}

impl std::error::Error for CallError {}

/// The calls waiting for a reply, by correlation id.
type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<String>>>>;

// ANCHOR: serve
/// The server: answers every request of `queue` with `service`, until its channel
/// closes. Declares `queue` (durable) first.
pub async fn serve(
    channel: &Channel,
    queue: &str,
    service: &Service,
) -> anyhow::Result<()> {
    // TODO: declare `queue` (durable), take one request at a time (`basic_qos`),
    // consume it with manual acks. For each request: compute the answer with
    // `service.answer(..)`, publish it through the default exchange to the
    // request's `reply_to`, with its `correlation_id`, and only then ack the request.
    todo!("serve requests")
}
// ANCHOR_END: serve

/// An RPC client: one channel, one reply consumer, any number of calls at once.
pub struct RpcClient {
    channel: Channel,
    pending: Pending,
    next_call: AtomicU64,
    discarded: Arc<AtomicUsize>,
}

impl RpcClient {
    // ANCHOR: connect
    /// Opens a channel on `connection` and starts the reply consumer on direct
    /// reply-to, which hands each reply to the call waiting for it.
    pub async fn connect(connection: &Connection) -> anyhow::Result<RpcClient> {
        // TODO: open a channel; consume DIRECT_REPLY_TO on it (direct reply-to needs
        // automatic acks); spawn a task that hands each reply to the call waiting
        // for its `correlation_id` (in `pending`), and drops (counts in
        // `discarded`) a reply no call waits for.
        todo!("start the reply consumer")
    }
    // ANCHOR_END: connect

    // ANCHOR: call
    /// Calls the server of `queue` with `request` and returns its answer, or
    /// [`CallError::TimedOut`] if none came within `timeout`.
    pub async fn call(
        &self,
        queue: &str,
        request: &str,
        timeout: Duration,
    ) -> Result<String, CallError> {
        // TODO: pick a fresh correlation id and register the call in `pending`;
        // publish `request` to `queue` (default exchange) with `reply_to` set to
        // DIRECT_REPLY_TO and the correlation id; wait for the answer at most
        // `timeout` (`CallError::TimedOut`), and forget the call either way.
        todo!("make one call")
    }
    // ANCHOR_END: call

    /// How many replies came that no call was waiting for (late or duplicate).
    pub fn discarded(&self) -> usize {
        self.discarded.load(Ordering::Relaxed)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<String>>> {
        self.pending
            .lock()
            .expect("no code panics while holding the lock")
    }
}

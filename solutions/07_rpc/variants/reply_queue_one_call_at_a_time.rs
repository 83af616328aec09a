//! Variant: an exclusive, server-named reply queue instead of direct reply-to, and
//! one call at a time that skips the replies whose correlation id is not its own.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    BasicRejectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, Consumer};
use tokio::sync::Mutex;

// The service is the exercise's own file: the code the learner is given exists once.
#[path = "../../../exercises/07_rpc/src/service.rs"]
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

// ANCHOR: serve
/// The server: answers every request of `queue` with `service`, until its channel
/// closes. Declares `queue` (durable) first.
pub async fn serve(
    channel: &Channel,
    queue: &str,
    service: &Service,
) -> anyhow::Result<()> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("declaring `{queue}`"))?;
    // One request at a time: a busy server leaves the next request to another one.
    channel
        .basic_qos(1, BasicQosOptions::default())
        .await
        .context("setting the prefetch count")?;
    // Manual acks: a request stays with RabbitMQ until it is answered. If this
    // server dies first, the request goes back to the queue, to another server.
    let mut requests = channel
        .basic_consume(
            queue.into(),
            "rpc-server".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consuming from `{queue}`"))?;
    while let Some(request) = requests.next().await {
        let request = request.context("receiving a request")?;
        // Where to answer is the request's business, not the server's.
        let Some(reply_to) = request.properties.reply_to().clone() else {
            request
                .reject(BasicRejectOptions { requeue: false })
                .await
                .context("rejecting a request without reply_to")?;
            continue;
        };
        let answer = service
            .answer(&String::from_utf8_lossy(&request.data))
            .await;
        // The correlation id goes back unchanged: it is how the client knows which
        // of its calls this answers.
        let mut properties = BasicProperties::default();
        if let Some(id) = request.properties.correlation_id() {
            properties = properties.with_correlation_id(id.clone());
        }
        channel
            .basic_publish(
                "".into(),
                reply_to,
                BasicPublishOptions::default(),
                answer.as_bytes(),
                properties,
            )
            .await
            .context("sending a reply")?;
        // Ack last: a crash before this line means the request is answered again,
        // never that it is lost.
        request
            .ack(BasicAckOptions::default())
            .await
            .context("acking a request")?;
    }
    Ok(())
}
// ANCHOR_END: serve

/// An RPC client: one channel and its reply consumer, one call at a time.
pub struct RpcClient {
    channel: Channel,
    reply_to: String,
    replies: Mutex<Consumer>,
    next_call: AtomicU64,
    discarded: AtomicUsize,
}

impl RpcClient {
    // ANCHOR: connect
    /// Opens a channel on `connection` and starts the reply consumer.
    pub async fn connect(connection: &Connection) -> anyhow::Result<RpcClient> {
        let channel = connection.create_channel().await?;
        // A reply queue of this client's own: server-named, exclusive (deleted with
        // the connection), as the RabbitMQ tutorial does it.
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions::exclusive(),
                FieldTable::default(),
            )
            .await
            .context("declaring the reply queue")?;
        let reply_to = queue.name().to_string();
        let options = BasicConsumeOptions {
            no_ack: true,
            ..Default::default()
        };
        let replies = channel
            .basic_consume(
                reply_to.as_str().into(),
                "rpc-client".into(),
                options,
                FieldTable::default(),
            )
            .await
            .context("consuming the replies")?;
        Ok(RpcClient {
            channel,
            reply_to,
            replies: Mutex::new(replies),
            next_call: AtomicU64::new(1),
            discarded: AtomicUsize::new(0),
        })
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
        // One call at a time: the reply consumer is this call's until it returns.
        let mut replies = self.replies.lock().await;
        let id = format!("call-{}", self.next_call.fetch_add(1, Ordering::Relaxed));
        let properties = BasicProperties::default()
            .with_reply_to(self.reply_to.as_str().into())
            .with_correlation_id(id.as_str().into())
            .with_expiration(timeout.as_millis().to_string().into());
        self.channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                request.as_bytes(),
                properties,
            )
            .await
            .map_err(|error| {
                CallError::Broker(anyhow::Error::new(error).context("sending a request"))
            })?;
        let wait = async {
            while let Some(reply) = replies.next().await {
                let reply = reply.map_err(|error| CallError::Broker(error.into()))?;
                let for_this_call = reply
                    .properties
                    .correlation_id()
                    .as_ref()
                    .is_some_and(|reply_id| reply_id.as_str() == id);
                if for_this_call {
                    return Ok(String::from_utf8_lossy(&reply.data).into_owned());
                }
                // A late (or second) reply to an earlier call: nobody waits for it.
                self.discarded.fetch_add(1, Ordering::Relaxed);
            }
            Err(CallError::Broker(anyhow::anyhow!(
                "the reply consumer stopped"
            )))
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(answered) => answered,
            Err(_) => Err(CallError::TimedOut(timeout)),
        }
    }
    // ANCHOR_END: call

    /// How many replies came that no call was waiting for (late or duplicate).
    pub fn discarded(&self) -> usize {
        self.discarded.load(Ordering::Relaxed)
    }
}

//! Wrong: the server publishes every reply to one fixed queue (`rpc.replies`) instead of
//! the request's `reply_to`: a client that asked for its reply elsewhere never gets it.
//! Caught by: the_server_replies_to_reply_to_with_the_correlation_id

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection};
use tokio::sync::oneshot;

// The service is the exercise's own file: the code the learner is given exists once.
#[path = "../../../exercises/07_rpc/src/service.rs"]
mod service;
pub use service::{SLOW, Service};

/// The pseudo-queue of direct reply-to: a client consumes from it (with automatic
/// acks) and names it as `reply_to`; RabbitMQ routes replies straight to that
/// consumer, with no reply queue at all.
pub const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// The one queue every reply goes to.
pub const REPLIES: &str = "rpc.replies";

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
        // Every client reads its replies from the one replies queue.
        let reply_to: lapin::types::ShortString = REPLIES.into();
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
        let channel = connection.create_channel().await?;
        channel
            .queue_declare(
                REPLIES.into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .context("declaring the replies queue")?;
        // Direct reply-to needs automatic acks (RabbitMQ refuses anything else), and
        // the consumer must exist before the first request names it as `reply_to`.
        let options = BasicConsumeOptions {
            no_ack: true,
            ..Default::default()
        };
        let mut replies = channel
            .basic_consume(
                REPLIES.into(),
                "rpc-client".into(),
                options,
                FieldTable::default(),
            )
            .await
            .context("consuming from amq.rabbitmq.reply-to")?;
        let pending = Pending::default();
        let discarded = Arc::new(AtomicUsize::new(0));
        let (waiting, late) = (pending.clone(), discarded.clone());
        tokio::spawn(async move {
            while let Some(Ok(reply)) = replies.next().await {
                // A reply goes to the call with its correlation id, or to nobody: a
                // reply to a call that timed out (or a second reply to one call)
                // finds no one waiting and is dropped, never handed to another call.
                let id = reply
                    .properties
                    .correlation_id()
                    .as_ref()
                    .map(|id| id.to_string());
                let caller = id.and_then(|id| {
                    waiting
                        .lock()
                        .expect("no code panics while holding the lock")
                        .remove(&id)
                });
                match caller {
                    Some(caller) => {
                        let _ = caller
                            .send(String::from_utf8_lossy(&reply.data).into_owned());
                    }
                    None => {
                        late.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        Ok(RpcClient {
            channel,
            pending,
            next_call: AtomicU64::new(1),
            discarded,
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
        let id = format!("call-{}", self.next_call.fetch_add(1, Ordering::Relaxed));
        let (answer, reply) = oneshot::channel();
        self.lock().insert(id.clone(), answer);
        // An expiration as long as the timeout: a request nobody took in time is
        // dropped by the broker instead of being executed for a caller who left.
        let properties = BasicProperties::default()
            .with_reply_to(REPLIES.into())
            .with_correlation_id(id.as_str().into())
            .with_expiration(timeout.as_millis().to_string().into());
        let sent = self
            .channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                request.as_bytes(),
                properties,
            )
            .await;
        if let Err(error) = sent {
            self.lock().remove(&id);
            return Err(CallError::Broker(
                anyhow::Error::new(error).context("sending a request"),
            ));
        }
        // Never wait for ever: the server may be slow, busy or dead.
        let answered = tokio::time::timeout(timeout, reply).await;
        // The call is over either way: a reply that comes later finds no one waiting.
        self.lock().remove(&id);
        match answered {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(CallError::Broker(anyhow::anyhow!(
                "the reply consumer stopped"
            ))),
            Err(_) => Err(CallError::TimedOut(timeout)),
        }
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

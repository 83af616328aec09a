//! Variant: publishes a whole window, then waits for all of its confirms, then
//! the next window: fewer messages in flight on average, equally safe.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Connection, PublisherConfirm};

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
    let mut confirmed = Confirmed::default();
    if let Err(error) =
        publish_in_window(connection, queue, messages, &mut confirmed).await
    {
        confirmed.stopped_by = Some(error);
    }
    confirmed
}

async fn publish_in_window(
    connection: &Connection,
    queue: &str,
    messages: &[Outgoing],
    confirmed: &mut Confirmed,
) -> Result<()> {
    let channel = connection
        .create_channel()
        .await
        .context("opening a channel")?;
    // Without confirm mode, awaiting a publish only means "written to the socket":
    // the broker may never have seen the message.
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .context("turning on publisher confirms")?;
    // Messages in flight, oldest first. Waiting for each confirm before the next
    // publish would cost a round trip (and a disk write) per message.
    let mut in_flight: VecDeque<(&str, PublisherConfirm)> =
        VecDeque::with_capacity(WINDOW);
    for message in messages {
        if in_flight.len() == WINDOW {
            while let Some((id, confirm)) = in_flight.pop_front() {
                await_confirm(id, confirm, confirmed).await?;
            }
        }
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(message.id.as_str().into());
        let confirm = channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                message.body.as_bytes(),
                properties,
            )
            .await
            .with_context(|| format!("publishing {}", message.id))?;
        confirmed.published += 1;
        in_flight.push_back((&message.id, confirm));
    }
    while let Some((id, confirm)) = in_flight.pop_front() {
        await_confirm(id, confirm, confirmed).await?;
    }
    Ok(())
}

async fn await_confirm(
    id: &str,
    confirm: PublisherConfirm,
    confirmed: &mut Confirmed,
) -> Result<()> {
    // Bounded: a confirm that never comes (the connection died on the way) must not
    // stop the publisher forever. Timing out only means "unknown": the message may
    // be stored, which is where duplicates come from.
    let answer = tokio::time::timeout(CONFIRM_TIMEOUT, confirm)
        .await
        .with_context(|| format!("no confirm for {id} within {CONFIRM_TIMEOUT:?}"))?
        .with_context(|| format!("waiting for the confirm of {id}"))?;
    // A nack means the broker could not take the message: it is not stored, and
    // stays unconfirmed for the caller to retry.
    if answer.is_ack() {
        confirmed.acked.push(id.to_string());
    }
    Ok(())
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
    let mut sent = Sent::default();
    let mut unconfirmed: Vec<Outgoing> = messages.to_vec();
    let mut connection = connect().await.context("connecting to RabbitMQ")?;
    loop {
        let round = publish_confirmed(&connection, queue, &unconfirmed).await;
        sent.publishes += round.published;
        // Only an ack takes a message off the list. A message published without an
        // answer may or may not be stored: sending it again is the only way never
        // to lose it, and it is what makes duplicates (chapter 3: idempotence).
        let acked: BTreeSet<&str> = round.acked.iter().map(String::as_str).collect();
        unconfirmed.retain(|m| !acked.contains(m.id.as_str()));
        if unconfirmed.is_empty() {
            return Ok(sent);
        }
        if round.stopped_by.is_none() {
            // Every message got an answer, and some were nacked: try those again.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        connection = reconnect(&connect).await?;
        sent.reconnects += 1;
    }
}

/// Connects again, retrying while the broker is down (a restart takes seconds).
async fn reconnect<C, F>(connect: &C) -> Result<Connection>
where
    C: Fn() -> F,
    F: Future<Output = Result<Connection>>,
{
    let started = Instant::now();
    loop {
        match connect().await {
            Ok(connection) => return Ok(connection),
            Err(error) if started.elapsed() > RECONNECT_FOR => {
                bail!("RabbitMQ unreachable for {RECONNECT_FOR:?}: {error:#}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}
// ANCHOR_END: send_all

//! Wrong: one delay queue for every rung, with a per-message TTL: a short retry
//! waits behind a long one, since a message expires only at the head of its queue.
//! Caught by: a_short_retry_is_not_held_up_by_a_long_one

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicPublishOptions, BasicRejectOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};

/// The rungs of the retry ladder: a job that failed for the n-th time waits
/// `DELAYS[n - 1]` before it is tried again. Short, so the checks are quick.
pub const DELAYS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(300),
    Duration::from_millis(1200),
];

/// Tries of one job, the first included, before it is buried in the dead-letter
/// queue: one try and one per rung.
pub const MAX_ATTEMPTS: u32 = DELAYS.len() as u32 + 1;

/// The queue of rung `rung` (0 for the first retry) of the ladder of `jobs`.
pub fn rung_queue(jobs: &str, rung: usize) -> String {
    format!("{jobs}.retry.{rung}")
}

/// The dead-letter queue of `jobs`: where poison jobs end, for a human to look at.
pub fn dead_queue(jobs: &str) -> String {
    format!("{jobs}.dead")
}

/// What [`Worker::finish`] did with a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It succeeded and was acknowledged.
    Done,
    /// It failed and waits in rung `rung` of the ladder.
    Retried {
        /// The rung it waits in, 0 for the first retry.
        rung: usize,
    },
    /// It failed [`MAX_ATTEMPTS`] times and was dead-lettered.
    Buried,
}

/// A string queue argument.
fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}

/// Declares a durable queue with `arguments`.
async fn declare(channel: &Channel, queue: &str, arguments: FieldTable) -> Result<()> {
    channel
        .queue_declare(queue.into(), QueueDeclareOptions::durable(), arguments)
        .await
        .with_context(|| format!("declaring the queue {queue}"))?;
    Ok(())
}

// ANCHOR: declare_ladder
/// Declares the work queue `jobs`, the queue of each rung of its retry ladder and
/// its dead-letter queue.
pub async fn declare_ladder(channel: &Channel, jobs: &str) -> Result<()> {
    declare(channel, &dead_queue(jobs), FieldTable::default()).await?;

    // The work queue: a quorum queue, whose delivery limit (20 by default in
    // RabbitMQ 4.0) also stops a job that crashes every worker that takes it.
    // What it dead-letters (a job rejected for good) goes through the default
    // exchange to the dead-letter queue.
    let mut work = FieldTable::default();
    work.insert("x-queue-type".into(), text("quorum"));
    work.insert("x-dead-letter-exchange".into(), text(""));
    work.insert("x-dead-letter-routing-key".into(), text(&dead_queue(jobs)));
    declare(channel, jobs, work).await?;

    // One queue per rung, each with one TTL for all its messages: a message
    // expires at the head of its queue, and here every message behind the head
    // expires later than the head does, so none is held up. Nobody consumes a
    // rung; what expires is dead-lettered back to the work queue.
    // One delay queue for the whole ladder; each message says how long it waits.
    let mut wait = FieldTable::default();
    wait.insert("x-dead-letter-exchange".into(), text(""));
    wait.insert("x-dead-letter-routing-key".into(), text(jobs));
    declare(channel, &rung_queue(jobs, 0), wait).await?;
    Ok(())
}
// ANCHOR_END: declare_ladder

// ANCHOR: attempts
/// How many times the job of `delivery`, from the work queue `jobs`, has been
/// tried, this try included.
pub fn attempts(jobs: &str, delivery: &Delivery) -> u32 {
    let Some(headers) = delivery.properties.headers() else {
        return 1; // never dead-lettered: a new job
    };
    let Some(AMQPValue::FieldArray(deaths)) = headers.inner().get("x-death") else {
        return 1;
    };
    // The broker writes x-death each time it dead-letters the message: one entry
    // per (queue, reason). It keeps no history a client brings along (RabbitMQ
    // 4.0: a republished copy starts a new one), so the entry that counts is the
    // rung the job just expired from: rung n holds the job after its try n + 1.
    let mut tries = 1;
    for death in deaths.as_slice() {
        let AMQPValue::FieldTable(death) = death else {
            continue;
        };
        let death = death.inner();
        let (Some(AMQPValue::LongString(reason)), Some(AMQPValue::LongString(queue))) =
            (death.get("reason"), death.get("queue"))
        else {
            continue;
        };
        if reason.to_string() != "expired" {
            continue;
        }
        // The one delay queue: which rung it waited in is the expiration it had.
        if queue.to_string() == rung_queue(jobs, 0) {
            let waited = delivery.properties.expiration().as_ref().map(|e| e.to_string());
            for (rung, delay) in DELAYS.iter().enumerate() {
                if waited.as_deref() == Some(delay.as_millis().to_string().as_str()) {
                    tries = tries.max(rung as u32 + 2);
                }
            }
        }
    }
    tries
}
// ANCHOR_END: attempts

/// A worker of the queue `jobs`: takes jobs from a consumer of its own and tells
/// [`Worker::finish`] whether each succeeded.
pub struct Worker {
    /// The channel the worker consumes on; acks, rejects and retries use it too.
    channel: Channel,
    /// The work queue.
    jobs: String,
}

impl Worker {
    /// A worker of `jobs` on `channel`, which must be the channel its deliveries
    /// come from (an ack on another channel is a protocol error).
    pub fn new(channel: Channel, jobs: &str) -> Worker {
        Worker {
            channel,
            jobs: jobs.to_string(),
        }
    }

    // ANCHOR: finish
    /// Finishes the job of `delivery`: acks it if it `succeeded`; otherwise sends
    /// it down the next rung of the ladder, or buries it after [`MAX_ATTEMPTS`].
    pub async fn finish(&mut self, delivery: &Delivery, succeeded: bool) -> Result<Fate> {
        if succeeded {
            delivery.ack(BasicAckOptions::default()).await?;
            return Ok(Fate::Done);
        }
        let tried = attempts(&self.jobs, delivery);
        if tried >= MAX_ATTEMPTS {
            // Rejected without requeue: the work queue dead-letters it to the
            // dead-letter queue, and its x-death says why and how often.
            delivery
                .reject(BasicRejectOptions { requeue: false })
                .await?;
            return Ok(Fate::Buried);
        }
        // The n-th failure waits in rung n - 1. Publish the copy (confirmed)
        // before the ack, or a crash in between would lose the job.
        let rung = tried as usize - 1;
        self.channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let confirm = self
            .channel
            .basic_publish(
                "".into(),
                rung_queue(&self.jobs, 0).as_str().into(),
                BasicPublishOptions::default(),
                &delivery.data,
                delivery
                    .properties
                    .clone()
                    .with_expiration(DELAYS[rung].as_millis().to_string().as_str().into()),
            )
            .await
            .context("sending the job down the ladder")?
            .await?;
        ensure!(confirm.is_ack(), "the broker nacked the job's retry");
        delivery.ack(BasicAckOptions::default()).await?;
        Ok(Fate::Retried { rung })
    }
    // ANCHOR_END: finish
}

/// Properties for a new job: persistent, so it survives a broker restart.
pub fn new_job() -> BasicProperties {
    BasicProperties::default().with_delivery_mode(2)
}

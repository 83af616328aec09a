//! Chapter 8: background jobs that fail are tried again later, after growing
//! delays, and a poison job ends in a dead-letter queue instead of being retried
//! forever. RabbitMQ has no scheduler: the delays are queues whose messages expire
//! (TTL) and are dead-lettered back to the work queue.
//!
//! - [`declare_ladder`]: the work queue, one retry queue per rung of the ladder
//!   (each with its own TTL) and the dead-letter queue.
//! - [`attempts`]: how many times a job has been tried, read from its `x-death`
//!   header, which the broker writes and every worker can read.
//! - [`Worker::finish`]: what a worker does with a job it has tried: ack it, send
//!   it down a rung of the ladder, or bury it in the dead-letter queue.
//!
//! Check: `cargo test -p exercise_08_scheduling`. Chapter: `book/src/ch08-scheduling.md`
//! ("Scheduling"); the TODOs below are the whole exercise.

use std::time::Duration;

use anyhow::{Context, Result};
use lapin::message::Delivery;
// You will need some of these: BasicAckOptions, BasicPublishOptions,
// BasicRejectOptions, ConfirmSelectOptions.
use lapin::options::QueueDeclareOptions;
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
    // TODO: declare the dead-letter queue `dead_queue(jobs)` (a durable queue).
    // TODO: declare the work queue `jobs`, durable, with the arguments
    //       `x-dead-letter-exchange` and `x-dead-letter-routing-key`, so what it
    //       rejects for good goes to the dead-letter queue (a quorum queue is best).
    // TODO: declare one queue per rung, `rung_queue(jobs, rung)`, whose messages
    //       expire after `DELAYS[rung]` and are dead-lettered back to `jobs`.
    let _ = (channel, jobs, declare, text);
    todo!("declare the dead-letter queue, the work queue and one queue per rung")
}
// ANCHOR_END: declare_ladder

// ANCHOR: attempts
/// How many times the job of `delivery`, from the work queue `jobs`, has been
/// tried, this try included.
pub fn attempts(jobs: &str, delivery: &Delivery) -> u32 {
    // TODO: a job without an `x-death` header (`delivery.properties.headers()`)
    //       is on its first try. Otherwise the header is an array of tables, one
    //       per (queue, reason) the broker dead-lettered it from: the entry with
    //       reason `expired` names the rung queue the job just came back from, and
    //       rung n holds a job after its try n + 1.
    let _ = (jobs, delivery, AMQPValue::Void);
    todo!("count the tries of this job from its x-death header")
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
        // TODO: a job that succeeded is acked.
        // TODO: a job tried MAX_ATTEMPTS times is rejected without requeue: the
        //       work queue dead-letters it.
        // TODO: any other failed job is published (with its properties, so its
        //       headers travel along) to the queue of its rung, confirmed, and
        //       only then acked.
        let _ = (delivery, succeeded, &self.channel, &self.jobs);
        todo!("ack, retry down the ladder, or bury the job")
    }
    // ANCHOR_END: finish
}

/// Properties for a new job: persistent, so it survives a broker restart.
pub fn new_job() -> BasicProperties {
    BasicProperties::default().with_delivery_mode(2)
}

//! Checks for chapter 8 (do not modify): they declare a retry ladder with your
//! `declare_ladder` on a real RabbitMQ, run workers made of your `Worker`, make
//! jobs fail on purpose, and time when each job comes back and where it ends.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use lab::rabbitmq::steps::{Acks, Death, body, consume, publish_each, ready, x_death};
use lapin::message::Delivery;
use lapin::options::BasicGetOptions;
use lapin::{Channel, Connection, Consumer};
use scheduling::{
    DELAYS, Fate, MAX_ATTEMPTS, Worker, dead_queue, declare_ladder, new_job,
};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a failed job may take to come back: the longest rung and a margin.
const BACK_WITHIN: Duration = Duration::from_secs(4);

/// How early a retry may come, for clock and timer granularity.
const SLACK: Duration = Duration::from_millis(10);

/// Where chapter 8 explains the ladder.
const LADDER: &str = "see ch08 'A retry ladder'";
/// Where chapter 8 explains poison jobs.
const POISON: &str = "see ch08 'Poison jobs and the dead-letter queue'";
/// Where chapter 8 explains why one delay queue is not enough.
const HEAD: &str = "see ch08 'TTL is not a scheduler'";

/// A connection, a channel to declare and publish on, and a ladder declared by
/// `declare_ladder` for a fresh work queue.
struct Jobs {
    /// Held for the whole check: it keeps fault experiments off this broker.
    _rabbit: lab::Rabbit,
    connection: Connection,
    setup: Channel,
    jobs: String,
}

impl Jobs {
    async fn new() -> anyhow::Result<Jobs> {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let setup = connection.create_channel().await?;
        let jobs = lab::unique_name("jobs");
        declare_ladder(&setup, &jobs)
            .await
            .context("`declare_ladder` failed")?;
        Ok(Jobs {
            _rabbit: rabbit,
            connection,
            setup,
            jobs,
        })
    }

    /// Publishes a new job (confirmed) to the work queue.
    async fn publish(&self, job: &str) -> anyhow::Result<()> {
        publish_each(&self.setup, &self.jobs, &[(job.to_string(), new_job())]).await
    }

    /// A worker made by `Worker::new`, with a consumer of the work queue on its
    /// own channel.
    async fn worker(&self) -> anyhow::Result<(Channel, Worker, Consumer)> {
        let channel = self.connection.create_channel().await?;
        let consumer = consume(&channel, &self.jobs, Acks::Manual).await?;
        let worker = Worker::new(channel.clone(), &self.jobs);
        Ok((channel, worker, consumer))
    }

    /// How many jobs wait in the dead-letter queue.
    async fn buried(&self) -> anyhow::Result<u32> {
        ready(&self.setup, &dead_queue(&self.jobs)).await
    }
}

/// The next job a worker gets, or `None` if none comes within `within`.
async fn next_job(
    consumer: &mut Consumer,
    within: Duration,
) -> anyhow::Result<Option<Delivery>> {
    use futures::StreamExt;
    match tokio::time::timeout(within, consumer.next()).await {
        Ok(Some(delivery)) => Ok(Some(delivery.context("receiving a job")?)),
        Ok(None) => bail!("the worker's consumer was cancelled"),
        Err(_) => Ok(None),
    }
}

/// `worker.finish`, with the check's words if it fails.
async fn finish(
    worker: &mut Worker,
    delivery: &Delivery,
    succeeded: bool,
) -> anyhow::Result<Fate> {
    worker
        .finish(delivery, succeeded)
        .await
        .with_context(|| format!("`Worker::finish` of {} failed", body(delivery)))
}

/// The retry ladder: a job that fails three times comes back after each failure,
/// each time no sooner than its rung's delay (100, 300, 1200 ms), and succeeds on
/// its fourth try; nothing is left in the dead-letter queue.
#[tokio::test]
async fn a_failed_job_comes_back_after_each_rungs_delay() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a job that fails three times", async {
        let jobs = Jobs::new().await?;
        let (_channel, mut worker, mut consumer) = jobs.worker().await?;
        jobs.publish("report-7").await?;
        let mut tries: Vec<Instant> = Vec::new();
        while tries.len() < MAX_ATTEMPTS as usize {
            let Some(delivery) = next_job(&mut consumer, BACK_WITHIN).await? else {
                bail!(
                    "the job failed {} times and did not come back within {BACK_WITHIN:?} of its last failure: \
                     a failed job must wait in a rung of the ladder and then be dead-lettered back to the work queue ({LADDER})",
                    tries.len()
                );
            };
            tries.push(Instant::now());
            let last = tries.len() == MAX_ATTEMPTS as usize;
            finish(&mut worker, &delivery, last).await?;
        }
        for (rung, pair) in tries.windows(2).enumerate() {
            let waited = pair[1] - pair[0];
            ensure!(
                waited + SLACK >= DELAYS[rung],
                "try {} arrived {} ms after try {}, but rung {rung} of the ladder waits {} ms: \
                 a failed job must wait in the queue of its rung, whose TTL dead-letters it back to the work queue, \
                 not be requeued at once ({LADDER})",
                rung + 2,
                waited.as_millis(),
                rung + 1,
                DELAYS[rung].as_millis()
            );
        }
        let buried = jobs.buried().await?;
        ensure!(
            buried == 0,
            "a job that succeeded on try {MAX_ATTEMPTS} left {buried} message(s) in the dead-letter queue ({POISON})"
        );
        Ok(())
    })
    .await
}

/// A poison job (it fails every time) is tried exactly MAX_ATTEMPTS times, each
/// try by a new worker (as after restarts, or in a pool), and then waits in the
/// dead-letter queue with its history in `x-death`: the expiries of the ladder and
/// the final rejection.
#[tokio::test]
async fn a_poison_job_is_buried_after_max_attempts_whoever_tried_it() -> anyhow::Result<()>
{
    lab::check(CHECK_TIMEOUT, "a job that fails every time", async {
        let jobs = Jobs::new().await?;
        jobs.publish("poison").await?;
        let too_many = MAX_ATTEMPTS + 2;
        let mut tries = 0;
        while tries < too_many && jobs.buried().await? == 0 {
            let (channel, mut worker, mut consumer) = jobs.worker().await?;
            let started = Instant::now();
            // Until the job comes back, or is buried.
            while started.elapsed() < BACK_WITHIN {
                if let Some(delivery) = next_job(&mut consumer, Duration::from_millis(50)).await? {
                    tries += 1;
                    finish(&mut worker, &delivery, false).await?;
                    break;
                }
                if jobs.buried().await? > 0 {
                    break;
                }
            }
            channel.close(200, "this worker is done".into()).await?;
            if started.elapsed() >= BACK_WITHIN {
                bail!(
                    "the poison job failed {tries} times, then neither came back within {BACK_WITHIN:?} nor reached the dead-letter queue ({LADDER})"
                );
            }
        }
        let buried = jobs.buried().await?;
        ensure!(
            buried == 1,
            "the poison job was tried {tries} times, each time by a new worker, and never reached the dead-letter queue: \
             count the tries from its x-death header, which every worker sees, and bury it after try {MAX_ATTEMPTS} ({POISON})"
        );
        ensure!(
            tries == MAX_ATTEMPTS,
            "the poison job was buried after {tries} tries, not after {MAX_ATTEMPTS}: one try and one per rung of the ladder ({POISON})"
        );
        let message = jobs
            .setup
            .basic_get(dead_queue(&jobs.jobs).as_str().into(), BasicGetOptions { no_ack: true })
            .await?
            .context("the dead-letter queue had the job a moment ago")?;
        let mut history = x_death(&message.delivery);
        history.sort();
        let death = |queue: String, reason: &str| Death {
            queue,
            reason: reason.to_string(),
            count: 1,
        };
        let last_rung = scheduling::rung_queue(&jobs.jobs, DELAYS.len() - 1);
        let mut wanted = vec![death(jobs.jobs.clone(), "rejected"), death(last_rung, "expired")];
        wanted.sort();
        ensure!(
            history == wanted,
            "the buried job's x-death is {history:?}; a job that came back from the last rung \
             and was then rejected for good shows {wanted:?}: reject the last try without requeue, so the work queue \
             dead-letters it ({POISON})"
        );
        Ok(())
    })
    .await
}

/// Rungs are independent: a job that waits 100 ms in the first rung comes back
/// before a job that started waiting 1200 ms in the last rung just before it.
#[tokio::test]
async fn a_short_retry_is_not_held_up_by_a_long_one() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a quick retry behind a slow one", async {
        let jobs = Jobs::new().await?;
        let (_channel, mut worker, mut consumer) = jobs.worker().await?;
        jobs.publish("slow").await?;
        // (job, its try) in the order the worker got them.
        let mut order: Vec<(String, u32)> = Vec::new();
        let (mut slow_tries, mut quick_tries) = (0, 0);
        while slow_tries < MAX_ATTEMPTS || quick_tries < 2 {
            let Some(delivery) = next_job(&mut consumer, BACK_WITHIN).await? else {
                bail!(
                    "after {order:?} (job, try) no job came back within {BACK_WITHIN:?}: a failed job must wait in a rung of the ladder and then be dead-lettered back ({LADDER})"
                );
            };
            let job = body(&delivery);
            if job == "slow" {
                slow_tries += 1;
                order.push((job, slow_tries));
                finish(&mut worker, &delivery, slow_tries == MAX_ATTEMPTS).await?;
                if slow_tries == MAX_ATTEMPTS - 1 {
                    // The slow job now waits in the last, longest rung.
                    jobs.publish("quick").await?;
                }
            } else {
                quick_tries += 1;
                order.push((job, quick_tries));
                finish(&mut worker, &delivery, quick_tries == 2).await?;
            }
        }
        let at = |job: &str, try_: u32| order.iter().position(|(j, t)| j == job && *t == try_);
        let (Some(quick_back), Some(slow_back)) = (at("quick", 2), at("slow", MAX_ATTEMPTS)) else {
            bail!("the jobs arrived as {order:?}, (job, try)");
        };
        ensure!(
            quick_back < slow_back,
            "the quick job's retry ({} ms rung) came back only after the slow job's ({} ms rung), although it failed after it: \
             it waited behind it in one queue, where a message expires only at the head. Give each delay a queue of its own ({HEAD})",
            DELAYS[0].as_millis(),
            DELAYS[DELAYS.len() - 1].as_millis()
        );
        Ok(())
    })
    .await
}

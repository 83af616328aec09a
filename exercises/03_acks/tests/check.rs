//! Checks for chapter 3 (do not modify): they run your worker against a real
//! RabbitMQ queue, kill it with SIGKILL in the middle of a job (a real crash of a
//! real process, `src/bin/acks_worker.rs`), start another, and read the ledger.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use acks::{Ledger, PREFETCH, subscribe, work};
use lab::rabbitmq::steps::{
    Scene, arguments, durable_queue, numbered, persistence, publish_each, queue_with,
    ready, text, until_ready,
};
use lapin::Channel;

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// Where chapter 3 explains manual acks and prefetch.
const MANUAL: &str = "see ch03 'Manual and automatic acks'";
/// Where chapter 3 explains rejecting and requeueing.
const REJECT: &str = "see ch03 'Nack, reject, requeue'";
/// Where chapter 3 explains redeliveries and idempotence.
const DIES: &str = "see ch03 'A consumer that dies'";

/// The worker program of the package under test: the exercise builds
/// `acks_worker`, the solution `solution_acks_worker` (distinct names, so neither
/// can run the other's).
const WORKER: &str = match option_env!("CARGO_BIN_EXE_acks_worker") {
    Some(path) => path,
    None => match option_env!("CARGO_BIN_EXE_solution_acks_worker") {
        Some(path) => path,
        None => panic!("the package under test builds the worker program"),
    },
};

/// Publishes jobs, persistent, each with its id as `message_id` (`None`: no id),
/// and waits for the broker's confirms.
async fn publish(
    channel: &Channel,
    queue: &str,
    jobs: &[Option<String>],
) -> anyhow::Result<()> {
    let messages: Vec<_> = jobs
        .iter()
        .map(|job| match job {
            Some(id) => (
                id.clone(),
                persistence(true).with_message_id(id.as_str().into()),
            ),
            None => ("a job without id".to_string(), persistence(true)),
        })
        .collect();
    publish_each(channel, queue, &messages).await
}

fn jobs(count: usize) -> Vec<String> {
    numbered("job", count)
}

fn with_ids(jobs: &[String]) -> Vec<Option<String>> {
    jobs.iter().cloned().map(Some).collect()
}

/// A fresh ledger file of this check's own.
fn ledger_path() -> PathBuf {
    std::env::temp_dir().join(format!("{}.ledger", lab::unique_name("ledger")))
}

fn read_ledger(path: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until the ledger holds every job of `expected` (at least once).
async fn until_recorded(
    path: &PathBuf,
    expected: &[String],
    hint: &str,
) -> anyhow::Result<()> {
    let waited = lab::until(
        Duration::from_secs(30),
        "every job to be recorded",
        Duration::from_millis(50),
        || async {
            let recorded = read_ledger(path);
            Ok(expected.iter().all(|job| recorded.contains(job)))
        },
    )
    .await;
    if waited.is_err() {
        let recorded = read_ledger(path);
        let missing: Vec<_> = expected.iter().filter(|j| !recorded.contains(j)).collect();
        anyhow::bail!("jobs never recorded (lost): {missing:?}. {hint}");
    }
    Ok(())
}

/// The jobs the ledger holds more than once.
fn recorded_twice(path: &PathBuf) -> Vec<(String, usize)> {
    let mut times: BTreeMap<String, usize> = BTreeMap::new();
    for job in read_ledger(path) {
        *times.entry(job).or_default() += 1;
    }
    times.into_iter().filter(|(_, n)| *n > 1).collect()
}

/// Runs `work` on a channel of `connection` until the ledger holds every job of
/// `sent`, then closes the channel (which ends `work`) and waits for it to return.
/// Returns the ledger's path.
async fn work_until_recorded(
    connection: &lapin::Connection,
    queue: &str,
    sent: &[String],
) -> anyhow::Result<PathBuf> {
    let path = ledger_path();
    let channel = connection.create_channel().await?;
    let worker = {
        let (channel, queue, path) = (channel.clone(), queue.to_string(), path.clone());
        tokio::spawn(async move {
            let mut ledger = Ledger::open(path)?;
            work(&channel, &queue, &mut ledger).await
        })
    };
    until_recorded(&path, sent, "").await?;
    // Give the last ack time to leave before the channel closes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    if worker.is_finished() {
        // It stopped by itself while the channel was open: that is its own failure.
        worker
            .await?
            .map_err(|e| anyhow::anyhow!("the worker failed: {e:#}"))?;
        return Ok(path);
    }
    channel.close(200, "check done".into()).await?;
    // What the worker returns once the check has closed its channel under it (an
    // error if it was in the middle of an ack or reject) is the check's doing.
    let _ = lab::within(Duration::from_secs(10), "the worker to stop", worker).await?;
    Ok(path)
}

/// Without crashes: every job is recorded once, and acked (none comes back when
/// the worker's channel closes).
#[tokio::test]
async fn every_job_is_recorded_once_and_acked() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a worker handled 20 jobs", async {
        let scene = Scene::new("jobs").await?;
        let sent = jobs(20);
        publish(&scene.setup, &scene.queue, &with_ids(&sent)).await?;
        let path = work_until_recorded(&scene.connection, &scene.queue, &sent).await?;
        let twice = recorded_twice(&path);
        assert!(
            twice.is_empty(),
            "jobs recorded more than once: {twice:?} ({DIES})"
        );
        let back = ready(&scene.setup, &scene.queue).await?;
        assert_eq!(
            back, 0,
            "{back} jobs came back to the queue when the worker stopped: they were recorded but never acked ({MANUAL})"
        );
        // A passing check leaves no ledger behind; a failing one keeps it to look at.
        let _ = std::fs::remove_file(&path);
        Ok(())
    })
    .await
}

/// A job published twice (the publisher sent it again, chapter 5) arrives twice as
/// a *new* delivery each time, with `redelivered` false: only the ledger can tell
/// it was done already. It is recorded once, and both copies are acked.
#[tokio::test]
async fn a_job_published_twice_is_recorded_once() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a worker handled a job published twice", async {
        let scene = Scene::new("jobs").await?;
        let sent = jobs(3);
        let twice = [sent.clone(), vec![sent[0].clone()]].concat();
        publish(&scene.setup, &scene.queue, &with_ids(&twice)).await?;
        let path = work_until_recorded(&scene.connection, &scene.queue, &sent).await?;
        let again = recorded_twice(&path);
        assert!(
            again.is_empty(),
            "jobs recorded more than once: {again:?}: a job published twice arrives as a new \
             delivery (`redelivered` is false), so only the ledger knows it is done; look every \
             job up in the ledger, not only redelivered ones ({DIES})"
        );
        let back = ready(&scene.setup, &scene.queue).await?;
        assert_eq!(
            back, 0,
            "{back} job(s) came back to the queue: the copy of a job already recorded must be acked too ({DIES})"
        );
        let _ = std::fs::remove_file(&path);
        Ok(())
    })
    .await
}

/// The worker takes a bounded number of jobs at once, and leaves the rest in the
/// queue for other workers.
#[tokio::test]
async fn worker_holds_a_bounded_number_of_jobs() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a worker subscribed to 100 jobs", async {
        let scene = Scene::new("jobs").await?;
        publish(&scene.setup, &scene.queue, &with_ids(&jobs(100))).await?;
        let channel = scene.connection.create_channel().await?;
        let _consumer = subscribe(&channel, &scene.queue).await?;
        let started = until_ready(
            &scene.setup,
            &scene.queue,
            "the worker to take a job",
            Duration::from_secs(10),
            |n| n < 100,
        )
        .await;
        anyhow::ensure!(
            started.is_ok(),
            "the worker took no job: does `subscribe` start a consumer on the queue? ({MANUAL})"
        );
        // Time for a worker without a limit to be sent the rest.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let taken = 100 - ready(&scene.setup, &scene.queue).await?;
        assert!(
            taken <= u32::from(PREFETCH),
            "the worker took {taken} of 100 jobs at once, more than PREFETCH ({PREFETCH}): \
             use manual acks and `basic_qos(PREFETCH)` ({MANUAL})"
        );
        Ok(())
    })
    .await
}

/// A crash experiment: a queue holding 10 jobs with ids, and a fresh ledger.
struct Crash {
    /// Held for the whole experiment: it keeps fault tests off this broker.
    scene: Scene,
    sent: Vec<String>,
    ledger: PathBuf,
}

impl Crash {
    async fn new() -> anyhow::Result<Crash> {
        let scene = Scene::new("jobs").await?;
        let sent = jobs(10);
        publish(&scene.setup, &scene.queue, &with_ids(&sent)).await?;
        Ok(Crash {
            scene,
            sent,
            ledger: ledger_path(),
        })
    }

    /// Starts a worker on the queue and the ledger, stalling as `stall` says.
    fn worker(&self, stall: &[&str]) -> anyhow::Result<lab::ClientProcess> {
        let mut args = vec![
            self.scene.rabbit.amqp_url().to_string(),
            self.scene.queue.clone(),
            self.ledger.display().to_string(),
        ];
        args.extend(stall.iter().map(|s| s.to_string()));
        Ok(lab::ClientProcess::spawn(WORKER, args)?)
    }

    /// No job was recorded twice; a passing check leaves no ledger behind (a
    /// failing one keeps it to look at).
    fn none_twice(self, advice: &str) {
        let twice = recorded_twice(&self.ledger);
        assert!(
            twice.is_empty(),
            "jobs recorded more than once: {twice:?}{advice}"
        );
        let _ = std::fs::remove_file(&self.ledger);
    }
}

/// A crash in the middle of a job, before its effect: nothing is lost. The job
/// was not acked, so RabbitMQ gives it to the next worker.
#[tokio::test]
async fn job_stuck_before_recording_is_not_lost_when_the_worker_is_killed()
-> anyhow::Result<()> {
    let what = "killing a worker in the middle of a job";
    lab::check(CHECK_TIMEOUT, what, async {
        let crash = Crash::new().await?;
        let mut first = crash.worker(&["stall-before", "3"])?;
        first
            .line_containing("stalled before recording", Duration::from_secs(30))
            .await?;
        first.kill().await?;

        let second = crash.worker(&[])?;
        until_recorded(
            &crash.ledger,
            &crash.sent,
            "A killed worker's unacknowledged jobs go back to the queue; jobs that are \
             lost were acked before they were done (or sent with automatic acks); see ch03 \
             'A consumer that dies'.",
        )
        .await?;
        second.kill().await?;
        crash.none_twice("");
        Ok(())
    })
    .await
}

/// A crash after a job's effect but before its ack: the job is redelivered, with
/// `redelivered` set, and an idempotent worker does not do it twice.
#[tokio::test]
async fn job_recorded_but_not_acked_is_redelivered_and_not_recorded_twice()
-> anyhow::Result<()> {
    let what = "killing a worker between recording a job and acking it";
    lab::check(CHECK_TIMEOUT, what, async {
        let crash = Crash::new().await?;
        let mut first = crash.worker(&["stall-after", "3"])?;
        first
            .line_containing("stalled after recording job-3", Duration::from_secs(30))
            .await?;
        first.kill().await?;

        let mut second = crash.worker(&[])?;
        let line = second
            .line_containing("job-3 (", Duration::from_secs(30))
            .await?;
        assert!(
            line.contains("redelivered: true"),
            "job-3 came back without the redelivered flag: {line} ({DIES})"
        );
        until_recorded(&crash.ledger, &crash.sent, "").await?;
        second.kill().await?;
        crash.none_twice(
            ". A job recorded before the crash but not acked is delivered again: look \
             it up in the ledger before recording it (see ch03 'A consumer that dies').",
        );
        Ok(())
    })
    .await
}

/// A job without an id is rejected without requeue: it leaves the queue (here, to
/// the queue's dead-letter queue) instead of coming back forever.
#[tokio::test]
async fn job_without_id_is_rejected_not_requeued() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a worker handled a job without id", async {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let setup = connection.create_channel().await?;
        let queue = lab::unique_name("jobs");
        let dead_letters = lab::unique_name("dead_letters");
        durable_queue(&setup, &dead_letters).await?;
        // Rejected messages of `queue` go to `dead_letters` (chapter 8).
        let dead_lettering = arguments([
            ("x-dead-letter-exchange", text("")),
            ("x-dead-letter-routing-key", text(&dead_letters)),
        ]);
        queue_with(&setup, &queue, dead_lettering).await?;
        let sent = jobs(2);
        publish(
            &setup,
            &queue,
            &[Some(sent[0].clone()), None, Some(sent[1].clone())],
        )
        .await?;

        let path = work_until_recorded(&connection, &queue, &sent).await?;
        assert_eq!(
            read_ledger(&path),
            sent,
            "only the jobs with an id are recorded ({REJECT})"
        );
        let (left, dead) = (
            ready(&setup, &queue).await?,
            ready(&setup, &dead_letters).await?,
        );
        assert!(
            left == 0 && dead == 1,
            "the job without id should be rejected without requeue (dead-lettered); \
             found {left} message(s) back in the queue and {dead} dead-lettered ({REJECT})"
        );
        // A passing check leaves no ledger behind; a failing one keeps it to look at.
        let _ = std::fs::remove_file(&path);
        Ok(())
    })
    .await
}

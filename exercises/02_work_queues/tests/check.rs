//! Checks for chapter 2 (do not modify): they start workers made of your functions
//! on a real RabbitMQ queue and count which worker did which task.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use lab::rabbitmq::steps::{Scene, numbered, publish_all, ready, until_ready};
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;
use tokio::sync::mpsc;
use work_queues::{Done, fair_consumer, work};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(90);

/// Where chapter 2 explains fair dispatch.
const FAIR: &str = "see ch02 'Prefetch and fair dispatch'";
/// Where chapter 2 explains when to ack.
const ACK_AFTER: &str = "see ch02 'Background jobs in Rust'";

/// Fair dispatch: with a fast and a slow worker on one queue, the slow one does
/// clearly fewer tasks, and every task is done exactly once.
#[tokio::test]
async fn slow_worker_gets_fewer_tasks_and_each_task_is_done_once() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "two workers shared 40 tasks", async {
        let scene = Scene::new("tasks").await?;

        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let mut workers = Vec::new();
        let mut channels = Vec::new();
        // The slow worker subscribes first: plain round-robin would give it half.
        for (name, pace) in [("slow", 250), ("fast", 5)] {
            let channel = scene.connection.create_channel().await?;
            let consumer = fair_consumer(&channel, &scene.queue, name).await?;
            let done = done_tx.clone();
            workers.push(tokio::spawn(async move {
                work(consumer, name, Duration::from_millis(pace), done).await
            }));
            channels.push(channel);
        }
        drop(done_tx);

        let tasks = numbered("task", 40);
        publish_all(&scene.setup, &scene.queue, &tasks, true).await?;

        let mut reports: Vec<Done> = Vec::new();
        while reports.len() < tasks.len() {
            match tokio::time::timeout(Duration::from_secs(20), done_rx.recv()).await {
                Ok(Some(report)) => reports.push(report),
                Ok(None) => anyhow::bail!(
                    "both workers stopped after {} of {} tasks",
                    reports.len(),
                    tasks.len()
                ),
                Err(_) => anyhow::bail!(
                    "only {} of {} tasks were reported done, then nothing for 20 s: does your worker ack each task and go on to the next?",
                    reports.len(),
                    tasks.len()
                ),
            }
        }
        // Anything more that arrives now is a task done twice.
        while let Ok(Some(report)) =
            tokio::time::timeout(Duration::from_millis(500), done_rx.recv()).await
        {
            reports.push(report);
        }

        let mut times_done: BTreeMap<&str, usize> = BTreeMap::new();
        for report in &reports {
            *times_done.entry(report.task.as_str()).or_default() += 1;
        }
        let twice: Vec<_> = times_done.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "tasks done more than once: {twice:?}: each task is delivered to one worker; do it once and ack it once ({ACK_AFTER})"
        );
        let missing: Vec<_> = tasks
            .iter()
            .filter(|t| !times_done.contains_key(t.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "tasks never done: {missing:?}: a worker must go on to the next task after each ack ({ACK_AFTER})"
        );

        let slow = reports.iter().filter(|r| r.worker == "slow").count();
        let fast = reports.len() - slow;
        println!("the slow worker did {slow} tasks, the fast one {fast}");
        assert!(
            slow * 10 < reports.len() * 3,
            "the slow worker (250 ms a task) did {slow} of {} tasks, the fast one (5 ms) {fast}: \
             RabbitMQ dealt them out in turn. Limit each worker to one unacknowledged task ({FAIR}).",
            reports.len()
        );

        // Closing the channels ends the workers, and every task was acknowledged:
        // none comes back to the queue.
        for channel in &channels {
            channel.close(200, "check done".into()).await?;
        }
        for worker in workers {
            lab::within(
                Duration::from_secs(10),
                "`work` to return after its channel closed",
                worker,
            )
            .await??
            .map_err(|e| anyhow::anyhow!("`work` failed: {e:#}"))?;
        }
        assert_eq!(
            ready(&scene.setup, &scene.queue).await?,
            0,
            "tasks went back to the queue: they were done but not acknowledged ({ACK_AFTER})"
        );
        Ok(())
    })
    .await
}

/// A busy worker holds one task; the others wait in the queue for other workers.
#[tokio::test]
async fn a_busy_worker_holds_one_task_and_leaves_the_rest() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a busy worker and 5 tasks", async {
        let scene = Scene::new("tasks").await?;

        // This worker is busy: nothing ever takes its deliveries from its stream.
        let busy_channel = scene.connection.create_channel().await?;
        let mut busy = fair_consumer(&busy_channel, &scene.queue, "busy").await?;
        publish_all(&scene.setup, &scene.queue, &numbered("task", 5), true).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;

        let mut held = 0;
        while let Ok(Some(delivery)) =
            tokio::time::timeout(Duration::from_millis(500), busy.next()).await
        {
            delivery?;
            held += 1;
        }
        assert_eq!(
            held, 1,
            "the busy worker was sent {held} of 5 tasks at once: limit it to one unacknowledged task (`basic_qos(1)`), with manual acks ({FAIR})"
        );
        assert_eq!(
            ready(&scene.setup, &scene.queue).await?,
            4,
            "4 tasks should wait in the queue while the busy worker holds one ({FAIR})"
        );

        // A second worker, subscribing later, gets the 4 waiting tasks.
        let other_channel = scene.connection.create_channel().await?;
        let mut other = other_channel
            .basic_consume(
                scene.queue.as_str().into(),
                "other".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut taken = 0;
        while let Ok(Some(delivery)) =
            tokio::time::timeout(Duration::from_secs(2), other.next()).await
        {
            delivery?;
            taken += 1;
        }
        assert_eq!(
            taken, 4,
            "the second worker should get the 4 waiting tasks ({FAIR})"
        );
        Ok(())
    })
    .await
}

/// A worker that stops in the middle of a task (its channel closes, as when its
/// process dies) loses nothing: it had not acknowledged the task yet, so RabbitMQ
/// puts it back in the queue. A worker that acks first and works after has lost it.
#[tokio::test]
async fn a_task_in_progress_goes_back_when_its_worker_stops() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "stopping a worker in the middle of a task", async {
        let scene = Scene::new("tasks").await?;
        scene.publish(&numbered("task", 3)).await?;
        let channel = scene.connection.create_channel().await?;
        let consumer = fair_consumer(&channel, &scene.queue, "stopping").await?;
        let (done_tx, _done_rx) = mpsc::unbounded_channel();
        // 5 s a task: the worker is still in its first task when it is stopped.
        let worker = tokio::spawn(async move {
            work(consumer, "stopping", Duration::from_secs(5), done_tx).await
        });
        until_ready(
            &scene.setup,
            &scene.queue,
            "the worker to take its first task",
            Duration::from_secs(10),
            |n| n < 3,
        )
        .await?;
        // Time for an early ack, if the worker sends one, to reach the broker.
        tokio::time::sleep(Duration::from_millis(500)).await;
        channel.close(200, "the worker stops".into()).await?;
        worker.abort();
        let back = until_ready(
            &scene.setup,
            &scene.queue,
            "the 3 tasks to be back in the queue",
            Duration::from_secs(10),
            |n| n == 3,
        )
        .await;
        if back.is_err() {
            let lost = 3 - ready(&scene.setup, &scene.queue).await?;
            anyhow::bail!(
                "{lost} of 3 tasks were lost when the worker stopped in the middle of a task: \
                 acknowledge a task after the work is done, not before ({ACK_AFTER})"
            );
        }
        Ok(())
    })
    .await
}

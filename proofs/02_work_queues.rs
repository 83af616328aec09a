//! Proofs of chapter 2's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's RabbitMQ and
//! asserts it equals the key in `book/quizzes/02_work_queues.toml`.

use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use lab::rabbitmq::steps::{
    Acks, Scene, WAIT, bodies_until_quiet, consume, count_until_quiet, numbered, ready,
    until_ready,
};
use lapin::Consumer;
use lapin::options::{BasicAckOptions, BasicQosOptions};
use proofs::proof;

const CHAPTER: &str = "02_work_queues";

/// A worker: takes deliveries, spends `pace` on each, acks it; returns how many it
/// did when its consumer ends.
async fn ack_after(mut consumer: Consumer, pace: Duration) -> Result<usize> {
    let mut done = 0;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        tokio::time::sleep(pace).await;
        delivery.ack(BasicAckOptions::default()).await?;
        done += 1;
    }
    Ok(done)
}

proof!(round_robin_ignores_speed, async {
    let scene = Scene::new("tasks").await?;
    // A: quick worker; B: would take 1 s per message, so it never gets to ack
    // within this proof. No basic_qos on either channel.
    let a = scene.connection.create_channel().await?;
    let fast = tokio::spawn(ack_after(
        consume(&a, &scene.queue, Acks::Manual).await?,
        Duration::from_millis(10),
    ));
    let (_b, mut slow) = scene.consumer(None, Acks::Manual).await?;
    let tasks = numbered("task", 10);
    scene.publish(&tasks).await?;
    let to_b = bodies_until_quiet(&mut slow, Duration::from_secs(2)).await?;
    a.close(200, "done".into()).await?;
    let done_by_a = fast.await??;
    // The mechanism: in turns, whatever A does. B got every other task (all the
    // odd-numbered ones, or all the even ones), and A the rest.
    let numbers: Vec<usize> = to_b
        .iter()
        .filter_map(|t| t.strip_prefix("task-")?.parse().ok())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 2),
        "B's tasks alternate with A's: {to_b:?}"
    );
    assert_eq!(done_by_a + to_b.len(), 10, "each task went to one of them");
    Ok(to_b.len())
});

proof!(prefetch_one_slow_worker_gets_fewer, async {
    let scene = Scene::new("tasks").await?;
    let mut workers = Vec::new();
    let mut channels = Vec::new();
    for pace in [10, 1000] {
        let (channel, consumer) = scene.consumer(Some(1), Acks::Manual).await?;
        workers.push(tokio::spawn(ack_after(
            consumer,
            Duration::from_millis(pace),
        )));
        channels.push(channel);
    }
    scene.publish(&numbered("task", 10)).await?;
    until_ready(
        &scene.setup,
        &scene.queue,
        "the 10 tasks to be taken",
        Duration::from_secs(20),
        |n| n == 0,
    )
    .await?;
    // Let both finish what they hold, then stop them and count.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut done = Vec::new();
    for (channel, worker) in channels.iter().zip(workers) {
        channel.close(200, "done".into()).await?;
        done.push(worker.await??);
    }
    let (fast, slow) = (done[0], done[1]);
    assert_eq!(fast + slow, 10, "every task is done once");
    println!("fast worker: {fast} tasks, slow worker: {slow}");
    Ok(slow < 5)
});

proof!(prefetch_is_per_consumer, async {
    let scene = Scene::new("tasks").await?;
    scene.publish(&numbered("task", 50)).await?;
    let channel = scene.connection.create_channel().await?;
    channel
        .basic_qos(10, BasicQosOptions { global: false })
        .await?;
    let first = consume(&channel, &scene.queue, Acks::Manual).await?;
    let second = consume(&channel, &scene.queue, Acks::Manual).await?;
    let mut both = futures::stream::select(first, second);
    let mut unacked = 0usize;
    while let Ok(Some(delivery)) =
        tokio::time::timeout(Duration::from_secs(2), both.next()).await
    {
        delivery?;
        unacked += 1;
    }
    assert_eq!(
        ready(&scene.setup, &scene.queue).await? as usize,
        50 - unacked,
        "the rest stays ready"
    );
    Ok(unacked)
});

proof!(auto_ack_ignores_prefetch, async {
    let scene = Scene::new("tasks").await?;
    scene.publish(&numbered("task", 10)).await?;
    let (_channel, mut consumer) = scene.consumer(Some(1), Acks::Auto).await?;
    // The mechanism, before this program takes a single delivery from the
    // consumer: the broker empties the queue into it at once. (With manual acks,
    // prefetch 1 would leave 9 waiting.)
    until_ready(
        &scene.setup,
        &scene.queue,
        "the broker to send every message",
        Duration::from_secs(10),
        |n| n == 0,
    )
    .await?;
    let sent = count_until_quiet(&mut consumer, Duration::from_millis(500)).await?;
    Ok(sent)
});

proof!(message_count_excludes_unacked, async {
    let scene = Scene::new("tasks").await?;
    scene.publish(&numbered("task", 5)).await?;
    let (_channel, mut consumer) = scene.consumer(Some(1), Acks::Manual).await?;
    let _working_on = lab::within(WAIT, "the first task", consumer.next())
        .await?
        .context("the consumer was cancelled")??;
    Ok(ready(&scene.setup, &scene.queue).await? as usize)
});

proof!(late_worker_gets_nothing_without_prefetch, async {
    let scene = Scene::new("tasks").await?;
    let (a, mut busy) = scene.consumer(None, Acks::Manual).await?;
    scene.publish(&numbered("task", 10)).await?;
    // A takes its first task and works on it (never acks within the proof).
    lab::within(WAIT, "A's first task", busy.next())
        .await?
        .context("the consumer was cancelled")??;
    let (_b, mut helper) = scene.consumer(None, Acks::Manual).await?;
    let to_b = count_until_quiet(&mut helper, Duration::from_secs(2)).await?;
    // The mechanism: A holds all 10 (none is ready), and B is a working consumer:
    // once A's channel closes, the 10 go back and B receives them.
    assert_eq!(
        ready(&scene.setup, &scene.queue).await?,
        0,
        "A holds all 10"
    );
    a.close(200, "A stops".into()).await?;
    let after = count_until_quiet(&mut helper, Duration::from_secs(2)).await?;
    assert_eq!(after, 10, "B receives A's 10 once A is gone");
    Ok(to_b)
});

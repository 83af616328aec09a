//! Proofs of chapter 3's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's RabbitMQ and
//! asserts it equals the key in `book/quizzes/03_acks.toml`.
//!
//! The crash proofs kill a real consumer process (`src/bin/killable_consumer.rs`)
//! with SIGKILL: the broker sees its connection vanish, nothing more.

use std::time::Duration;

use anyhow::Result;
use futures::StreamExt;
use lab::rabbitmq::steps::{
    Acks, Scene, WAIT, body, consume, durable_queue, next, numbered, ready,
    until_consumers, until_ready,
};
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::{Channel, Consumer};
use proofs::proof;

const CHAPTER: &str = "03_acks";

/// The consumer program the crash proofs start and kill.
const CONSUMER: &str = env!("CARGO_BIN_EXE_killable_consumer");

/// Waits until the broker has closed `channel`, and returns its words for why (the
/// error the channel's consumer or next operation reports).
async fn closed_by_broker(channel: &Channel, consumer: &mut Consumer) -> Result<String> {
    let error = lab::within(Duration::from_secs(10), "the channel to be closed", async {
        loop {
            match consumer.next().await {
                Some(Err(error)) => return error.to_string(),
                Some(Ok(_)) => continue,
                None => return "the consumer ended".to_string(),
            }
        }
    })
    .await?;
    lab::until(
        Duration::from_secs(10),
        "the channel to be closed",
        Duration::from_millis(20),
        || async { Ok(!channel.status().connected()) },
    )
    .await?;
    Ok(error)
}

proof!(killed_consumer_message_is_redelivered, async {
    let scene = Scene::new("jobs").await?;
    scene.publish(&["job".to_string()]).await?;

    // Manual acks, processes nothing: it gets stuck on the job, unacked.
    let args = [
        scene.rabbit.amqp_url(),
        scene.queue.as_str(),
        "manual",
        "0",
        "0",
    ];
    let mut consumer = lab::ClientProcess::spawn(CONSUMER, args)?;
    consumer
        .line_containing("received job redelivered=false", WAIT)
        .await?;
    consumer.line_containing("stuck on job", WAIT).await?;
    consumer.kill().await?;

    let (_channel, mut next_consumer) = scene.consumer(None, Acks::Manual).await?;
    let delivery = next(&mut next_consumer).await?;
    assert_eq!(body(&delivery), "job");
    Ok(delivery.redelivered)
});

proof!(auto_ack_consumer_killed_loses_messages, async {
    let scene = Scene::new("jobs").await?;
    let sent = numbered("job", 100);
    scene.publish(&sent).await?;

    // Automatic acks, 200 ms per message; stuck after the 10th, then killed.
    let args = [
        scene.rabbit.amqp_url(),
        scene.queue.as_str(),
        "auto",
        "10",
        "200",
    ];
    let mut consumer = lab::ClientProcess::spawn(CONSUMER, args)?;
    consumer.line_containing("stuck on", WAIT).await?;
    let processed = consumer
        .lines_seen()
        .iter()
        .filter(|l| l.starts_with("processed "))
        .count();
    consumer.kill().await?;
    assert_eq!(processed, 10);

    // Count once the broker has noticed the consumer is gone: from then on, any
    // message it still held for it would have been put back.
    let what = "the broker to drop the killed consumer";
    let timeout = Duration::from_secs(10);
    until_consumers(&scene.setup, &scene.queue, what, timeout, |n| n == 0).await?;
    let left = ready(&scene.setup, &scene.queue).await? as usize;
    let lost = sent.len() - processed - left;
    println!("processed {processed}, left in the queue {left}, lost {lost}");
    assert_eq!(
        lost, 90,
        "the 90 received but unprocessed messages are lost"
    );
    Ok(left)
});

proof!(double_ack_closes_channel, async {
    let scene = Scene::new("jobs").await?;
    scene.publish(&numbered("job", 2)).await?;

    let (channel, mut consumer) = scene.consumer(None, Acks::Manual).await?;
    let delivery = next(&mut consumer).await?;
    delivery.ack(BasicAckOptions::default()).await?;
    channel
        .basic_ack(delivery.delivery_tag, BasicAckOptions::default())
        .await?;
    let why = closed_by_broker(&channel, &mut consumer).await?;
    println!("the channel was closed: {why}");
    assert!(
        why.contains("PRECONDITION_FAILED") && why.contains("unknown delivery tag"),
        "{why}"
    );
    Ok(!channel.status().connected())
});

proof!(ack_on_another_channel_fails, async {
    let scene = Scene::new("jobs").await?;
    scene.publish(&["job".to_string()]).await?;

    let (a, mut on_a) = scene.consumer(None, Acks::Manual).await?;
    let delivery = next(&mut on_a).await?;
    // Channel B consumes from an empty queue of its own, so the proof can
    // watch B's consumer for the broker's reason when B is closed.
    let b = scene.connection.create_channel().await?;
    let empty = lab::unique_name("empty");
    durable_queue(&scene.setup, &empty).await?;
    let mut on_b = consume(&b, &empty, Acks::Manual).await?;
    b.basic_ack(delivery.delivery_tag, BasicAckOptions::default())
        .await?;
    let why = closed_by_broker(&b, &mut on_b).await?;
    println!("channel B was closed: {why}");
    assert!(why.contains("PRECONDITION_FAILED"), "{why}");
    // Close A: whatever A still holds unacknowledged goes back to the queue.
    a.close(200, "done".into()).await?;
    let back = until_ready(
        &scene.setup,
        &scene.queue,
        "the message to be back in the queue",
        Duration::from_secs(5),
        |n| n == 1,
    )
    .await
    .is_ok();
    Ok(!back)
});

proof!(requeued_message_keeps_its_position, async {
    let scene = Scene::new("jobs").await?;
    scene.publish(&numbered("m", 5)).await?;

    let (_channel, mut consumer) = scene.consumer(Some(1), Acks::Manual).await?;
    let first = next(&mut consumer).await?;
    assert_eq!(body(&first), "m-1");
    first
        .nack(BasicNackOptions {
            requeue: true,
            ..Default::default()
        })
        .await?;
    let again = next(&mut consumer).await?;
    assert!(again.redelivered || body(&again) != "m-1");
    Ok(body(&again) == "m-1")
});

proof!(nack_without_requeue_drops, async {
    let scene = Scene::new("jobs").await?;
    scene.publish(&["job".to_string()]).await?;

    let (channel, mut consumer) = scene.consumer(None, Acks::Manual).await?;
    next(&mut consumer)
        .await?
        .nack(BasicNackOptions {
            requeue: false,
            ..Default::default()
        })
        .await?;
    // Closing the channel would put back anything still unacknowledged.
    channel.close(200, "done".into()).await?;
    // A marker published now, consumed by a fresh consumer: a requeued job would
    // come first (requeued messages keep their place at the head), so the first
    // delivery says whether the job is still in the queue, however slow a requeue.
    scene.publish(&["marker".to_string()]).await?;
    let (_again, mut fresh) = scene.consumer(None, Acks::Manual).await?;
    let first = body(&next(&mut fresh).await?);
    assert!(
        first == "marker" || first == "job",
        "an unexpected message: {first}"
    );
    let messages_still_there: usize = if first == "job" { 1 } else { 0 };
    Ok(messages_still_there)
});

proof!(ack_multiple_up_to_tag, async {
    let scene = Scene::new("jobs").await?;
    scene.publish(&numbered("job", 10)).await?;

    let (channel, mut consumer) = scene.consumer(Some(10), Acks::Manual).await?;
    let mut tags = Vec::new();
    for _ in 0..10 {
        tags.push(next(&mut consumer).await?.delivery_tag);
    }
    assert_eq!(tags, (1..=10).collect::<Vec<u64>>(), "tags count from 1");
    channel
        .basic_ack(5, BasicAckOptions { multiple: true })
        .await?;
    channel.close(200, "done".into()).await?;
    let back = until_ready(
        &scene.setup,
        &scene.queue,
        "the unacked messages to be back",
        Duration::from_secs(5),
        |n| n > 0,
    )
    .await;
    back?;
    // Let the requeue settle before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(ready(&scene.setup, &scene.queue).await? as usize)
});

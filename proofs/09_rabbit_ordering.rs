//! Proofs of chapter 9's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's RabbitMQ and
//! asserts it equals the key in `book/quizzes/09_rabbit_ordering.toml`.
//!
//! The crash proofs kill a real consumer process (`src/bin/killable_consumer.rs`)
//! with SIGKILL: the broker sees its connection vanish and puts what it held back.

use anyhow::{Result, ensure};
use futures::StreamExt;
use lab::rabbitmq::steps::{
    Acks, Scene, WAIT, arguments, bodies_until_quiet, body, consumers, drain, next,
    numbered, publish_all, ready, until_consumers, until_ready,
};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::AMQPValue;
use proofs::proof;
use std::time::Duration;

const CHAPTER: &str = "09_rabbit_ordering";

/// The consumer program the crash proofs start and kill.
const CONSUMER: &str = env!("CARGO_BIN_EXE_killable_consumer");

/// Starts consumer A, a process of its own with manual acks: it acks the first
/// `processes` deliveries and hangs on the next; `prefetch` limits what it holds.
fn consumer_a(
    scene: &Scene,
    processes: &str,
    prefetch: Option<&str>,
) -> Result<lab::ClientProcess> {
    let url = scene.rabbit.amqp_url();
    let mut args = vec![url, scene.queue.as_str(), "manual", processes, "0"];
    args.extend(prefetch);
    Ok(lab::ClientProcess::spawn(CONSUMER, args)?)
}

/// A scene whose queue has a single active consumer.
async fn single_active_consumer(prefix: &str) -> Result<Scene> {
    let sac = arguments([("x-single-active-consumer", AMQPValue::Boolean(true))]);
    Scene::with_arguments(prefix, sac).await
}

/// Acks `delivery`.
async fn ack(delivery: &Delivery) -> Result<()> {
    delivery.ack(BasicAckOptions::default()).await?;
    Ok(())
}

/// Nacks `delivery` with requeue.
async fn requeue(delivery: &Delivery) -> Result<()> {
    let requeue = BasicNackOptions {
        requeue: true,
        ..Default::default()
    };
    delivery.nack(requeue).await?;
    Ok(())
}

/// Waits until the broker has dropped the consumer of a killed process (and so
/// put back what it held): one consumer is left.
async fn until_one_consumer_left(scene: &Scene) -> Result<()> {
    let what = "the broker to drop the killed consumer";
    let timeout = Duration::from_secs(10);
    until_consumers(&scene.setup, &scene.queue, what, timeout, |n| n == 1).await
}

proof!(one_consumer_sees_publish_order, async {
    let scene = Scene::new("ordered").await?;
    let sent = numbered("task", 100);
    scene.publish(&sent).await?;
    let (_channel, mut consumer) = scene.consumer(Some(10), Acks::Manual).await?;
    let (mut received, mut tags) = (Vec::new(), Vec::new());
    for _ in 0..sent.len() {
        let delivery = next(&mut consumer).await?;
        ensure!(!delivery.redelivered, "nothing here is redelivered");
        tags.push(delivery.delivery_tag);
        received.push(body(&delivery));
        ack(&delivery).await?;
    }
    ensure!(
        tags.windows(2).all(|w| w[0] < w[1]),
        "delivery tags count up on one channel: {tags:?}"
    );
    Ok(received == sent)
});

proof!(two_publishing_channels_keep_their_own_order, async {
    let scene = Scene::new("two_publishers").await?;
    let (a, b) = (
        scene.connection.create_channel().await?,
        scene.connection.create_channel().await?,
    );
    let (from_a, from_b) = (numbered("a", 200), numbered("b", 200));
    // Both channels publish at the same time; their messages interleave.
    let (sent_a, sent_b) = tokio::join!(
        publish_all(&a, &scene.queue, &from_a, true),
        publish_all(&b, &scene.queue, &from_b, true)
    );
    sent_a?;
    sent_b?;
    let stored = drain(&scene.setup, &scene.queue).await?;
    ensure!(
        stored.len() == 400,
        "the queue holds all 400: {}",
        stored.len()
    );
    let of = |prefix: &str| -> Vec<String> {
        stored
            .iter()
            .filter(|body| body.starts_with(prefix))
            .cloned()
            .collect()
    };
    let switches = stored.windows(2).filter(|w| w[0][..1] != w[1][..1]).count();
    println!("the queue switches between the channels {switches} times");
    Ok(of("a-") == from_a && of("b-") == from_b)
});

proof!(prefetch_one_does_not_serialise_two_consumers, async {
    let scene = Scene::new("competing").await?;
    scene.publish(&numbered("task", 2)).await?;
    let (_a_channel, mut a) = scene.consumer(Some(1), Acks::Manual).await?;
    let working_on = next(&mut a).await?;
    ensure!(body(&working_on) == "task-1", "A receives task-1 first");
    let (_b_channel, mut b) = scene.consumer(Some(1), Acks::Manual).await?;
    // A holds task-1 unacknowledged all along; does B get task-2 meanwhile?
    let b_got = lab::within(Duration::from_secs(5), "a delivery to B", b.next()).await;
    let b_got = match b_got {
        Ok(Some(delivery)) => {
            let delivery = delivery?;
            ensure!(body(&delivery) == "task-2", "B's delivery is task-2");
            true
        }
        _ => false,
    };
    ensure!(
        ready(&scene.setup, &scene.queue).await? == 0,
        "both tasks are out of the queue, task-1 still unacked at A"
    );
    ack(&working_on).await?;
    Ok(b_got)
});

proof!(requeue_with_prefetch_reorders, async {
    let scene = Scene::new("requeue").await?;
    scene.publish(&numbered("task", 3)).await?;
    let (_channel, mut consumer) = scene.consumer(Some(3), Acks::Manual).await?;
    // Prefetch 3: the broker hands out all three at once.
    until_ready(
        &scene.setup,
        &scene.queue,
        "all three tasks to be handed out",
        WAIT,
        |n| n == 0,
    )
    .await?;
    let mut done = Vec::new();
    let mut redelivered = Vec::new();
    while done.len() < 3 {
        let delivery = next(&mut consumer).await?;
        let task = body(&delivery);
        if task == "task-1" && !delivery.redelivered {
            // Its processing fails: back to the queue.
            requeue(&delivery).await?;
            continue;
        }
        if delivery.redelivered {
            redelivered.push(task.clone());
        }
        ack(&delivery).await?;
        done.push(task);
    }
    ensure!(
        redelivered == ["task-1"],
        "only task-1 comes back: {redelivered:?}"
    );
    let order = done.join(", ");
    println!("processed: {order}");
    let options = [
        "task-1, task-2, task-3",
        "task-2, task-1, task-3",
        "task-2, task-3, task-1",
    ];
    Ok(vec![
        options
            .into_iter()
            .find(|option| *option == order)
            .unwrap_or("another order"),
    ])
});

proof!(killed_consumer_messages_land_after_the_others, async {
    let scene = Scene::new("tasks").await?;
    let sent = numbered("task", 10);
    scene.publish(&sent).await?;

    // Consumer A, its own process: prefetch 3, stuck on its first task, no acks.
    let mut a = consumer_a(&scene, "0", Some("3"))?;
    a.line_containing("stuck on task-1", WAIT).await?;
    until_ready(&scene.setup, &scene.queue, "A to hold 3", WAIT, |n| n == 7).await?;

    // Consumer B takes the other seven.
    let (_channel, mut b) = scene.consumer(None, Acks::Manual).await?;
    let mut order = Vec::new();
    for _ in 0..7 {
        let delivery = next(&mut b).await?;
        ensure!(
            !delivery.redelivered,
            "B's first seven are first deliveries"
        );
        order.push(body(&delivery));
        ack(&delivery).await?;
    }
    a.kill().await?;
    until_one_consumer_left(&scene).await?;
    for _ in 0..3 {
        let delivery = next(&mut b).await?;
        ensure!(
            delivery.redelivered,
            "A's tasks come back to B marked redelivered"
        );
        order.push(body(&delivery));
        ack(&delivery).await?;
    }
    let order = order.join(", ");
    println!("B processed: {order}");
    let seen = if order
        == sent[3..]
            .iter()
            .chain(&sent[..3])
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    {
        "task-4 … task-10, then task-1, task-2, task-3"
    } else if order == sent.join(", ") {
        "task-1 … task-10: the requeued tasks go back to their places"
    } else {
        "another order"
    };
    Ok(vec![seen])
});

proof!(single_active_consumer_second_gets_nothing, async {
    let scene = single_active_consumer("sac").await?;
    let (first_channel, mut first) = scene.consumer(None, Acks::Manual).await?;
    let (_second_channel, mut second) = scene.consumer(None, Acks::Manual).await?;
    ensure!(
        consumers(&scene.setup, &scene.queue).await? == 2,
        "both consumers are subscribed"
    );
    scene.publish(&numbered("task", 10)).await?;
    for _ in 0..10 {
        let delivery = next(&mut first).await?;
        ack(&delivery).await?;
    }
    let second_got = bodies_until_quiet(&mut second, Duration::from_millis(500)).await?;
    println!("the second consumer got {second_got:?} while the first was there");

    // The first one goes: the second becomes the active consumer.
    first_channel.close(200, "done".into()).await?;
    scene.publish(&["task-11".to_string()]).await?;
    let takeover = next(&mut second).await?;
    ensure!(body(&takeover) == "task-11", "the second takes over");
    Ok(!second_got.is_empty())
});

proof!(single_active_consumer_takeover_keeps_order, async {
    let scene = single_active_consumer("sac").await?;
    let sent = numbered("task", 6);
    scene.publish(&sent).await?;

    // Consumer A, its own process: processes (and acks) two, stuck on the third.
    let mut a = consumer_a(&scene, "2", None)?;
    a.line_containing("stuck on task-3", WAIT).await?;
    // Consumer B subscribes too, and waits.
    let (_channel, mut b) = scene.consumer(None, Acks::Manual).await?;
    let early = bodies_until_quiet(&mut b, Duration::from_millis(300)).await?;
    ensure!(
        early.is_empty(),
        "B gets nothing while A is active: {early:?}"
    );

    a.kill().await?;
    until_one_consumer_left(&scene).await?;
    let mut order = Vec::new();
    for _ in 0..4 {
        let delivery = next(&mut b).await?;
        ensure!(delivery.redelivered, "A held task-3 to task-6 unacked");
        order.push(body(&delivery));
        ack(&delivery).await?;
    }
    let order = order.join(", ");
    println!("B received: {order}");
    Ok(vec![if order == sent[2..].join(", ") {
        "task-3, task-4, task-5, task-6"
    } else {
        "another order"
    }])
});

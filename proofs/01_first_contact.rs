//! Proofs of chapter 1's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's brokers and
//! asserts it equals the key in `book/quizzes/01_first_contact.toml`.

use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use lab::kafka::steps::{self as kafka_steps, numbered, produce};
use lab::rabbitmq::steps::{
    Acks, Scene, WAIT, durable_queue, publish_persistent, ready, until_ready,
};
use lapin::options::BasicAckOptions;
use lapin::{Channel, Consumer};
use proofs::proof;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

const CHAPTER: &str = "01_first_contact";
/// How long a partition may go without a leader after its leader is killed: the
/// controller waits for the broker session to time out (`broker.session.timeout.ms`,
/// 9 s by default in Kafka 4.1) before it elects another.
const MOVE: Duration = Duration::from_secs(60);

/// Publishes `body` through the default exchange with confirms on; returns whether
/// the broker acked it.
async fn publish(channel: &Channel, routing_key: &str, body: &str) -> Result<bool> {
    let answer = publish_persistent(channel, routing_key, false, body).await?;
    Ok(answer.is_ack())
}

/// The next delivery's body within `timeout`, or `None` if none came.
async fn next_body(consumer: &mut Consumer, timeout: Duration) -> Result<Option<String>> {
    match tokio::time::timeout(timeout, consumer.next()).await {
        Err(_) => Ok(None),
        Ok(None) => anyhow::bail!("the consumer was cancelled"),
        Ok(Some(delivery)) => Ok(Some(String::from_utf8(delivery?.data)?)),
    }
}

/// A scene whose fresh durable queue holds one message, "job".
async fn one_job() -> Result<Scene> {
    let scene = Scene::new("jobs").await?;
    publish(&scene.setup, &scene.queue, "job").await?;
    Ok(scene)
}

proof!(unacked_message_returns_to_queue, async {
    let scene = one_job().await?;
    let (worker, mut consumer) = scene.consumer(None, Acks::Manual).await?;
    next_body(&mut consumer, WAIT)
        .await?
        .context("the job was not delivered")?;
    // The worker "dies" without acking: its channel closes.
    worker.close(200, "worker gone".into()).await?;
    let back = until_ready(
        &scene.setup,
        &scene.queue,
        "the job to be ready again",
        Duration::from_secs(10),
        |n| n == 1,
    )
    .await
    .is_ok();
    Ok(back)
});

proof!(acked_message_is_gone, async {
    let scene = one_job().await?;
    let (first, mut consumer) = scene.consumer(None, Acks::Manual).await?;
    let delivery = lab::within(WAIT, "the job", consumer.next())
        .await?
        .context("cancelled")??;
    delivery.ack(BasicAckOptions::default()).await?;
    first.close(200, "done".into()).await?;
    let (_second, mut late) = scene.consumer(None, Acks::Manual).await?;
    // A marker published after the second consumer subscribed proves it works:
    // whatever it receives first tells whether the acked job came back.
    publish(&scene.setup, &scene.queue, "marker").await?;
    let first_seen = next_body(&mut late, WAIT)
        .await?
        .context("the marker did not arrive")?;
    Ok(first_seen == "job")
});

proof!(deliveries_to_two_consumers, async {
    let scene = Scene::new("work").await?;
    let (_a, first) = scene.consumer(None, Acks::Manual).await?;
    let (_b, second) = scene.consumer(None, Acks::Manual).await?;
    let mut both = futures::stream::select(first, second);
    for i in 0..10 {
        publish(&scene.setup, &scene.queue, &format!("task {i}")).await?;
    }
    let mut deliveries = 0;
    // Count until nothing more arrives for 2 s: extra deliveries would show up.
    while let Ok(Some(delivery)) =
        tokio::time::timeout(Duration::from_secs(2), both.next()).await
    {
        delivery?;
        deliveries += 1;
    }
    Ok(deliveries as usize)
});

proof!(unroutable_publish_is_confirmed, async {
    let rabbit = lab::rabbit().await?;
    let channel = rabbit.connect().await?.create_channel().await?;
    let acked = publish(&channel, &lab::unique_name("no_such_queue"), "lost").await?;
    Ok(acked)
});

proof!(publish_before_queue_exists, async {
    let rabbit = lab::rabbit().await?;
    let channel = rabbit.connect().await?.create_channel().await?;
    let queue = lab::unique_name("jobs");
    publish(&channel, &queue, "too early").await?;
    durable_queue(&channel, &queue).await?;
    let count = ready(&channel, &queue).await?;
    Ok(count as usize)
});

proof!(reading_deletes_records, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("events");
    kafka.create_topic(&topic, 1, 1).await?;
    produce(&kafka, &topic, "k", &numbered("event", 10)).await?;
    let group_a = lab::unique_name("group_a");
    let a = kafka_steps::read_and_commit(&kafka, &topic, &group_a, 10, WAIT).await?;
    assert_eq!(a.len(), 10, "group A should read the 10 records");
    let group_b = lab::unique_name("group_b");
    let quiet = Duration::from_secs(15);
    let b = kafka_steps::read_and_commit(&kafka, &topic, &group_b, 10, quiet).await?;
    Ok(b.len() < 10)
});

proof!(new_group_reads_earlier_records, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("events");
    kafka.create_topic(&topic, 1, 1).await?;
    produce(&kafka, &topic, "k", &numbered("old", 10)).await?;
    // rdkafka's defaults: no auto.offset.reset set.
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", lab::unique_name("group"))
        .create()?;
    consumer.subscribe(&[topic.as_str()])?;
    // Markers produced after joining show when the consumer is reading; every
    // old record it could see would arrive before the first marker.
    let producer: FutureProducer = kafka.client_config().create()?;
    let old = kafka_steps::records_before_marker(&consumer, &producer, &topic).await?;
    Ok(old)
});

proof!(same_key_partitions, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("orders");
    kafka.create_topic(&topic, 3, 1).await?;
    let reports = produce(&kafka, &topic, "customer-42", &numbered("order", 20)).await?;
    let mut partitions: Vec<i32> = reports.iter().map(|(p, _)| *p).collect();
    partitions.sort();
    partitions.dedup();
    Ok(partitions.len())
});

proof!(first_offset, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("events");
    kafka.create_topic(&topic, 1, 1).await?;
    let reports = produce(&kafka, &topic, "k", &["first".to_string()]).await?;
    Ok(reports[0].1)
});

proof!(replicated_record_survives_broker_kill, async {
    let cluster = lab::kafka_cluster_with_faults().await?;
    let topic = lab::unique_name("payments");
    cluster.create_topic(&topic, 1, 3).await?;
    let producer: FutureProducer = cluster.client_config().set("acks", "all").create()?;
    producer
        .send(FutureRecord::to(&topic).key("p").payload("payment-1"), WAIT)
        .await
        .map_err(|(e, _)| e)?;
    let leader = kafka_steps::partition(&cluster, &topic, 0)
        .await?
        .leader
        .context("the new topic has a leader")?;
    cluster.kill(leader as usize).await?;
    // The mechanism: an in-sync follower becomes the leader, with the record.
    let moved = |p: &kafka_steps::Partition| p.leader.is_some_and(|l| l != leader);
    let took_over =
        kafka_steps::until_partition(&cluster, &topic, 0, MOVE, "a new leader", moved)
            .await;
    let read = match took_over {
        Ok(_) => kafka_steps::read_values(&cluster, &topic, 1).await,
        Err(e) => Err(e),
    };
    // Bring the node back before judging, so the cluster is whole for the next proof.
    cluster.start(leader as usize).await?;
    Ok(read? == ["payment-1"])
});

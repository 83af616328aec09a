//! Proofs of chapter 1's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's brokers and
//! asserts it equals the key in `book/quizzes/01_first_contact.toml`.

use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Consumer};
use proofs::rabbit::{consume, durable_queue, ready, until_ready};
use proofs::{assert_key, bounded};
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

const CHAPTER: &str = "01_first_contact";
const WAIT: Duration = Duration::from_secs(30);

/// Publishes `body` through the default exchange with confirms on; returns whether
/// the broker acked it.
async fn publish(channel: &Channel, routing_key: &str, body: &str) -> Result<bool> {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let confirm = channel
        .basic_publish(
            "".into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body.as_bytes(),
            BasicProperties::default().with_delivery_mode(2),
        )
        .await?;
    Ok(lab::within(WAIT, "a publisher confirm", confirm)
        .await??
        .is_ack())
}

/// The next delivery's body within `timeout`, or `None` if none came.
async fn next_body(consumer: &mut Consumer, timeout: Duration) -> Result<Option<String>> {
    match tokio::time::timeout(timeout, consumer.next()).await {
        Err(_) => Ok(None),
        Ok(None) => anyhow::bail!("the consumer was cancelled"),
        Ok(Some(delivery)) => Ok(Some(String::from_utf8(delivery?.data)?)),
    }
}

/// A fresh durable queue holding one message, "job"; returns the channel that made
/// it and the queue's name.
async fn queue_with_one_job(connection: &lapin::Connection) -> Result<(Channel, String)> {
    let queue = lab::unique_name("jobs");
    let setup = connection.create_channel().await?;
    durable_queue(&setup, &queue).await?;
    publish(&setup, &queue, "job").await?;
    Ok((setup, queue))
}

#[tokio::test]
async fn unacked_message_returns_to_queue() -> Result<()> {
    bounded(async {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let (setup, queue) = queue_with_one_job(&connection).await?;
        let worker = connection.create_channel().await?;
        let mut consumer = consume(&worker, &queue, false).await?;
        next_body(&mut consumer, WAIT)
            .await?
            .context("the job was not delivered")?;
        // The worker "dies" without acking: its channel closes.
        worker.close(200, "worker gone".into()).await?;
        let back = until_ready(
            &setup,
            &queue,
            "the job to be ready again",
            Duration::from_secs(10),
            |n| n == 1,
        )
        .await
        .is_ok();
        assert_key(CHAPTER, "unacked_message_returns_to_queue", back);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn acked_message_is_gone() -> Result<()> {
    bounded(async {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let (setup, queue) = queue_with_one_job(&connection).await?;
        let first = connection.create_channel().await?;
        let mut consumer = consume(&first, &queue, false).await?;
        let delivery = lab::within(WAIT, "the job", consumer.next())
            .await?
            .context("cancelled")??;
        delivery.ack(BasicAckOptions::default()).await?;
        first.close(200, "done".into()).await?;
        let second = connection.create_channel().await?;
        let mut late = consume(&second, &queue, false).await?;
        // A marker published after the second consumer subscribed proves it works:
        // whatever it receives first tells whether the acked job came back.
        publish(&setup, &queue, "marker").await?;
        let first_seen = next_body(&mut late, WAIT)
            .await?
            .context("the marker did not arrive")?;
        assert_key(CHAPTER, "acked_message_is_gone", first_seen == "job");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn deliveries_to_two_consumers() -> Result<()> {
    bounded(async {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let queue = lab::unique_name("work");
        let setup = connection.create_channel().await?;
        durable_queue(&setup, &queue).await?;
        let (a, b) = (
            connection.create_channel().await?,
            connection.create_channel().await?,
        );
        let mut both = futures::stream::select(
            consume(&a, &queue, false).await?,
            consume(&b, &queue, false).await?,
        );
        for i in 0..10 {
            publish(&setup, &queue, &format!("task {i}")).await?;
        }
        let mut deliveries = 0;
        // Count until nothing more arrives for 2 s: extra deliveries would show up.
        while let Ok(Some(delivery)) =
            tokio::time::timeout(Duration::from_secs(2), both.next()).await
        {
            delivery?;
            deliveries += 1;
        }
        assert_key(CHAPTER, "deliveries_to_two_consumers", deliveries as usize);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn unroutable_publish_is_confirmed() -> Result<()> {
    bounded(async {
        let rabbit = lab::rabbit().await?;
        let channel = rabbit.connect().await?.create_channel().await?;
        let acked = publish(&channel, &lab::unique_name("no_such_queue"), "lost").await?;
        assert_key(CHAPTER, "unroutable_publish_is_confirmed", acked);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn publish_before_queue_exists() -> Result<()> {
    bounded(async {
        let rabbit = lab::rabbit().await?;
        let channel = rabbit.connect().await?.create_channel().await?;
        let queue = lab::unique_name("jobs");
        publish(&channel, &queue, "too early").await?;
        durable_queue(&channel, &queue).await?;
        let count = ready(&channel, &queue).await?;
        assert_key(CHAPTER, "publish_before_queue_exists", count as usize);
        Ok(())
    })
    .await
}

async fn produce(
    kafka: &lab::Kafka,
    topic: &str,
    key: &str,
    values: &[String],
) -> Result<Vec<(i32, i64)>> {
    let producer: FutureProducer = kafka.client_config().create()?;
    let mut reports = Vec::new();
    for value in values {
        let delivery = producer
            .send(FutureRecord::to(topic).key(key).payload(value), WAIT)
            .await
            .map_err(|(e, _)| e)?;
        reports.push((delivery.partition, delivery.offset));
    }
    Ok(reports)
}

fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

/// Reads from `topic` with a new group until `count` records came or `quiet` passed
/// without one; returns the payloads.
async fn read_all(
    kafka: &lab::Kafka,
    topic: &str,
    group: &str,
    count: usize,
    quiet: Duration,
) -> Result<Vec<String>> {
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[topic])?;
    let mut values = Vec::new();
    while values.len() < count {
        match tokio::time::timeout(quiet, consumer.recv()).await {
            Ok(Ok(message)) => {
                let payload = message.payload().unwrap_or_default();
                values.push(String::from_utf8_lossy(payload).into_owned());
            }
            // librdkafka reports a broker going away as an error and carries on with
            // the others: it is not the end of the stream.
            Ok(Err(_transient)) => {}
            Err(_) => break,
        }
    }
    if !values.is_empty() {
        consumer.commit_consumer_state(CommitMode::Sync)?;
    }
    Ok(values)
}

#[tokio::test]
async fn reading_deletes_records() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka().await?;
        let topic = lab::unique_name("events");
        kafka.create_topic(&topic, 1, 1).await?;
        produce(&kafka, &topic, "k", &numbered("event", 10)).await?;
        let a = read_all(&kafka, &topic, &lab::unique_name("group_a"), 10, WAIT).await?;
        assert_eq!(a.len(), 10, "group A should read the 10 records");
        let b = read_all(
            &kafka,
            &topic,
            &lab::unique_name("group_b"),
            10,
            Duration::from_secs(15),
        )
        .await?;
        assert_key(CHAPTER, "reading_deletes_records", b.len() < 10);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn new_group_reads_earlier_records() -> Result<()> {
    bounded(async {
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
        let mut old = 0;
        let seen_marker =
            lab::within(Duration::from_secs(60), "a marker record", async {
                loop {
                    produce(&kafka, &topic, "k", &["marker".to_string()]).await?;
                    while let Ok(message) =
                        tokio::time::timeout(Duration::from_secs(1), consumer.recv())
                            .await
                    {
                        match message?.payload() {
                            Some(b"marker") => return anyhow::Ok(()),
                            _ => old += 1,
                        }
                    }
                }
            })
            .await;
        seen_marker??;
        assert_key(CHAPTER, "new_group_reads_earlier_records", old as usize);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn same_key_partitions() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka().await?;
        let topic = lab::unique_name("orders");
        kafka.create_topic(&topic, 3, 1).await?;
        let reports =
            produce(&kafka, &topic, "customer-42", &numbered("order", 20)).await?;
        let mut partitions: Vec<i32> = reports.iter().map(|(p, _)| *p).collect();
        partitions.sort();
        partitions.dedup();
        assert_key(CHAPTER, "same_key_partitions", partitions.len());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn first_offset() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka().await?;
        let topic = lab::unique_name("events");
        kafka.create_topic(&topic, 1, 1).await?;
        let reports = produce(&kafka, &topic, "k", &["first".to_string()]).await?;
        assert_key(CHAPTER, "first_offset", reports[0].1);
        Ok(())
    })
    .await
}

/// The leader of partition 0 of `topic`, from the cluster's metadata.
async fn leader(kafka: &lab::Kafka, topic: &str) -> Result<i32> {
    let consumer: BaseConsumer = kafka.client_config().create()?;
    let topic = topic.to_string();
    let metadata = tokio::task::spawn_blocking(move || {
        consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))
    })
    .await??;
    let partition = metadata
        .topics()
        .first()
        .and_then(|t| t.partitions().first())
        .context("no partition")?;
    Ok(partition.leader())
}

#[tokio::test]
async fn replicated_record_survives_broker_kill() -> Result<()> {
    bounded(async {
        let cluster = lab::kafka_cluster_with_faults().await?;
        let topic = lab::unique_name("payments");
        cluster.create_topic(&topic, 1, 3).await?;
        let producer: FutureProducer =
            cluster.client_config().set("acks", "all").create()?;
        producer
            .send(FutureRecord::to(&topic).key("p").payload("payment-1"), WAIT)
            .await
            .map_err(|(e, _)| e)?;
        let leader = leader(&cluster, &topic).await? as usize;
        cluster.kill(leader).await?;
        let read = read_all(
            &cluster,
            &topic,
            &lab::unique_name("group"),
            1,
            Duration::from_secs(60),
        )
        .await;
        // Bring the node back before judging, so the cluster is whole for the next proof.
        cluster.start(leader).await?;
        assert_key(
            CHAPTER,
            "replicated_record_survives_broker_kill",
            read? == ["payment-1"],
        );
        Ok(())
    })
    .await
}

//! The lab against real brokers: round trips on all four topologies, and the fault
//! control that durability experiments rely on.
//!
//! These run on whatever backend the lab selects (native in CI). Names are unique
//! per test, so they run in parallel with everything else.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicPublishOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

const WAIT: Duration = Duration::from_secs(30);

/// Bounds a whole test, so a broker call without its own timeout cannot hang the run.
async fn bounded(test: impl std::future::Future<Output = Result<()>>) -> Result<()> {
    lab::within(Duration::from_secs(300), "the test to finish", test).await?
}

/// Publishes `bodies` to `queue` through the default exchange, each confirmed.
async fn publish_confirmed(
    channel: &Channel,
    queue: &str,
    bodies: &[String],
    persistent: bool,
) -> Result<()> {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let properties =
        BasicProperties::default().with_delivery_mode(if persistent { 2 } else { 1 });
    for body in bodies {
        let confirm = channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                properties.clone(),
            )
            .await?;
        let confirmation =
            lab::within(WAIT, format!("a confirm for {body}"), confirm).await??;
        ensure!(confirmation.is_ack(), "broker nacked {body}");
    }
    Ok(())
}

/// Consumes exactly `count` messages from `queue`, acking each, in arrival order.
async fn consume(channel: &Channel, queue: &str, count: usize) -> Result<Vec<String>> {
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            lab::unique_name("consumer").into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut bodies = Vec::new();
    while bodies.len() < count {
        let what = format!("message {} of {count} from {queue}", bodies.len() + 1);
        let delivery = lab::within(WAIT, &what, consumer.next())
            .await?
            .context("consumer ended")??;
        bodies.push(String::from_utf8(delivery.data.clone())?);
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(bodies)
}

fn bodies(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

/// Declares `queue` as a quorum queue (replicated across the cluster's nodes).
async fn declare_quorum_queue(channel: &Channel, queue: &str) -> Result<()> {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(queue.into(), QueueDeclareOptions::durable(), arguments)
        .await?;
    Ok(())
}

/// Counts the messages ready in `queue` without consuming them.
async fn ready_count(channel: &Channel, queue: &str) -> Result<u32> {
    let options = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    Ok(channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await?
        .message_count())
}

/// Produces `values` to `topic` with `acks=all`, each awaited (delivery report).
async fn produce(kafka: &lab::Kafka, topic: &str, values: &[String]) -> Result<()> {
    let producer: FutureProducer = kafka.client_config().set("acks", "all").create()?;
    for value in values {
        let record = FutureRecord::to(topic).key("k").payload(value);
        producer
            .send(record, WAIT)
            .await
            .map_err(|(e, _)| e)
            .with_context(|| format!("producing {value}"))?;
    }
    Ok(())
}

/// Reads `count` records from the beginning of `topic` with a fresh group.
async fn read_from_start(
    kafka: &lab::Kafka,
    topic: &str,
    count: usize,
) -> Result<Vec<String>> {
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", lab::unique_name("group"))
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[topic])?;
    let mut values = Vec::new();
    while values.len() < count {
        let what = format!("record {} of {count} from {topic}", values.len() + 1);
        let message = lab::within(WAIT, &what, consumer.recv()).await??;
        values.push(
            String::from_utf8_lossy(message.payload().unwrap_or_default()).to_string(),
        );
    }
    Ok(values)
}

/// Every message sent to a durable queue on the single node arrives, in order.
#[tokio::test]
async fn round_trip_on_single_rabbit() -> Result<()> {
    bounded(async {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let channel = connection.create_channel().await?;
        let queue = lab::unique_name("task_queue");
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await?;
        let sent = bodies("task", 50);
        publish_confirmed(&channel, &queue, &sent, true).await?;
        assert_eq!(consume(&channel, &queue, sent.len()).await?, sent);
        let version = rabbit.server_version().await?;
        assert!(
            version.starts_with("4.0."),
            "expected RabbitMQ 4.0.x, got {version}"
        );
        println!("RabbitMQ {version} on {}", lab::lab().await?.kind());
        Ok(())
    })
    .await
}

/// Every record produced to a single-node topic is read back, in order.
#[tokio::test]
async fn round_trip_on_single_kafka() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka().await?;
        let topic = lab::unique_name("events");
        kafka.create_topic(&topic, 1, 1).await?;
        let sent = bodies("event", 50);
        produce(&kafka, &topic, &sent).await?;
        assert_eq!(read_from_start(&kafka, &topic, sent.len()).await?, sent);
        if let Ok(version) = kafka.server_version().await {
            assert!(
                version.starts_with("4."),
                "expected Kafka 4.x, got {version}"
            );
            println!("Kafka {version} on {}", lab::lab().await?.kind());
        }
        Ok(())
    })
    .await
}

/// A quorum queue declared on node 1 takes messages on node 2 and serves them on node 3.
#[tokio::test]
async fn round_trip_on_rabbit_cluster_through_a_quorum_queue() -> Result<()> {
    bounded(async {
        let cluster = lab::rabbit_cluster().await?;
        let queue = lab::unique_name("orders");
        let first = cluster.connect_to(1).await?.create_channel().await?;
        declare_quorum_queue(&first, &queue).await?;
        let second = cluster.connect_to(2).await?.create_channel().await?;
        let sent = bodies("order", 30);
        publish_confirmed(&second, &queue, &sent, true).await?;
        let third = cluster.connect_to(3).await?.create_channel().await?;
        assert_eq!(consume(&third, &queue, sent.len()).await?, sent);
        let nodes = cluster.management_get("/api/nodes").await?;
        let running = nodes
            .as_array()
            .map_or(0, |n| n.iter().filter(|n| n["running"] == true).count());
        assert_eq!(running, 3, "the cluster should have 3 running nodes");
        Ok(())
    })
    .await
}

/// An RF-3 topic on the 3-node cluster takes `acks=all` records and serves them back.
#[tokio::test]
async fn round_trip_on_kafka_cluster_with_three_replicas() -> Result<()> {
    bounded(async {
        let cluster = lab::kafka_cluster().await?;
        assert_eq!(cluster.live_broker_ids().await?.len(), 3);
        let topic = lab::unique_name("payments");
        cluster.create_topic(&topic, 3, 3).await?;
        let sent = bodies("payment", 30);
        produce(&cluster, &topic, &sent).await?;
        assert_eq!(read_from_start(&cluster, &topic, sent.len()).await?, sent);
        Ok(())
    })
    .await
}

/// Restarting RabbitMQ keeps the persistent messages of a durable classic queue and
/// drops its transient ones: durability needs both a durable queue and persistent
/// messages.
#[tokio::test]
async fn broker_restart_keeps_persistent_messages_and_loses_transient_ones() -> Result<()>
{
    bounded(async {
        let rabbit = lab::rabbit_with_faults().await?;
        let queue = lab::unique_name("durable_queue");
        {
            let connection = rabbit.connect().await?;
            let channel = connection.create_channel().await?;
            channel
                .queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions::durable(),
                    FieldTable::default(),
                )
                .await?;
            publish_confirmed(&channel, &queue, &bodies("persistent", 10), true).await?;
            publish_confirmed(&channel, &queue, &bodies("transient", 7), false).await?;
            assert_eq!(ready_count(&channel, &queue).await?, 17);
        }
        rabbit.restart(1).await?;
        let connection = rabbit.connect().await?;
        let channel = connection.create_channel().await?;
        assert_eq!(
            ready_count(&channel, &queue).await?,
            10,
            "only the persistent messages survive"
        );
        let mut survivors = Vec::new();
        while let Some(message) = channel
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await?
        {
            survivors.push(String::from_utf8(message.delivery.data.clone())?);
        }
        assert_eq!(survivors, bodies("persistent", 10));
        Ok(())
    })
    .await
}

/// Stopping and starting the single Kafka node keeps the records it acknowledged.
#[tokio::test]
async fn kafka_stop_and_start_keeps_acknowledged_records() -> Result<()> {
    bounded(async {
        let kafka = lab::kafka_with_faults().await?;
        let topic = lab::unique_name("ledger");
        kafka.create_topic(&topic, 1, 1).await?;
        let sent = bodies("entry", 20);
        produce(&kafka, &topic, &sent).await?;
        kafka.stop(1).await?;
        kafka.start(1).await?;
        assert_eq!(read_from_start(&kafka, &topic, sent.len()).await?, sent);
        Ok(())
    })
    .await
}

/// With one of three nodes killed, an `acks=all` produce still succeeds (two in-sync
/// replicas meet `min.insync.replicas=2`); the node restarts and rejoins the ISR.
#[tokio::test]
async fn kafka_cluster_survives_one_killed_node_and_it_rejoins_the_isr() -> Result<()> {
    bounded(async {
        let cluster = lab::kafka_cluster_with_faults().await?;
        let topic = lab::unique_name("orders");
        cluster.create_topic(&topic, 1, 3).await?;
        produce(&cluster, &topic, &bodies("before", 5)).await?;
        cluster.kill(3).await?;
        produce(&cluster, &topic, &bodies("during", 5)).await?;
        cluster.start(3).await?;
        let what = format!("node 3 to rejoin the ISR of {topic}");
        lab::until(
            Duration::from_secs(90),
            &what,
            Duration::from_millis(500),
            || async { Ok(isr(&cluster, &topic).await?.contains(&3)) },
        )
        .await?;
        let mut expected = bodies("before", 5);
        expected.extend(bodies("during", 5));
        assert_eq!(read_from_start(&cluster, &topic, 10).await?, expected);
        Ok(())
    })
    .await
}

/// The in-sync replicas of partition 0 of `topic`, from the cluster's metadata.
async fn isr(kafka: &lab::Kafka, topic: &str) -> lab::Result<Vec<i32>> {
    let consumer: rdkafka::consumer::BaseConsumer = kafka
        .client_config()
        .create()
        .map_err(|e| lab::LabError::step("creating a metadata client", e))?;
    let topic = topic.to_string();
    let metadata = tokio::task::spawn_blocking(move || {
        consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| lab::LabError::step("fetching metadata", e))?
    .map_err(|e| lab::LabError::step("fetching metadata", e))?;
    Ok(metadata
        .topics()
        .first()
        .and_then(|t| t.partitions().first())
        .map(|p| p.isr().to_vec())
        .unwrap_or_default())
}

/// Killing one RabbitMQ cluster node leaves a quorum queue working on the other two;
/// the node comes back and rejoins.
#[tokio::test]
async fn rabbit_cluster_keeps_a_quorum_queue_with_one_node_killed() -> Result<()> {
    bounded(async {
        let cluster = lab::rabbit_cluster_with_faults().await?;
        let queue = lab::unique_name("jobs");
        let channel = cluster.connect_to(1).await?.create_channel().await?;
        declare_quorum_queue(&channel, &queue).await?;
        cluster.kill(3).await?;
        publish_confirmed(&channel, &queue, &bodies("job", 10), true).await?;
        cluster.start(3).await?;
        let third = cluster.connect_to(3).await?.create_channel().await?;
        assert_eq!(consume(&third, &queue, 10).await?, bodies("job", 10));
        Ok(())
    })
    .await
}

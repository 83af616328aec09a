//! The lab against real brokers: round trips on all four topologies, and the fault
//! control that durability experiments rely on.
//!
//! These run on whatever backend the lab selects (native in CI). Names are unique
//! per test, so they run in parallel with everything else.

use std::time::Duration;

use anyhow::Result;
use lab::kafka::steps::{self as kafka_steps, FAILOVER};
use lab::rabbitmq::steps::{
    self as rabbit_steps, Acks, drain, durable_queue, numbered, publish_all,
    quorum_queue, ready,
};
use lapin::Channel;
use lapin::options::BasicAckOptions;

/// Bounds a whole test, so a broker call without its own timeout cannot hang the run.
async fn bounded(test: impl std::future::Future<Output = Result<()>>) -> Result<()> {
    lab::within(Duration::from_secs(300), "the test to finish", test).await?
}

/// Consumes exactly `count` messages from `queue`, acking each, in arrival order.
async fn consume_acked(
    channel: &Channel,
    queue: &str,
    count: usize,
) -> Result<Vec<String>> {
    let mut consumer = rabbit_steps::consume(channel, queue, Acks::Manual).await?;
    let mut bodies = Vec::new();
    while bodies.len() < count {
        let delivery = rabbit_steps::next(&mut consumer).await?;
        bodies.push(rabbit_steps::body(&delivery));
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(bodies)
}

/// Sends `count` records to a new topic of `partitions` x `replicas` (one key, so
/// one partition) and reads them back from the start: the same values, in order.
async fn kafka_round_trip(
    kafka: &lab::Kafka,
    partitions: i32,
    replicas: i32,
    count: usize,
) -> Result<()> {
    let topic = lab::unique_name("events");
    kafka.create_topic(&topic, partitions, replicas).await?;
    let sent = kafka_steps::numbered("event", count);
    kafka_steps::produce(kafka, &topic, "k", &sent).await?;
    assert_eq!(kafka_steps::read_values(kafka, &topic, count).await?, sent);
    Ok(())
}

/// Every message sent to a durable queue on the single node arrives, in order.
#[tokio::test]
async fn round_trip_on_single_rabbit() -> Result<()> {
    bounded(async {
        let rabbit = lab::rabbit().await?;
        let channel = rabbit.connect().await?.create_channel().await?;
        let queue = lab::unique_name("task_queue");
        durable_queue(&channel, &queue).await?;
        let sent = numbered("task", 50);
        publish_all(&channel, &queue, &sent, true).await?;
        assert_eq!(consume_acked(&channel, &queue, sent.len()).await?, sent);
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
        kafka_round_trip(&kafka, 1, 1, 50).await?;
        let version = kafka.server_version().await?;
        assert!(
            version.starts_with("4."),
            "expected Kafka 4.x, got {version}"
        );
        println!("Kafka {version} on {}", lab::lab().await?.kind());
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
        quorum_queue(&first, &queue).await?;
        let second = cluster.connect_to(2).await?.create_channel().await?;
        let sent = numbered("order", 30);
        publish_all(&second, &queue, &sent, true).await?;
        let third = cluster.connect_to(3).await?.create_channel().await?;
        assert_eq!(consume_acked(&third, &queue, sent.len()).await?, sent);
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
        kafka_round_trip(&cluster, 3, 3, 30).await
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
            let channel = rabbit.connect().await?.create_channel().await?;
            durable_queue(&channel, &queue).await?;
            publish_all(&channel, &queue, &numbered("persistent", 10), true).await?;
            publish_all(&channel, &queue, &numbered("transient", 7), false).await?;
            assert_eq!(ready(&channel, &queue).await?, 17);
        }
        rabbit.restart(1).await?;
        let channel = rabbit.connect().await?.create_channel().await?;
        assert_eq!(
            ready(&channel, &queue).await?,
            10,
            "only the persistent messages survive"
        );
        assert_eq!(drain(&channel, &queue).await?, numbered("persistent", 10));
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
        let sent = kafka_steps::numbered("entry", 20);
        kafka_steps::produce(&kafka, &topic, "k", &sent).await?;
        kafka.stop(1).await?;
        kafka.start(1).await?;
        assert_eq!(
            kafka_steps::read_values(&kafka, &topic, sent.len()).await?,
            sent
        );
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
        let (before, during) = (
            kafka_steps::numbered("before", 5),
            kafka_steps::numbered("during", 5),
        );
        kafka_steps::produce(&cluster, &topic, "k", &before).await?;
        cluster.kill(3).await?;
        kafka_steps::produce(&cluster, &topic, "k", &during).await?;
        cluster.start(3).await?;
        let all = kafka_steps::Partition::fully_in_sync;
        kafka_steps::until_partition(&cluster, &topic, 0, FAILOVER, "a full ISR", all)
            .await?;
        let expected = [before, during].concat();
        assert_eq!(
            kafka_steps::read_values(&cluster, &topic, 10).await?,
            expected
        );
        Ok(())
    })
    .await
}

/// Killing one RabbitMQ cluster node leaves a quorum queue working on the other two;
/// the node comes back and rejoins.
#[tokio::test]
async fn rabbit_cluster_keeps_a_quorum_queue_with_one_node_killed() -> Result<()> {
    bounded(async {
        let cluster = lab::rabbit_cluster_with_faults().await?;
        let queue = lab::unique_name("jobs");
        let channel = cluster.connect_to(1).await?.create_channel().await?;
        quorum_queue(&channel, &queue).await?;
        cluster.kill(3).await?;
        publish_all(&channel, &queue, &numbered("job", 10), true).await?;
        cluster.start(3).await?;
        let third = cluster.connect_to(3).await?.create_channel().await?;
        assert_eq!(
            consume_acked(&third, &queue, 10).await?,
            numbered("job", 10)
        );
        Ok(())
    })
    .await
}

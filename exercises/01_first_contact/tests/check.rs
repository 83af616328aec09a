//! Checks for chapter 1 (do not modify): they run your functions against real
//! brokers and assert what the brokers observed.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::time::Duration;

use first_contact::{
    Delivered, consumer_config, declare_task_queue, producer_config, receive_events,
    receive_tasks, send_events, send_tasks,
};
use lab::rabbitmq::steps::{arguments, numbered, queue_with, ready, text, until_ready};
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::AMQPValue;
use lapin::types::FieldTable;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// Where chapter 1 explains RabbitMQ's side of a round trip.
const RABBIT_SECTION: &str =
    "see ch01 'RabbitMQ: connections, channels, queues, the default exchange'";
/// Where chapter 1 explains Kafka's side.
const KAFKA_SECTION: &str =
    "see ch01 'Kafka: topics, partitions, offsets, delivery reports'";

/// Every task sent arrives exactly once, in order, with the body it was sent with.
#[tokio::test]
async fn every_task_arrives_once_in_order() -> anyhow::Result<()> {
    lab::check(
        CHECK_TIMEOUT,
        "sending and receiving 100 tasks: did your consumer stop after the last message?",
        async {
            let rabbit = lab::rabbit().await?;
            let connection = rabbit.connect().await?;
            let channel = connection.create_channel().await?;
            let queue = lab::unique_name("task_queue");
            declare_task_queue(&channel, &queue).await?;
            let tasks = numbered("task", 100);
            send_tasks(&channel, &queue, &tasks).await?;
            let received = receive_tasks(&channel, &queue, tasks.len()).await?;
            assert_eq!(
                received, tasks,
                "the tasks that arrived differ from those sent, or came in another order ({RABBIT_SECTION})"
            );
            // Every delivery was acknowledged: once the consumer's channel closes, none
            // comes back to the queue.
            channel.close(200, "check done".into()).await?;
            let probe = connection.create_channel().await?;
            let back = ready(&probe, &queue).await?;
            assert_eq!(
                back, 0,
                "{back} tasks went back to the queue when the consumer's channel closed: they were read but never acknowledged ({RABBIT_SECTION})"
            );
            Ok(())
        },
    )
    .await
}

/// The queue is durable: RabbitMQ refuses to redeclare it as non-durable.
#[tokio::test]
async fn task_queue_is_durable() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "declaring the task queue", async {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let channel = connection.create_channel().await?;
        let queue = lab::unique_name("task_queue");
        declare_task_queue(&channel, &queue).await?;
        let other = connection.create_channel().await?;
        let transient = other
            .queue_declare(queue.as_str().into(), QueueDeclareOptions::default(), FieldTable::default())
            .await;
        let error = transient.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            error.contains("PRECONDITION_FAILED") && error.contains("durable"),
            "the queue accepted a non-durable redeclaration, so it is not durable: declare it with `durable: true` ({RABBIT_SECTION}; broker said: {error:?})"
        );
        Ok(())
    })
    .await
}

/// Tasks are published as persistent messages (delivery mode 2), so a durable
/// queue keeps them across a restart.
#[tokio::test]
async fn tasks_are_persistent() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "sending 3 tasks", async {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let channel = connection.create_channel().await?;
        let queue = lab::unique_name("task_queue");
        declare_task_queue(&channel, &queue).await?;
        send_tasks(&channel, &queue, &numbered("task", 3)).await?;
        for _ in 0..3 {
            let message = channel
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "send_tasks returned before all 3 tasks were in the queue"
                    )
                })?;
            let mode = message.delivery.properties.delivery_mode().unwrap_or(1);
            assert_eq!(
                mode, 2,
                "a task was published with delivery mode {mode}, not 2 (persistent): a durable queue keeps only persistent messages across a restart ({RABBIT_SECTION})"
            );
        }
        Ok(())
    })
    .await
}

/// Produced events come back in order, and each delivery report gives the
/// partition and the next offset of the log.
#[tokio::test]
async fn events_round_trip_with_delivery_reports() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "producing and consuming 100 events: did your consumer stop after the last message?", async {
        let kafka = lab::kafka().await?;
        let topic = lab::unique_name("events");
        kafka.create_topic(&topic, 1, 1).await?;
        let producer: FutureProducer =
            producer_config(&kafka.bootstrap_servers()).create()?;
        let events = numbered("event", 100);
        let reports = send_events(&producer, &topic, &events).await?;
        let expected: Vec<Delivered> = (0..events.len() as i64)
            .map(|offset| Delivered {
                partition: 0,
                offset,
            })
            .collect();
        assert_eq!(
            reports, expected,
            "the delivery reports of a new one-partition topic should be partition 0, offsets 0, 1, 2, ... in order ({KAFKA_SECTION})"
        );
        // The events were produced before the consumer's group existed.
        let group = lab::unique_name("group");
        let consumer: StreamConsumer =
            consumer_config(&kafka.bootstrap_servers(), &group).create()?;
        let received = lab::within(
            Duration::from_secs(20),
            format!("the 100 events produced before the group existed: a new group starts at the end of the topic unless it says `auto.offset.reset = earliest` ({KAFKA_SECTION})"),
            receive_events(&consumer, &topic, events.len()),
        )
        .await??;
        assert_eq!(
            received, events,
            "the events read differ from those produced, or came in another order ({KAFKA_SECTION})"
        );
        Ok(())
    })
    .await
}

/// A consumer that stops after some tasks leaves the others in the queue: a task is
/// gone only once it is acknowledged, so the ones it was sent but never read come
/// back when its channel closes. (With automatic acks they would be gone.)
#[tokio::test]
async fn unread_tasks_stay_in_the_queue_when_the_consumer_stops() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "receiving 5 of 20 tasks", async {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let channel = connection.create_channel().await?;
        let queue = lab::unique_name("task_queue");
        declare_task_queue(&channel, &queue).await?;
        send_tasks(&channel, &queue, &numbered("task", 20)).await?;
        let received = receive_tasks(&channel, &queue, 5).await?;
        assert_eq!(received, numbered("task", 5), "the first 5 tasks, in order");
        channel.close(200, "the consumer stops".into()).await?;
        let probe = connection.create_channel().await?;
        let back = until_ready(
            &probe,
            &queue,
            "the 15 unread tasks to be back",
            Duration::from_secs(10),
            |n| n == 15,
        )
        .await;
        if back.is_err() {
            let left = ready(&probe, &queue).await?;
            anyhow::bail!(
                "{} of the 15 tasks the consumer never read are gone from the queue once it stopped: \
                 with automatic acks (`no_ack: true`) RabbitMQ forgets a message as soon as it sends it; \
                 acknowledge each task yourself after reading it ({RABBIT_SECTION})",
                15 - left
            );
        }
        Ok(())
    })
    .await
}

/// `send_tasks` reports a task the broker refused: here the queue holds at most 2
/// messages and refuses more (`x-overflow: reject-publish`), so the broker nacks
/// the third. Only a publisher that waits for each confirm, and reads it, knows.
#[tokio::test]
async fn send_tasks_fails_when_the_broker_refuses_a_task() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "sending 3 tasks to a queue that takes 2", async {
        let rabbit = lab::rabbit().await?;
        let channel = rabbit.connect().await?.create_channel().await?;
        let queue = lab::unique_name("task_queue");
        let two_only = arguments([
            ("x-max-length", AMQPValue::LongLongInt(2)),
            ("x-overflow", text("reject-publish")),
        ]);
        queue_with(&channel, &queue, two_only).await?;
        let sent = send_tasks(&channel, &queue, &numbered("task", 3)).await;
        assert!(
            sent.is_err(),
            "send_tasks returned Ok, but the broker refused the 3rd task (the queue holds 2): \
             turn on publisher confirms, await each confirm and fail on a nack ({RABBIT_SECTION})"
        );
        Ok(())
    })
    .await
}

/// The producer identifies itself as the original tutorial's `my-app`.
#[test]
fn producer_is_my_app() {
    let config = producer_config("127.0.0.1:9092");
    assert_eq!(config.get("client.id"), Some("my-app"));
    assert_eq!(config.get("bootstrap.servers"), Some("127.0.0.1:9092"));
}

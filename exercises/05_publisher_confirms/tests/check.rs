//! Checks for chapter 5 (do not modify): they run your publisher against a real
//! RabbitMQ, restart the broker while it sends, and count every message in the
//! queue afterwards: missing ones and duplicates.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lab::rabbitmq::steps::{
    Acks, Scene, arguments, durable_queue, message_ids, ready, text,
};
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::types::AMQPValue;
use publisher_confirms::{Outgoing, publish_confirmed, send_all};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(200);

/// Where chapter 5 explains what a confirm (and a nack) says.
const CONFIRM: &str = "see ch05 'What a confirm says'";
/// Where chapter 5 explains windows of confirms.
const WINDOWED: &str = "see ch05 'Many in flight'";
/// Where chapter 5 explains restarts and republishing.
const RESTARTS: &str = "see ch05 'Restarts, republishing and duplicates'";

/// `count` messages with ids `msg-00001`.. and bodies of about `size` bytes.
fn stream(count: usize, size: usize) -> Vec<Outgoing> {
    (1..=count)
        .map(|i| {
            let id = format!("msg-{i:05}");
            let body = format!("{id} {}", "x".repeat(size));
            Outgoing { id, body }
        })
        .collect()
}

/// The fault the chapter is about: the broker restarts while `send_all` is in the
/// middle of a stream. Every message must be in the queue afterwards; sending the
/// unconfirmed ones again may store some twice, and the check counts them.
#[tokio::test]
async fn every_message_is_stored_when_the_broker_restarts_midstream() -> anyhow::Result<()>
{
    lab::check(CHECK_TIMEOUT, "sending while the broker restarts", async {
        let rabbit = lab::rabbit_with_faults().await?;
        let queue = lab::unique_name("payments");
        let watcher = rabbit.connect().await?;
        let watch = watcher.create_channel().await?;
        durable_queue(&watch, &queue).await?;
        let messages = stream(20_000, 1_000);

        let rabbit = &rabbit;
        let connect = move || async move { Ok(rabbit.connect().await?) };
        let restart_midstream = async {
            // Restart once a tenth of the stream is in the queue.
            lab::until(
                Duration::from_secs(60),
                "the first messages to arrive",
                Duration::from_millis(10),
                || async {
                    ready(&watch, &queue)
                        .await
                        .map(|n| n as usize >= messages.len() / 10)
                        .map_err(|e| lab::LabError::step("counting", e))
                },
            )
            .await?;
            let at = Instant::now();
            rabbit.restart(1).await?;
            anyhow::Ok(at.elapsed())
        };
        let (sent, restarted) =
            tokio::join!(send_all(connect, &queue, &messages), restart_midstream);
        let restart_took = restarted?;
        let sent = sent.map_err(|e| {
            anyhow::anyhow!(
                "send_all gave up while the broker restarted midstream: reconnect and send \
                 again what was not confirmed ({RESTARTS})\n  its error: {e:#}"
            )
        })?;

        let connection = rabbit.connect().await?;
        let times = message_ids(&connection, &queue).await?;
        let missing: Vec<&str> = messages
            .iter()
            .map(|m| m.id.as_str())
            .filter(|id| !times.contains_key(*id))
            .collect();
        let stored: usize = times.values().sum();
        let duplicates = stored - times.len();
        println!(
            "{} messages, {} publishes, {} reconnect(s), restart took {:.1} s; \
             in the queue: {stored} messages, {} missing, {duplicates} duplicates",
            messages.len(),
            sent.publishes,
            sent.reconnects,
            restart_took.as_secs_f64(),
            missing.len()
        );
        assert!(
            missing.is_empty(),
            "{} messages are missing after the restart, e.g. {:?}: only a message the broker \
             acked is safe; send every other one again ({RESTARTS})",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        assert!(
            sent.reconnects >= 1,
            "send_all reports no reconnect, though the broker restarted while it sent ({RESTARTS})"
        );
        assert!(
            duplicates <= sent.publishes - messages.len(),
            "{duplicates} duplicates from {} republishes: duplicates come only from sending again ({RESTARTS})",
            sent.publishes - messages.len()
        );
        Ok(())
    })
    .await
}

/// The report of `publish_confirmed` is the broker's: a queue that takes only 5
/// messages nacks the others, and only the 5 are acked.
#[tokio::test]
async fn publish_confirmed_reports_only_what_the_broker_acked() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "publishing to a queue that refuses messages", async {
        // A full queue refuses new messages: the broker nacks them.
        let five_only = arguments([
            ("x-max-length", AMQPValue::LongLongInt(5)),
            ("x-overflow", text("reject-publish")),
        ]);
        let scene = Scene::with_arguments("payments", five_only).await?;
        let messages = stream(8, 10);
        let confirmed = publish_confirmed(&scene.connection, &scene.queue, &messages).await;
        if let Some(error) = &confirmed.stopped_by {
            anyhow::bail!("publish_confirmed stopped early: {error:#}");
        }
        let first_five: Vec<String> = messages[..5].iter().map(|m| m.id.clone()).collect();
        assert_eq!(
            confirmed.published, 8,
            "messages published: publish every message, acked or not ({WINDOWED})"
        );
        assert_eq!(
            confirmed.acked, first_five,
            "the broker acked the first 5 and nacked the other 3: report only acks (and turn on confirms) ({CONFIRM})"
        );
        Ok(())
    })
    .await
}

/// When `publish_confirmed` returns, every acked message is in the queue,
/// persistent, with its id.
#[tokio::test]
async fn acked_messages_are_stored_persistent_with_their_ids() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "publishing 300 messages", async {
        let scene = Scene::new("payments").await?;
        let messages = stream(300, 100);
        let confirmed =
            publish_confirmed(&scene.connection, &scene.queue, &messages).await;
        if let Some(error) = &confirmed.stopped_by {
            anyhow::bail!("publish_confirmed stopped early: {error:#}");
        }
        assert_eq!(
            confirmed.acked.len(),
            300,
            "every message acked ({WINDOWED})"
        );
        assert_eq!(
            ready(&scene.setup, &scene.queue).await?,
            300,
            "publish_confirmed returned before every acked message was in the queue"
        );
        let first = scene
            .setup
            .basic_get(
                scene.queue.as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("the queue is empty"))?;
        let properties = &first.delivery.properties;
        assert_eq!(
            properties.delivery_mode().unwrap_or(1),
            2,
            "messages must be persistent (delivery mode 2)"
        );
        assert_eq!(
            properties.message_id().as_ref().map(|id| id.to_string()),
            Some(messages[0].id.clone()),
            "each message carries its id as message_id"
        );
        Ok(())
    })
    .await
}

/// Without faults, `send_all` publishes each message once and reconnects never.
#[tokio::test]
async fn send_all_publishes_each_message_once_without_faults() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "sending 500 messages", async {
        let scene = Scene::new("payments").await?;
        let messages = stream(500, 100);
        let rabbit = &scene.rabbit;
        let connect = move || async move { Ok(rabbit.connect().await?) };
        let sent = send_all(connect, &scene.queue, &messages).await?;
        assert_eq!(
            sent.publishes, 500,
            "publishes: without faults each message is sent once ({RESTARTS})"
        );
        assert_eq!(
            sent.reconnects, 0,
            "reconnects: without faults there is nothing to reconnect for ({RESTARTS})"
        );
        let times = message_ids(&scene.connection, &scene.queue).await?;
        assert_eq!(
            times.len(),
            500,
            "distinct messages in the queue ({RESTARTS})"
        );
        assert!(
            times.values().all(|n| *n == 1),
            "a message is in the queue twice, though nothing failed ({RESTARTS})"
        );
        Ok(())
    })
    .await
}

/// A nack is "not stored", and `send_all` sends the message again until it is acked.
/// Here the queue holds at most 10 messages and refuses more, while a slow consumer
/// drains it: most of a burst of 50 is nacked at first, and every one must
/// eventually reach the consumer.
#[tokio::test]
async fn nacked_messages_are_sent_again() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "sending 50 messages to a queue that takes 10 at a time", async {
        let ten_at_a_time = arguments([
            ("x-max-length", AMQPValue::LongLongInt(10)),
            ("x-overflow", text("reject-publish")),
        ]);
        let scene = Scene::with_arguments("payments", ten_at_a_time).await?;
        let (_drain, mut deliveries) = scene.consumer(Some(1), Acks::Manual).await?;
        let messages = stream(50, 10);
        let expected: BTreeSet<String> = messages.iter().map(|m| m.id.clone()).collect();
        // The consumer: 10 ms a message, then an ack that frees room in the queue.
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let consumer = {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                while let Some(Ok(delivery)) = deliveries.next().await {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    if let Some(id) = delivery.properties.message_id() {
                        seen.lock().expect("not poisoned").insert(id.to_string());
                    }
                    delivery.ack(BasicAckOptions::default()).await?;
                }
                anyhow::Ok(())
            })
        };
        let rabbit = &scene.rabbit;
        let connect = move || async move { Ok(rabbit.connect().await?) };
        let sent = send_all(connect, &scene.queue, &messages).await?;
        // Everything acked is in the queue, so the consumer gets it within seconds.
        let _ = lab::until(
            Duration::from_secs(20),
            "the consumer to receive the 50 messages",
            Duration::from_millis(100),
            || async { Ok(seen.lock().expect("not poisoned").len() == 50) },
        )
        .await;
        consumer.abort();
        let seen = seen.lock().expect("not poisoned").clone();
        let missing = expected.difference(&seen).count();
        assert!(
            missing == 0,
            "{missing} of 50 messages never reached the queue ({} publishes): the broker nacked \
             them while the queue was full, and send_all did not send them again; a nack means \
             \"not stored\": keep such a message unconfirmed and publish it again ({CONFIRM})",
            sent.publishes
        );
        Ok(())
    })
    .await
}

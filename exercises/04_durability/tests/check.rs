//! Checks for chapter 4 (do not modify): they use your functions on a real
//! RabbitMQ, restart it, and count what survived.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::time::Duration;

use durability::{declare_classic_queue, declare_quorum_queue, store_messages};
use lab::rabbitmq::steps::{drain, numbered, ready, ready_if_exists};
use lapin::options::BasicGetOptions;

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(180);

/// Where chapter 4 explains durable queues and persistent messages.
const DURABLE: &str = "see ch04 'Durable queues, persistent messages'";
/// Where chapter 4 explains quorum queues.
const QUORUM: &str = "see ch04 'Quorum queues keep everything'";

/// What the management API says about `queue`: its type and whether it is durable.
async fn queue_info(rabbit: &lab::Rabbit, queue: &str) -> anyhow::Result<(String, bool)> {
    let info = rabbit
        .management_get(&format!("/api/queues/%2f/{queue}"))
        .await?;
    let kind = info["type"].as_str().unwrap_or("unknown").to_string();
    Ok((kind, info["durable"].as_bool().unwrap_or(false)))
}

/// The heart of the chapter (fault: a broker restart): a classic and a quorum
/// queue, each with 20 messages stored by your functions, keep all 20, in order.
#[tokio::test]
async fn queues_and_messages_survive_a_broker_restart() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "storing messages and restarting the broker", async {
        let rabbit = lab::rabbit_with_faults().await?;
        let classic = lab::unique_name("orders_classic");
        let quorum = lab::unique_name("orders_quorum");
        let stored = numbered("order", 20);
        {
            let connection = rabbit.connect().await?;
            let channel = connection.create_channel().await?;
            declare_classic_queue(&channel, &classic).await?;
            declare_quorum_queue(&channel, &quorum).await?;
            store_messages(&channel, &classic, &stored).await?;
            store_messages(&channel, &quorum, &stored).await?;
        }
        rabbit.restart(1).await?;

        let connection = rabbit.connect().await?;
        for (kind, queue) in [("classic", &classic), ("quorum", &quorum)] {
            let Some(_) = ready_if_exists(&connection, queue).await? else {
                anyhow::bail!(
                    "the {kind} queue is gone after the restart: declare it durable ({DURABLE})"
                );
            };
            let channel = connection.create_channel().await?;
            let survivors = drain(&channel, queue).await?;
            assert_eq!(
                survivors.len(),
                stored.len(),
                "{} of {} messages in the {kind} queue survived the restart: a durable \
                 queue keeps only persistent messages (delivery mode 2), and only those the \
                 broker confirmed ({DURABLE})",
                survivors.len(),
                stored.len()
            );
            assert_eq!(
                survivors, stored,
                "the {kind} queue's messages, in order ({DURABLE})"
            );
        }
        Ok(())
    })
    .await
}

/// The classic queue is durable, and a classic queue.
#[tokio::test]
async fn classic_queue_is_durable() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "declaring a classic queue", async {
        let rabbit = lab::rabbit().await?;
        let channel = rabbit.connect().await?.create_channel().await?;
        let queue = lab::unique_name("orders_classic");
        declare_classic_queue(&channel, &queue).await?;
        let (kind, durable) = queue_info(&rabbit, &queue).await?;
        assert_eq!(
            kind, "classic",
            "the queue's type: a classic queue needs no `x-queue-type` ({DURABLE})"
        );
        assert!(
            durable,
            "the classic queue is not durable: declare it with `durable: true` ({DURABLE})"
        );
        Ok(())
    })
    .await
}

/// The quorum queue is a quorum queue.
#[tokio::test]
async fn quorum_queue_is_a_quorum_queue() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "declaring a quorum queue", async {
        let rabbit = lab::rabbit().await?;
        let channel = rabbit.connect().await?.create_channel().await?;
        let queue = lab::unique_name("orders_quorum");
        declare_quorum_queue(&channel, &queue).await?;
        let (kind, _) = queue_info(&rabbit, &queue).await?;
        assert_eq!(
            kind, "quorum",
            "the queue's type: set the argument x-queue-type = \"quorum\" ({QUORUM})"
        );
        Ok(())
    })
    .await
}

/// When `store_messages` returns, every message is in the queue (confirmed), and
/// each one is persistent.
#[tokio::test]
async fn stored_messages_are_confirmed_and_persistent() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "storing 50 messages", async {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let channel = connection.create_channel().await?;
        let queue = lab::unique_name("orders_classic");
        declare_classic_queue(&channel, &queue).await?;
        store_messages(&channel, &queue, &numbered("order", 50)).await?;
        let other = connection.create_channel().await?;
        let count = ready(&other, &queue).await?;
        assert_eq!(
            count, 50,
            "store_messages returned with {count} of 50 messages in the queue: wait for the confirms ({DURABLE})"
        );
        let message = other
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await?
            .ok_or_else(|| anyhow::anyhow!("the queue is empty"))?;
        let mode = message.delivery.properties.delivery_mode().unwrap_or(1);
        assert_eq!(
            mode, 2,
            "messages are stored with delivery mode {mode}, not 2 (persistent) ({DURABLE})"
        );
        Ok(())
    })
    .await
}

/// `store_messages` fails when the broker refuses a message: a policy (set through
/// the management API) limits the queue to 2 messages and refuses more
/// (`overflow: reject-publish`), so the broker nacks the third. A store that does not
/// wait for confirms, or does not read them, would report it stored.
#[tokio::test]
async fn store_messages_fails_when_the_broker_refuses_a_message() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "storing 3 messages in a queue that takes 2", async {
        let rabbit = lab::rabbit().await?;
        let channel = rabbit.connect().await?.create_channel().await?;
        let queue = lab::unique_name("orders_classic");
        declare_classic_queue(&channel, &queue).await?;
        let management = rabbit.management();
        let policy = format!("/api/policies/%2f/{queue}");
        let definition = serde_json::json!({
            "pattern": format!("^{}$", queue.replace('.', "\\.")),
            "apply-to": "queues",
            "priority": 100,
            "definition": {"max-length": 2, "overflow": "reject-publish"},
        });
        management.put(&policy, definition).await?;
        let applied = lab::until(
            Duration::from_secs(10),
            "the policy to apply to the queue",
            Duration::from_millis(100),
            || async {
                let info = management.get(&format!("/api/queues/%2f/{queue}")).await?;
                Ok(info["policy"] == serde_json::json!(queue))
            },
        )
        .await;
        let stored = match applied {
            Ok(()) => Ok(store_messages(&channel, &queue, &numbered("order", 3)).await),
            Err(error) => Err(error),
        };
        management.delete(&policy).await?;
        assert!(
            stored?.is_err(),
            "store_messages returned Ok, but the broker refused the 3rd message (the queue \
             holds 2): wait for every confirm and fail on a nack ({DURABLE})"
        );
        Ok(())
    })
    .await
}

//! Proofs of chapter 8's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's RabbitMQ and
//! asserts it equals the key in `book/quizzes/08_scheduling.toml`.
//!
//! TTLs are short (tens to hundreds of ms); every proof waits for a state (a queue
//! holding so many messages, a queue gone) with a bounded wait, never for a TTL to
//! pass by sleeping. The crash proof kills a real consumer process
//! (`src/bin/killable_consumer.rs`) with SIGKILL.

use std::time::Duration;

use anyhow::{Result, ensure};
use lab::rabbitmq::steps::{
    Acks, WAIT, arguments, body, consume, delivery_count, drain, durable_queue, next,
    publish_each, queue_with, quorum_queue, ready, text, until_consumers, until_ready,
    x_death,
};
use lapin::options::{BasicGetOptions, BasicNackOptions, BasicRejectOptions};
use lapin::types::AMQPValue;
use lapin::{BasicProperties, Channel, Connection};
use proofs::proof;

const CHAPTER: &str = "08_scheduling";

/// The consumer program the crash proof starts and kills.
const CONSUMER: &str = env!("CARGO_BIN_EXE_killable_consumer");

/// The lab's RabbitMQ (held for the proof), a connection, a channel, and a fresh
/// dead-letter queue named after `prefix`.
async fn with_dead_letters(
    prefix: &str,
) -> Result<(lab::Rabbit, Connection, Channel, String)> {
    let rabbit = lab::rabbit().await?;
    let connection = rabbit.connect().await?;
    let channel = connection.create_channel().await?;
    let dead = lab::unique_name(&format!("{prefix}.dead"));
    durable_queue(&channel, &dead).await?;
    Ok((rabbit, connection, channel, dead))
}

/// Arguments that dead-letter through the default exchange into `dead`.
fn dead_letter_to(dead: &str) -> [(&'static str, AMQPValue); 2] {
    [
        ("x-dead-letter-exchange", text("")),
        ("x-dead-letter-routing-key", text(dead)),
    ]
}

/// A persistent message with a per-message TTL of `ms`.
fn expiring(ms: u64) -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_expiration(ms.to_string().as_str().into())
}

proof!(ttl_expires_only_at_the_head, async {
    let (_rabbit, _connection, channel, dead) = with_dead_letters("later").await?;
    let queue = lab::unique_name("delays");
    let [exchange, key] = dead_letter_to(&dead);
    queue_with(&channel, &queue, arguments([exchange, key])).await?;
    // A waits 1500 ms, B (published after it) 100 ms.
    let messages = [
        ("A".to_string(), expiring(1500)),
        ("B".to_string(), expiring(100)),
    ];
    publish_each(&channel, &queue, &messages).await?;
    let both = Duration::from_secs(10);
    until_ready(&channel, &dead, "A and B dead-lettered", both, |n| n == 2).await?;
    let order = drain(&channel, &dead).await?;
    println!("dead-lettered in this order: {order:?}");
    ensure!(order.len() == 2, "both expired");
    Ok(order == ["B", "A"])
});

proof!(a_republished_copy_starts_a_new_x_death, async {
    let (_rabbit, _connection, channel, back) = with_dead_letters("back").await?;
    let delay = lab::unique_name("delay");
    let [exchange, key] = dead_letter_to(&back);
    let ttl = ("x-message-ttl", AMQPValue::LongLongInt(50));
    queue_with(&channel, &delay, arguments([exchange, key, ttl])).await?;
    let job = [(
        "job".to_string(),
        BasicProperties::default().with_delivery_mode(2),
    )];
    publish_each(&channel, &delay, &job).await?;
    let mut consumer = consume(&channel, &back, Acks::Auto).await?;
    let first = next(&mut consumer).await?;
    let first_death = x_death(&first);
    println!("after one expiry: {first_death:?}");
    ensure!(
        first_death.len() == 1 && first_death[0].count == 1,
        "one expiry, one entry"
    );
    // What a retrying worker does: publish the copy, headers and all, to the
    // delay queue again.
    let again = [(body(&first), first.properties.clone())];
    publish_each(&channel, &delay, &again).await?;
    let second = next(&mut consumer).await?;
    let second_death = x_death(&second);
    println!("after the republished copy expired: {second_death:?}");
    ensure!(second_death.len() == 1, "one entry, for the delay queue");
    ensure!(second_death[0].reason == "expired" && second_death[0].queue == delay);
    Ok(second_death[0].count)
});

proof!(nack_with_requeue_skips_the_dead_letter_exchange, async {
    let (_rabbit, connection, channel, dead) = with_dead_letters("jobs").await?;
    let queue = lab::unique_name("jobs");
    let [exchange, key] = dead_letter_to(&dead);
    queue_with(&channel, &queue, arguments([exchange, key])).await?;
    publish_each(
        &channel,
        &queue,
        &[("job".to_string(), BasicProperties::default())],
    )
    .await?;
    let worker = connection.create_channel().await?;
    let mut consumer = consume(&worker, &queue, Acks::Manual).await?;
    let requeue = BasicNackOptions {
        requeue: true,
        ..Default::default()
    };
    let mut redelivered = Vec::new();
    for _ in 0..3 {
        let delivery = next(&mut consumer).await?;
        redelivered.push(delivery.redelivered);
        delivery.nack(requeue).await?;
    }
    let delivery = next(&mut consumer).await?;
    redelivered.push(delivery.redelivered);
    println!(
        "redelivered flags: {redelivered:?}; x-death: {:?}",
        x_death(&delivery)
    );
    ensure!(
        redelivered == [false, true, true, true],
        "it came straight back each time"
    );
    ensure!(
        x_death(&delivery).is_empty(),
        "a requeued message has no x-death"
    );
    let dead_letters = ready(&channel, &dead).await?;
    Ok(dead_letters > 0)
});

proof!(quorum_queue_default_delivery_limit, async {
    let (_rabbit, connection, channel, dead) = with_dead_letters("jobs").await?;
    let queue = lab::unique_name("jobs");
    let [exchange, key] = dead_letter_to(&dead);
    let quorum = ("x-queue-type", text("quorum"));
    queue_with(&channel, &queue, arguments([quorum, exchange, key])).await?;
    publish_each(
        &channel,
        &queue,
        &[("poison".to_string(), BasicProperties::default())],
    )
    .await?;
    let worker = connection.create_channel().await?;
    let mut consumer = consume(&worker, &queue, Acks::Manual).await?;
    let mut deliveries = 0;
    let mut last_count = None;
    // Reject with requeue until the queue stops giving it back.
    while ready(&channel, &dead).await? == 0 {
        let Ok(Some(delivery)) = tokio::time::timeout(Duration::from_millis(200), {
            use futures::StreamExt;
            consumer.next()
        })
        .await
        else {
            continue;
        };
        let delivery = delivery?;
        deliveries += 1;
        last_count = delivery_count(&delivery);
        delivery
            .reject(BasicRejectOptions { requeue: true })
            .await?;
        ensure!(deliveries < 100, "stopped at some limit");
    }
    let buried = channel
        .basic_get(dead.as_str().into(), BasicGetOptions { no_ack: true })
        .await?
        .ok_or_else(|| anyhow::anyhow!("the dead-letter queue holds it"))?;
    let history = x_death(&buried.delivery);
    println!(
        "{deliveries} deliveries, the last with x-delivery-count {last_count:?}; x-death: {history:?}"
    );
    ensure!(
        history.first().map(|d| d.reason.as_str()) == Some("delivery_limit"),
        "dead-lettered for its delivery limit"
    );
    Ok(deliveries as usize)
});

proof!(queue_expiry_does_not_dead_letter, async {
    let (rabbit, _connection, channel, dead) = with_dead_letters("left").await?;
    let queue = lab::unique_name("unused");
    let [exchange, key] = dead_letter_to(&dead);
    // The queue itself expires 300 ms after its last use.
    let expires = ("x-expires", AMQPValue::LongLongInt(300));
    queue_with(&channel, &queue, arguments([exchange, key, expires])).await?;
    publish_each(
        &channel,
        &queue,
        &[("job".to_string(), BasicProperties::default())],
    )
    .await?;
    // Asked through the management API: a passive declare would count as a use
    // and renew the queue's lease.
    let management = rabbit.management();
    let path = format!("/api/queues/%2F/{queue}");
    let every = Duration::from_millis(100);
    lab::until(WAIT, "the unused queue to expire", every, || async {
        Ok(management.get(&path).await.is_err())
    })
    .await?;
    let dead_letters = ready(&channel, &dead).await?;
    println!("queue {queue} is gone; its dead-letter queue holds {dead_letters}");
    Ok(dead_letters > 0)
});

proof!(killed_worker_job_comes_back_with_a_delivery_count, async {
    let rabbit = lab::rabbit().await?;
    let connection = rabbit.connect().await?;
    let channel = connection.create_channel().await?;
    let queue = lab::unique_name("jobs");
    quorum_queue(&channel, &queue).await?;
    publish_each(
        &channel,
        &queue,
        &[("job".to_string(), BasicProperties::default())],
    )
    .await?;
    // Manual acks; it takes the job and gets stuck on it until killed.
    let args = [rabbit.amqp_url(), queue.as_str(), "manual", "0", "0"];
    let mut worker = lab::ClientProcess::spawn(CONSUMER, args)?;
    worker.line_containing("stuck on job", WAIT).await?;
    worker.kill().await?;
    until_consumers(&channel, &queue, "the killed worker gone", WAIT, |n| n == 0).await?;
    let mut consumer = consume(&channel, &queue, Acks::Manual).await?;
    let delivery = next(&mut consumer).await?;
    let count = delivery_count(&delivery);
    println!(
        "redelivered={} x-delivery-count={count:?}",
        delivery.redelivered
    );
    ensure!(
        delivery.redelivered,
        "the job comes back marked redelivered"
    );
    Ok(count.unwrap_or(0))
});

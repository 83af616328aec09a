//! Proofs of chapter 7's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's RabbitMQ and
//! asserts it equals the key in `book/quizzes/07_rpc.toml`.
//!
//! The clients here are raw lapin: a channel consuming from direct reply-to
//! (`amq.rabbitmq.reply-to`) that publishes requests naming it as `reply_to`. The
//! crash proofs kill real server processes (`src/bin/killable_consumer.rs`,
//! `src/bin/replying_server.rs`) with SIGKILL.

use std::time::Duration;

use anyhow::{Result, ensure};
use futures::StreamExt;
use lab::rabbitmq::steps::{
    self, Acks, Scene, body, confirm_mode, consume, next, until_ready,
};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Consumer};
use proofs::proof;

const CHAPTER: &str = "07_rpc";

/// The consumer program the crash proof starts and kills, as a server.
const CONSUMER: &str = env!("CARGO_BIN_EXE_killable_consumer");

/// The server program that replies, then is killed before it acks.
const REPLYING_SERVER: &str = env!("CARGO_BIN_EXE_replying_server");

/// The pseudo-queue of direct reply-to.
const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// A client's reply consumer on direct reply-to (automatic acks, as it must be).
async fn reply_consumer(channel: &Channel) -> Result<Consumer> {
    consume(channel, DIRECT_REPLY_TO, Acks::Auto).await
}

/// Publishes a request to `queue` that asks for its reply on `channel`'s direct
/// reply-to consumer, with `correlation_id`; `expiration` in milliseconds, if any.
async fn request(
    channel: &Channel,
    queue: &str,
    body: &str,
    correlation_id: &str,
    expiration: Option<u64>,
) -> Result<()> {
    let mut properties = BasicProperties::default()
        .with_reply_to(DIRECT_REPLY_TO.into())
        .with_correlation_id(correlation_id.into());
    if let Some(ms) = expiration {
        properties = properties.with_expiration(ms.to_string().into());
    }
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            body.as_bytes(),
            properties,
        )
        .await?;
    Ok(())
}

/// The correlation id of a reply.
fn correlation_id(reply: &lapin::message::Delivery) -> String {
    reply
        .properties
        .correlation_id()
        .as_ref()
        .map_or_else(|| "<none>".to_string(), |id| id.to_string())
}

/// A server on its own channel: takes one request at a time, waits `delay` when
/// the body starts with `slow:`, replies with the body upper-cased to its
/// `reply_to` (same correlation id), then acks.
async fn start_server(scene: &Scene, delay: Duration) -> Result<Channel> {
    let channel = scene.connection.create_channel().await?;
    channel.basic_qos(1, BasicQosOptions::default()).await?;
    let mut requests = consume(&channel, &scene.queue, Acks::Manual).await?;
    let replying = channel.clone();
    tokio::spawn(async move {
        while let Some(Ok(request)) = requests.next().await {
            let text = body(&request);
            if text.starts_with("slow:") {
                tokio::time::sleep(delay).await;
            }
            let reply_to = request.properties.reply_to().clone().unwrap_or_default();
            let properties = BasicProperties::default().with_correlation_id(
                request
                    .properties
                    .correlation_id()
                    .clone()
                    .unwrap_or_default(),
            );
            let answer = text.trim_start_matches("slow:").to_uppercase();
            let sent = replying
                .basic_publish(
                    "".into(),
                    reply_to,
                    BasicPublishOptions::default(),
                    answer.as_bytes(),
                    properties,
                )
                .await;
            if sent.is_err() || request.ack(BasicAckOptions::default()).await.is_err() {
                break;
            }
        }
    });
    Ok(channel)
}

/// Waits until `count` consumers read the scene's queue.
async fn until_consumers(scene: &Scene, count: u32) -> Result<()> {
    let what = "the servers to consume from the request queue";
    let timeout = Duration::from_secs(10);
    steps::until_consumers(&scene.setup, &scene.queue, what, timeout, |n| n == count)
        .await
}

proof!(unacked_request_goes_to_another_server, async {
    let scene = Scene::new("requests").await?;
    let client = scene.connection.create_channel().await?;
    let _replies = reply_consumer(&client).await?;
    request(&client, &scene.queue, "crash", "call-1", None).await?;

    // A server with manual acks that takes the request and gets stuck on it.
    let args = [
        scene.rabbit.amqp_url(),
        scene.queue.as_str(),
        "manual",
        "0",
        "0",
    ];
    let mut server = lab::ClientProcess::spawn(CONSUMER, args)?;
    server
        .line_containing("stuck on crash", Duration::from_secs(10))
        .await?;
    server.kill().await?;

    // A second server: does the request reach it, reply_to and all?
    let channel = scene.connection.create_channel().await?;
    let mut second = consume(&channel, &scene.queue, Acks::Manual).await?;
    let again = next(&mut second).await?;
    println!(
        "the second server got {:?}, redelivered={}, reply_to={:?}, correlation_id={}",
        body(&again),
        again.redelivered,
        again.properties.reply_to(),
        correlation_id(&again)
    );
    ensure!(
        again.redelivered,
        "the request comes back flagged as redelivered"
    );
    ensure!(
        correlation_id(&again) == "call-1"
            && again
                .properties
                .reply_to()
                .as_ref()
                .is_some_and(|to| to.as_str().starts_with("amq.rabbitmq.reply-to.")),
        "the request keeps its correlation id and its (rewritten) reply_to"
    );
    Ok(body(&again) == "crash")
});

proof!(replies_can_overtake_each_other, async {
    let scene = Scene::new("requests").await?;
    let _servers = [
        start_server(&scene, Duration::from_millis(500)).await?,
        start_server(&scene, Duration::from_millis(500)).await?,
    ];
    until_consumers(&scene, 2).await?;
    let client = scene.connection.create_channel().await?;
    let mut replies = reply_consumer(&client).await?;
    request(&client, &scene.queue, "slow:first", "call-1", None).await?;
    request(&client, &scene.queue, "second", "call-2", None).await?;
    let mut order = Vec::new();
    for _ in 0..2 {
        let reply = next(&mut replies).await?;
        order.push(format!("{} {}", correlation_id(&reply), body(&reply)));
    }
    println!("replies in arrival order: {order:?}");
    ensure!(order.len() == 2, "both calls are answered");
    Ok(order[0] == "call-2 SECOND")
});

proof!(timed_out_request_is_still_executed, async {
    let scene = Scene::new("requests").await?;
    let client = scene.connection.create_channel().await?;
    let mut replies = reply_consumer(&client).await?;
    request(&client, &scene.queue, "forgotten", "call-1", None).await?;
    // The caller waits 300 ms for an answer, gets none, and gives up.
    let waited = tokio::time::timeout(Duration::from_millis(300), replies.next()).await;
    ensure!(waited.is_err(), "no reply comes while no server runs");
    // The broker knows nothing of the caller's timeout: a server that starts now...
    let _server = start_server(&scene, Duration::ZERO).await?;
    let reply = next(&mut replies).await?;
    println!(
        "a reply came after the timeout: {:?} for {}",
        body(&reply),
        correlation_id(&reply)
    );
    Ok(correlation_id(&reply) == "call-1" && body(&reply) == "FORGOTTEN")
});

proof!(expired_request_is_never_served, async {
    let scene = Scene::new("requests").await?;
    let client = scene.connection.create_channel().await?;
    let _replies = reply_consumer(&client).await?;
    request(&client, &scene.queue, "stale", "call-1", Some(1000)).await?;
    // The request is in the queue (a publish without confirms may not be, yet)...
    until_ready(
        &scene.setup,
        &scene.queue,
        "the request to be in the queue",
        Duration::from_secs(10),
        |n| n == 1,
    )
    .await?;
    // ...and with no consumer at all, the broker drops it once it expires.
    until_ready(
        &scene.setup,
        &scene.queue,
        "the expired request to leave the queue",
        Duration::from_secs(10),
        |n| n == 0,
    )
    .await?;
    let channel = scene.connection.create_channel().await?;
    let mut server = consume(&channel, &scene.queue, Acks::Manual).await?;
    let mut served: usize = 0;
    while let Ok(Some(delivery)) =
        tokio::time::timeout(Duration::from_millis(500), server.next()).await
    {
        delivery?;
        served += 1;
    }
    println!("requests a server got after the expiry: {served}");
    Ok(served)
});

proof!(reply_to_a_gone_client_is_returned, async {
    let scene = Scene::new("requests").await?;
    let client_connection = scene.rabbit.connect().await?;
    let client = client_connection.create_channel().await?;
    let _replies = reply_consumer(&client).await?;
    request(&client, &scene.queue, "hello", "call-1", None).await?;
    until_ready(
        &scene.setup,
        &scene.queue,
        "the request",
        Duration::from_secs(10),
        |n| n == 1,
    )
    .await?;

    // The server takes the request; meanwhile the client goes away.
    let server = scene.connection.create_channel().await?;
    let mut requests = consume(&server, &scene.queue, Acks::Manual).await?;
    let request = next(&mut requests).await?;
    client_connection.close(200, "gone".into()).await?;

    // The reply, published mandatory and with confirms on.
    let reply_to = request.properties.reply_to().clone().unwrap_or_default();
    println!("reply_to = {reply_to}");
    confirm_mode(&server).await?;
    let confirm = server
        .basic_publish(
            "".into(),
            reply_to,
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            b"HELLO",
            BasicProperties::default().with_correlation_id("call-1".into()),
        )
        .await?;
    let confirmation =
        lab::within(Duration::from_secs(10), "the reply's confirm", confirm).await??;
    println!("the broker answered the reply with {confirmation:?}");
    let returned = match &confirmation {
        Confirmation::Ack(Some(message)) => {
            println!("returned: {} {}", message.reply_code, message.reply_text);
            message.reply_code == 312
        }
        _ => false,
    };
    request.ack(BasicAckOptions::default()).await?;
    Ok(returned)
});

proof!(direct_reply_to_refuses_manual_acks, async {
    let rabbit = lab::rabbit().await?;
    let connection = rabbit.connect().await?;
    let channel = connection.create_channel().await?;
    let refused = channel
        .basic_consume(
            DIRECT_REPLY_TO.into(),
            lab::unique_name("replies").into(),
            BasicConsumeOptions {
                no_ack: false,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await;
    let error = match refused {
        Ok(_) => return Ok(false),
        Err(error) => error.to_string(),
    };
    println!("consuming amq.rabbitmq.reply-to with manual acks: {error}");
    ensure!(
        !channel.status().connected(),
        "the broker closes the channel"
    );
    Ok(error.contains("PRECONDITION_FAILED") || error.contains("406"))
});

proof!(server_killed_after_replying_answers_twice, async {
    let scene = Scene::new("requests").await?;
    let client = scene.connection.create_channel().await?;
    let mut replies = reply_consumer(&client).await?;
    request(&client, &scene.queue, "twice", "call-1", None).await?;

    // A server that replies (and has the broker's confirm of the reply), then is
    // killed before it acks the request.
    let args = [scene.rabbit.amqp_url(), scene.queue.as_str()];
    let mut server = lab::ClientProcess::spawn(REPLYING_SERVER, args)?;
    server
        .line_containing("replied to twice, not acked", Duration::from_secs(10))
        .await?;
    server.kill().await?;
    // The request is back in the queue; a second server answers it again.
    let _second = start_server(&scene, Duration::ZERO).await?;

    let mut answers = Vec::new();
    for _ in 0..2 {
        let reply = next(&mut replies).await?;
        answers.push(format!("{} {}", correlation_id(&reply), body(&reply)));
    }
    // Any third reply would come at once: the second server has acked by now.
    until_ready(
        &scene.setup,
        &scene.queue,
        "the request to be done",
        Duration::from_secs(10),
        |n| n == 0,
    )
    .await?;
    while let Ok(Some(reply)) =
        tokio::time::timeout(Duration::from_millis(300), replies.next()).await
    {
        let reply = reply?;
        answers.push(format!("{} {}", correlation_id(&reply), body(&reply)));
    }
    println!("replies the client got: {answers:?}");
    ensure!(
        answers.iter().all(|answer| answer == "call-1 TWICE"),
        "every reply answers the one call"
    );
    Ok(answers.len())
});

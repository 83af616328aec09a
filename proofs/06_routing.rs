//! Proofs of chapter 6's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's RabbitMQ and
//! asserts it equals the key in `book/quizzes/06_routing.toml`.
//!
//! Every experiment declares its own exchange and queues (unique names), publishes
//! with confirms on, and counts what each queue holds once the confirms are in: a
//! confirm comes after the exchange has routed the message, so nothing is in flight.

use anyhow::{Result, ensure};
use lab::rabbitmq::steps::{
    arguments, bind, bind_with, bound_queue, confirm_mode, drain, exchange,
    exchange_with, persistence, publish_one, ready, text,
};
use lapin::options::BasicPublishOptions;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ExchangeKind};
use proofs::proof;

const CHAPTER: &str = "06_routing";

/// The lab's RabbitMQ (held for the proof), a connection and a channel with
/// confirms on.
async fn confirming() -> Result<(lab::Rabbit, Connection, Channel)> {
    let rabbit = lab::rabbit().await?;
    let connection = rabbit.connect().await?;
    let channel = connection.create_channel().await?;
    confirm_mode(&channel).await?;
    Ok((rabbit, connection, channel))
}

/// Publishes `body` to `exchange` with `routing_key` (persistent, not mandatory)
/// and returns the broker's confirm.
async fn publish(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &str,
) -> Result<Confirmation> {
    let options = BasicPublishOptions::default();
    let properties = persistence(true);
    publish_one(
        channel,
        exchange,
        routing_key,
        options,
        body.as_bytes(),
        properties,
    )
    .await
}

/// A fresh exchange of `kind`, named after `prefix`.
async fn fresh_exchange(
    channel: &Channel,
    prefix: &str,
    kind: ExchangeKind,
) -> Result<String> {
    let name = lab::unique_name(prefix);
    exchange(channel, &name, kind).await?;
    Ok(name)
}

proof!(fanout_ignores_the_routing_key, async {
    let (_rabbit, _connection, channel) = confirming().await?;
    let logs = fresh_exchange(&channel, "fanout", ExchangeKind::Fanout).await?;
    let mut queues = Vec::new();
    for key in ["a", "b", "c"] {
        queues.push(bound_queue(&channel, "subscriber", &logs, &[key]).await?);
    }
    let confirm = publish(&channel, &logs, "b", "hello").await?;
    ensure!(confirm.is_ack(), "the broker acks the message");
    let mut received = 0;
    for queue in &queues {
        let held = drain(&channel, queue).await?;
        println!("{queue}: {held:?}");
        ensure!(held.len() <= 1, "a queue holds one copy at most");
        received += held.len();
    }
    Ok(received)
});

proof!(direct_routes_on_the_exact_key, async {
    let (_rabbit, _connection, channel) = confirming().await?;
    let levels = fresh_exchange(&channel, "direct", ExchangeKind::Direct).await?;
    let a = bound_queue(&channel, "a", &levels, &["error"]).await?;
    let b = bound_queue(&channel, "b", &levels, &["error", "info"]).await?;
    for key in ["error", "info", "warn"] {
        let confirm = publish(&channel, &levels, key, key).await?;
        ensure!(confirm.is_ack(), "the broker acks the {key} message");
    }
    let in_a = drain(&channel, &a).await?;
    let in_b = drain(&channel, &b).await?;
    println!("A: {in_a:?}, B: {in_b:?}");
    ensure!(in_a == ["error"], "A holds the error message only");
    ensure!(in_b == ["error", "info"], "B holds error and info");
    Ok(in_a.len() + in_b.len())
});

/// The keys of the two pattern questions, each as its option is written.
const KEYS: [&str; 4] = [
    "billing.error",
    "shop.checkout.error",
    "error",
    "billing.error.retry",
];

/// Binds one queue to a topic exchange with `pattern`, publishes one message per
/// key of [`KEYS`] (the body is the key), and returns the options (keys in
/// backquotes) of the messages the queue received.
async fn keys_matched_by(pattern: &str) -> Result<Vec<&'static str>> {
    let (_rabbit, _connection, channel) = confirming().await?;
    let logs = fresh_exchange(&channel, "topic", ExchangeKind::Topic).await?;
    let queue = bound_queue(&channel, "errors", &logs, &[pattern]).await?;
    for key in KEYS {
        let confirm = publish(&channel, &logs, key, key).await?;
        ensure!(confirm.is_ack(), "the broker acks the {key} message");
    }
    let held = drain(&channel, &queue).await?;
    println!("{pattern} received {held:?}");
    Ok([
        "`billing.error`",
        "`shop.checkout.error`",
        "`error`",
        "`billing.error.retry`",
    ]
    .into_iter()
    .zip(KEYS)
    .filter(|(_, key)| held.iter().any(|body| body == key))
    .map(|(option, _)| option)
    .collect())
}

proof!(star_matches_exactly_one_word, async {
    keys_matched_by("*.error").await
});

proof!(hash_matches_zero_or_more_words, async {
    keys_matched_by("#.error").await
});

proof!(two_matching_bindings_one_copy, async {
    let (_rabbit, _connection, channel) = confirming().await?;
    let logs = fresh_exchange(&channel, "topic", ExchangeKind::Topic).await?;
    let queue =
        bound_queue(&channel, "billing", &logs, &["billing.*", "#.error"]).await?;
    let confirm = publish(&channel, &logs, "billing.error", "card declined").await?;
    ensure!(confirm.is_ack(), "the broker acks the message");
    let copies = ready(&channel, &queue).await?;
    println!("copies in the queue: {copies}");
    Ok(copies as usize)
});

/// The options of the unroutable question.
const ACKED_AND_DROPPED: &str =
    "The broker acks it and drops it: no queue holds it, now or later";
const NACKED: &str = "The broker nacks it, so the publisher knows to send it again";
const CHANNEL_CLOSED: &str = "The broker closes the channel with a NO_ROUTE error";
const WAITS_IN_THE_EXCHANGE: &str = "It waits in the exchange, and reaches the first queue later bound with a matching pattern";

proof!(unroutable_is_acked_and_dropped, async {
    let (_rabbit, _connection, channel) = confirming().await?;
    let logs = fresh_exchange(&channel, "topic", ExchangeKind::Topic).await?;
    let errors = bound_queue(&channel, "errors", &logs, &["*.error"]).await?;
    let confirm = publish(&channel, &logs, "auth.debug", "token refreshed").await?;
    println!("confirm: {confirm:?}");
    if !channel.status().connected() {
        return Ok(vec![CHANNEL_CLOSED]);
    }
    ensure!(
        ready(&channel, &errors).await? == 0,
        "the *.error queue got nothing"
    );
    // A queue bound afterwards with a pattern that matches: does the exchange
    // hand it the earlier message?
    let late = bound_queue(&channel, "late", &logs, &["#"]).await?;
    let later = ready(&channel, &late).await?;
    println!("a `#` queue bound afterwards holds {later}");
    Ok(vec![if confirm.is_nack() {
        NACKED
    } else if later > 0 {
        WAITS_IN_THE_EXCHANGE
    } else if confirm.is_ack() {
        ACKED_AND_DROPPED
    } else {
        "neither acked nor nacked"
    }])
});

proof!(alternate_exchange_means_no_return, async {
    let (_rabbit, _connection, channel) = confirming().await?;
    let alternate = fresh_exchange(&channel, "unrouted", ExchangeKind::Fanout).await?;
    let unrouted = bound_queue(&channel, "unrouted", &alternate, &[""]).await?;
    let logs = lab::unique_name("topic");
    let with_alternate = arguments([("alternate-exchange", text(&alternate))]);
    exchange_with(&channel, &logs, ExchangeKind::Topic, with_alternate).await?;
    let errors = bound_queue(&channel, "errors", &logs, &["*.error"]).await?;
    let mandatory = BasicPublishOptions {
        mandatory: true,
        ..Default::default()
    };
    let confirm = publish_one(
        &channel,
        &logs,
        "auth.debug",
        mandatory,
        b"token refreshed",
        persistence(true),
    )
    .await?;
    let acked = confirm.is_ack();
    let returned = confirm.take_message();
    if let Some(returned) = &returned {
        println!("returned: {} {}", returned.reply_code, returned.reply_text);
    }
    ensure!(acked, "the broker acks the message");
    ensure!(
        ready(&channel, &errors).await? == 0,
        "the *.error queue got nothing"
    );
    let kept = drain(&channel, &unrouted).await?;
    println!("the alternate exchange's queue holds {kept:?}");
    ensure!(
        kept == ["token refreshed"],
        "the alternate exchange's queue holds the message"
    );
    Ok(returned.is_some())
});

proof!(late_subscriber_gets_no_earlier_messages, async {
    let (_rabbit, _connection, channel) = confirming().await?;
    let events = fresh_exchange(&channel, "fanout", ExchangeKind::Fanout).await?;
    for n in 1..=5 {
        let confirm = publish(&channel, &events, "", &format!("before-{n}")).await?;
        ensure!(
            confirm.is_ack(),
            "an unroutable message is acked all the same"
        );
    }
    let subscriber = lab::unique_name("subscriber");
    lab::rabbitmq::steps::durable_queue(&channel, &subscriber).await?;
    bind(&channel, &subscriber, &events, "").await?;
    let confirm = publish(&channel, &events, "", "after").await?;
    ensure!(confirm.is_ack(), "the broker acks the sixth message");
    let received = drain(&channel, &subscriber).await?;
    println!("the subscriber received {received:?}");
    ensure!(
        received.iter().all(|body| !body.starts_with("before")),
        "none of the messages published before the queue was bound"
    );
    Ok(received.len())
});

/// Binds a queue to `exchange` with `x-match` = `mode` and the headers
/// `service=billing`, `level=error`; returns its name.
async fn headers_queue(channel: &Channel, exchange: &str, mode: &str) -> Result<String> {
    let queue = lab::unique_name(mode);
    lab::rabbitmq::steps::durable_queue(channel, &queue).await?;
    let binding = arguments([
        ("x-match", text(mode)),
        ("service", text("billing")),
        ("level", text("error")),
    ]);
    bind_with(channel, &queue, exchange, "", binding).await?;
    Ok(queue)
}

proof!(headers_all_needs_every_header, async {
    let (_rabbit, _connection, channel) = confirming().await?;
    let logs = fresh_exchange(&channel, "headers", ExchangeKind::Headers).await?;
    let all = headers_queue(&channel, &logs, "all").await?;
    let any = headers_queue(&channel, &logs, "any").await?;
    let mut headers = FieldTable::default();
    headers.insert("level".into(), text("error"));
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(headers);
    let confirm = publish_one(
        &channel,
        &logs,
        "billing.error",
        BasicPublishOptions::default(),
        b"card declined",
        properties,
    )
    .await?;
    ensure!(confirm.is_ack(), "the broker acks the message");
    let in_all = ready(&channel, &all).await?;
    let in_any = ready(&channel, &any).await?;
    println!("ALL holds {in_all}, ANY holds {in_any}");
    Ok(vec![match (in_all > 0, in_any > 0) {
        (true, true) => "Both: the routing key `billing.error` names both headers",
        (true, false) => "Only ALL",
        (false, true) => "Only ANY",
        (false, false) => "Neither: a message must carry every header of a binding",
    }])
});

//! Variant: the alternate exchange is a topic exchange whose unrouted queue is
//! bound with `#`, instead of a fanout: `#` matches every key, so it takes all.

use anyhow::{Context, Result, ensure};
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Consumer, ExchangeKind};

// ANCHOR: declare_logs
/// Declares the log exchange `exchange`, where every service publishes its log
/// lines, and the queue `unrouted` that keeps every line no subscriber's pattern
/// matches.
pub async fn declare_logs(
    channel: &Channel,
    exchange: &str,
    unrouted: &str,
) -> Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    // The alternate exchange: a topic exchange whose one binding, `#`, matches
    // every routing key, so it takes whatever it is given.
    let alternate = format!("{exchange}.unrouted");
    channel
        .exchange_declare(
            alternate.as_str().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("declaring the alternate exchange {alternate}"))?;
    channel
        .queue_declare(
            unrouted.into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("declaring the queue {unrouted}"))?;
    // `#`: zero or more words, so every key.
    channel
        .queue_bind(
            unrouted.into(),
            alternate.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .context("binding the unrouted queue to the alternate exchange")?;
    // A topic exchange routes on the words of the routing key. Without the
    // `alternate-exchange` argument, a line that matches no binding is dropped.
    let mut arguments = FieldTable::default();
    arguments.insert(
        "alternate-exchange".into(),
        AMQPValue::LongString(alternate.as_str().into()),
    );
    channel
        .exchange_declare(exchange.into(), ExchangeKind::Topic, durable, arguments)
        .await
        .with_context(|| format!("declaring the topic exchange {exchange}"))?;
    Ok(())
}
// ANCHOR_END: declare_logs

// ANCHOR: publish_log
/// Publishes one log line of `service` at `level` (`"info"`, `"error"`...) to
/// `exchange` with the routing key `<service>.<level>`, and returns once the broker
/// has confirmed it. A service's name may itself have dots (`shop.checkout`).
pub async fn publish_log(
    channel: &Channel,
    exchange: &str,
    service: &str,
    level: &str,
    text: &str,
) -> Result<()> {
    // Confirms on (idempotent): the confirm says the exchange has routed the line,
    // to subscribers' queues or to the alternate exchange.
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .context("turning publisher confirms on")?;
    // The routing key is the whole address: the service's words, then the level.
    let routing_key = format!("{service}.{level}");
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.as_str().into(),
            BasicPublishOptions::default(),
            text.as_bytes(),
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .with_context(|| format!("publishing a {routing_key} line"))?
        .await
        .with_context(|| format!("waiting for the confirm of a {routing_key} line"))?;
    ensure!(
        confirm.is_ack(),
        "the broker refused the {routing_key} line"
    );
    Ok(())
}
// ANCHOR_END: publish_log

// ANCHOR: patterns
/// The binding pattern for every error line of every service.
pub fn every_error() -> String {
    // `#` matches zero or more words, so this matches `billing.error` and
    // `shop.checkout.error` alike; `*.error` would miss the dotted service.
    "#.error".to_string()
}

/// The binding pattern for every line of `service`, whatever its level, and of
/// no other service.
pub fn every_line_of(service: &str) -> String {
    // `*` is exactly one word: the level. `shop.#` would also match the lines of
    // `shop.checkout`, another service.
    format!("{service}.*")
}
// ANCHOR_END: patterns

// ANCHOR: subscribe
/// Subscribes to `exchange`: a queue of this subscriber's own, bound with each of
/// `patterns`, and a consumer of it. Every subscriber gets its own copy of each
/// line its patterns match.
pub async fn subscribe(
    channel: &Channel,
    exchange: &str,
    patterns: &[String],
) -> Result<Consumer> {
    // Publish/subscribe needs one queue per subscriber: consumers of one shared
    // queue would compete for the lines instead. A server-named (`""`), exclusive
    // queue is private to this connection and deleted with it.
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions::exclusive(),
            FieldTable::default(),
        )
        .await
        .context("declaring the subscriber's queue")?;
    let queue = queue.name().as_str();
    // One binding per pattern; a line that matches two of them still arrives once.
    for pattern in patterns {
        channel
            .queue_bind(
                queue.into(),
                exchange.into(),
                pattern.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("binding {queue} with {pattern}"))?;
    }
    // Automatic acks: the queue lives only as long as this connection anyway, so a
    // line lost with the subscriber would have been lost with its queue too.
    let consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consuming from {queue}"))?;
    Ok(consumer)
}
// ANCHOR_END: subscribe

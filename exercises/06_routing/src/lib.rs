//! # Chapter 6: routing
//!
//! Log aggregation: every service publishes its log lines to one topic exchange
//! with the routing key `<service>.<level>` (`billing.error`, `shop.checkout.info`),
//! and each subscriber gets exactly the lines its patterns ask for. You write:
//!
//! - [`declare_logs`]: the topic exchange, with an *alternate exchange* and a
//!   queue that keep every line no subscriber wanted;
//! - [`publish_log`]: one line, routed by `<service>.<level>`, confirmed;
//! - [`every_error`] and [`every_line_of`]: the binding patterns (`*` and `#`);
//! - [`subscribe`]: a queue of the subscriber's own, bound with its patterns.
//!
//! The checks in `tests/check.rs` start three subscribers, publish lines of
//! several services and compare what each subscriber received with what it asked
//! for. Run them with:
//!
//! ```text
//! cargo test -p exercise_06_routing
//! ```
//!
//! Read chapter 6 of the book first (`book/src/ch06-routing.md`).

// The stubs do not use their parameters yet; your code will.
#![allow(unused_variables)]

use anyhow::Result;
use lapin::{Channel, Consumer};

// ANCHOR: declare_logs
/// Declares the log exchange `exchange`, where every service publishes its log
/// lines, and the queue `unrouted` that keeps every line no subscriber's pattern
/// matches.
pub async fn declare_logs(
    channel: &Channel,
    exchange: &str,
    unrouted: &str,
) -> Result<()> {
    // TODO: declare a durable fanout exchange (name it e.g. "<exchange>.unrouted"),
    // a durable queue `unrouted` bound to it, and then the durable *topic* exchange
    // `exchange` with the argument `alternate-exchange` naming the fanout one.
    todo!("declare the log exchange and its alternate exchange")
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
    // TODO: turn confirms on, publish `text` to `exchange` with the routing key
    // "<service>.<level>", and wait for the broker's ack.
    todo!("publish a log line")
}
// ANCHOR_END: publish_log

// ANCHOR: patterns
/// The binding pattern for every error line of every service.
pub fn every_error() -> String {
    // TODO: a topic pattern that matches `billing.error` and `shop.checkout.error`.
    todo!("the pattern of every error")
}

/// The binding pattern for every line of `service`, whatever its level, and of
/// no other service.
pub fn every_line_of(service: &str) -> String {
    // TODO: a topic pattern that matches `shop.info` and `shop.error` for "shop",
    // but not `shop.checkout.error`, which is another service's.
    todo!("the pattern of one service's lines")
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
    // TODO: declare a queue for this subscriber alone (a server-named exclusive
    // queue: name ""), bind it to `exchange` once per pattern, and consume from it.
    todo!("subscribe to the log exchange")
}
// ANCHOR_END: subscribe

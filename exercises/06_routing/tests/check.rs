//! Checks for chapter 6 (do not modify): they declare the log exchange with your
//! functions on a real RabbitMQ, start subscribers made of them, publish log lines
//! of several services, and compare what each subscriber received with what its
//! patterns ask for.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use lab::rabbitmq::steps::{bodies_until_quiet, drain, ready, until_ready};
use lapin::{Channel, Connection, Consumer};
use routing::{declare_logs, every_error, every_line_of, publish_log, subscribe};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a subscriber's queue must stay quiet before its lines count as all in.
const QUIET: Duration = Duration::from_millis(500);

/// Where chapter 6 explains `*` and `#`.
const PATTERNS: &str = "see ch06 'Topic patterns'";
/// Where chapter 6 explains one queue per subscriber.
const PUBSUB: &str = "see ch06 'Publish/subscribe: a queue per subscriber'";
/// Where chapter 6 explains the exchange types.
const TYPES: &str = "see ch06 'Four exchange types'";
/// Where chapter 6 explains the alternate exchange.
const ALTERNATE: &str = "see ch06 'What matches nothing: the alternate exchange'";

/// The log lines the checks publish: (service, level); the body is
/// `<service>.<level>: <text>`, so a line names its own routing key.
const LINES: [(&str, &str, &str); 6] = [
    ("billing", "info", "invoice 7 sent"),
    ("billing", "error", "card declined"),
    ("shop", "warn", "cart service slow"),
    ("shop", "error", "stock level unknown"),
    ("shop.checkout", "error", "payment timed out"),
    ("shop.checkout", "info", "order 42 placed"),
];

fn body(service: &str, level: &str, text: &str) -> String {
    format!("{service}.{level}: {text}")
}

/// The lines of [`LINES`] of these routing keys, as their bodies.
fn lines_of(keys: &[&str]) -> BTreeSet<String> {
    LINES
        .iter()
        .filter(|(service, level, _)| {
            keys.contains(&format!("{service}.{level}").as_str())
        })
        .map(|(service, level, text)| body(service, level, text))
        .collect()
}

/// The routing key at the head of a line's body.
fn key_of(line: &str) -> &str {
    line.split(':').next().unwrap_or(line)
}

/// A connection, a channel to declare and publish on, and the log exchange
/// declared by `declare_logs` with a fresh unrouted queue.
struct Logs {
    /// Held for the whole check: it keeps fault experiments off this broker.
    _rabbit: lab::Rabbit,
    connection: Connection,
    publisher: Channel,
    exchange: String,
    unrouted: String,
}

impl Logs {
    async fn new() -> anyhow::Result<Logs> {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let publisher = connection.create_channel().await?;
        let exchange = lab::unique_name("logs");
        let unrouted = lab::unique_name("unrouted");
        declare_logs(&publisher, &exchange, &unrouted)
            .await
            .context("`declare_logs` failed")?;
        Ok(Logs {
            _rabbit: rabbit,
            connection,
            publisher,
            exchange,
            unrouted,
        })
    }

    /// A subscriber made by `subscribe`, on a channel of its own.
    async fn subscriber(
        &self,
        patterns: &[String],
    ) -> anyhow::Result<(Channel, Consumer)> {
        let channel = self.connection.create_channel().await?;
        let consumer = subscribe(&channel, &self.exchange, patterns)
            .await
            .with_context(|| format!("`subscribe` with {patterns:?} failed"))?;
        Ok((channel, consumer))
    }

    async fn publish(
        &self,
        service: &str,
        level: &str,
        text: &str,
    ) -> anyhow::Result<()> {
        publish_log(&self.publisher, &self.exchange, service, level, text)
            .await
            .with_context(|| format!("`publish_log` of a {service}.{level} line failed"))
    }
}

/// What one subscriber received, compared with what its patterns ask for: `None`
/// if it is exactly that, otherwise what it missed and what it should not have got.
fn compare(who: &str, got: &[String], wanted: &BTreeSet<String>) -> Option<String> {
    let got_set: BTreeSet<String> = got.iter().cloned().collect();
    let missed: Vec<&str> = wanted.difference(&got_set).map(|l| key_of(l)).collect();
    let extra: Vec<&str> = got_set.difference(wanted).map(|l| key_of(l)).collect();
    let twice = got.len() - got_set.len();
    if missed.is_empty() && extra.is_empty() && twice == 0 {
        return None;
    }
    let mut said = format!("the {who} subscriber");
    if !missed.is_empty() {
        said += &format!(" missed the lines {missed:?}");
    }
    if !extra.is_empty() {
        if !missed.is_empty() {
            said += " and";
        }
        said += &format!(" got the lines {extra:?} it did not ask for");
    }
    if twice > 0 {
        said += &format!(" got {twice} lines twice");
    }
    Some(said)
}

/// Publish/subscribe by topic: three subscribers (every error; every line of the
/// `shop` service; everything, `#`) each get exactly the lines their patterns
/// match, each once, whatever the others asked for.
#[tokio::test]
async fn each_subscriber_gets_exactly_the_lines_its_patterns_match() -> anyhow::Result<()>
{
    lab::check(CHECK_TIMEOUT, "three subscribers and six log lines", async {
        let logs = Logs::new().await?;
        let (_c1, mut errors) = logs.subscriber(&[every_error()]).await?;
        let (_c2, mut shop) = logs.subscriber(&[every_line_of("shop")]).await?;
        let (_c3, mut everything) = logs.subscriber(&["#".to_string()]).await?;
        for (service, level, text) in LINES {
            logs.publish(service, level, &body(service, level, text)).await?;
        }

        let errors_got = bodies_until_quiet(&mut errors, QUIET).await?;
        let shop_got = bodies_until_quiet(&mut shop, QUIET).await?;
        let everything_got = bodies_until_quiet(&mut everything, QUIET).await?;

        let everything_wanted = lines_of(&[
            "billing.info",
            "billing.error",
            "shop.warn",
            "shop.error",
            "shop.checkout.error",
            "shop.checkout.info",
        ]);
        let errors_wanted = lines_of(&["billing.error", "shop.error", "shop.checkout.error"]);
        let shop_wanted = lines_of(&["shop.warn", "shop.error"]);

        let mut wrong = Vec::new();
        if let Some(said) = compare(
            &format!("errors ({:?})", every_error()),
            &errors_got,
            &errors_wanted,
        ) {
            wrong.push(said);
        }
        if let Some(said) = compare(
            &format!("shop ({:?})", every_line_of("shop")),
            &shop_got,
            &shop_wanted,
        ) {
            wrong.push(said);
        }
        if let Some(said) = compare("everything (\"#\")", &everything_got, &everything_wanted) {
            wrong.push(said);
        }
        if wrong.is_empty() {
            return Ok(());
        }
        let sum = errors_got.len() + shop_got.len() + everything_got.len();
        if sum == LINES.len() {
            // Which subscriber got which share varies from run to run: say only how
            // the lines were split.
            bail!(
                "the {sum} lines were shared out between the subscribers instead of copied to each \
                 (the errors subscriber got {} of them, the shop subscriber {}, the everything subscriber {}): \
                 give every subscriber a queue of its own ({PUBSUB})",
                errors_got.len(),
                shop_got.len(),
                everything_got.len()
            );
        }
        let why = if errors_got.len() == LINES.len() && shop_got.len() == LINES.len() {
            format!(
                "every subscriber got every line: the exchange ignores the routing key; it must be a topic exchange ({TYPES})"
            )
        } else {
            format!(
                "a pattern matches the wrong routing keys: `*` is exactly one word, `#` zero or more ({PATTERNS})"
            )
        };
        bail!("{}: {why}", wrong.join("; "))
    })
    .await
}

/// The alternate exchange: a line that no subscriber's pattern matches is kept in
/// the unrouted queue instead of dropped, and a line that a subscriber took is not.
#[tokio::test]
async fn a_line_nobody_subscribed_to_waits_in_the_unrouted_queue() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a line that matches no pattern", async {
        let logs = Logs::new().await?;
        let (_channel, mut errors) = logs.subscriber(&[every_error()]).await?;
        let unwanted = body("auth", "debug", "token refreshed");
        let wanted = body("billing", "error", "card declined");
        logs.publish("auth", "debug", &unwanted).await?;
        logs.publish("billing", "error", &wanted).await?;

        let kept = until_ready(
            &logs.publisher,
            &logs.unrouted,
            "the auth.debug line in the unrouted queue",
            Duration::from_secs(3),
            |n| n >= 1,
        )
        .await;
        let errors_got = bodies_until_quiet(&mut errors, QUIET).await?;
        ensure!(
            kept.is_ok(),
            "the auth.debug line matched no subscriber's pattern and was dropped: \
             the unrouted queue is empty. Give the log exchange an alternate exchange ({ALTERNATE})"
        );
        let unrouted = drain(&logs.publisher, &logs.unrouted).await?;
        ensure!(
            unrouted == vec![unwanted.clone()],
            "the unrouted queue holds {:?}, but only the auth.debug line matched no pattern: \
             the alternate exchange gets only what the log exchange could not route ({ALTERNATE})",
            unrouted.iter().map(|l| key_of(l)).collect::<Vec<_>>()
        );
        ensure!(
            errors_got == vec![wanted],
            "the errors subscriber got {:?} instead of the billing.error line alone ({PATTERNS})",
            errors_got.iter().map(|l| key_of(l)).collect::<Vec<_>>()
        );
        let left = ready(&logs.publisher, &logs.unrouted).await?;
        ensure!(left == 0, "the unrouted queue still holds {left} lines");
        Ok(())
    })
    .await
}

//! A consumer run as its own process, so a proof can kill it (SIGKILL) as a crash
//! would, and the broker sees only its TCP connection vanish.
//!
//! ```text
//! killable_consumer <amqp-url> <queue> <auto|manual> <process-count> <pace-ms> [prefetch]
//! ```
//!
//! It prints `received <body> redelivered=<flag>` for each delivery it takes from
//! its stream. It processes the first `process-count` of them (`pace-ms` each, then
//! an ack in manual mode) and prints `processed <body>`; then it gets stuck on the
//! next one and prints `stuck on <body>`, until it is killed. With `prefetch`, it
//! holds at most that many unacknowledged deliveries (`basic.qos`); without, no limit.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, queue, mode, count, pace, prefetch) = match &args[..] {
        [url, queue, mode, count, pace] => (url, queue, mode, count, pace, None),
        [url, queue, mode, count, pace, prefetch] => {
            (url, queue, mode, count, pace, Some(prefetch))
        }
        _ => bail!(
            "usage: killable_consumer <amqp-url> <queue> <auto|manual> <process-count> <pace-ms> [prefetch]"
        ),
    };
    let auto_ack = match mode.as_str() {
        "auto" => true,
        "manual" => false,
        other => bail!("mode must be auto or manual, not {other:?}"),
    };
    let count: usize = count.parse().context("process-count")?;
    let pace = Duration::from_millis(pace.parse().context("pace-ms")?);

    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let channel = connection.create_channel().await?;
    if let Some(prefetch) = prefetch {
        let prefetch: u16 = prefetch.parse().context("prefetch")?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .context("setting the prefetch")?;
    }
    let options = BasicConsumeOptions {
        no_ack: auto_ack,
        ..Default::default()
    };
    let mut consumer = channel
        .basic_consume(
            queue.as_str().into(),
            "killable".into(),
            options,
            FieldTable::default(),
        )
        .await?;
    say("subscribed");
    let mut processed = 0;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let body = String::from_utf8_lossy(&delivery.data).into_owned();
        say(&format!(
            "received {body} redelivered={}",
            delivery.redelivered
        ));
        if processed == count {
            say(&format!("stuck on {body}"));
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(pace).await;
        if !auto_ack {
            delivery.ack(BasicAckOptions::default()).await?;
        }
        processed += 1;
        say(&format!("processed {body}"));
    }
    Ok(())
}

/// One line on stdout, flushed at once: the proof reads it while we run.
fn say(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

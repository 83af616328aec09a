//! A consumer for the chapter 13 crash proofs:
//! `kafka_crash_consumer <auto-store|manual-store> <bootstrap servers> <topic> <group>`.
//!
//! It consumes with automatic commits (every 500 ms) and prints `processing
//! <payload>` for each record; it never finishes processing `record-3`, and the
//! proof kills it (SIGKILL) meanwhile. `auto-store` keeps librdkafka's default
//! (`enable.auto.offset.store=true`: the offset is stored when the record is handed
//! over); `manual-store` sets it to false and stores each offset after processing.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, bootstrap, topic, group] = args.as_slice() else {
        bail!(
            "usage: kafka_crash_consumer <auto-store|manual-store> <bootstrap> <topic> <group>"
        );
    };
    let manual = match mode.as_str() {
        "auto-store" => false,
        "manual-store" => true,
        other => bail!("unknown mode {other}"),
    };
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "500")
        .set("session.timeout.ms", "6000")
        .set(
            "enable.auto.offset.store",
            if manual { "false" } else { "true" },
        )
        .create()
        .context("creating the consumer")?;
    consumer.subscribe(&[topic])?;
    let mut out = std::io::stdout();
    loop {
        let message = consumer.recv().await?;
        let payload =
            String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
        writeln!(out, "processing {payload}")?;
        out.flush()?;
        if payload == "record-3" {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if manual {
            consumer.store_offset_from_message(&message)?;
        }
        writeln!(out, "done {payload}")?;
        out.flush()?;
    }
}

//! The consumer the crash check kills (a copy of the exercise's bin, built on this
//! solution): it runs `consume_at_least_once` on `<bootstrap servers> <topic> <group>` and prints
//! `processing <payload>` and `done <payload>` around each record. It never finishes
//! processing `record-3`: the check kills it (SIGKILL) while it is "processing" it.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use consumer_groups::{consume_at_least_once, consumer_config};
use rdkafka::consumer::StreamConsumer;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, topic, group] = args.as_slice() else {
        anyhow::bail!("usage: crash_consumer <bootstrap servers> <topic> <group>");
    };
    let consumer: StreamConsumer = consumer_config(bootstrap, group)
        // Commit often, so the check need not wait 5 s (the default) for one.
        .set("auto.commit.interval.ms", "500")
        // The smallest session the broker allows: the group notices the death sooner.
        .set("session.timeout.ms", "6000")
        .create()
        .context("creating the consumer")?;
    consume_at_least_once(&consumer, topic, 10, async |payload: &str| {
        let mut out = std::io::stdout();
        writeln!(out, "processing {payload}")?;
        out.flush()?;
        if payload == "record-3" {
            // A long piece of work, during which the process is killed.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        writeln!(out, "done {payload}")?;
        out.flush()?;
        Ok(())
    })
    .await
}

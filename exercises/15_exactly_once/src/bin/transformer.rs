//! The transformer the crash check kills (do not modify): it runs your
//! `transform_batch` on `<bootstrap servers> <input> <output> <group>
//! <transactional id> <stall at>` in batches of 3 until 10 records are done,
//! turning `record-N` into `RECORD-N`, and prints `transforming <payload>` before
//! each record and `committed <n>` after each batch. When it reaches the payload
//! `<stall at>` it never finishes it: the check kills it (SIGKILL) there, in the
//! middle of a transaction. `-` stalls nowhere; it prints `finished` at the end.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use exactly_once::{consumer_config, transactional_producer, transform_batch};
use rdkafka::consumer::{Consumer, StreamConsumer};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, input, output, group, id, stall_at] = args.as_slice() else {
        anyhow::bail!(
            "usage: transformer <bootstrap> <input> <output> <group> <transactional id> <stall at>"
        );
    };
    let producer = transactional_producer(bootstrap, id)?;
    let consumer: StreamConsumer = consumer_config(bootstrap, group)
        // The smallest session the broker allows: the group gives the killed
        // transformer's partition to the restarted one sooner.
        .set("session.timeout.ms", "6000")
        .create()
        .context("creating the consumer")?;
    consumer.subscribe(&[input.as_str()])?;
    // At most three batches: a restart resumes at the group's committed offset.
    for _ in 0..3 {
        let mut last = false;
        transform_batch(&consumer, &producer, output, 3, async |payload: &str| {
            let mut out = std::io::stdout();
            writeln!(out, "transforming {payload}")?;
            out.flush()?;
            last |= payload == "record-8";
            if payload == stall_at {
                // A long piece of work, during which the process is killed.
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Ok(payload.to_uppercase())
        })
        .await?;
        println!("committed");
        if last {
            break;
        }
    }
    println!("finished");
    Ok(())
}

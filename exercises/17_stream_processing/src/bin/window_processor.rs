//! The processor the crash check kills (do not modify): it runs your `run` on
//! `<bootstrap servers> <input> <output> <group>` with 10 s windows and 5 s of
//! grace, and prints `processed <offset>` after each record. It never stops by
//! itself: the check kills it (SIGKILL) while a window is still open.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;
use stream_processing::{Windows, processor_config, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, input, output, group] = args.as_slice() else {
        anyhow::bail!(
            "usage: window_processor <bootstrap servers> <input> <output> <group>"
        );
    };
    let consumer: StreamConsumer = processor_config(bootstrap, group)
        // The smallest session the broker allows: the group notices the death sooner.
        .set("session.timeout.ms", "6000")
        .create()
        .context("creating the consumer")?;
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .context("creating the producer")?;
    let mut windows = Windows::new(10_000, 5_000);
    let idle = Duration::from_secs(3600);
    run(
        &consumer,
        &producer,
        input,
        output,
        &mut windows,
        idle,
        |offset| {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "processed {offset}");
            let _ = out.flush();
        },
    )
    .await
}

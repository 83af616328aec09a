//! The worker program of chapter 9 (do not modify): runs your
//! [`rabbit_ordering::process_shard`] as its own process, so a check can kill it
//! for real in the middle of a stream.
//!
//! ```text
//! ordering_worker <amqp-url> <queue> <stall-at>
//! ```
//!
//! It prints `processed <key>#<seq>` for each event its handler finishes; at the
//! event `stall-at` (e.g. `account-1#4`) it prints `stuck on <key>#<seq>` and
//! hangs, holding that event unacknowledged, until it is killed.

use std::io::Write;

use anyhow::{Context, Result, bail};
use lapin::{Connection, ConnectionProperties};
use rabbit_ordering::{Event, handler, process_shard};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, queue, stall_at] = &args[..] else {
        bail!("usage: ordering_worker <amqp-url> <queue> <stall-at>");
    };
    let stall_at = stall_at.clone();
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let channel = connection.create_channel().await?;
    let print_and_stall = handler(move |event: Event| {
        let stall = event.body() == stall_at;
        async move {
            if stall {
                say(&format!("stuck on {}", event.body()));
                std::future::pending::<()>().await;
            }
            say(&format!("processed {}", event.body()));
            Ok(())
        }
    });
    process_shard(&channel, queue, print_and_stall).await
}

/// One line on stdout, flushed at once: the check reads it while we run.
fn say(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

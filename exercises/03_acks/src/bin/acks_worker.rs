//! The worker program of chapter 3 (do not modify): runs your [`acks::work`] as its
//! own process, so the checks can kill it for real, in the middle of a job.
//!
//! ```text
//! acks_worker <amqp-url> <queue> <ledger-file> [stall-before N | stall-after N]
//! ```
//!
//! With a stall, the worker gets stuck in the N-th new job, before or after
//! recording it, and says so on one line; the check then kills it with SIGKILL.

use acks::{Ledger, Stall};
use anyhow::{Context, Result, bail};
use lapin::{Connection, ConnectionProperties};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, queue, ledger) = match &args[..] {
        [url, queue, ledger, ..] => (url, queue, ledger),
        _ => bail!(
            "usage: acks_worker <amqp-url> <queue> <ledger-file> [stall-before N | stall-after N]"
        ),
    };
    let mut ledger = Ledger::open(ledger)?;
    if let [_, _, _, when, n] = &args[..] {
        let n: usize = n.parse().context("the stall's job number")?;
        ledger = ledger.with_stall(match when.as_str() {
            "stall-before" => Stall::BeforeRecording(n),
            "stall-after" => Stall::AfterRecording(n),
            other => bail!("unknown stall {other:?}"),
        });
    }
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let channel = connection.create_channel().await?;
    acks::work(&channel, queue, &mut ledger).await
}

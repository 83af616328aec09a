//! The server program of chapter 7 (do not modify): runs your [`rpc::serve`] as its
//! own process, so the checks can kill it for real, in the middle of a request.
//!
//! ```text
//! rpc_server <amqp-url> <queue> [stall-on <request>]
//! ```
//!
//! With `stall-on`, the server gets stuck on that request (before replying), says
//! so on one line, and waits to be killed with SIGKILL.

use anyhow::{Context, Result, bail};
use lapin::{Connection, ConnectionProperties};
use rpc::Service;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, queue, service) = match &args[..] {
        [url, queue] => (url, queue, Service::new()),
        [url, queue, stall, request] if stall == "stall-on" => {
            (url, queue, Service::stalling_on(request))
        }
        _ => bail!("usage: rpc_server <amqp-url> <queue> [stall-on <request>]"),
    };
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let channel = connection.create_channel().await?;
    rpc::serve(&channel, queue, &service).await
}

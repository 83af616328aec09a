//! An RPC server run as its own process, so a proof can kill it (SIGKILL) between
//! its reply and its ack, as a crash would.
//!
//! ```text
//! replying_server <amqp-url> <queue>
//! ```
//!
//! It takes one request (manual acks), publishes the reply (the body upper-cased,
//! to the request's `reply_to`, with its `correlation_id`) and waits for the
//! broker's confirm of it; then it prints `replied to <body>, not acked` and gets
//! stuck, never acking, until it is killed.

use std::io::Write;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, queue] = &args[..] else {
        bail!("usage: replying_server <amqp-url> <queue>");
    };
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    channel.basic_qos(1, BasicQosOptions::default()).await?;
    let mut requests = channel
        .basic_consume(
            queue.as_str().into(),
            "replying-server".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let Some(request) = requests.next().await else {
        bail!("the consumer ended before a request came");
    };
    let request = request?;
    let body = String::from_utf8_lossy(&request.data).into_owned();
    let reply_to = request
        .properties
        .reply_to()
        .clone()
        .context("the request has a reply_to")?;
    let mut properties = BasicProperties::default();
    if let Some(id) = request.properties.correlation_id() {
        properties = properties.with_correlation_id(id.clone());
    }
    let confirm = channel
        .basic_publish(
            "".into(),
            reply_to,
            BasicPublishOptions::default(),
            body.to_uppercase().as_bytes(),
            properties,
        )
        .await?;
    confirm.await?;
    println!("replied to {body}, not acked");
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    Ok(())
}

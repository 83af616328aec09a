//! Checks for chapter 7 (do not modify): they call your server with requests of
//! their own, call through your client, and kill your server program
//! (`src/bin/rpc_server.rs`) with SIGKILL in the middle of a request.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lab::rabbitmq::steps::{Scene, until_consumers};
use lapin::options::{BasicConsumeOptions, BasicPublishOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use rpc::{CallError, RpcClient, SLOW, Service, serve};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(90);

/// Where chapter 7 explains `reply_to` and `correlation_id`.
const REPLY: &str = "see ch07 'Request and reply'";
/// Where chapter 7 explains timeouts.
const TIMEOUTS: &str = "see ch07 'Timeouts'";
/// Where chapter 7 explains late replies.
const LATE: &str = "see ch07 'Late and duplicate replies'";
/// Where chapter 7 explains a server that dies.
const DIES: &str = "see ch07 'A server that dies mid-request'";

/// The server program of the package under test: the exercise builds
/// `rpc_server`, the solution `solution_rpc_server` (distinct names, so neither
/// can run the other's).
const SERVER: &str = match option_env!("CARGO_BIN_EXE_rpc_server") {
    Some(path) => path,
    None => match option_env!("CARGO_BIN_EXE_solution_rpc_server") {
        Some(path) => path,
        None => panic!("the package under test builds the server program"),
    },
};

/// Runs your `serve` on a channel of its own, in this test, until the test ends.
async fn start_server(scene: &Scene) -> anyhow::Result<Channel> {
    let channel = scene.connection.create_channel().await?;
    let (serving, queue) = (channel.clone(), scene.queue.clone());
    tokio::spawn(async move { serve(&serving, &queue, &Service::new()).await });
    Ok(channel)
}

/// Waits until `count` servers consume from the scene's queue.
async fn until_serving(scene: &Scene, count: u32) -> anyhow::Result<()> {
    let what = "your server to consume from the request queue (`serve` declares it, \
                sets the prefetch, then calls `basic_consume`)";
    let timeout = Duration::from_secs(10);
    until_consumers(&scene.setup, &scene.queue, what, timeout, |n| n >= count).await
}

/// The server answers requests the check makes by hand, each to the `reply_to` it
/// names (here, the check's own direct reply-to consumer) and with the request's
/// `correlation_id`.
#[tokio::test]
async fn the_server_replies_to_reply_to_with_the_correlation_id() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "calling your server by hand", async {
        let scene = Scene::new("requests").await?;
        let _server = start_server(&scene).await?;
        until_serving(&scene, 1).await?;

        let caller = scene.connection.create_channel().await?;
        let mut replies = caller
            .basic_consume(
                "amq.rabbitmq.reply-to".into(),
                "check".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        let words = ["apple", "pear", "plum"];
        for (i, word) in words.iter().enumerate() {
            let properties = BasicProperties::default()
                .with_reply_to("amq.rabbitmq.reply-to".into())
                .with_correlation_id(format!("check-{i}").into());
            caller
                .basic_publish(
                    "".into(),
                    scene.queue.as_str().into(),
                    BasicPublishOptions::default(),
                    word.as_bytes(),
                    properties,
                )
                .await?;
        }
        let mut answers = BTreeMap::new();
        for _ in words {
            let Ok(Some(reply)) = tokio::time::timeout(Duration::from_secs(5), replies.next()).await
            else {
                anyhow::bail!(
                    "{} of {} replies reached the caller's `reply_to` within 5 s: the server must \
                     publish each reply to the queue the request names in `reply_to`, through \
                     the default exchange ({REPLY})",
                    answers.len(),
                    words.len()
                );
            };
            let reply = reply?;
            let id = reply.properties.correlation_id().as_ref().map(|id| id.to_string());
            answers.insert(
                id.unwrap_or_else(|| "<no correlation_id>".into()),
                String::from_utf8_lossy(&reply.data).into_owned(),
            );
        }
        let wrong: Vec<String> = words
            .iter()
            .enumerate()
            .filter(|(i, word)| answers.get(&format!("check-{i}")) != Some(&word.to_uppercase()))
            .map(|(i, word)| format!("{word} (check-{i})"))
            .collect();
        anyhow::ensure!(
            wrong.is_empty(),
            "{} of {} replies did not carry their request's `correlation_id`: no reply with \
             the id of {wrong:?}, but replies for {:?}; copy each request's `correlation_id` \
             into its reply ({REPLY})",
            wrong.len(),
            words.len(),
            answers.keys().collect::<Vec<_>>()
        );
        Ok(())
    })
    .await
}

/// Twelve calls at once, through your client, to two servers: slow and fast
/// requests mixed, so replies come back out of order. Each call gets its own
/// answer.
#[tokio::test]
async fn parallel_calls_each_get_their_own_answer() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "making 12 calls at once", async {
        let scene = Scene::new("requests").await?;
        let _servers = [start_server(&scene).await?, start_server(&scene).await?];
        until_serving(&scene, 2).await?;
        let client = RpcClient::connect(&scene.connection).await?;
        let requests: Vec<String> = (1..=12)
            .map(|i| match i % 3 {
                0 => format!("slow:word{i}"),
                _ => format!("word{i}"),
            })
            .collect();
        let calls = requests
            .iter()
            .map(|request| client.call(&scene.queue, request, Duration::from_secs(20)));
        let answers = futures::future::join_all(calls).await;
        let mut wrong = Vec::new();
        for (request, answer) in requests.iter().zip(answers) {
            let word = request.trim_start_matches("slow:");
            match answer {
                Ok(answer) if answer == word.to_uppercase() => {}
                Ok(answer) => wrong.push(format!("{request} => {answer}")),
                Err(error) => wrong.push(format!("{request} => error: {error}")),
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of 12 calls got another call's answer or none: {wrong:?}; hand each reply to the \
             call whose `correlation_id` it carries ({REPLY})",
            wrong.len()
        );
        Ok(())
    })
    .await
}

/// A call to a queue no server reads returns `CallError::TimedOut` once its timeout
/// is over, instead of waiting forever.
#[tokio::test]
async fn a_call_with_no_server_times_out() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "calling a queue no server reads", async {
        let scene = Scene::new("requests").await?;
        let client = RpcClient::connect(&scene.connection).await?;
        let timeout = Duration::from_millis(500);
        let call = client.call(&scene.queue, "anyone?", timeout);
        let Ok(returned) = tokio::time::timeout(Duration::from_secs(5), call).await else {
            anyhow::bail!(
                "a call with a 500 ms timeout to a queue no server reads was still waiting after \
                 5 s: bound the wait for the reply with the timeout ({TIMEOUTS})"
            );
        };
        assert!(
            matches!(returned, Err(CallError::TimedOut(_))),
            "a call no server answers should return CallError::TimedOut, not {returned:?} ({TIMEOUTS})"
        );
        Ok(())
    })
    .await
}

/// A call times out, and its reply comes later, while the next call waits: the late
/// reply is dropped, and the next call gets its own answer.
#[tokio::test]
async fn a_late_reply_is_not_handed_to_the_next_call() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a call that timed out, then another", async {
        let scene = Scene::new("requests").await?;
        let _server = start_server(&scene).await?;
        until_serving(&scene, 1).await?;
        let client = RpcClient::connect(&scene.connection).await?;
        let first = client.call(&scene.queue, "slow:late", SLOW / 2).await;
        assert!(
            matches!(first, Err(CallError::TimedOut(_))),
            "a call with a timeout shorter than the server takes should time out, not return \
             {first:?} ({TIMEOUTS})"
        );
        let second = client
            .call(&scene.queue, "slow:next", Duration::from_secs(10))
            .await;
        match second {
            Ok(answer) if answer == "NEXT" => Ok(()),
            Ok(answer) => anyhow::bail!(
                "the second call was handed {answer:?}, the late reply of the call that timed \
                 out: match each reply to its call by `correlation_id`, and drop replies no call \
                 waits for ({LATE})"
            ),
            Err(error) => anyhow::bail!(
                "the call after a timed-out one got no answer ({error}): a late reply must not \
                 end the next call ({LATE})"
            ),
        }
    })
    .await
}

/// The server program is killed with SIGKILL in the middle of a request, and a
/// second server starts: the call still gets its answer, because the request was
/// not acked and RabbitMQ gave it to the second server.
#[tokio::test]
async fn a_call_survives_its_server_being_killed_mid_request() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "killing the server in the middle of a request", async {
        let scene = Scene::new("requests").await?;
        let url = scene.rabbit.amqp_url().to_string();
        let args = |stall: &[&str]| {
            let mut args = vec![url.clone(), scene.queue.clone()];
            args.extend(stall.iter().map(|s| s.to_string()));
            args
        };
        let mut first = lab::ClientProcess::spawn(SERVER, args(&["stall-on", "crash"]))?;
        until_serving(&scene, 1).await?;

        let client = Arc::new(RpcClient::connect(&scene.connection).await?);
        let call = {
            let (client, queue) = (client.clone(), scene.queue.clone());
            tokio::spawn(async move { client.call(&queue, "crash", Duration::from_secs(8)).await })
        };
        first
            .line_containing("stalled on crash", Duration::from_secs(10))
            .await?;
        first.kill().await?;
        let second = lab::ClientProcess::spawn(SERVER, args(&[]))?;

        let answer = call.await?;
        second.kill().await?;
        match answer {
            Ok(answer) => {
                assert_eq!(answer, "CRASH", "the call got another answer ({REPLY})");
                Ok(())
            }
            Err(CallError::TimedOut(_)) => anyhow::bail!(
                "the call was lost when its server was killed mid-request: the second server \
                 never answered it, so the first had acked it before replying. Ack a request \
                 only after its reply is sent ({DIES})"
            ),
            Err(error) => anyhow::bail!("the call failed: {error} ({DIES})"),
        }
    })
    .await
}

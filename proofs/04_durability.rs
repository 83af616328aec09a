//! Proofs of chapter 4's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's RabbitMQ and
//! asserts it equals the key in `book/quizzes/04_durability.toml`.
//!
//! The restart questions share one experiment: it sets up every queue the
//! questions describe, restarts the broker once, and records what each queue held
//! afterwards. Each proof then compares its own observation with its own key.

use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use lab::rabbitmq::steps::{
    Acks, WAIT, arguments, consume, durable_queue, numbered, publish_all, quorum_queue,
    ready_if_exists, text, transient_queue,
};
use lapin::options::QueueDeclareOptions;
use proofs::proof;
use tokio::sync::OnceCell;

const CHAPTER: &str = "04_durability";

/// What the queues held after one restart of the broker.
#[derive(Debug, Clone)]
struct AfterRestart {
    /// Durable classic queue, 10 transient messages before the restart.
    transient_in_durable: Option<u32>,
    /// Durable classic queue, 10 persistent messages before.
    persistent_in_durable: Option<u32>,
    /// Quorum queue, 10 transient messages before.
    transient_in_quorum: Option<u32>,
    /// Non-durable classic queue, 10 persistent messages before.
    persistent_in_non_durable: Option<u32>,
    /// Durable classic queue whose one persistent message was delivered, unacked.
    delivered_unacked: Option<u32>,
}

/// The experiment, run once per test binary whichever proof asks first.
async fn after_restart() -> Result<AfterRestart> {
    static RESULT: OnceCell<AfterRestart> = OnceCell::const_new();
    RESULT.get_or_try_init(restart_experiment).await.cloned()
}

async fn restart_experiment() -> Result<AfterRestart> {
    let rabbit = lab::rabbit_with_faults().await?;
    let names = [
        "transient_in_durable",
        "persistent_in_durable",
        "transient_in_quorum",
        "persistent_in_non_durable",
        "delivered_unacked",
    ]
    .map(lab::unique_name);
    let ten = numbered("message", 10);
    let before = rabbit.connect().await?;
    let channel = before.create_channel().await?;
    durable_queue(&channel, &names[0]).await?;
    publish_all(&channel, &names[0], &ten, false).await?;
    durable_queue(&channel, &names[1]).await?;
    publish_all(&channel, &names[1], &ten, true).await?;
    quorum_queue(&channel, &names[2]).await?;
    publish_all(&channel, &names[2], &ten, false).await?;
    transient_queue(&channel, &names[3]).await?;
    publish_all(&channel, &names[3], &ten, true).await?;
    durable_queue(&channel, &names[4]).await?;
    publish_all(&channel, &names[4], &["job".to_string()], true).await?;
    let holder = before.create_channel().await?;
    let mut consumer = consume(&holder, &names[4], Acks::Manual).await?;
    lab::within(WAIT, "the delivery to hold", consumer.next())
        .await?
        .context("the consumer was cancelled")??;

    // What the queues hold before: the experiment starts from the state the
    // questions describe (the held delivery is unacked, so not ready).
    let mut held = Vec::new();
    for name in &names {
        let count = ready_if_exists(&before, name).await?;
        println!("before the restart: {name}: {count:?} ready");
        held.push(count);
    }
    assert_eq!(
        held,
        [Some(10), Some(10), Some(10), Some(10), Some(0)],
        "the queues before the restart"
    );
    rabbit.restart(1).await?;

    let after = rabbit.connect().await?;
    let mut counts = Vec::new();
    for name in &names {
        let count = ready_if_exists(&after, name).await?;
        println!("after the restart: {name}: {count:?} ready");
        counts.push(count);
    }
    Ok(AfterRestart {
        transient_in_durable: counts[0],
        persistent_in_durable: counts[1],
        transient_in_quorum: counts[2],
        persistent_in_non_durable: counts[3],
        delivered_unacked: counts[4],
    })
}

proof!(transient_messages_lost_on_restart, async {
    let left = after_restart()
        .await?
        .transient_in_durable
        .context("the durable queue is gone")?;
    Ok(left as usize)
});

proof!(persistent_messages_survive_restart, async {
    let left = after_restart()
        .await?
        .persistent_in_durable
        .context("the durable queue is gone")?;
    Ok(left as usize)
});

proof!(quorum_queue_keeps_transient_messages, async {
    let left = after_restart()
        .await?
        .transient_in_quorum
        .context("the quorum queue is gone")?;
    Ok(left as usize)
});

proof!(non_durable_queue_survives_restart, async {
    let exists = after_restart().await?.persistent_in_non_durable.is_some();
    Ok(exists)
});

proof!(unacked_message_survives_restart, async {
    let back = after_restart().await?.delivered_unacked == Some(1);
    Ok(back)
});

proof!(quorum_queue_cannot_be_non_durable, async {
    let rabbit = lab::rabbit().await?;
    let channel = rabbit.connect().await?.create_channel().await?;
    let quorum = arguments([("x-queue-type", text("quorum"))]);
    let options = QueueDeclareOptions {
        durable: false,
        ..Default::default()
    };
    let declared = lab::within(
        Duration::from_secs(10),
        "the declaration's answer",
        channel.queue_declare(
            lab::unique_name("quorum").as_str().into(),
            options,
            quorum,
        ),
    )
    .await?;
    if let Err(error) = &declared {
        // The refusal the question is about, not any failure to declare.
        let error = error.to_string();
        println!("refused: {error}");
        assert!(
            error.contains("PRECONDITION_FAILED") && error.contains("durable"),
            "the broker refused for another reason: {error}"
        );
    }
    Ok(declared.is_ok())
});

proof!(non_durable_classic_queue_allowed_in_4_0, async {
    let rabbit = lab::rabbit().await?;
    let version = rabbit.server_version().await?;
    assert!(
        version.starts_with("4.0."),
        "this proof is about 4.0, not {version}"
    );
    let channel = rabbit.connect().await?.create_channel().await?;
    let queue = lab::unique_name("transient_queue");
    let declared = transient_queue(&channel, &queue).await;
    if let Err(error) = &declared {
        println!("refused: {error:#}");
    } else {
        // Leave nothing behind: it would only disappear at the next restart.
        channel
            .queue_delete(queue.as_str().into(), Default::default())
            .await?;
    }
    Ok(declared.is_ok())
});

/// What the queues held after the broker process was killed (SIGKILL) and started.
#[derive(Debug, Clone)]
struct AfterKill {
    /// Durable classic queue, 10 persistent messages confirmed before the kill.
    persistent_in_durable: Option<u32>,
    /// Durable classic queue, 10 transient messages confirmed before the kill.
    transient_in_durable: Option<u32>,
}

/// The crash experiment, run once per test binary whichever proof asks first: the
/// same queues as the restart experiment's first two, then SIGKILL instead of a
/// clean stop. (A process crash: the operating system and its file cache live on.)
async fn after_kill() -> Result<AfterKill> {
    static RESULT: OnceCell<AfterKill> = OnceCell::const_new();
    RESULT.get_or_try_init(kill_experiment).await.cloned()
}

async fn kill_experiment() -> Result<AfterKill> {
    let rabbit = lab::rabbit_with_faults().await?;
    let names = ["persistent_in_durable", "transient_in_durable"].map(lab::unique_name);
    let ten = numbered("message", 10);
    let before = rabbit.connect().await?;
    let channel = before.create_channel().await?;
    durable_queue(&channel, &names[0]).await?;
    publish_all(&channel, &names[0], &ten, true).await?;
    durable_queue(&channel, &names[1]).await?;
    publish_all(&channel, &names[1], &ten, false).await?;
    for name in &names {
        assert_eq!(
            ready_if_exists(&before, name).await?,
            Some(10),
            "{name} before the kill"
        );
    }
    // The queues themselves must outlive the crash before it can say anything
    // about their messages.
    lab::rabbitmq::steps::until_declarations_survive_a_kill().await;
    rabbit.kill(1).await?;
    rabbit.start(1).await?;
    let after = rabbit.connect().await?;
    let mut counts = Vec::new();
    for name in &names {
        let count = ready_if_exists(&after, name).await?;
        println!("after the kill: {name}: {count:?} ready");
        counts.push(count);
    }
    Ok(AfterKill {
        persistent_in_durable: counts[0],
        transient_in_durable: counts[1],
    })
}

proof!(confirmed_persistent_messages_survive_a_broker_kill, async {
    let left = after_kill()
        .await?
        .persistent_in_durable
        .context("the durable queue is gone after the kill")?;
    Ok(left as usize)
});

proof!(transient_messages_lost_on_a_broker_kill, async {
    let left = after_kill()
        .await?
        .transient_in_durable
        .context("the durable queue is gone after the kill")?;
    Ok(left as usize)
});

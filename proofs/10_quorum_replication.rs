//! Proofs of chapter 10's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's 3-node
//! RabbitMQ 4.0.5 cluster with lapin 4, killing nodes with SIGKILL through the lab,
//! and asserts it equals the key in `book/quizzes/10_quorum_replication.toml`.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use futures::StreamExt;
use lab::rabbitmq::steps::{
    Acks, FAILOVER, Replicas, confirm_mode, consume, durable_queue, numbered,
    publish_all, quorum_queue, ready, replicas, start_and_rejoin, until_replicas,
};
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Confirmation};
use proofs::proof;

const CHAPTER: &str = "10_quorum_replication";

/// The answers of `classic_queue_when_its_node_is_killed` the proof can tell apart.
const UNAVAILABLE: &str =
    "The declare fails with NOT_FOUND (\"due to timeout\") and the publish is nacked";
const TAKEN_OVER: &str = "Node 2 serves the queue, with its 3 messages";

/// A quorum queue declared on node 1, once it has a leader.
async fn quorum(cluster: &lab::Rabbit) -> Result<(String, Replicas)> {
    let queue = lab::unique_name("orders");
    let channel = cluster.connect_to(1).await?.create_channel().await?;
    quorum_queue(&channel, &queue).await?;
    let leads = |r: &Replicas| r.leader.is_some() && r.online.len() == 3;
    let replicas = until_replicas(
        cluster,
        &queue,
        FAILOVER,
        "a leader and 3 online members",
        leads,
    )
    .await?;
    Ok((queue, replicas))
}

/// Runs `experiment`, then starts `nodes` again and waits until every member of
/// `queue` is back, whatever the experiment returned.
async fn then_restore<T>(
    cluster: &lab::Rabbit,
    queue: &str,
    nodes: &[usize],
    experiment: impl Future<Output = Result<T>>,
) -> Result<T> {
    let observed = experiment.await;
    start_and_rejoin(cluster, queue, nodes).await?;
    observed
}

proof!(members_of_a_new_quorum_queue, async {
    let cluster = lab::rabbit_cluster().await?;
    let (_, replicas) = quorum(&cluster).await?;
    ensure!(
        replicas.online.len() == replicas.members.len(),
        "every member online: {replicas:?}"
    );
    Ok(replicas.members.len())
});

proof!(confirmed_messages_after_the_leader_is_killed, async {
    let cluster = lab::rabbit_cluster_with_faults().await?;
    let (queue, before) = quorum(&cluster).await?;
    let leader = before.leader.context("a leader")?;
    let publisher = cluster.connect_to(leader).await?.create_channel().await?;
    publish_all(&publisher, &queue, &numbered("order", 20), true).await?;
    cluster.kill(leader).await?;
    then_restore(&cluster, &queue, &[leader], async {
        let what = "a new leader among the two other members";
        let after = until_replicas(&cluster, &queue, FAILOVER, what, |r| {
            r.leader.is_some_and(|l| l != leader)
        })
        .await?;
        let survivor = after.leader.context("a leader")?;
        let channel = cluster.connect_to(survivor).await?.create_channel().await?;
        Ok(ready(&channel, &queue).await? as usize)
    })
    .await
});

proof!(consumer_on_a_follower_after_the_leader_is_killed, async {
    let cluster = lab::rabbit_cluster_with_faults().await?;
    let (queue, before) = quorum(&cluster).await?;
    let leader = before.leader.context("a leader")?;
    let follower = before.followers()[0];
    let connection = cluster.connect_to(follower).await?;
    let channel = connection.create_channel().await?;
    let mut consumer = consume(&channel, &queue, Acks::Auto).await?;
    cluster.kill(leader).await?;
    then_restore(&cluster, &queue, &[leader], async {
        until_replicas(&cluster, &queue, FAILOVER, "a new leader", |r| {
            r.leader.is_some_and(|l| l != leader)
        })
        .await?;
        let publisher = connection.create_channel().await?;
        publish_all(&publisher, &queue, &numbered("order", 5), true).await?;
        let mut got = 0;
        while got < 5 {
            match tokio::time::timeout(Duration::from_secs(10), consumer.next()).await {
                Ok(Some(Ok(_))) => got += 1,
                _ => break,
            }
        }
        println!("the consumer on node {follower} received {got} of 5 after the kill of {leader}");
        Ok(got == 5)
    })
    .await
});

proof!(publish_with_two_of_three_nodes_down, async {
    let cluster = lab::rabbit_cluster_with_faults().await?;
    let (queue, before) = quorum(&cluster).await?;
    let leader = before.leader.context("a leader")?;
    let followers = before.followers();
    let channel = cluster.connect_to(leader).await?.create_channel().await?;
    confirm_mode(&channel).await?;
    for follower in &followers {
        cluster.kill(*follower).await?;
    }
    let started = std::time::Instant::now();
    let confirm = channel
        .basic_publish(
            "".into(),
            queue.as_str().into(),
            BasicPublishOptions::default(),
            b"lonely",
            BasicProperties::default().with_delivery_mode(2),
        )
        .await?;
    let mut confirm = Box::pin(confirm);
    let within = tokio::time::timeout(Duration::from_secs(5), &mut confirm).await;
    println!("after {:?} with 2 of 3 down: {within:?}", started.elapsed());
    let observed = match within {
        Err(_) => "no answer",
        Ok(Ok(Confirmation::Ack(_))) => "ack",
        Ok(Ok(Confirmation::Nack(_))) => "nack",
        Ok(_) => "channel closed",
    };
    then_restore(&cluster, &queue, &followers, async { Ok(()) }).await?;
    let later = tokio::time::timeout(Duration::from_secs(15), &mut confirm).await;
    println!(
        "after {:?}, the followers back: {later:?}",
        started.elapsed()
    );
    Ok(vec![observed])
});

proof!(classic_queue_when_its_node_is_killed, async {
    let cluster = lab::rabbit_cluster_with_faults().await?;
    let queue = lab::unique_name("classic");
    let home = cluster.connect_to(1).await?.create_channel().await?;
    durable_queue(&home, &queue).await?;
    publish_all(&home, &queue, &numbered("order", 3), true).await?;
    lab::rabbitmq::steps::until_declarations_survive_a_kill().await;
    let home_node = replicas(&cluster, &queue).await?.leader;
    ensure!(
        home_node == Some(1),
        "a classic queue lives on the node that declared it: {home_node:?}"
    );
    cluster.kill(1).await?;
    then_restore(&cluster, &queue, &[1], async {
        let other = cluster.connect_to(2).await?;
        let channel = other.create_channel().await?;
        let counted = ready(&channel, &queue).await;
        println!("counting from node 2 with node 1 down: {counted:?}");
        let publisher = other.create_channel().await?;
        confirm_mode(&publisher).await?;
        let confirm = publisher
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                b"x",
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?;
        let answer = tokio::time::timeout(Duration::from_secs(5), confirm).await;
        println!("publishing from node 2: {answer:?}");
        let refused = format!(
            "{:#}",
            counted
                .as_ref()
                .err()
                .map_or_else(String::new, |e| format!("{e:#}"))
        )
        .contains("NOT_FOUND");
        let nacked = matches!(answer, Ok(Ok(Confirmation::Nack(_))));
        Ok(if refused && nacked {
            vec![UNAVAILABLE]
        } else if counted.is_ok() {
            vec![TAKEN_OVER]
        } else {
            vec!["something else"]
        })
    })
    .await
});

proof!(one_follower_down_still_confirms, async {
    let cluster = lab::rabbit_cluster_with_faults().await?;
    let (queue, before) = quorum(&cluster).await?;
    let leader = before.leader.context("a leader")?;
    let follower = before.followers()[0];
    cluster.kill(follower).await?;
    then_restore(&cluster, &queue, &[follower], async {
        let channel = cluster.connect_to(leader).await?.create_channel().await?;
        let answer =
            lab::rabbitmq::steps::publish_persistent(&channel, &queue, false, "order-1")
                .await?;
        Ok(answer.is_ack())
    })
    .await
});

//! Checks for chapter 10 (do not modify): they run your publisher and consumer
//! against the lab's 3-node RabbitMQ cluster, kill nodes with SIGKILL at points
//! your publisher reported, and compare what it said was confirmed with what your
//! consumer received.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::time::Duration;

use lab::rabbitmq::steps::{FAILOVER, Replicas, start_and_rejoin, until_replicas};
use quorum_replication::{Publisher, declare_queue, receive};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// Where chapter 10 explains quorum queues against classic ones.
const QUORUM: &str = "see ch10 'A queue on three nodes'";
/// Where chapter 10 explains what a client does when the leader dies.
const FAILOVER_SECTION: &str = "see ch10 'When the leader dies'";
/// Where chapter 10 explains a cluster without a majority.
const MAJORITY: &str = "see ch10 'Two of three down'";

/// The cluster's AMQP URLs, `first` (1-based) first, then the others in order.
fn nodes_from(cluster: &lab::Rabbit, first: usize) -> Vec<String> {
    let all: Vec<String> = cluster
        .endpoints()
        .iter()
        .map(|e| e.as_str().to_string())
        .collect();
    let mut ordered = vec![all[first - 1].clone()];
    ordered.extend(
        all.iter()
            .enumerate()
            .filter(|(i, _)| *i != first - 1)
            .map(|(_, u)| u.clone()),
    );
    ordered
}

/// Declares the queue with your `declare_queue` on node 1, and returns where it lives.
async fn declared(
    cluster: &lab::Rabbit,
    prefix: &str,
) -> anyhow::Result<(String, Replicas)> {
    let queue = lab::unique_name(prefix);
    let connection = cluster.connect_to(1).await?;
    declare_queue(&connection.create_channel().await?, &queue).await?;
    let what = "the queue to have a leader";
    let replicas =
        until_replicas(cluster, &queue, FAILOVER, what, |r| r.leader.is_some()).await?;
    Ok((queue, replicas))
}

/// With every node up, what your publisher sends your consumer receives.
#[tokio::test]
async fn what_is_sent_is_received() -> anyhow::Result<()> {
    lab::check(
        CHECK_TIMEOUT,
        "sending 10 messages and receiving them",
        async {
            let cluster = lab::rabbit_cluster().await?;
            let (queue, _) = declared(&cluster, "orders").await?;
            let nodes = nodes_from(&cluster, 1);
            let mut publisher = Publisher::new(&nodes, &queue);
            let ids: Vec<String> = (1..=10).map(|i| format!("order-{i}")).collect();
            for id in &ids {
                lab::within(
                    Duration::from_secs(20),
                    format!("your publisher to send {id}"),
                    publisher.send(id, id),
                )
                .await??;
            }
            let received = lab::within(
                Duration::from_secs(20),
                "your consumer to receive 10 messages",
                receive(&nodes, &queue, 10),
            )
            .await??;
            assert_eq!(
                received, ids,
                "what your consumer received, in order, with every node up"
            );
            Ok(())
        },
    )
    .await
}

/// The fault the chapter is about: your publisher and your consumer both start on
/// the node that leads the queue; after your publisher reported 10 messages sent,
/// the lab kills that node. A new leader is elected; your publisher must send the
/// other 10 through another node, and your consumer must receive all 20.
#[tokio::test]
async fn confirmed_messages_survive_the_leaders_death() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "killing the queue's leader while your publisher sends", async {
        let cluster = lab::rabbit_cluster_with_faults().await?;
        let (queue, before) = declared(&cluster, "orders").await?;
        let leader = before.leader.unwrap_or(1);
        let nodes = nodes_from(&cluster, leader);
        let ids: Vec<String> = (1..=20).map(|i| format!("order-{i}")).collect();
        let receiving = tokio::spawn({
            let (nodes, queue) = (nodes.clone(), queue.clone());
            async move { receive(&nodes, &queue, 20).await }
        });
        let mut publisher = Publisher::new(&nodes, &queue);
        for id in &ids[..10] {
            lab::within(Duration::from_secs(20), format!("your publisher to send {id}"), publisher.send(id, id)).await??;
        }
        cluster.kill(leader).await?;
        let after_kill = async {
            for id in &ids[10..] {
                // What the learner's error says depends on when lapin notices the
                // dead socket, so the message names the behaviour, not the error.
                publisher.send(id, id).await.map_err(|_| {
                    anyhow::anyhow!(
                        "your publisher returned an error for {id} after node {leader}, the queue's \
                         leader, was killed, instead of sending it through another node: a quorum \
                         queue elects a new leader among the other two nodes, and a publisher must \
                         connect to one of them ({QUORUM}; {FAILOVER_SECTION})"
                    )
                })?;
            }
            anyhow::Ok(())
        };
        let sent = lab::within(Duration::from_secs(45), "your publisher to send 10 more messages through another node", after_kill).await;
        let received = lab::within(Duration::from_secs(30), "your consumer to receive 20 messages", receiving).await;
        // Bring the node back before judging, so the next check finds three nodes.
        let whole = start_and_rejoin(&cluster, &queue, &[leader]).await;
        sent??;
        let received = received.map_err(|_| {
            anyhow::anyhow!(
                "your consumer did not receive all 20 messages within 30 s of the leader's death: \
                 a confirmed message in a quorum queue survives it, so a consumer must reconnect \
                 to a node that is up and go on ({FAILOVER_SECTION})"
            )
        })???;
        let lost: Vec<&String> = ids.iter().filter(|id| !received.contains(id)).collect();
        assert!(lost.is_empty(), "confirmed messages {lost:?} never reached your consumer after the leader died ({QUORUM})");
        whole?;
        Ok(())
    })
    .await
}

/// Your publisher starts on the leader; after it sent one message, the lab kills
/// the two other nodes. The leader alone is not a majority: the next message must
/// not be reported sent, since nothing guarantees it would survive.
#[tokio::test]
async fn without_a_majority_nothing_is_reported_sent() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "sending with two of three nodes down", async {
        let cluster = lab::rabbit_cluster_with_faults().await?;
        let (queue, before) = declared(&cluster, "orders").await?;
        let leader = before.leader.unwrap_or(1);
        let followers: Vec<usize> = (1..=3).filter(|n| *n != leader).collect();
        let mut publisher = Publisher::new(&nodes_from(&cluster, leader), &queue);
        lab::within(Duration::from_secs(20), "your publisher to send order-1", publisher.send("order-1", "order-1")).await??;
        for follower in &followers {
            cluster.kill(*follower).await?;
        }
        let lonely = tokio::time::timeout(Duration::from_secs(8), publisher.send("order-2", "order-2")).await;
        drop(publisher);
        start_and_rejoin(&cluster, &queue, &followers).await?;
        assert!(
            !matches!(lonely, Ok(Ok(()))),
            "your publisher reported order-2 sent while only node {leader} of 3 was up: a quorum \
             queue confirms a message once a majority (2 of 3) has it, so no confirm came; a \
             message is sent when the broker acked it, not when the publish was written \
             ({MAJORITY})"
        );
        Ok(())
    })
    .await
}

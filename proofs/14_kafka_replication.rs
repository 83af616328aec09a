//! Proofs of chapter 14's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's 3-node Kafka
//! 4.1.1 cluster (every node a broker and a KRaft controller) with rdkafka 0.39
//! (librdkafka 2.12), killing nodes with SIGKILL through the lab, and asserts it
//! equals the key in `book/quizzes/14_kafka_replication.toml`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use lab::kafka::steps::{
    FAILOVER, Partition, numbered, read_values, replicated_topic, start_and_resync,
    until_partition, watermarks,
};
use proofs::proof;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};

const CHAPTER: &str = "14_kafka_replication";

/// A producer with `acks` and a delivery timeout of `timeout_ms`.
fn producer(cluster: &lab::Kafka, acks: &str, timeout_ms: u64) -> Result<FutureProducer> {
    Ok(cluster
        .client_config()
        .set("acks", acks)
        .set("message.timeout.ms", timeout_ms.to_string())
        .create()?)
}

/// Sends `value` and waits for its delivery report: `Ok` once acknowledged.
async fn send(producer: &FutureProducer, topic: &str, value: &str) -> Result<()> {
    producer
        .send(
            FutureRecord::to(topic).key("k").payload(value),
            Duration::from_secs(0),
        )
        .await
        .map(|_| ())
        .map_err(|(error, _)| anyhow::Error::new(error))
}

/// Runs `experiment`, then starts every node that is down and waits until the ISR is full,
/// whatever the experiment returned, so the next experiment finds the cluster whole.
async fn then_restore<T>(
    cluster: &lab::Kafka,
    topic: &str,
    experiment: impl Future<Output = Result<T>>,
) -> Result<T> {
    let observed = experiment.await;
    start_and_resync(cluster, topic, 0, &[1, 2, 3]).await?;
    observed
}

proof!(new_topic_isr_has_every_replica, async {
    let cluster = lab::kafka_cluster().await?;
    let topic = lab::unique_name("payments");
    cluster.create_topic(&topic, 1, 3).await?;
    let state = until_partition(&cluster, &topic, 0, FAILOVER, "a leader", |p| {
        p.leader.is_some()
    })
    .await?;
    // The mechanism: three distinct replicas, the leader one of them.
    let mut replicas = state.replicas.clone();
    replicas.dedup();
    ensure!(replicas.len() == 3, "three replicas: {state:?}");
    ensure!(state.leader.is_some_and(|l| state.isr.contains(&l)));
    Ok(state.isr.len())
});

proof!(unclean_election_is_off_by_default, async {
    let cluster = lab::kafka_cluster().await?;
    let topic = lab::unique_name("payments");
    cluster.create_topic(&topic, 1, 3).await?;
    let admin: AdminClient<DefaultClientContext> = cluster.client_config().create()?;
    let described = lab::within(
        Duration::from_secs(30),
        "the topic's configuration",
        admin.describe_configs([&ResourceSpecifier::Topic(&topic)], &AdminOptions::new()),
    )
    .await??;
    let config = described
        .into_iter()
        .next()
        .context("one resource described")?
        .map_err(|code| anyhow::anyhow!("describing {topic}: {code}"))?;
    let entry = config
        .get("unclean.leader.election.enable")
        .context("the topic lists unclean.leader.election.enable")?;
    // The mechanism: nobody set it; the value is the broker's default.
    ensure!(entry.is_default, "the value is Kafka's default: {entry:?}");
    Ok(entry.value.as_deref() == Some("true"))
});

proof!(acks_all_loses_nothing_when_the_leader_dies, async {
    let cluster = lab::kafka_cluster_with_faults().await?;
    let (topic, before) = replicated_topic(&cluster, "payments", &[]).await?;
    let leader = before.leader.context("a leader")?;
    let producer = producer(&cluster, "all", 60_000)?;
    let values = numbered("payment", 20);
    for value in &values[..5] {
        send(&producer, &topic, value).await?;
    }
    then_restore(&cluster, &topic, async {
        // The other 15 are in flight when the leader dies.
        let rest = futures::future::join_all(
            values[5..]
                .iter()
                .map(|value| send(&producer, &topic, value)),
        );
        let (results, killed) = tokio::join!(rest, cluster.kill(leader as usize));
        killed?;
        let mut acknowledged = values[..5].to_vec();
        for (value, result) in values[5..].iter().zip(results) {
            if result.is_ok() {
                acknowledged.push(value.clone());
            }
        }
        // The mechanism: a follower in the ISR took over.
        let after = until_partition(&cluster, &topic, 0, FAILOVER, "a new leader", |p| {
            p.leader.is_some_and(|l| l != leader)
        })
        .await?;
        ensure!(before.isr.contains(&after.leader.unwrap_or(-1)));
        let stored = read_values(&cluster, &topic, acknowledged.len()).await?;
        let lost = acknowledged.iter().filter(|v| !stored.contains(v)).count();
        ensure!(
            acknowledged.len() == 20,
            "all 20 acknowledged: {acknowledged:?}"
        );
        Ok(lost)
    })
    .await
});

proof!(two_of_three_down, async {
    let cluster = lab::kafka_cluster_with_faults().await?;
    let (topic, before) = replicated_topic(&cluster, "payments", &[]).await?;
    let followers = before.followers();
    then_restore(&cluster, &topic, async {
        for follower in &followers {
            cluster.kill(*follower as usize).await?;
        }
        let mut held = Vec::new();
        let one = send(&producer(&cluster, "1", 5_000)?, &topic, "acks-1").await;
        if one.is_ok() {
            held.push("The `acks=1` record is acknowledged");
        }
        let started = Instant::now();
        let all = send(&producer(&cluster, "all", 5_000)?, &topic, "acks-all").await;
        let took = started.elapsed();
        eprintln!("acks=all with two of three nodes down: {all:?} after {took:?}");
        match all {
            Ok(()) => held.push("The `acks=all` record is acknowledged"),
            Err(error) => {
                let text = error.to_string();
                if text.contains("Message timed out") && took >= Duration::from_secs(4) {
                    held.push("The `acks=all` record fails after `message.timeout.ms` (5 s) with `Message timed out`");
                }
                if text.contains("NotEnoughReplicas") {
                    held.push("The `acks=all` record fails at once with `NOT_ENOUGH_REPLICAS`");
                }
            }
        }
        // Started again, the followers copy what they missed and rejoin the ISR.
        let back = start_and_resync(&cluster, &topic, 0, &followers).await?;
        if back.fully_in_sync() {
            held.push("Started again, both followers rejoin the ISR with no operator command");
        }
        Ok(held)
    })
    .await
});

proof!(acks_one_loses_what_only_the_leader_had, async {
    let cluster = lab::kafka_cluster_with_faults().await?;
    let unclean = [("unclean.leader.election.enable", "true")];
    let (topic, before) = replicated_topic(&cluster, "payments", &unclean).await?;
    let leader = before.leader.context("a leader")?;
    let followers = before.followers();
    then_restore(&cluster, &topic, async {
        for follower in &followers {
            cluster.kill(*follower as usize).await?;
        }
        let producer = producer(&cluster, "1", 5_000)?;
        for value in numbered("payment", 10) {
            send(&producer, &topic, &value).await?;
        }
        // Acknowledged, yet above the high watermark: no consumer can read them.
        let (_, high) = watermarks(&cluster, &topic, 0).await?;
        ensure!(
            high == 0,
            "only the leader has them, so the high watermark stays 0"
        );
        cluster.kill(leader as usize).await?;
        let starts = followers.iter().map(|f| cluster.start(*f as usize));
        for started in futures::future::join_all(starts).await {
            started?;
        }
        // The mechanism: once the controller has fenced the dead leader (its
        // broker session timed out), a follower without the records leads (in
        // the ISR or, the topic allowing it, uncleanly), and the old leader
        // truncates its log to the new leader's when it comes back.
        let elected = |p: &Partition| p.leader.is_some_and(|l| followers.contains(&l));
        until_partition(&cluster, &topic, 0, FAILOVER, "a follower elected", elected)
            .await?;
        start_and_resync(&cluster, &topic, 0, &[leader]).await?;
        let (_, high) = watermarks(&cluster, &topic, 0).await?;
        Ok(10 - usize::try_from(high)?)
    })
    .await
});

proof!(replication_factor_above_the_node_count, async {
    let cluster = lab::kafka_cluster().await?;
    let topic = lab::unique_name("payments");
    let created = cluster.create_topic(&topic, 1, 4).await;
    // The mechanism: the controller refuses it, naming the replication factor.
    if let Err(error) = &created {
        let text = error.to_string();
        ensure!(
            text.contains("replication factor"),
            "refused for its replication factor: {text}"
        );
    }
    Ok(created.is_ok())
});

//! Checks for chapter 14 (do not modify): they run your producer and consumer
//! against the lab's 3-node Kafka cluster, kill nodes with SIGKILL while your
//! producer is sending, and compare what your producer said was acknowledged with
//! what the topic holds afterwards.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::time::Duration;

use kafka_replication::{consumer_config, producer_config, read_all, send_all};
use lab::kafka::steps::{
    FAILOVER, Partition, numbered, replicated_topic, start_and_resync, until_partition,
    watermarks,
};
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(150);

/// Where chapter 14 explains what `acks` waits for.
const ACKS: &str = "see ch14 '`acks` and `min.insync.replicas`'";
/// Where chapter 14 explains how long a failover takes and what the producer does meanwhile.
const FAILOVER_SECTION: &str = "see ch14 'When the leader dies'";
/// Where chapter 14 explains delivery reports and a producer that goes away.
const REPORTS: &str = "see ch14 'Acknowledged means the delivery report said so'";

/// Reads the whole topic back with your consumer: as many records as the log
/// holds (its high watermark).
async fn read_back(cluster: &lab::Kafka, topic: &str) -> anyhow::Result<Vec<String>> {
    let (_, high) = watermarks(cluster, topic, 0).await?;
    let consumer: StreamConsumer =
        consumer_config(&cluster.bootstrap_servers(), &lab::unique_name("audit"))
            .create()?;
    let count = usize::try_from(high)?;
    let read = lab::within(
        Duration::from_secs(30),
        format!("your consumer to read the {count} records of the topic from its start"),
        read_all(&consumer, topic, count),
    )
    .await??;
    Ok(read)
}

/// With every node up, what your producer sends your consumer reads, all of it.
#[tokio::test]
async fn what_is_sent_is_read_back() -> anyhow::Result<()> {
    lab::check(
        CHECK_TIMEOUT,
        "sending 10 records and reading them back",
        async {
            let cluster = lab::kafka_cluster().await?;
            let (topic, _) = replicated_topic(&cluster, "payments", &[]).await?;
            let producer: FutureProducer =
                producer_config(&cluster.bootstrap_servers()).create()?;
            let values = numbered("payment", 10);
            let acknowledged = lab::within(
                Duration::from_secs(60),
                "the delivery reports of 10 records",
                send_all(&producer, &topic, &values),
            )
            .await?;
            assert_eq!(
                acknowledged, values,
                "with all three nodes up every record should be acknowledged ({REPORTS})"
            );
            let mut read = read_back(&cluster, &topic).await?;
            read.sort();
            let mut expected = values.clone();
            expected.sort();
            assert_eq!(read, expected, "what your consumer read of the topic");
            Ok(())
        },
    )
    .await
}

/// The fault, on a topic that allows unclean leader election: both followers of
/// the partition are killed, your producer sends 20 records, and 2 s later the
/// leader is killed too, before any follower could copy them. The followers come back and one is elected leader; then the old leader
/// comes back. Every record your producer said was acknowledged must be in the
/// topic, and every record must have been acknowledged in the end.
#[tokio::test]
async fn acknowledged_records_survive_the_leaders_death() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "killing the leader while your producer sends", async {
        let cluster = lab::kafka_cluster_with_faults().await?;
        // A replica without the records may then lead: the scene is certain,
        // instead of depending on who the controller finds in sync (see ch14
        // 'What `acks=1` loses, and unclean leader election').
        let unclean = [("unclean.leader.election.enable", "true")];
        let (topic, before) = replicated_topic(&cluster, "payments", &unclean).await?;
        let leader = before.leader.unwrap_or(-1);
        let followers = before.followers();
        let values = numbered("payment", 20);
        let producer: FutureProducer = producer_config(&cluster.bootstrap_servers()).create()?;
        for follower in &followers {
            cluster.kill(*follower as usize).await?;
        }
        // Your producer lives in this task, and goes away (dropped) as soon as
        // `send_all` returns, as a program does that exits after sending.
        let sending = tokio::spawn({
            let (topic, values) = (topic.clone(), values.clone());
            async move { send_all(&producer, &topic, &values).await }
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
        cluster.kill(leader as usize).await?;
        let elected = start_followers_until_one_leads(&cluster, &topic, &followers).await;
        let acknowledged = lab::within(
            Duration::from_secs(90),
            format!("send_all to return once every delivery report came ({FAILOVER_SECTION})"),
            sending,
        )
        .await;
        // Bring the old leader back before judging, so the next check finds three nodes.
        start_and_resync(&cluster, &topic, 0, &[1, 2, 3]).await?;
        elected?;
        let acknowledged = acknowledged??;
        let read = read_back(&cluster, &topic).await?;
        let lost: Vec<&String> = acknowledged.iter().filter(|v| !read.contains(v)).collect();
        assert!(
            lost.is_empty(),
            "{} of the {} records your producer said were acknowledged are not in the topic \
             after the leader died (lost: {lost:?}); an acknowledgement from the leader alone \
             dies with it ({ACKS}), and a record counts as sent only once its delivery report \
             came, not when it was queued ({REPORTS})",
            lost.len(),
            acknowledged.len()
        );
        assert_eq!(
            acknowledged.len(),
            values.len(),
            "only {} of {} records were acknowledged: the producer gave up on the others while \
             the cluster elected a new leader; librdkafka retries a send until \
             `message.timeout.ms` (unless `message.send.max.retries` stops it sooner), which \
             must outlast an election ({FAILOVER_SECTION})",
            acknowledged.len(),
            values.len()
        );
        Ok(())
    })
    .await
}

/// Starts the killed followers (together: alone, one has no KRaft quorum) and waits
/// until one of them leads the partition.
async fn start_followers_until_one_leads(
    cluster: &lab::Kafka,
    topic: &str,
    followers: &[i32],
) -> anyhow::Result<Partition> {
    let starts = followers.iter().map(|f| cluster.start(*f as usize));
    for started in futures::future::join_all(starts).await {
        started?;
    }
    let what = "a follower elected leader";
    let elected = |p: &Partition| p.leader.is_some_and(|l| followers.contains(&l));
    until_partition(cluster, topic, 0, FAILOVER, what, elected).await
}

//! Proofs of chapter 12's behavioural quiz questions, one per question, each named
//! after its question's slug. Each observes the answer on the lab's Kafka 4.1.1
//! with rdkafka 0.39 (librdkafka 2.12) and asserts it equals the key in
//! `book/quizzes/12_kafka_producers.toml`.

use anyhow::Result;
use lab::kafka::steps::{WAIT, read_values};
use proofs::proof;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

const CHAPTER: &str = "12_kafka_producers";

/// Sends `value` with `key` (and an explicit partition, if given) and returns the
/// delivery report's partition and offset.
async fn send(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    partition: Option<i32>,
    value: &str,
) -> Result<(i32, i64)> {
    let mut record = FutureRecord::to(topic).key(key).payload(value);
    if let Some(partition) = partition {
        record = record.partition(partition);
    }
    let delivery = producer.send(record, WAIT).await.map_err(|(e, _)| e)?;
    Ok((delivery.partition, delivery.offset))
}

proof!(same_key_partitions, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("orders");
    kafka.create_topic(&topic, 3, 1).await?;
    let producer: FutureProducer = kafka.client_config().create()?;
    let mut partitions = Vec::new();
    for i in 0..20 {
        let (partition, _) = send(
            &producer,
            &topic,
            "customer-42",
            None,
            &format!("order-{i}"),
        )
        .await?;
        partitions.push(partition);
    }
    partitions.sort();
    partitions.dedup();
    Ok(partitions.len())
});

proof!(fifth_same_key_offset, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("orders");
    kafka.create_topic(&topic, 3, 1).await?;
    let producer: FutureProducer = kafka.client_config().create()?;
    let mut last = (0, -1);
    for i in 0..5 {
        last = send(&producer, &topic, "customer-7", None, &format!("order-{i}")).await?;
    }
    Ok(last.1)
});

proof!(production_order_across_partitions, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("events");
    kafka.create_topic(&topic, 3, 1).await?;
    let producer: FutureProducer = kafka.client_config().create()?;
    // One at a time, each acknowledged before the next: a strict production order,
    // spread round the three partitions.
    let produced: Vec<String> = (0..30).map(|i| format!("event-{i:02}")).collect();
    for (i, value) in produced.iter().enumerate() {
        send(&producer, &topic, "any", Some(i as i32 % 3), value).await?;
    }
    let received = read_values(&kafka, &topic, produced.len()).await?;
    // Within each partition the order holds...
    for partition in 0..3 {
        let of = |values: &[String]| -> Vec<String> {
            values
                .iter()
                .filter(|v| {
                    produced.iter().position(|p| p == *v).unwrap_or(0) % 3 == partition
                })
                .cloned()
                .collect()
        };
        assert_eq!(
            of(&received),
            of(&produced),
            "order within partition {partition}"
        );
    }
    // ...but across partitions the consumer gets them in whatever order it fetched.
    Ok(received == produced)
});

proof!(partitioners_agree, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("orders");
    kafka.create_topic(&topic, 6, 1).await?;
    let default: FutureProducer = kafka.client_config().create()?;
    let java: FutureProducer = kafka
        .client_config()
        .set("partitioner", "murmur2_random")
        .create()?;
    let mut agree = true;
    for k in 0..20 {
        let key = format!("customer-{k}");
        let (a, _) = send(&default, &topic, &key, None, "default").await?;
        let (b, _) = send(&java, &topic, &key, None, "java").await?;
        agree &= a == b;
    }
    Ok(agree)
});

proof!(idempotent_with_acks_one_is_created, async {
    let kafka = lab::kafka().await?;
    let created: Result<FutureProducer, _> = kafka
        .client_config()
        .set("enable.idempotence", "true")
        .set("acks", "1")
        .create();
    // The same acks without idempotence is accepted: the refusal is the conflict.
    let plain: FutureProducer = kafka.client_config().set("acks", "1").create()?;
    drop(plain);
    Ok(created.is_ok())
});

proof!(acks_zero_report_has_offset, async {
    let kafka = lab::kafka().await?;
    let topic = lab::unique_name("events");
    kafka.create_topic(&topic, 1, 1).await?;
    let mut config: ClientConfig = kafka.client_config();
    let producer: FutureProducer = config.set("acks", "0").create()?;
    let (_, offset) = send(&producer, &topic, "k", None, "fire").await?;
    // The record is stored nevertheless (it is the topic's first record, offset 0).
    let stored = read_values(&kafka, &topic, 1).await?;
    assert_eq!(stored, ["fire"], "the acks=0 record should be in the log");
    Ok(offset >= 0)
});

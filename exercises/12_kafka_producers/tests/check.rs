//! Checks for chapter 12 (do not modify): they run your producer against the lab's
//! Kafka and assert what Kafka stored.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_producers::{Delivered, producer_config, send_in_order};
use lab::kafka::steps::{Record, read};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer, PurgeConfig};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(90);

/// Where chapter 12 explains keys and partitions.
const KEYS: &str = "see ch12 'Keys choose partitions'";
/// Where chapter 12 explains delivery reports.
const REPORTS: &str = "see ch12 'Delivery reports and `acks`'";
/// Where chapter 12 explains idempotence.
const IDEMPOTENCE: &str = "see ch12 'Retries, ordering and idempotence'";

/// `per_key` records for each of `keys` keys, interleaved: k0 v0, k1 v0, ..., k0 v1, ...
fn interleaved(keys: usize, per_key: usize) -> Vec<(String, String)> {
    (0..per_key)
        .flat_map(|i| {
            (0..keys).map(move |k| (format!("customer-{k}"), format!("order-{k}-{i}")))
        })
        .collect()
}

/// Records are stored with their keys; all records of a key are on one partition,
/// in the order they were sent; each delivery report says where its record is.
#[tokio::test]
async fn each_key_stays_on_one_partition_in_order() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "producing 4 keys x 10 records and reading them back", async {
        let kafka = lab::kafka().await?;
        let topic = lab::unique_name("orders");
        kafka.create_topic(&topic, 3, 1).await?;
        let producer: FutureProducer = producer_config(&kafka.bootstrap_servers()).create()?;
        let records = interleaved(4, 10);
        let reports = send_in_order(&producer, &topic, &records).await?;
        assert_eq!(
            reports.len(),
            records.len(),
            "one delivery report per record ({REPORTS})"
        );
        let stored = read(&kafka, &topic, records.len()).await?;
        let mut by_key: BTreeMap<String, Vec<&Record>> = BTreeMap::new();
        for record in &stored {
            let key = record.key.clone().ok_or_else(|| {
                anyhow::anyhow!(
                    "record {:?} was stored without a key: send it with `.key(..)` ({KEYS})",
                    record.value
                )
            })?;
            by_key.entry(key).or_default().push(record);
        }
        for (key, records_of_key) in &by_key {
            let partitions: Vec<i32> = records_of_key.iter().map(|r| r.partition).collect();
            assert!(
                partitions.windows(2).all(|w| w[0] == w[1]),
                "the records of key {key} are on several partitions: {partitions:?} ({KEYS})"
            );
            let values: Vec<&str> = records_of_key.iter().map(|r| r.value.as_str()).collect();
            let sent: Vec<&str> = records
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(
                values, sent,
                "the records of key {key} are not in the order sent ({IDEMPOTENCE})"
            );
        }
        for ((key, value), report) in records.iter().zip(&reports) {
            let at = stored
                .iter()
                .find(|r| r.partition == report.partition && r.offset == report.offset);
            assert_eq!(
                at.map(|r| (r.key.as_deref(), r.value.as_str())),
                Some((Some(key.as_str()), value.as_str())),
                "the delivery report of {value} says {report:?}, which holds another record ({REPORTS})"
            );
        }
        Ok(())
    })
    .await
}

/// When `send_in_order` returns, every record is in the log: nothing is left
/// waiting in the producer's queue (fire-and-forget is not sending).
#[tokio::test]
async fn records_are_stored_when_send_returns() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "producing 30 records", async {
        let kafka = lab::kafka().await?;
        let topic = lab::unique_name("orders");
        kafka.create_topic(&topic, 3, 1).await?;
        let producer: FutureProducer = producer_config(&kafka.bootstrap_servers()).create()?;
        let records = interleaved(3, 10);
        let reports = send_in_order(&producer, &topic, &records).await?;
        // Whatever is still queued in the producer now is thrown away: it was not sent.
        producer.purge(PurgeConfig::default().queue());
        let watermarks: BaseConsumer = kafka.client_config().create()?;
        let topic_name = topic.clone();
        let stored = tokio::task::spawn_blocking(move || {
            let mut total = 0;
            for partition in 0..3 {
                let (low, high) =
                    watermarks.fetch_watermarks(&topic_name, partition, Duration::from_secs(10))?;
                total += high - low;
            }
            anyhow::Ok(total)
        })
        .await??;
        assert_eq!(
            stored,
            records.len() as i64,
            "send_in_order returned before Kafka stored every record: wait for each delivery report ({REPORTS})"
        );
        let offsets_valid = reports.iter().all(|r: &Delivered| r.offset >= 0);
        assert!(
            offsets_valid,
            "a delivery report has no offset: {reports:?} ({REPORTS})"
        );
        Ok(())
    })
    .await
}

/// The producer is idempotent: librdkafka refuses to create it with `acks=1`,
/// which it accepts from a producer without idempotence.
#[tokio::test]
async fn producer_is_idempotent() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "creating producers", async {
        let kafka = lab::kafka().await?;
        let _yours: FutureProducer =
            producer_config(&kafka.bootstrap_servers()).create()?;
        let weakened: Result<FutureProducer, _> =
            producer_config(&kafka.bootstrap_servers())
                .set("acks", "1")
                .create();
        assert!(
            weakened.is_err(),
            "librdkafka accepted your configuration with acks=1, so idempotence is off ({IDEMPOTENCE})"
        );
        Ok(())
    })
    .await
}

/// Every key lands on the partition a Java producer (murmur2) would choose.
#[tokio::test]
async fn keys_land_where_java_puts_them() -> anyhow::Result<()> {
    lab::check(
        CHECK_TIMEOUT,
        "producing 20 keys with your producer and a Java-compatible one",
        async {
            let kafka = lab::kafka().await?;
            let topic = lab::unique_name("orders");
            kafka.create_topic(&topic, 6, 1).await?;
            let producer: FutureProducer =
                producer_config(&kafka.bootstrap_servers()).create()?;
            let records: Vec<(String, String)> = (0..20)
                .map(|k| (format!("customer-{k}"), "order".to_string()))
                .collect();
            let yours = send_in_order(&producer, &topic, &records).await?;
            let java: FutureProducer = kafka
                .client_config()
                .set("partitioner", "murmur2_random")
                .create()?;
            for ((key, _), report) in records.iter().zip(&yours) {
                let delivery = java
                    .send(
                        FutureRecord::to(&topic).key(key).payload("java"),
                        Duration::from_secs(30),
                    )
                    .await
                    .map_err(|(e, _)| e)?;
                assert_eq!(
                    report.partition, delivery.partition,
                    "key {key} went to partition {}, a Java producer puts it on {}: use the `murmur2_random` partitioner ({KEYS})",
                    report.partition, delivery.partition
                );
            }
            Ok(())
        },
    )
    .await
}

/// A failed delivery is an error of `send_in_order`: here the topic takes records of
/// at most 200 bytes (`max.message.bytes`), and the second record is larger, so Kafka
/// refuses it and its delivery report is an error.
#[tokio::test]
async fn a_failed_delivery_is_an_error() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "producing a record the topic refuses", async {
        let kafka = lab::kafka().await?;
        let topic = lab::unique_name("orders");
        kafka
            .create_topic_with(&topic, 3, 1, &[("max.message.bytes", "200")])
            .await?;
        let producer: FutureProducer =
            producer_config(&kafka.bootstrap_servers()).create()?;
        let records = vec![
            ("customer-1".to_string(), "order-1".to_string()),
            ("customer-2".to_string(), "x".repeat(1000)),
            ("customer-3".to_string(), "order-3".to_string()),
        ];
        let sent = send_in_order(&producer, &topic, &records).await;
        assert!(
            sent.is_err(),
            "send_in_order returned Ok, but Kafka refused a 1000-byte record (the topic takes \
             200): a delivery report can be an error; return it instead of going on ({REPORTS})"
        );
        Ok(())
    })
    .await
}

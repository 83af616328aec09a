//! Checks for chapter 11 (do not modify): they declare a stream with your
//! `declare_stream`, append numbered records with your `append`, and read them back
//! with your `read` and `resume`, each reader on a channel of its own: several
//! independent readers, from the first record, from an offset, from a time, from
//! `next`; a reader that starts again and must carry on after its stored offset;
//! and a small stream filled past its retention.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::time::{Duration, SystemTime};

use lab::rabbitmq::steps::numbered;
use lapin::Connection;
use streams::{Record, Start, append, declare_stream, read, resume};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one reader may take to read records the stream has.
const READ_FOR: Duration = Duration::from_secs(10);
/// Retention large enough to keep everything the checks append but the last one.
const KEEP_ALL: i64 = 100_000_000;

/// Where chapter 11 explains how a stream is declared.
const DECLARING: &str = "see ch11 'A queue that is a log'";
/// Where chapter 11 explains how a stream is read.
const READING: &str = "see ch11 'Reading a stream: prefetch, acks, x-stream-offset'";
/// Where chapter 11 explains where a reader starts.
const STARTS: &str = "see ch11 'Where a reader starts'";
/// Where chapter 11 explains offsets kept by the reader.
const RESUMING: &str = "see ch11 'Keeping your place'";
/// Where chapter 11 explains retention and segments.
const RETENTION: &str = "see ch11 'Retention and segments'";

/// Where each check starts: a connection to the lab's RabbitMQ and a stream your
/// `declare_stream` made, under a fresh name.
struct Scene {
    /// Held for the whole check: it keeps fault experiments off this broker.
    _rabbit: lab::Rabbit,
    connection: Connection,
    stream: String,
}

impl Scene {
    async fn declare(max_bytes: i64) -> anyhow::Result<Scene> {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let stream = lab::unique_name("events");
        let channel = connection.create_channel().await?;
        declare_stream(&channel, &stream, max_bytes)
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "`declare_stream` failed: {error:#}; a stream is a durable queue with \
                     `x-queue-type: stream`, and only a stream takes the stream arguments \
                     ({DECLARING})"
                )
            })?;
        Ok(Scene {
            _rabbit: rabbit,
            connection,
            stream,
        })
    }

    /// Appends `bodies` on a channel of its own.
    async fn append(&self, bodies: &[String]) -> anyhow::Result<()> {
        let channel = self.connection.create_channel().await?;
        append(&channel, &self.stream, bodies).await
    }

    /// A new reader (a channel of its own) reads `count` records from `start`;
    /// `Err` says what went wrong: an error, or too few records within READ_FOR.
    async fn read(
        &self,
        start: Start,
        count: usize,
    ) -> anyhow::Result<Result<Vec<Record>, String>> {
        let channel = self.connection.create_channel().await?;
        let reading = read(&channel, &self.stream, start, count);
        Ok(match tokio::time::timeout(READ_FOR, reading).await {
            Ok(Ok(records)) => Ok(records),
            Ok(Err(error)) => Err(format!("`read` failed: {error:#}")),
            Err(_) => Err(format!(
                "`read` had not returned {count} records after {READ_FOR:?}"
            )),
        })
    }
}

/// The bodies of `records`.
fn bodies(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| r.body.clone()).collect()
}

/// The offsets of `records`.
fn offsets(records: &[Record]) -> Vec<u64> {
    records.iter().map(|r| r.offset).collect()
}

/// Reading does not consume: two readers, one after the other, each read the whole
/// stream from the first record, in order, more records than the prefetch.
#[tokio::test]
async fn two_readers_each_replay_the_whole_stream() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "two readers replaying 250 records", async {
        let scene = Scene::declare(KEEP_ALL).await?;
        let sent = numbered("event", 250);
        scene.append(&sent).await?;
        for reader in ["the first reader", "a second reader, after it"] {
            let records = scene.read(Start::First, sent.len()).await?.map_err(|why| {
                anyhow::anyhow!(
                    "{reader} of a stream of 250 records, from `Start::First`: {why}; \
                     a stream reader needs a prefetch and manual acks, and a stream is \
                     not emptied by reading ({READING})"
                )
            })?;
            assert_eq!(
                bodies(&records),
                sent,
                "{reader} did not read the 250 records in the order they were appended \
                 ({READING})"
            );
            // Offsets grow with each record; they need not be contiguous (a new
            // segment can take one), so the check asks for increasing ones.
            let offsets = offsets(&records);
            assert!(
                offsets.windows(2).all(|pair| pair[0] < pair[1]),
                "{reader} saw offsets that do not grow: {offsets:?} ({READING})"
            );
        }
        Ok(())
    })
    .await
}

/// A reader from an offset starts at that record; a reader from a time starts at
/// the first record appended at or after it.
#[tokio::test]
async fn a_reader_starts_at_an_offset_or_a_time() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "reading from an offset and from a time", async {
        let scene = Scene::declare(KEEP_ALL).await?;
        let before = numbered("before", 10);
        scene.append(&before).await?;
        let records = scene.read(Start::Offset(4), 3).await?.map_err(|why| {
            anyhow::anyhow!("reading 3 records from `Start::Offset(4)`: {why} ({STARTS})")
        })?;
        assert_eq!(
            offsets(&records),
            vec![4, 5, 6],
            "a reader from `Start::Offset(4)` read offsets {:?}: pass `start.argument()` \
             as `x-stream-offset` ({STARTS})",
            offsets(&records)
        );

        // A timestamp is whole seconds: start the second batch in a later second.
        let at = next_whole_second().await;
        let after = numbered("after", 5);
        scene.append(&after).await?;
        let records = scene.read(Start::Timestamp(at), 5).await?.map_err(|why| {
            anyhow::anyhow!("reading 5 records from `Start::Timestamp`: {why} ({STARTS})")
        })?;
        assert_eq!(
            bodies(&records),
            after,
            "a reader from a time between two batches read {:?}, not the second batch \
             ({STARTS})",
            bodies(&records)
        );
        Ok(())
    })
    .await
}

/// A reader from `next` sees only what is appended after it subscribed.
#[tokio::test]
async fn a_reader_from_next_sees_only_new_records() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "reading from next while records are appended", async {
        let scene = Scene::declare(KEEP_ALL).await?;
        scene.append(&numbered("old", 5)).await?;
        let channel = scene.connection.create_channel().await?;
        let reader = {
            let (channel, stream) = (channel.clone(), scene.stream.clone());
            tokio::spawn(async move { read(&channel, &stream, Start::Next, 3).await })
        };
        // Append one new record at a time until the reader has its 3: those it
        // subscribed too late for are simply not its to read.
        let mut appended = 0;
        while !reader.is_finished() {
            anyhow::ensure!(
                appended < 50,
                "a reader from `Start::Next` had not read 3 records after {appended}                  were appended one by one ({STARTS})"
            );
            appended += 1;
            scene.append(&[format!("new-{appended}")]).await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let records = reader.await??;
        let old: Vec<String> = bodies(&records)
            .into_iter()
            .filter(|body| body.starts_with("old"))
            .collect();
        anyhow::ensure!(
            old.is_empty(),
            "a reader from `Start::Next` read {old:?}, appended before it subscribed: \
             `next` means only what comes after ({STARTS})"
        );
        Ok(())
    })
    .await
}

/// A reader that starts again carries on after the offset it stored: nothing read
/// twice, nothing skipped. Another reader with a store of its own is independent.
#[tokio::test]
async fn a_restarted_reader_carries_on_after_its_offset() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a reader that stops and starts again", async {
        let scene = Scene::declare(KEEP_ALL).await?;
        let sent = numbered("event", 12);
        scene.append(&sent).await?;
        let dir = std::env::temp_dir().join(lab::unique_name("offsets"));
        std::fs::create_dir_all(&dir)?;
        let (store, other) = (dir.join("reader-a"), dir.join("reader-b"));
        let mut read_by_a = Vec::new();
        for run in 1..=3 {
            // Each run is a new channel, as a restarted process would have.
            let channel = scene.connection.create_channel().await?;
            let reading = resume(&channel, &scene.stream, &store, 4);
            let records = match tokio::time::timeout(READ_FOR, reading).await {
                Ok(records) => records?,
                Err(_) => anyhow::bail!(
                    "run {run} of a reader that stored its offset read nothing within \
                     {READ_FOR:?}: after a restart, start after the stored offset, not \
                     at `next` ({RESUMING})"
                ),
            };
            read_by_a.extend(records);
            let _ = channel.close(200, "run done".into()).await;
        }
        assert_eq!(
            bodies(&read_by_a),
            sent,
            "a reader that read 4 records per run, 3 runs, read {:?}: each run must \
             start after the offset the last one stored ({RESUMING})",
            bodies(&read_by_a)
        );
        let channel = scene.connection.create_channel().await?;
        let records = resume(&channel, &scene.stream, &other, 2).await?;
        assert_eq!(
            offsets(&records),
            vec![0, 1],
            "a second reader with a store of its own must start at the first record \
             ({RESUMING})"
        );
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    })
    .await
}

/// A stream holds about `max_bytes`: filled well past it, it deletes its oldest
/// segments, so the first record a reader finds is no longer offset 0, and the
/// newest is still there.
#[tokio::test]
async fn retention_drops_the_oldest_segments() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "filling a small stream past its retention", async {
        let scene = Scene::declare(10_000).await?;
        let payload = "x".repeat(100);
        let sent: Vec<String> = (0..400).map(|i| format!("{i:04}-{payload}")).collect();
        for batch in sent.chunks(50) {
            scene.append(batch).await?;
        }
        let first = std::cell::Cell::new(0);
        let waited = lab::until(
            Duration::from_secs(20),
            "the oldest segments to be deleted",
            Duration::from_millis(200),
            || {
                let (first, scene) = (&first, &scene);
                async move {
                    let read = scene.read(Start::First, 1).await;
                    let step = |e: String| lab::LabError::step("reading the first record", e);
                    let records = read.map_err(|e| step(format!("{e:#}")))?.map_err(step)?;
                    first.set(records[0].offset);
                    Ok(first.get() > 0)
                }
            },
        )
        .await;
        assert!(
            waited.is_ok(),
            "40 KB appended to a stream declared with `max_bytes` 10 000, and its first \
             record is still offset {}: set `x-max-length-bytes` and \
             `x-stream-max-segment-size-bytes`, as retention deletes whole segments \
             ({RETENTION})",
            first.get()
        );
        // The newest records are still there: the last chunk holds some of the last
        // batch. (Not counted from the first offset: retention may still be deleting.)
        let last = scene.read(Start::Last, 1).await?.map_err(anyhow::Error::msg)?;
        let index: usize = last[0].body[..4].parse()?;
        assert!(
            index >= 350,
            "after retention, a reader from `Start::Last` read record {index}, not one of \
             the last 50 appended ({RETENTION})"
        );
        Ok(())
    })
    .await
}

/// Waits until the clock passes the next whole second, and returns it.
async fn next_whole_second() -> SystemTime {
    let now = SystemTime::now();
    let since = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let next = Duration::from_secs(since.as_secs() + 1);
    tokio::time::sleep(next - since + Duration::from_millis(10)).await;
    SystemTime::UNIX_EPOCH + next
}

//! Checks for chapter 9 (do not modify): they publish numbered events of several
//! keys through your `publish_events`, run your `process_shard` workers on the
//! queues your `declare_shards` made, with a handler that is slow on some events
//! and fails on others, and look at the order in which each key's events were
//! processed. Each key's events must be processed 1, 2, 3 ..., each once.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lab::rabbitmq::steps::drain;
use lapin::{Channel, Connection};
use rabbit_ordering::{
    Event, Handler, SHARDS, declare_shards, handler, process_shard, publish_events,
    shard_of, shard_queue,
};
use tokio::task::JoinHandle;

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// Where chapter 9 explains the key-to-queue map.
const SHARDING: &str = "see ch09 'Per-key order: one queue per shard'";
/// Where chapter 9 explains single active consumer and one event at a time.
const ONE_AT_A_TIME: &str = "see ch09 'Single active consumer'";
/// Where chapter 9 explains a crash and single active consumer's takeover.
const CRASH: &str = "see ch09 'Several consumers, and a crash'";
/// Where chapter 9 explains how a requeue reorders.
const REQUEUE: &str = "see ch09 'Requeue and prefetch'";

/// The worker program of the package under test: the exercise builds
/// `ordering_worker`, the solution `solution_ordering_worker` (distinct names, so
/// neither can run the other's).
const WORKER: &str = match option_env!("CARGO_BIN_EXE_ordering_worker") {
    Some(path) => path,
    None => match option_env!("CARGO_BIN_EXE_solution_ordering_worker") {
        Some(path) => path,
        None => panic!("the package under test builds the worker program"),
    },
};

/// `per_key` events of each of `keys` accounts: all of account-1's, then
/// account-2's, ... (so consecutive messages of a queue share a key).
fn events(keys: usize, per_key: u32) -> Vec<Event> {
    (1..=keys)
        .flat_map(|k| {
            (1..=per_key).map(move |seq| Event::new(&format!("account-{k}"), seq))
        })
        .collect()
}

/// What the workers' handler did, in the order it did it.
#[derive(Clone, Default)]
struct Processed(Arc<Mutex<Vec<Event>>>);

impl Processed {
    fn record(&self, event: Event) {
        self.0
            .lock()
            .expect("no check panics holding the lock")
            .push(event);
    }

    fn all(&self) -> Vec<Event> {
        self.0
            .lock()
            .expect("no check panics holding the lock")
            .clone()
    }

    /// The sequence numbers each key was processed in.
    fn per_key(&self) -> BTreeMap<String, Vec<u32>> {
        let mut keys: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for event in self.all() {
            keys.entry(event.key).or_default().push(event.seq);
        }
        keys
    }

    /// Waits (at most `timeout`) until every event of `sent` has been processed.
    async fn until_all(&self, sent: &[Event], timeout: Duration) -> bool {
        lab::until(
            timeout,
            "every event to be processed",
            Duration::from_millis(20),
            || {
                let done: HashSet<Event> = self.all().into_iter().collect();
                async move { Ok(sent.iter().all(|e| done.contains(e))) }
            },
        )
        .await
        .is_ok()
    }
}

/// Workers running `process_shard`, each on a channel of its own.
struct Workers(Vec<(Channel, JoinHandle<anyhow::Result<()>>)>);

impl Workers {
    /// Starts `per_queue` workers on each of `queues`, all with `handler`.
    async fn start(
        connection: &Connection,
        queues: &[String],
        per_queue: usize,
        handler: &Handler,
    ) -> anyhow::Result<Workers> {
        let mut workers = Vec::new();
        for _ in 0..per_queue {
            for queue in queues {
                let channel = connection.create_channel().await?;
                let task = {
                    let (channel, queue, handler) =
                        (channel.clone(), queue.clone(), handler.clone());
                    tokio::spawn(
                        async move { process_shard(&channel, &queue, handler).await },
                    )
                };
                workers.push((channel, task));
            }
        }
        Ok(Workers(workers))
    }

    /// A worker that already stopped while its channel was open failed: its error.
    async fn failure(&mut self) -> Option<String> {
        for (_, task) in &mut self.0 {
            if task.is_finished() {
                return Some(match task.await {
                    Ok(Ok(())) => "a worker returned while its channel was open".into(),
                    Ok(Err(error)) => format!("a worker failed: {error:#}"),
                    Err(panic) => format!("a worker panicked: {panic}"),
                });
            }
        }
        None
    }

    /// Closes every worker's channel (which ends `process_shard`) and stops them.
    async fn stop(self) {
        for (channel, task) in self.0 {
            let _ = channel.close(200, "check done".into()).await;
            task.abort();
        }
    }
}

/// Where each check starts: a connection to the lab's RabbitMQ, and the shard
/// queues your `declare_shards` made, under a fresh prefix.
struct Shards {
    /// Held for the whole check: it keeps fault experiments off this broker.
    rabbit: lab::Rabbit,
    connection: Connection,
    setup: Channel,
    prefix: String,
    queues: Vec<String>,
}

impl Shards {
    async fn declare() -> anyhow::Result<Shards> {
        let rabbit = lab::rabbit().await?;
        let connection = rabbit.connect().await?;
        let setup = connection.create_channel().await?;
        let prefix = lab::unique_name("accounts");
        let queues = declare_shards(&setup, &prefix).await?;
        Ok(Shards {
            rabbit,
            connection,
            setup,
            prefix,
            queues,
        })
    }
}

/// The first key whose events were not processed as 1, 2 .. `per_key`, each
/// once, and the order they were processed in.
fn first_out_of_order(
    processed: &BTreeMap<String, Vec<u32>>,
    keys: usize,
    per_key: u32,
) -> Option<(String, Vec<u32>)> {
    let expected: Vec<u32> = (1..=per_key).collect();
    (1..=keys).map(|k| format!("account-{k}")).find_map(|key| {
        let seen = processed.get(&key).cloned().unwrap_or_default();
        (seen != expected).then_some((key, seen))
    })
}

/// Every event of a key lands in one queue, whichever channel publishes it and
/// whenever: the map from key to queue is stable. Within its queue the key's
/// events are in publish order, and the keys are spread over more than one queue.
#[tokio::test]
async fn each_key_stays_in_one_queue_in_publish_order() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "publishing events of 12 keys in two batches", async {
        let shards = Shards::declare().await?;
        // Two batches, from two channels: events 1-3 of each key, then 4-6.
        let sent = events(12, 6);
        let (first, second): (Vec<Event>, Vec<Event>) =
            sent.iter().cloned().partition(|e| e.seq <= 3);
        for batch in [first, second] {
            let channel = shards.connection.create_channel().await?;
            publish_events(&channel, &shards.prefix, &batch).await?;
        }

        let mut queue_of: BTreeMap<String, BTreeMap<usize, Vec<u32>>> = BTreeMap::new();
        for shard in 0..SHARDS {
            for body in drain(&shards.setup, &shard_queue(&shards.prefix, shard)).await? {
                let event = Event::parse(body.as_bytes())?;
                let queues = queue_of.entry(event.key).or_default();
                queues.entry(shard).or_default().push(event.seq);
            }
        }
        let stored: usize = queue_of.values().flat_map(|q| q.values()).map(Vec::len).sum();
        assert_eq!(
            stored,
            sent.len(),
            "the shard queues hold {stored} of the {} events published: publish each event \
             to `shard_queue(prefix, shard_of(key))` ({SHARDING})",
            sent.len()
        );
        for (key, queues) in &queue_of {
            assert!(
                queues.len() == 1,
                "the events of {key} were spread over {} queues ({:?} by shard): the map \
                 from key to queue must be the same for every event of a key (a hash of \
                 the key's bytes, not a counter or a random pick), or the queues' \
                 consumers race each other ({SHARDING})",
                queues.len(),
                queues
            );
            let seqs: Vec<u32> = queues.values().flatten().copied().collect();
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "the queue of {key} holds its events in the order {seqs:?}, not as \
                 published ({SHARDING})"
            );
        }
        let used: HashSet<usize> = queue_of.values().flat_map(|q| q.keys().copied()).collect();
        assert!(
            used.len() > 1,
            "all 12 keys went to one queue of {SHARDS}: the map must spread keys over the \
             shards, or only one consumer ever works ({SHARDING})"
        );
        Ok(())
    })
    .await
}

/// Two workers subscribe to each shard queue (one to take over if the other
/// goes), and the handler is slow on odd events: each key's events are still
/// processed 1, 2, 3 ... because only one consumer per queue receives, and it
/// finishes each event before it takes the next.
#[tokio::test]
async fn two_workers_per_queue_keep_each_key_in_order() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "two workers per queue processed 48 events", async {
        let shards = Shards::declare().await?;
        let sent = events(6, 8);
        publish_events(&shards.setup, &shards.prefix, &sent).await?;

        let processed = Processed::default();
        let slow_on_odd = {
            let processed = processed.clone();
            handler(move |event: Event| {
                let processed = processed.clone();
                async move {
                    // Odd events take longer: a second consumer, or a second task,
                    // finishes the next event first.
                    if event.seq % 2 == 1 {
                        tokio::time::sleep(Duration::from_millis(30)).await;
                    }
                    processed.record(event);
                    Ok(())
                }
            })
        };
        let (connection, queues) = (&shards.connection, &shards.queues);
        let mut workers = Workers::start(connection, queues, 2, &slow_on_odd).await?;
        let finished = processed.until_all(&sent, Duration::from_secs(30)).await;
        if let Some(failure) = workers.failure().await {
            anyhow::bail!("{failure}");
        }
        workers.stop().await;
        anyhow::ensure!(
            finished,
            "only {} of {} events were processed: does `process_shard` consume its queue \
             and ack each event? ({ONE_AT_A_TIME})",
            processed.all().len(),
            sent.len()
        );
        if let Some((key, seen)) = first_out_of_order(&processed.per_key(), 6, 8) {
            panic!(
                "the events of {key} were processed in the order {seen:?}: two of them were \
                 processed at the same time (by two consumers of one queue, or by two tasks \
                 of one consumer). Give each queue a single active consumer and await each \
                 event before taking the next ({ONE_AT_A_TIME})"
            );
        }
        Ok(())
    })
    .await
}

/// The handler fails the first time it sees event 3 of each key: that event is
/// tried again, and processed before events 4, 5, 6 of its key, and none is lost.
#[tokio::test]
async fn a_failed_event_is_retried_before_the_next() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "a worker retried failed events", async {
        let shards = Shards::declare().await?;
        let sent = events(3, 6);
        publish_events(&shards.setup, &shards.prefix, &sent).await?;

        let processed = Processed::default();
        let failed_once: Arc<Mutex<HashSet<Event>>> = Arc::default();
        let fails_once_on_3 = {
            let processed = processed.clone();
            handler(move |event: Event| {
                let (processed, failed_once) = (processed.clone(), failed_once.clone());
                async move {
                    let first_try = failed_once
                        .lock()
                        .expect("no check panics holding the lock")
                        .insert(event.clone());
                    if event.seq == 3 && first_try {
                        anyhow::bail!("the database was briefly away");
                    }
                    processed.record(event);
                    Ok(())
                }
            })
        };
        let (connection, queues) = (&shards.connection, &shards.queues);
        let mut workers = Workers::start(connection, queues, 1, &fails_once_on_3).await?;
        let finished = processed.until_all(&sent, Duration::from_secs(5)).await;
        if let Some(failure) = workers.failure().await {
            anyhow::bail!("{failure}");
        }
        workers.stop().await;
        if !finished {
            let done: HashSet<Event> = processed.all().into_iter().collect();
            let lost: Vec<String> =
                sent.iter().filter(|e| !done.contains(e)).map(Event::body).collect();
            panic!(
                "events never processed (lost): {lost:?}. A failed event must be tried \
                 again: not acked, not rejected, but requeued (or retried in place) ({REQUEUE})"
            );
        }
        if let Some((key, seen)) = first_out_of_order(&processed.per_key(), 3, 6) {
            panic!(
                "the events of {key} were processed in the order {seen:?}: the failed event \
                 was requeued to the head of the queue, but the events after it had already \
                 been handed to the consumer (a prefetch larger than one) and went first. Use \
                 a prefetch of one, or retry the event in place ({REQUEUE})"
            );
        }
        Ok(())
    })
    .await
}

/// A crash: the active worker of a queue (its own process) is killed with SIGKILL
/// while it holds event 4 unacknowledged; the standby, subscribed all along,
/// takes over. Between them the key's events are processed 1, 2 ... 6, in order:
/// the standby received nothing while the first worker was active, and event 4
/// comes back to the head of the queue.
#[tokio::test]
async fn a_standby_takes_over_in_order_when_the_worker_is_killed() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "killing the active worker of a queue", async {
        let shards = Shards::declare().await?;
        let sent = events(1, 6);
        publish_events(&shards.setup, &shards.prefix, &sent).await?;
        let queue = shard_queue(&shards.prefix, shard_of("account-1"));

        let args = [shards.rabbit.amqp_url(), queue.as_str(), "account-1#4"];
        let mut first = lab::ClientProcess::spawn(WORKER, args)?;
        first
            .line_containing("stuck on account-1#4", Duration::from_secs(30))
            .await?;
        let processed = Processed::default();
        let record = {
            let processed = processed.clone();
            handler(move |event: Event| {
                let processed = processed.clone();
                async move {
                    processed.record(event);
                    Ok(())
                }
            })
        };
        let standby = std::slice::from_ref(&queue);
        let mut workers = Workers::start(&shards.connection, standby, 1, &record).await?;
        // Time for a standby that is not standing by to take events 5 and 6.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let by_first: Vec<u32> = first
            .lines_seen()
            .iter()
            .filter_map(|line| line.strip_prefix("processed account-1#"))
            .filter_map(|seq| seq.parse().ok())
            .collect();
        first.kill().await?;
        let left: Vec<Event> = sent
            .iter()
            .filter(|e| !by_first.contains(&e.seq))
            .cloned()
            .collect();
        let finished = processed.until_all(&left, Duration::from_secs(10)).await;
        if let Some(failure) = workers.failure().await {
            anyhow::bail!("{failure}");
        }
        workers.stop().await;
        let by_standby: Vec<u32> = processed.all().iter().map(|e| e.seq).collect();
        let seen = [by_first.clone(), by_standby.clone()].concat();
        assert!(
            finished && seen == [1, 2, 3, 4, 5, 6],
            "account-1's events were processed as {by_first:?} by the worker that was killed, \
             then {by_standby:?} by the standby: the standby must receive nothing while the \
             first worker is active (single active consumer), and then the killed worker's \
             unacknowledged event first ({CRASH})"
        );
        Ok(())
    })
    .await
}

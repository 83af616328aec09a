//! Checks for chapter 17 (do not modify): they produce events with chosen event
//! times to the lab's Kafka, run your processor (one of them in a separate process
//! that they kill), and assert what it produced to its output topic.
//!
//! Windows are 10 s long with 5 s of grace; event times start at `BASE`
//! (2020-09-13 12:26:40 UTC), so a processor that uses the clock instead of the
//! record's timestamp counts everything in today's window.
//!
//! The same checks run against the reference solution, so they are known to pass.

use std::time::Duration;

use lab::kafka::steps::{produce_at, read_isolated, until_group};
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;
use stream_processing::{Windows, processor_config, run};

/// The processor program of the package under test: the exercise builds
/// `window_processor`, the solution `solution_window_processor`.
const WINDOW_PROCESSOR: &str = match option_env!("CARGO_BIN_EXE_window_processor") {
    Some(path) => path,
    None => match option_env!("CARGO_BIN_EXE_solution_window_processor") {
        Some(path) => path,
        None => panic!("the package under test builds the processor program"),
    },
};

/// How long one check may take before it fails instead of hanging.
const CHECK_TIMEOUT: Duration = Duration::from_secs(90);
/// The first event time: a multiple of the window size.
const BASE: i64 = 1_600_000_000_000;
/// Event time `seconds` after `BASE`.
const fn at(seconds: i64) -> i64 {
    BASE + seconds * 1000
}

/// Where chapter 17 explains event time and windows.
const WINDOWS: &str = "see ch17 'Windows by event time'";
/// Where chapter 17 explains late events.
const LATE: &str = "see ch17 'Watermarks, grace and late events'";
/// Where chapter 17 explains what to commit.
const COMMIT: &str = "see ch17 'What to commit: the oldest open window'";

/// Runs the processor in this process over `events` (10 s windows, 5 s grace)
/// until the input has been quiet for 3 s, and returns what it produced.
async fn process(events: &[(&str, i64)]) -> anyhow::Result<Vec<String>> {
    let kafka = lab::kafka().await?;
    let (input, output) = (lab::unique_name("clicks"), lab::unique_name("counts"));
    kafka.create_topic(&input, 1, 1).await?;
    kafka.create_topic(&output, 1, 1).await?;
    produce_at(&kafka, &input, events).await?;
    let group = lab::unique_name("counter");
    let consumer: StreamConsumer =
        processor_config(&kafka.bootstrap_servers(), &group).create()?;
    let producer: FutureProducer = kafka.client_config().create()?;
    let mut windows = Windows::new(10_000, 5_000);
    let idle = Duration::from_secs(3);
    lab::within(
        Duration::from_secs(40),
        format!(
            "the processor to read the {} events and go idle",
            events.len()
        ),
        run(
            &consumer,
            &producer,
            &input,
            &output,
            &mut windows,
            idle,
            |_| {},
        ),
    )
    .await??;
    output_of(&kafka, &output).await
}

/// The values on `output`, in order (read until 2 s pass without one).
async fn output_of(kafka: &lab::Kafka, output: &str) -> anyhow::Result<Vec<String>> {
    let records = read_isolated(
        kafka,
        output,
        "read_uncommitted",
        100,
        Duration::from_secs(2),
    )
    .await?;
    Ok(records.into_iter().map(|r| r.value).collect())
}

fn lines(expected: &[(&str, i64, u64)]) -> Vec<String> {
    expected
        .iter()
        .map(|(key, start, count)| format!("{key}@{start}={count}"))
        .collect()
}

/// Events are counted by the window of their timestamp (event time), including
/// one that arrives out of order within the grace period; a window's count is
/// produced once the watermark passes its end plus grace, and not before.
#[tokio::test]
async fn events_are_counted_in_their_event_time_window() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "counting 8 events in 10 s windows", async {
        let events = [
            ("alice", at(0)),
            ("bob", at(1)),
            ("alice", at(3)),
            ("alice", at(12)),
            ("bob", at(8)), // out of order, but within the 5 s of grace
            ("alice", at(16)), // watermark 16 s: [0, 10) closes (10 + 5 <= 16)
            ("bob", at(26)), // watermark 26 s: [10, 20) closes
            ("carol", at(40)), // watermark 40 s: [20, 30) closes; [40, 50) stays open
        ];
        let produced = process(&events).await?;
        let expected = lines(&[
            ("alice", at(0), 2),
            ("bob", at(0), 2),
            ("alice", at(10), 2),
            ("bob", at(20), 1),
        ]);
        assert!(
            !produced.is_empty(),
            "no window was produced, though the events span 40 s of event time and close 3 \
             windows: count each event in the window of its record's timestamp (event time); by \
             the clock (processing time) they all arrive within a second, in one window of today \
             ({WINDOWS})"
        );
        assert!(
            !produced.iter().any(|line| line.starts_with("late")),
            "bob's event at 8 s, read after alice's at 12 s, was reported late ({produced:?}): it \
             is within the 5 s of grace, so [0, 10) closes only when the watermark reaches 15 s \
             ({LATE})"
        );
        assert!(
            produced == expected,
            "the windows produced were {produced:?}, expected {expected:?} (key@window start=count, \
             in order; [40, 50) is still open, so it is not produced): each event belongs to the \
             window of its record's timestamp ({WINDOWS})"
        );
        Ok(())
    })
    .await
}

/// An event for a window that already closed is not counted (the window's count
/// is out) and not lost: it is produced as `late <key>@<window start>`.
#[tokio::test]
async fn a_late_event_is_reported_apart() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "an event 16 s behind the watermark", async {
        let events = [
            ("alice", at(0)),
            ("alice", at(2)),
            ("alice", at(20)), // watermark 20 s: [0, 10) closes with 2
            ("alice", at(4)),  // late: its window closed at 15 s
            ("alice", at(40)), // watermark 40 s: [20, 30) closes
        ];
        let produced = process(&events).await?;
        let mut expected = lines(&[("alice", at(0), 2)]);
        expected.push(format!("late alice@{}", at(0)));
        expected.extend(lines(&[("alice", at(20), 1)]));
        let counts_of_first = produced
            .iter()
            .filter(|line| line.starts_with(&format!("alice@{}=", at(0))))
            .count();
        assert!(
            counts_of_first <= 1,
            "window [0, 10) was produced {counts_of_first} times ({produced:?}): the late event \
             reopened it and it closed again with a count of 1 (an event whose window has \
             closed is late: test that before counting it) ({LATE})"
        );
        assert!(
            produced.iter().any(|line| line.starts_with("late")),
            "the late event at 4 s vanished ({produced:?}): its window had closed at 15 s, and \
             nothing downstream learns that its count was short. Produce it as `late <key>@<window \
             start>` ({LATE})"
        );
        assert!(
            produced == expected,
            "the output was {produced:?}, expected {expected:?}: a late event is neither counted \
             in its closed window nor in another one; it is reported apart ({LATE})"
        );
        Ok(())
    })
    .await
}

/// The crash: a processor process counts 5 events of one window, which stays open,
/// and is killed (SIGKILL). A new processor in the same group resumes from the
/// group's committed offset: the window's count must still be 5 + what came after.
#[tokio::test]
async fn a_killed_processor_loses_no_counts() -> anyhow::Result<()> {
    lab::check(CHECK_TIMEOUT, "killing a processor in the middle of a window", async {
        let kafka = lab::kafka().await?;
        let (input, output) = (lab::unique_name("clicks"), lab::unique_name("counts"));
        kafka.create_topic(&input, 1, 1).await?;
        kafka.create_topic(&output, 1, 1).await?;
        let group = lab::unique_name("counter");
        let open: Vec<(&str, i64)> = (0..5).map(|s| ("alice", at(s))).collect();
        produce_at(&kafka, &input, &open).await?;
        let args = [kafka.bootstrap_servers(), input.clone(), output.clone(), group.clone()];
        let mut processor = lab::ClientProcess::spawn(WINDOW_PROCESSOR, args)?;
        let reached = processor
            .line_containing("processed 4", Duration::from_secs(40))
            .await;
        if let Err(error) = reached {
            anyhow::bail!(
                "the processor process never processed offset 4 (it printed {:?}): {error}",
                processor.lines_seen()
            );
        }
        processor.kill().await?;
        // The dead member holds the partition until its 6 s session times out.
        let empty = |g: &Option<(String, usize)>| g.as_ref().is_some_and(|(s, _)| s == "Empty");
        until_group(&kafka, &group, Duration::from_secs(30), "the killed member's session to expire", empty).await?;
        // After the kill: one more event of the open window, then one that closes it.
        produce_at(&kafka, &input, &[("alice", at(7)), ("bob", at(30))]).await?;
        let consumer: StreamConsumer =
            processor_config(&kafka.bootstrap_servers(), &group).create()?;
        let producer: FutureProducer = kafka.client_config().create()?;
        let mut windows = Windows::new(10_000, 5_000);
        lab::within(
            Duration::from_secs(45),
            "the restarted processor to resume and go idle",
            run(&consumer, &producer, &input, &output, &mut windows, Duration::from_secs(4), |_| {}),
        )
        .await??;
        let produced = output_of(&kafka, &output).await?;
        let expected = lines(&[("alice", at(0), 6)]);
        assert!(
            produced == expected,
            "after the kill, the restarted processor produced {produced:?} for window [0, 10), \
             which holds 6 events (5 before the kill, 1 after): the killed process had committed \
             offsets of records whose window was still open, so the restart skipped them and \
             their counts were lost. Commit only up to the first record of the oldest open window \
             ({COMMIT})"
        );
        Ok(())
    })
    .await
}

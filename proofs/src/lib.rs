//! Helpers for proofs: each proof observes a quiz answer on a live broker and
//! compares it with the key in the quiz file (the only copy of the key).
//!
//! - [`prove`]: runs one proof, bounded, and compares what it observed with the
//!   key ([`assert_key`]), naming the question when they differ.
//! - [`proof!`]: declares the proof of one question, named after its slug.
//! - The broker steps themselves are the lab's ([`lab::rabbitmq::steps`],
//!   [`lab::kafka::steps`]), shared with the exercise checks.
//! - `src/bin/killable_consumer.rs`, `src/bin/kafka_crash_consumer.rs`: consumers
//!   run as their own processes, so a proof can kill them for real (see
//!   [`lab::ClientProcess`]); `src/bin/replying_server.rs`: an RPC server that
//!   replies, then is killed before it acks (chapter 7).

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use quiz::{Given, Kind, Quiz};

/// Where the quiz files are: `book/quizzes/` of the checkout the tests run in
/// (cargo runs them from this package's folder).
pub fn quizzes_dir() -> PathBuf {
    let root = std::env::current_dir()
        .ok()
        .and_then(|dir| workbook::find_root(&dir))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
    workbook::quizzes_dir(&root)
}

/// What a proof saw on the broker, in the terms a quiz answer uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed(Given);

impl From<bool> for Observed {
    /// A yes/no observation answers a "Yes"/"No" question.
    fn from(yes: bool) -> Observed {
        Observed(Given::One(if yes { "Yes" } else { "No" }.into()))
    }
}

impl From<usize> for Observed {
    /// A count answers a "how many" question.
    fn from(count: usize) -> Observed {
        Observed(Given::One(count.to_string()))
    }
}

impl From<i64> for Observed {
    /// An offset or other number.
    fn from(number: i64) -> Observed {
        Observed(Given::One(number.to_string()))
    }
}

impl From<Vec<&str>> for Observed {
    /// The options that held, for a question with several right answers.
    fn from(options: Vec<&str>) -> Observed {
        Observed(Given::Many(options.into_iter().map(String::from).collect()))
    }
}

/// Asserts that what the broker showed is the answer key of question `slug` of
/// `chapter`, which must be a behavioural question.
pub fn assert_key(chapter: &str, slug: &str, observed: impl Into<Observed>) {
    let observed = observed.into();
    let quiz = Quiz::load(&quizzes_dir(), chapter)
        .unwrap_or_else(|error| panic!("the quiz of {chapter} must load: {error}"));
    let question = quiz
        .question(slug)
        .unwrap_or_else(|| panic!("{chapter} has no question `{slug}` for this proof"));
    assert_eq!(
        question.kind,
        Some(Kind::Behaviour),
        "{} is proven, so its id must say `behaviour`",
        question.id
    );
    // Shown with `-- --nocapture`, as in a live demo (see the speaker notes).
    println!(
        "{}: the broker showed {}; the quiz key is {}",
        question.id, observed.0, question.key
    );
    assert!(
        question.accepts(&observed.0),
        "the quiz key of {} is {:?}, but the broker showed {:?}",
        question.id,
        question.key.to_string(),
        observed.0.to_string()
    );
}

/// Declares the proof of one behavioural question: a test named after the
/// question's slug that runs `experiment` and compares what it observed with the
/// answer key (see [`prove`]). The name is the slug, so the two cannot drift apart.
/// Each proofs file sets `const CHAPTER: &str` to its chapter.
///
/// ```text
/// const CHAPTER: &str = "01_first_contact";
///
/// proofs::proof!(first_offset, async {
///     let offset: i64 = 0; // ... produce a record, read its delivery report ...
///     Ok(offset)
/// });
/// ```
#[macro_export]
macro_rules! proof {
    ($(#[$attribute:meta])* $slug:ident, $experiment:expr $(,)?) => {
        $(#[$attribute])*
        #[tokio::test]
        async fn $slug() -> anyhow::Result<()> {
            $crate::prove(CHAPTER, stringify!($slug), $experiment).await
        }
    };
}

/// Runs one proof: `experiment` observes the answer on a live broker (bounded as a
/// whole, so it fails instead of hanging), and what it observed must be the answer
/// key of question `slug` of `chapter`.
///
/// ```no_run
/// # async fn demo() -> anyhow::Result<()> {
/// proofs::prove("01_first_contact", "first_offset", async {
///     let offset: i64 = 0; // ... produce a record, read its delivery report ...
///     Ok(offset)
/// })
/// .await
/// # }
/// ```
pub async fn prove<T: Into<Observed>>(
    chapter: &str,
    slug: &str,
    experiment: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<()> {
    let what = format!("the proof of {chapter}/{slug} to finish");
    let observed = lab::within(Duration::from_secs(240), what, experiment).await??;
    assert_key(chapter, slug, observed);
    Ok(())
}

//! Helpers for proofs: each proof observes a quiz answer on a live broker and
//! compares it with the key in the quiz file (the only copy of the key).
//!
//! - [`rabbit`]: RabbitMQ steps the proofs of chapters 2 to 5 share.
//! - `src/bin/killable_consumer.rs`: a consumer run as its own process, so a proof
//!   can kill it for real (see [`lab::ClientProcess`]).

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use quiz::{Given, Kind, Quiz};

pub mod rabbit;

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
pub struct Observed(String);

impl From<bool> for Observed {
    /// A yes/no observation answers a "Yes"/"No" question.
    fn from(yes: bool) -> Observed {
        Observed(if yes { "Yes" } else { "No" }.into())
    }
}

impl From<usize> for Observed {
    /// A count answers a "how many" question.
    fn from(count: usize) -> Observed {
        Observed(count.to_string())
    }
}

impl From<i64> for Observed {
    /// An offset or other number.
    fn from(number: i64) -> Observed {
        Observed(number.to_string())
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
    assert!(
        question.accepts(&Given::One(observed.0.clone())),
        "the quiz key of {} is {:?}, but the broker showed {:?}",
        question.id,
        question.key.to_string(),
        observed.0
    );
}

/// Bounds a proof as a whole, so it fails instead of hanging.
pub async fn bounded(
    proof: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    lab::within(Duration::from_secs(240), "the proof to finish", proof).await?
}

//! The workbook's layout, read from `info.toml`: which exercises exist, in which
//! order, with which chapter, brokers and hints, and where each of their parts lives.
//!
//! `info.toml` is the one list of exercises (as in rustlings). Everything else is
//! derived from an exercise's `name`, e.g. `01_first_contact`:
//!
//! | part | path | package |
//! |---|---|---|
//! | exercise | `exercises/<name>/` | `exercise_<name>` |
//! | solution | `solutions/<name>/` | `solution_<name>` |
//! | checks | `exercises/<name>/tests/check.rs` (run against both) | |
//! | chapter | `book/src/<chapter>` | |
//! | quiz | `book/quizzes/<name>.toml` | |
//! | proofs | `proofs/<name>.rs` | `proofs` |
//!
//! [`Workbook`] is a checkout: its root and its `info.toml`. [`libtest`] reads
//! what a check binary printed.
//!
//! Beside an exercise, `exercises/<name>/wrong/*.rs` are plausible wrong solutions
//! its checks must reject, and `solutions/<name>/variants/*.rs` correct solutions of
//! another design they must accept (see [`Exercise::wrong_solutions`]).

pub mod libtest;

use std::path::{Path, PathBuf};

use lab::Topology;
use serde::Deserialize;

/// What went wrong finding or reading the workbook; one line.
#[derive(Debug, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(InfoErrorKind),
    derive(strum::EnumIter),
    doc = "The variants of [`InfoError`], for the book's troubleshooting page."
)]
pub enum InfoError {
    /// No `info.toml` in the folder or above it.
    #[error("{} is not inside a brokerlings checkout (no info.toml here or above)", .start.display())]
    NotFound {
        /// Where we looked from.
        start: PathBuf,
    },
    /// A name that `info.toml` does not list.
    #[error("unknown exercise `{name}`; known: {known}")]
    UnknownExercise {
        /// The name given.
        name: String,
        /// The names listed, comma-separated.
        known: String,
    },
    /// It could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not what we expect.
    #[error("{path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, on one line.
        reason: String,
    },
}

impl InfoError {
    /// Every variant with an example line, its cause and its fix (the book's
    /// troubleshooting page; a new variant does not compile until it is here).
    pub fn troubleshooting() -> Vec<(String, &'static str, &'static str)> {
        use strum::IntoEnumIterator;
        InfoErrorKind::iter()
            .map(|kind| {
                let (error, cause, fix) = match kind {
                    InfoErrorKind::NotFound => (
                        InfoError::NotFound {
                            start: "/home/ada".into(),
                        },
                        "the CLI ran outside the clone of brokerlings",
                        "`cd` into your clone (the folder with info.toml) and run it again",
                    ),
                    InfoErrorKind::UnknownExercise => (
                        InfoError::UnknownExercise {
                            name: "02_workqueues".into(),
                            known: "01_first_contact, 02_work_queues, …".into(),
                        },
                        "a misspelt exercise name",
                        "`brokerlings list` shows the names",
                    ),
                    InfoErrorKind::Read => (
                        InfoError::Read {
                            path: "info.toml".into(),
                            source: std::io::Error::from(std::io::ErrorKind::NotFound),
                        },
                        "a file of the workbook is missing or unreadable",
                        "`git status` shows what changed; `git checkout -- info.toml` restores it",
                    ),
                    InfoErrorKind::Malformed => (
                        InfoError::Malformed {
                            path: "info.toml".into(),
                            reason: "unknown broker `rabbitmq`".into(),
                        },
                        "info.toml was edited into something the CLI cannot read",
                        "the reason names the line; `git diff info.toml` shows the edit",
                    ),
                };
                (error.to_string(), cause, fix)
            })
            .collect()
    }
}

/// The contents of `info.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Info {
    /// Version of this file's format; 1.
    pub format_version: u32,
    /// The exercises, in the order a learner does them.
    #[serde(default)]
    pub exercises: Vec<Exercise>,
}

/// One exercise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// `NN_slug`: the name of its folders, quiz and proofs.
    pub name: String,
    /// The book page that explains it, relative to `book/src/`.
    pub chapter: String,
    /// The topologies its checks need, written as `rabbit`, `kafka`,
    /// `rabbit-cluster`, `kafka-cluster` (any other name is an error).
    pub brokers: Vec<Topology>,
    /// Hints, from a nudge to nearly the answer, shown one at a time.
    pub hints: Vec<String>,
}

impl Exercise {
    /// The exercise crate's folder.
    pub fn exercise_dir(&self, root: &Path) -> PathBuf {
        root.join("exercises").join(&self.name)
    }
    /// The solution crate's folder.
    pub fn solution_dir(&self, root: &Path) -> PathBuf {
        root.join("solutions").join(&self.name)
    }
    /// The exercise's package name.
    pub fn exercise_package(&self) -> String {
        format!("exercise_{}", self.name)
    }
    /// The solution's package name.
    pub fn solution_package(&self) -> String {
        format!("solution_{}", self.name)
    }
    /// The checks, written once in the exercise.
    pub fn checks(&self, root: &Path) -> PathBuf {
        self.exercise_dir(root).join("tests").join("check.rs")
    }
    /// The chapter page.
    pub fn chapter_page(&self, root: &Path) -> PathBuf {
        root.join("book").join("src").join(&self.chapter)
    }
    /// The quiz file.
    pub fn quiz(&self, root: &Path) -> PathBuf {
        quizzes_dir(root).join(format!("{}.toml", self.name))
    }
    /// The proofs of the quiz's behavioural questions.
    pub fn proofs(&self, root: &Path) -> PathBuf {
        proofs_dir(root).join(format!("{}.rs", self.name))
    }

    /// The folder of its plausible wrong solutions, `exercises/<name>/wrong/`.
    pub fn wrong_solutions(&self, root: &Path) -> PathBuf {
        self.exercise_dir(root).join("wrong")
    }

    /// The folder of its correct solutions of another design,
    /// `solutions/<name>/variants/`.
    pub fn variants(&self, root: &Path) -> PathBuf {
        self.solution_dir(root).join("variants")
    }
}

/// `proofs/`: the package `proofs`.
pub fn proofs_dir(root: &Path) -> PathBuf {
    root.join("proofs")
}

/// A checkout of the workbook: where it is, and its exercises.
#[derive(Debug, Clone)]
pub struct Workbook {
    /// The checkout's root (where `info.toml` is).
    pub root: PathBuf,
    /// Its `info.toml`.
    pub info: Info,
}

impl Workbook {
    /// The checkout that `start` is in (the nearest folder at or above it that
    /// holds `info.toml`), with its `info.toml` read.
    pub fn find(start: &Path) -> Result<Workbook, InfoError> {
        let root = find_root(start).ok_or_else(|| InfoError::NotFound {
            start: start.to_path_buf(),
        })?;
        let info = Info::load(&root)?;
        Ok(Workbook { root, info })
    }

    /// The exercise called `name`, or an error listing the known ones.
    pub fn exercise(&self, name: &str) -> Result<&Exercise, InfoError> {
        self.info.exercise(name).ok_or_else(|| {
            let known: Vec<&str> = self
                .info
                .exercises
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            InfoError::UnknownExercise {
                name: name.to_string(),
                known: known.join(", "),
            }
        })
    }

    /// `book/quizzes/` of this checkout.
    pub fn quizzes_dir(&self) -> PathBuf {
        quizzes_dir(&self.root)
    }
}

/// `book/quizzes/`.
pub fn quizzes_dir(root: &Path) -> PathBuf {
    root.join("book").join("quizzes")
}

impl Info {
    /// Reads `<root>/info.toml`.
    pub fn load(root: &Path) -> Result<Info, InfoError> {
        let path = root.join("info.toml");
        let text = std::fs::read_to_string(&path).map_err(|source| InfoError::Read {
            path: path.clone(),
            source,
        })?;
        let info: Info = toml::from_str(&text).map_err(|e| InfoError::Malformed {
            path: path.clone(),
            reason: e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })?;
        if info.format_version != 1 {
            return Err(InfoError::Malformed {
                path,
                reason: format!("format_version {} is not 1", info.format_version),
            });
        }
        Ok(info)
    }

    /// The exercise called `name`.
    pub fn exercise(&self, name: &str) -> Option<&Exercise> {
        self.exercises.iter().find(|e| e.name == name)
    }
}

/// The workspace root: the nearest folder above `start` holding `info.toml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("info.toml").is_file())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A misspelt broker in info.toml is an error naming the valid ones.
    #[test]
    fn an_unknown_broker_name_is_an_error() {
        let text = "format_version = 1\n[[exercises]]\nname = \"01_x\"\nchapter = \"c.md\"\nbrokers = [\"rabit\"]\nhints = [\"h\"]\n";
        let error = toml::from_str::<Info>(text).expect_err("rabit is no topology");
        assert!(
            error
                .to_string()
                .contains("unknown topology `rabit`; known: rabbit, kafka"),
            "{error}"
        );
    }
}

//! The checkout the CLI works on: its root, `info.toml` and the learner's state.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use workbook::{Exercise, Info};

use crate::state::State;

/// Everything a command needs about the checkout.
pub struct Workbook {
    /// The checkout's root (where `info.toml` is).
    pub root: PathBuf,
    /// The exercises.
    pub info: Info,
    /// The learner's progress.
    pub state: State,
}

impl Workbook {
    /// Finds the checkout from the current directory (or `BROKERLINGS_ROOT`).
    pub fn open() -> Result<Workbook> {
        let start = match std::env::var_os("BROKERLINGS_ROOT") {
            Some(root) => PathBuf::from(root),
            None => std::env::current_dir().context("reading the current directory")?,
        };
        let root = workbook::find_root(&start).with_context(|| {
            format!(
                "{} is not inside a brokerlings checkout (no info.toml here or above)",
                start.display()
            )
        })?;
        let info = Info::load(&root)?;
        let state = State::load(&root)?;
        Ok(Workbook { root, info, state })
    }

    /// The exercise called `name`, or an error listing the known ones.
    pub fn exercise(&self, name: &str) -> Result<&Exercise> {
        match self.info.exercise(name) {
            Some(exercise) => Ok(exercise),
            None => {
                let known: Vec<&str> = self
                    .info
                    .exercises
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect();
                bail!("unknown exercise `{name}`; known: {}", known.join(", "))
            }
        }
    }

    /// The exercise to work on: the current one, else the first not done.
    pub fn current(&self) -> Option<&Exercise> {
        let current = self
            .state
            .current
            .as_deref()
            .and_then(|name| self.info.exercise(name));
        current.or_else(|| self.next_pending(None))
    }

    /// The first exercise after `after` (or from the start) that is not done.
    pub fn next_pending(&self, after: Option<&str>) -> Option<&Exercise> {
        let start = after
            .and_then(|name| self.info.exercises.iter().position(|e| e.name == name))
            .map_or(0, |i| i + 1);
        self.info.exercises[start..]
            .iter()
            .chain(self.info.exercises[..start].iter())
            .find(|e| !self.state.done.contains(&e.name))
    }

    /// How many exercises are done, of how many.
    pub fn progress(&self) -> (usize, usize) {
        let done = self
            .info
            .exercises
            .iter()
            .filter(|e| self.state.done.contains(&e.name))
            .count();
        (done, self.info.exercises.len())
    }
}

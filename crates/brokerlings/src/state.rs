//! The learner's progress, kept in `.brokerlings/state.toml` at the checkout's root.
//!
//! ```toml
//! # brokerlings progress (written by the CLI; delete it to start over)
//! format_version = 1
//! current = "01_first_contact"     # the exercise watch mode shows
//! done = ["01_first_contact"]      # exercises whose checks passed last time they ran
//!
//! [hints_shown]                    # how many hints each exercise has revealed
//! 01_first_contact = 2
//! ```
//!
//! A missing file means a fresh start. A file that cannot be read is recovered: it
//! is set aside as `state.toml.corrupt`, a fresh one takes its place, and the
//! command stops with a one-line error saying so (exit 1). Running the command
//! again works; `check --all` recounts what is done. Stopping (rather than going on
//! with a warning) makes sure the learner sees it: watch mode clears the screen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use workbook::{Exercise, Info};

/// The progress of one learner in one checkout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Always 1 for now.
    pub format_version: u32,
    /// The exercise watch mode shows.
    pub current: Option<String>,
    /// Exercises whose checks passed the last time they ran.
    #[serde(default)]
    pub done: BTreeSet<String>,
    /// Hints revealed so far, per exercise.
    #[serde(default)]
    pub hints_shown: BTreeMap<String, usize>,
}

/// Where the state file lives in a checkout.
pub fn path(root: &Path) -> PathBuf {
    root.join(".brokerlings").join("state.toml")
}

impl State {
    /// Loads the state. A corrupt file is recovered (set aside, replaced by a fresh
    /// state) and reported as an error, so that the learner learns of it.
    pub fn load(root: &Path) -> Result<State> {
        let path = path(root);
        let fresh = State {
            format_version: 1,
            ..State::default()
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(fresh);
        };
        let problem = match toml::from_str::<State>(&text) {
            Ok(state) if state.format_version == 1 => return Ok(state),
            Ok(state) => format!("unknown format_version {}", state.format_version),
            Err(error) => error.message().to_string(),
        };
        let aside = path.with_extension("toml.corrupt");
        std::fs::rename(&path, &aside).with_context(|| {
            format!("setting the unreadable {} aside", path.display())
        })?;
        fresh.save(root)?;
        Err(brokerlings::errors::CliError::ProgressUnreadable {
            path,
            problem,
            aside,
        }
        .into())
    }

    /// Saves the state atomically (write, then rename).
    pub fn save(&self, root: &Path) -> Result<()> {
        let path = path(root);
        let dir = path.parent().context("the state file has a folder")?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        let text = format!(
            "# brokerlings progress (written by the CLI; delete it to start over)\n{}",
            toml::to_string(self).context("serialising the progress")?
        );
        let temporary = path.with_extension("toml.tmp");
        std::fs::write(&temporary, text)
            .with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, &path)
            .with_context(|| format!("replacing {}", path.display()))
    }

    /// Records the verdict of a check run.
    pub fn record(&mut self, exercise: &str, passed: bool) {
        if passed {
            self.done.insert(exercise.to_string());
        } else {
            self.done.remove(exercise);
        }
    }

    /// Whether `exercise` is done.
    pub fn is_done(&self, exercise: &str) -> bool {
        self.done.contains(exercise)
    }

    /// The exercise to work on: the current one, else the first not done.
    pub fn current<'a>(&self, info: &'a Info) -> Option<&'a Exercise> {
        let current = self.current.as_deref().and_then(|name| info.exercise(name));
        current.or_else(|| self.next_pending(info, None))
    }

    /// The first exercise after `after` (or from the start), going round, that is
    /// not done.
    pub fn next_pending<'a>(
        &self,
        info: &'a Info,
        after: Option<&str>,
    ) -> Option<&'a Exercise> {
        let start = after
            .and_then(|name| info.exercises.iter().position(|e| e.name == name))
            .map_or(0, |i| i + 1);
        info.exercises[start..]
            .iter()
            .chain(info.exercises[..start].iter())
            .find(|e| !self.is_done(&e.name))
    }

    /// How many exercises of `info` are done, of how many.
    pub fn progress(&self, info: &Info) -> (usize, usize) {
        let done = info
            .exercises
            .iter()
            .filter(|e| self.is_done(&e.name))
            .count();
        (done, info.exercises.len())
    }

    /// Reveals one more hint of `exercise` (up to all of them); returns how many
    /// are shown now.
    pub fn reveal_hint(&mut self, exercise: &Exercise) -> usize {
        let shown = self.hints_shown.entry(exercise.name.clone()).or_insert(0);
        *shown = (*shown + 1).min(exercise.hints.len());
        *shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    /// What is saved is what is loaded.
    #[test]
    fn state_round_trips() {
        let root = scratch("round-trip");
        let mut state = State::load(&root).expect("a missing file is a fresh start");
        state.current = Some("01_first_contact".into());
        state.record("01_first_contact", true);
        state.hints_shown.insert("01_first_contact".into(), 2);
        state.save(&root).expect("saves");
        assert_eq!(State::load(&root).expect("loads"), state);
    }

    /// A corrupt file is set aside and replaced, and the learner is told; the next
    /// load starts fresh. Never a crash.
    #[test]
    fn corrupt_state_is_recovered_and_reported() {
        let root = scratch("corrupt");
        std::fs::create_dir_all(root.join(".brokerlings")).expect("temp dir");
        std::fs::write(path(&root), "current = [[[ not toml").expect("temp file");
        let error = State::load(&root).expect_err("a corrupt file is reported");
        let message = format!("{error:#}");
        assert!(!message.contains('\n'), "one line: {message}");
        assert!(message.contains("state.toml.corrupt"), "{message}");
        assert!(root.join(".brokerlings/state.toml.corrupt").exists());
        let state = State::load(&root).expect("the fresh file loads");
        assert_eq!(state.done.len(), 0);
    }
}

//! What watch mode knows, in one place: the exercise on screen, its status, the
//! note below it, and the queue of checks. The loop (`mod.rs`) only feeds it events
//! and draws its [`Screen`].

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use workbook::{Exercise, Workbook};

use super::screen::{Screen, Status};
use crate::runner::Outcome;
use crate::state::State as Progress;

/// The checks asked for: at most one runs at a time (they share the brokers and
/// the machine's cores), and no exercise waits twice in the queue, so two checks of
/// one exercise can never run together.
#[derive(Debug, Default)]
pub struct Checks {
    running: Option<String>,
    queued: VecDeque<String>,
}

impl Checks {
    /// Asks for a check of `name` ahead of the others: its files changed, so even a
    /// check of it that runs now is out of date and it runs again after that one.
    pub fn recheck(&mut self, name: &str) {
        self.queued.retain(|queued| queued != name);
        self.queued.push_front(name.to_string());
    }

    /// Asks for a check of `name` after the others, unless it runs or waits already.
    pub fn check_later(&mut self, name: &str) {
        if self.running.as_deref() != Some(name) && !self.is_queued(name) {
            self.queued.push_back(name.to_string());
        }
    }

    /// The check to start now: the first one waiting, if none runs.
    pub fn start_next(&mut self) -> Option<String> {
        if self.running.is_some() {
            return None;
        }
        self.running = self.queued.pop_front();
        self.running.clone()
    }

    /// The check of `name` ended.
    pub fn finished(&mut self, name: &str) {
        if self.running.as_deref() == Some(name) {
            self.running = None;
        }
    }

    /// The exercise whose check runs now.
    pub fn running(&self) -> Option<&str> {
        self.running.as_deref()
    }

    /// Whether a check of `name` waits its turn.
    pub fn is_queued(&self, name: &str) -> bool {
        self.queued.iter().any(|queued| queued == name)
    }
}

/// Watch mode's state.
pub struct WatchState {
    workbook: Workbook,
    progress: Progress,
    exercise: Exercise,
    checks: Checks,
    status: Status,
    note: Option<String>,
    manual: bool,
    /// When the exercise on screen was last asked to be checked.
    asked: Instant,
    frame: usize,
}

impl WatchState {
    /// Watch mode on `exercise`, whose first check is asked for at once.
    pub fn new(
        workbook: Workbook,
        progress: Progress,
        exercise: Exercise,
        manual: bool,
    ) -> WatchState {
        let mut state = WatchState {
            workbook,
            progress,
            exercise,
            checks: Checks::default(),
            status: Status::checking(),
            note: None,
            manual,
            asked: Instant::now(),
            frame: 0,
        };
        state.recheck();
        state
    }

    /// The checkout's root.
    pub fn root(&self) -> &Path {
        &self.workbook.root
    }

    /// The folder of the exercise on screen that the learner edits.
    pub fn source_dir(&self) -> PathBuf {
        self.exercise.exercise_dir(&self.workbook.root).join("src")
    }

    /// The exercise whose check should start now, if any.
    pub fn start_next_check(&mut self) -> Option<Exercise> {
        let name = self.checks.start_next()?;
        self.workbook.exercise(&name).ok().cloned()
    }

    /// A save (or `r`): check the exercise on screen again.
    pub fn recheck(&mut self) {
        self.checks.recheck(&self.exercise.name);
        self.asked = Instant::now();
        self.status = Status::checking();
        self.note = None;
    }

    /// Time passes: the spinner turns, the seconds count.
    pub fn tick(&mut self) {
        self.frame += 1;
        if let Status::Checking { seconds, frame, .. } = &mut self.status {
            *seconds = self.asked.elapsed().as_secs();
            *frame = self.frame;
        }
    }

    /// What the running check of `name` is doing now.
    pub fn step(&mut self, name: &str, now: String) {
        if let Status::Checking { step, .. } = &mut self.status
            && name == self.exercise.name
        {
            *step = now;
        }
    }

    /// The check of `name` ended with `result`: record it, show it.
    pub fn checked(&mut self, name: &str, result: Result<Outcome, String>) -> Result<()> {
        self.checks.finished(name);
        let outcome = result.unwrap_or_else(|error| Outcome::Failed {
            check: "the checks could not run".into(),
            message: error,
        });
        self.progress.record(name, outcome.passed());
        self.progress.save(&self.workbook.root)?;
        if name != self.exercise.name {
            let verdict = if outcome.passed() { "✓" } else { "✗" };
            let line = format!("{verdict} {name}");
            self.note = Some(match self.note.take() {
                Some(note) => format!("{note}\n{line}"),
                None => line,
            });
        } else if !self.checks.is_queued(name) {
            self.status = Status::Done(outcome);
        }
        Ok(())
    }

    /// `n`: the next pending exercise, checked at once (or right after the one
    /// running).
    pub fn next_exercise(&mut self) -> Result<()> {
        let next = self
            .progress
            .next_pending(&self.workbook.info, Some(&self.exercise.name))
            .cloned();
        match next {
            Some(next) if next.name != self.exercise.name => {
                self.progress.current = Some(next.name.clone());
                self.progress.save(&self.workbook.root)?;
                self.exercise = next;
                self.recheck();
            }
            _ => self.note = Some("no other exercise is pending".into()),
        }
        Ok(())
    }

    /// `h`: one more hint of the exercise on screen.
    pub fn hint(&mut self) -> Result<()> {
        let text = crate::cmd::hint::reveal(
            &mut self.progress,
            &self.workbook.root,
            &self.exercise,
        )?;
        self.note = Some(text);
        Ok(())
    }

    /// `l`: every exercise, ticked when done.
    pub fn list(&mut self) {
        let lines: Vec<String> = self
            .workbook
            .info
            .exercises
            .iter()
            .map(|e| {
                let mark = if self.progress.is_done(&e.name) {
                    "✓"
                } else {
                    "·"
                };
                format!("{mark} {}", e.name)
            })
            .collect();
        self.note = Some(lines.join("\n"));
    }

    /// `c`: check every exercise, one after the other.
    pub fn check_all(&mut self) {
        self.note = Some("checking every exercise …".into());
        for exercise in &self.workbook.info.exercises {
            self.checks.check_later(&exercise.name);
        }
    }

    /// What to draw now.
    pub fn screen(&self) -> Screen {
        let (done, total) = self.progress.progress(&self.workbook.info);
        let mut status = self.status.clone();
        if let (Status::Checking { step, .. }, Some(running)) =
            (&mut status, self.checks.running())
            && running != self.exercise.name
        {
            *step = format!("waiting for the check of {running}");
        }
        Screen {
            exercise: self.exercise.name.clone(),
            chapter: self.exercise.chapter.clone(),
            file: format!("exercises/{}/src/lib.rs", self.exercise.name),
            done,
            total,
            status,
            note: self.note.clone(),
            manual: self.manual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A save during a check queues exactly one more, however many saves came.
    #[test]
    fn saves_during_a_check_queue_one_recheck() {
        let mut checks = Checks::default();
        checks.recheck("01");
        assert_eq!(checks.start_next().as_deref(), Some("01"));
        checks.recheck("01");
        checks.recheck("01");
        assert_eq!(checks.start_next(), None, "one check at a time");
        checks.finished("01");
        assert_eq!(checks.start_next().as_deref(), Some("01"));
        checks.finished("01");
        assert_eq!(checks.start_next(), None, "and only one more");
    }

    /// Check all while the current exercise's check runs: it is not queued again,
    /// the others are, in order; a save then jumps the queue.
    #[test]
    fn check_all_never_runs_one_exercise_twice_at_once() {
        let mut checks = Checks::default();
        checks.recheck("01");
        assert_eq!(checks.start_next().as_deref(), Some("01"));
        for name in ["01", "02", "03"] {
            checks.check_later(name);
        }
        assert!(!checks.is_queued("01"), "01 runs already");
        checks.recheck("03");
        checks.finished("01");
        assert_eq!(checks.start_next().as_deref(), Some("03"), "the save first");
        checks.finished("03");
        assert_eq!(checks.start_next().as_deref(), Some("02"));
        checks.finished("02");
        assert_eq!(checks.start_next(), None);
    }
}

//! What watch mode shows: the screen is a pure function of [`Screen`] ([`render`]),
//! unit-tested below, and [`draw`] paints it over the last one.

use std::io::Write;

use anyhow::Result;
use crossterm::{cursor, queue, terminal};

use crate::runner::Outcome;
use crate::spinner;

/// What the screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    /// The current exercise.
    pub exercise: String,
    /// Its book page.
    pub chapter: String,
    /// The file to edit.
    pub file: String,
    /// Exercises done.
    pub done: usize,
    /// Exercises in all.
    pub total: usize,
    /// Where the current exercise's check is.
    pub status: Status,
    /// A hint, the list, or another message, below the status.
    pub note: Option<String>,
    /// Whether checks run only on `r` (no file watching).
    pub manual: bool,
}

/// Where the current exercise's check is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// A check is running or waiting its turn: what it is doing, for how long, and
    /// the spinner's frame.
    Checking {
        /// Building, starting brokers, running the checks.
        step: String,
        /// Seconds since it was asked for.
        seconds: u64,
        /// Which spinner frame to show.
        frame: usize,
    },
    /// The last check's outcome.
    Done(Outcome),
}

impl Status {
    /// A check that has just been asked for.
    pub fn checking() -> Status {
        Status::Checking {
            step: "starting".into(),
            seconds: 0,
            frame: 0,
        }
    }
}

/// The whole screen as text (lines end with `\n`).
pub fn render(screen: &Screen) -> String {
    let width = 30;
    let filled = (screen.done * width).checked_div(screen.total).unwrap_or(0);
    let bar = format!("{}{}", "█".repeat(filled), "░".repeat(width - filled));
    let status = match &screen.status {
        Status::Checking {
            step,
            seconds,
            frame,
        } => format!("{} {step} … {seconds} s", spinner::frame(*frame)),
        Status::Done(outcome) => outcome.describe(),
    };
    let mut text = format!(
        "brokerlings · {}   (book: {})\nedit: {}\n\n{status}\n",
        screen.exercise, screen.chapter, screen.file
    );
    if matches!(&screen.status, Status::Done(outcome) if outcome.passed()) {
        text.push_str(
            "\nDone! Press n for the next exercise, or take the quiz: brokerlings quiz ",
        );
        text.push_str(&screen.exercise);
        text.push('\n');
    }
    if let Some(note) = &screen.note {
        text.push('\n');
        text.push_str(note.trim_end());
        text.push('\n');
    }
    let trigger = if screen.manual {
        "r check now (manual mode)"
    } else {
        "checks run on save · r run"
    };
    text.push_str(&format!(
        "\n[{bar}] {}/{} done\n{trigger} · n next · h hint · l list · c check all · q quit\n",
        screen.done, screen.total
    ));
    text
}

/// Paints `text` over the last screen, line by line (no flicker).
pub fn draw(text: &str) -> Result<()> {
    let mut out = std::io::stdout();
    queue!(out, cursor::MoveTo(0, 0))?;
    for line in text.lines() {
        // Raw mode: every line needs its carriage return.
        write!(out, "{line}")?;
        queue!(out, terminal::Clear(terminal::ClearType::UntilNewLine))?;
        write!(out, "\r\n")?;
    }
    queue!(out, terminal::Clear(terminal::ClearType::FromCursorDown))?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn screen(status: Status) -> Screen {
        Screen {
            exercise: "01_first_contact".into(),
            chapter: "ch01-first-contact.md".into(),
            file: "exercises/01_first_contact/src/lib.rs".into(),
            done: 1,
            total: 4,
            status,
            note: None,
            manual: false,
        }
    }

    /// A failing check shows its own name and message, and the progress bar counts.
    #[test]
    fn a_failed_check_shows_its_message_and_progress() {
        let outcome = Outcome::Failed {
            check: "every_task_arrives_once_in_order".into(),
            message: "not yet implemented: publish the tasks".into(),
        };
        let text = render(&screen(Status::Done(outcome)));
        assert!(text.contains("✗ every_task_arrives_once_in_order:\nnot yet implemented: publish the tasks"), "{text}");
        assert!(text.contains("] 1/4 done"), "{text}");
        assert!(
            text.contains("███████░"),
            "a quarter of the bar is filled: {text}"
        );
        assert!(!text.contains("Done!"));
    }

    /// A pass says what to do next.
    #[test]
    fn a_pass_points_to_the_next_exercise_and_the_quiz() {
        let text = render(&screen(Status::Done(Outcome::Passed)));
        assert!(text.contains("✓ all checks pass"));
        assert!(text.contains("Press n for the next exercise"));
        assert!(text.contains("brokerlings quiz 01_first_contact"));
    }

    /// A hung check ends with the timeout message a learner can act on.
    #[test]
    fn a_timeout_asks_about_the_consumer() {
        let text = render(&screen(Status::Done(Outcome::TimedOut(
            Duration::from_secs(30),
        ))));
        assert!(text.contains(
            "check timed out after 30 s: did your consumer stop after the last message?"
        ));
    }

    /// A running check says what it is doing and for how long, with a spinner.
    #[test]
    fn a_running_check_shows_its_step_and_time() {
        let text = render(&screen(Status::Checking {
            step: "building exercise_01_first_contact · starting the single Kafka".into(),
            seconds: 7,
            frame: 13,
        }));
        assert!(
            text.contains(
                "⠸ building exercise_01_first_contact · starting the single Kafka … 7 s"
            ),
            "{text}"
        );
    }

    /// The screens as a learner sees them, under review: a changed line is a diff.
    #[test]
    fn the_screens_as_a_learner_sees_them() {
        let failed = Outcome::Failed {
            check: "every_task_arrives_once_in_order".into(),
            message: "not yet implemented: publish the tasks".into(),
        };
        insta::assert_snapshot!("failed", render(&screen(Status::Done(failed))));
        insta::assert_snapshot!("passed", render(&screen(Status::Done(Outcome::Passed))));
        let checking = Status::Checking {
            step: "building exercise_01_first_contact · starting the single Kafka".into(),
            seconds: 7,
            frame: 3,
        };
        let mut with_hint = screen(checking);
        with_hint.note = Some(
            "Hint 1 of 5: Start with RabbitMQ.\n(ask again for the next hint)".into(),
        );
        insta::assert_snapshot!("checking_with_a_hint", render(&with_hint));
    }

    /// Manual mode says how to run a check.
    #[test]
    fn manual_mode_says_press_r() {
        let mut s = screen(Status::checking());
        s.manual = true;
        assert!(render(&s).contains("r check now (manual mode)"));
    }
}

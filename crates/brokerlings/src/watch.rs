//! Watch mode, the default: the current exercise, re-checked on every save.
//!
//! The screen is a pure function of [`Screen`] ([`render`]), unit-tested below; the
//! loop feeds it events from three sources: file changes (debounced), key presses
//! and finished checks.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use crossterm::{cursor, execute, queue, terminal};
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use tokio::sync::mpsc;

use crate::commands::{self, describe};
use crate::runner::Outcome;
use crate::workbook_ctx::Workbook;

/// What the screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    /// The current exercise.
    pub exercise: String,
    /// Its book page.
    pub chapter: String,
    /// The file to edit.
    pub file: String,
    /// Exercises done, and in all.
    pub done: usize,
    /// Exercises in all.
    pub total: usize,
    /// Where the current check is.
    pub status: Status,
    /// A hint, the list, or another message, below the status.
    pub note: Option<String>,
    /// Whether checks run only on `r` (no file watching).
    pub manual: bool,
}

/// Where the current exercise's check is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// A check is running: what it is doing, for how long, and the spinner's frame.
    Checking {
        /// Building, starting brokers, running the checks.
        step: String,
        /// Seconds since the check started.
        seconds: u64,
        /// Which spinner frame to show.
        frame: usize,
    },
    /// The last check's outcome.
    Done(Outcome),
}

impl Status {
    /// A check that has just started.
    pub fn checking() -> Status {
        Status::Checking {
            step: "starting".into(),
            seconds: 0,
            frame: 0,
        }
    }
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

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
        } => format!("{} {step} … {seconds} s", SPINNER[frame % SPINNER.len()]),
        Status::Done(outcome) => describe(outcome),
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

enum Event {
    Saved,
    /// Time passes: the spinner turns.
    Tick,
    /// What the running check of an exercise is doing.
    Step(String, String),
    Key(KeyEvent),
    Checked(String, Result<Outcome, String>),
}

/// Restores the terminal however watch mode ends.
struct RawMode;

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(std::io::stdout(), cursor::Show);
    }
}

pub async fn run(manual: bool) -> Result<ExitCode> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "watch mode needs a terminal; in scripts use `brokerlings check NAME` or `check --all`"
        );
    }
    let mut workbook = Workbook::open()?;
    let Some(first) = workbook.current().cloned() else {
        println!(
            "Every exercise is done. `brokerlings list` shows them; `brokerlings quiz NAME` quizzes you."
        );
        return Ok(ExitCode::SUCCESS);
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let keys = tx.clone();
    std::thread::spawn(move || {
        while let Ok(event) = crossterm::event::read() {
            if let TermEvent::Key(key) = event
                && keys.send(Event::Key(key)).is_err()
            {
                break;
            }
        }
    });
    let saves = tx.clone();
    let mut debouncer = new_debouncer(
        Duration::from_millis(100),
        None,
        move |result: DebounceEventResult| {
            if result.is_ok_and(|events| events.iter().any(|e| is_edit(&e.kind))) {
                let _ = saves.send(Event::Saved);
            }
        },
    )
    .context("starting the file watcher (use --manual-run if watching fails here)")?;

    let _raw = RawMode;
    terminal::enable_raw_mode().context("switching the terminal to raw mode")?;
    let mut exercise = first;
    let (done, total) = workbook.progress();
    let mut screen = Screen {
        exercise: exercise.name.clone(),
        chapter: exercise.chapter.clone(),
        file: format!("exercises/{}/src/lib.rs", exercise.name),
        done,
        total,
        // The first check starts below, before the first draw.
        status: Status::checking(),
        note: None,
        manual,
    };
    let mut watched = None;
    let mut rerun = false;
    // A thread of its own: the lab's start-up can keep the runtime's workers busy.
    let ticks = tx.clone();
    std::thread::spawn(move || {
        while ticks.send(Event::Tick).is_ok() {
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    spawn_check(exercise.name.clone(), tx.clone());
    let mut running = true;
    let mut started = Instant::now();
    let mut shown = String::new();
    loop {
        if !manual && watched.as_deref() != Some(exercise.name.as_str()) {
            let src = exercise.exercise_dir(&workbook.root).join("src");
            if let Some(old) = &watched {
                let old_src = workbook.root.join("exercises").join(old).join("src");
                let _ = debouncer.unwatch(&old_src);
            }
            debouncer
                .watch(&src, RecursiveMode::Recursive)
                .with_context(|| {
                    format!(
                        "watching {} (use --manual-run if watching fails here)",
                        src.display()
                    )
                })?;
            watched = Some(exercise.name.clone());
        }
        let text = render(&screen);
        if text != shown {
            draw(&text)?;
            shown = text;
        }
        let Some(event) = rx.recv().await else { break };
        match event {
            Event::Saved
            | Event::Key(KeyEvent {
                code: KeyCode::Char('r'),
                ..
            }) => {
                if matches!(event, Event::Saved) && manual {
                    continue;
                }
                if running {
                    rerun = true;
                } else {
                    running = true;
                    started = Instant::now();
                    screen.status = Status::checking();
                    screen.note = None;
                    spawn_check(exercise.name.clone(), tx.clone());
                }
            }
            Event::Tick => {
                if let Status::Checking { seconds, frame, .. } = &mut screen.status {
                    *seconds = started.elapsed().as_secs();
                    *frame += 1;
                }
            }
            Event::Step(name, now) => {
                if let Status::Checking { step, .. } = &mut screen.status
                    && name == exercise.name
                {
                    *step = now;
                }
            }
            Event::Checked(name, result) => {
                if name == exercise.name {
                    running = false;
                }
                workbook = Workbook::open()?;
                match result {
                    Ok(outcome) => {
                        workbook.state.record(&name, outcome.passed());
                        workbook.state.save(&workbook.root)?;
                        if name == exercise.name {
                            screen.status = Status::Done(outcome);
                        } else {
                            let verdict = if outcome.passed() { "✓" } else { "✗" };
                            let line = format!("{verdict} {name}");
                            screen.note = Some(match screen.note.take() {
                                Some(note) => format!("{note}\n{line}"),
                                None => line,
                            });
                        }
                    }
                    Err(error) => screen.note = Some(format!("error: {error}")),
                }
                (screen.done, screen.total) = workbook.progress();
                if rerun {
                    rerun = false;
                    running = true;
                    started = Instant::now();
                    screen.status = Status::checking();
                    spawn_check(exercise.name.clone(), tx.clone());
                }
            }
            Event::Key(key) => match key.code {
                KeyCode::Char('q') | KeyCode::Esc => break,
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    break;
                }
                KeyCode::Char('h') => {
                    screen.note = Some(commands::reveal_hint(&mut workbook, &exercise)?);
                }
                KeyCode::Char('l') => {
                    let lines: Vec<String> = workbook
                        .info
                        .exercises
                        .iter()
                        .map(|e| {
                            let mark = if workbook.state.done.contains(&e.name) {
                                "✓"
                            } else {
                                "·"
                            };
                            format!("{mark} {}", e.name)
                        })
                        .collect();
                    screen.note = Some(lines.join("\n"));
                }
                KeyCode::Char('c') => {
                    screen.note = Some("checking every exercise …".into());
                    let names: Vec<String> = workbook
                        .info
                        .exercises
                        .iter()
                        .map(|e| e.name.clone())
                        .collect();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for name in names {
                            check_and_report(name, &tx).await;
                        }
                    });
                }
                KeyCode::Char('n') => {
                    let next = workbook.next_pending(Some(&exercise.name)).cloned();
                    match next {
                        Some(next) if next.name != exercise.name => {
                            exercise = next;
                            workbook.state.current = Some(exercise.name.clone());
                            workbook.state.save(&workbook.root)?;
                            screen.exercise = exercise.name.clone();
                            screen.chapter = exercise.chapter.clone();
                            screen.file =
                                format!("exercises/{}/src/lib.rs", exercise.name);
                            screen.note = None;
                            // Its first check runs now, or right after the one running.
                            screen.status = Status::checking();
                            started = Instant::now();
                            if running {
                                rerun = true;
                            } else {
                                running = true;
                                spawn_check(exercise.name.clone(), tx.clone());
                            }
                        }
                        _ => screen.note = Some("no other exercise is pending".into()),
                    }
                }
                _ => {}
            },
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a file event is an edit. Reads are not: the compiler opening the
/// learner's file during a check must not trigger another check.
fn is_edit(kind: &EventKind) -> bool {
    !matches!(kind, EventKind::Access(_) | EventKind::Other)
}

/// Checks `name` and sends the outcome back to the loop.
async fn check_and_report(name: String, tx: &mpsc::UnboundedSender<Event>) {
    let result = async {
        let workbook = Workbook::open().map_err(|e| format!("{e:#}"))?;
        let exercise = workbook
            .exercise(&name)
            .map_err(|e| format!("{e:#}"))?
            .clone();
        let step = |step: String| {
            let _ = tx.send(Event::Step(name.clone(), step));
        };
        commands::check_one(&workbook, &exercise, &step)
            .await
            .map_err(|e| format!("{e:#}"))
    }
    .await;
    let _ = tx.send(Event::Checked(name, result));
}

/// Checks `name` in the background.
fn spawn_check(name: String, tx: mpsc::UnboundedSender<Event>) {
    tokio::spawn(async move { check_and_report(name, &tx).await });
}

/// Draws the screen over the last one, line by line (no flicker).
fn draw(text: &str) -> Result<()> {
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

    /// Saving, creating or removing a file is an edit; the compiler reading it is not.
    #[test]
    fn only_edits_trigger_a_check() {
        use notify_debouncer_full::notify::event::{
            AccessKind, AccessMode, CreateKind, DataChange, ModifyKind,
        };
        assert!(is_edit(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(is_edit(&EventKind::Create(CreateKind::File)));
        assert!(is_edit(&EventKind::Any));
        assert!(!is_edit(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_edit(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
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

    /// Manual mode says how to run a check.
    #[test]
    fn manual_mode_says_press_r() {
        let mut s = screen(Status::checking());
        s.manual = true;
        assert!(render(&s).contains("r check now (manual mode)"));
    }
}

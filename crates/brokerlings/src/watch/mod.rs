//! Watch mode, the default: the current exercise, re-checked on every save.
//!
//! - `state.rs`: everything watch mode knows, and the queue of checks;
//! - `screen.rs`: the screen, a pure function of that state;
//! - `events.rs`: keys, saves, the clock and checks, on one channel.
//!
//! The loop below reads like a table of contents: start what is due, draw, wait
//! for the next event, hand it to the state.

mod events;
mod screen;
mod state;

use std::process::ExitCode;

use anyhow::{Context, Result};
use crossterm::{cursor, execute, terminal};

use events::{Event, Events, Key};
use state::WatchState;

/// Runs watch mode until `q`.
pub async fn run(manual: bool) -> Result<ExitCode> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(brokerlings::errors::CliError::WatchNeedsTerminal.into());
    }
    let (workbook, progress) = crate::cmd::open()?;
    let Some(first) = progress.current(&workbook.info).cloned() else {
        println!(
            "Every exercise is done. `brokerlings list` shows them; `brokerlings quiz NAME` quizzes you."
        );
        return Ok(ExitCode::SUCCESS);
    };
    let mut events = Events::start()?;
    let _raw = RawMode::enter()?;
    let mut watch = WatchState::new(workbook, progress, first, manual);
    let mut shown = String::new();
    loop {
        if !manual {
            events.watch(&watch.source_dir())?;
        }
        if let Some(exercise) = watch.start_next_check() {
            events.spawn_check(watch.root(), exercise);
        }
        let text = screen::render(&watch.screen());
        if text != shown {
            screen::draw(&text)?;
            shown = text;
        }
        let Some(event) = events.next().await else {
            break;
        };
        match event {
            Event::Saved if manual => {}
            Event::Saved => watch.recheck(),
            Event::Tick => watch.tick(),
            Event::Step(name, step) => watch.step(&name, step),
            Event::Checked(name, result) => watch.checked(&name, result)?,
            Event::Key(key) => match Key::of(key) {
                Some(Key::Quit) => break,
                Some(Key::Run) => watch.recheck(),
                Some(Key::Next) => watch.next_exercise()?,
                Some(Key::Hint) => watch.hint()?,
                Some(Key::List) => watch.list(),
                Some(Key::CheckAll) => watch.check_all(),
                None => {}
            },
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The terminal in raw mode, restored however watch mode ends.
struct RawMode;

impl RawMode {
    fn enter() -> Result<RawMode> {
        terminal::enable_raw_mode().context("switching the terminal to raw mode")?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(std::io::stdout(), cursor::Show);
    }
}

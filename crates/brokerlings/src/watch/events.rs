//! Where watch mode's events come from: key presses (a thread reading the
//! terminal), saves of the exercise's files (a debounced file watcher), the clock
//! (a tick thread, so the spinner turns while the runtime is busy) and check tasks
//! (their steps and outcomes). All arrive on one channel, in order.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventResult, Debouncer, RecommendedCache, new_debouncer,
};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use workbook::Exercise;

use crate::runner::{self, Outcome};

/// Something that happened.
pub enum Event {
    /// A file of the watched folder was edited.
    Saved,
    /// A tenth of a second passed.
    Tick,
    /// A key was pressed.
    Key(KeyEvent),
    /// The running check of an exercise is doing something new.
    Step(String, String),
    /// The check of an exercise ended.
    Checked(String, Result<Outcome, String>),
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `q`, Esc, Ctrl-C.
    Quit,
    /// `r`: check now.
    Run,
    /// `n`: the next exercise.
    Next,
    /// `h`: a hint.
    Hint,
    /// `l`: the list.
    List,
    /// `c`: check every exercise.
    CheckAll,
}

impl Key {
    /// The action of `key`, if it has one.
    pub fn of(key: KeyEvent) -> Option<Key> {
        match key.code {
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                Some(Key::Quit)
            }
            KeyCode::Char('q') | KeyCode::Esc => Some(Key::Quit),
            KeyCode::Char('r') => Some(Key::Run),
            KeyCode::Char('n') => Some(Key::Next),
            KeyCode::Char('h') => Some(Key::Hint),
            KeyCode::Char('l') => Some(Key::List),
            KeyCode::Char('c') => Some(Key::CheckAll),
            _ => None,
        }
    }
}

/// The event sources and their channel.
pub struct Events {
    tx: UnboundedSender<Event>,
    rx: UnboundedReceiver<Event>,
    files: Debouncer<RecommendedWatcher, RecommendedCache>,
    watched: Option<PathBuf>,
}

impl Events {
    /// Starts the key reader, the clock and the (not yet watching) file watcher.
    pub fn start() -> Result<Events> {
        let (tx, rx) = mpsc::unbounded_channel();
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
        let ticks = tx.clone();
        std::thread::spawn(move || {
            while ticks.send(Event::Tick).is_ok() {
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let saves = tx.clone();
        let files = new_debouncer(
            Duration::from_millis(100),
            None,
            move |result: DebounceEventResult| {
                if result.is_ok_and(|events| events.iter().any(|e| is_edit(&e.kind))) {
                    let _ = saves.send(Event::Saved);
                }
            },
        )
        .context("starting the file watcher (use --manual-run if watching fails here)")?;
        Ok(Events {
            tx,
            rx,
            files,
            watched: None,
        })
    }

    /// Watches `dir` (and no longer the folder watched before).
    pub fn watch(&mut self, dir: &Path) -> Result<()> {
        if self.watched.as_deref() == Some(dir) {
            return Ok(());
        }
        if let Some(old) = self.watched.take() {
            let _ = self.files.unwatch(&old);
        }
        self.files
            .watch(dir, RecursiveMode::Recursive)
            .with_context(|| {
                format!(
                    "watching {} (use --manual-run if watching fails here)",
                    dir.display()
                )
            })?;
        self.watched = Some(dir.to_path_buf());
        Ok(())
    }

    /// Checks `exercise` of the checkout at `root` in the background; its steps and
    /// its outcome arrive as events.
    pub fn spawn_check(&self, root: &Path, exercise: Exercise) {
        let (tx, root) = (self.tx.clone(), root.to_path_buf());
        tokio::spawn(async move {
            let name = exercise.name.clone();
            let step = |step: String| {
                let _ = tx.send(Event::Step(name.clone(), step));
            };
            let result = runner::check_one(&root, &exercise, &step)
                .await
                .map_err(|e| format!("{e:#}"));
            let _ = tx.send(Event::Checked(name.clone(), result));
        });
    }

    /// The next event.
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }
}

/// Whether a file event is an edit. Reads are not: the compiler opening the
/// learner's file during a check must not trigger another check.
fn is_edit(kind: &EventKind) -> bool {
    !matches!(kind, EventKind::Access(_) | EventKind::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The keys of the help line do what it says.
    #[test]
    fn keys_map_to_their_actions() {
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(Key::of(key('q')), Some(Key::Quit));
        assert_eq!(Key::of(key('c')), Some(Key::CheckAll));
        assert_eq!(
            Key::of(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Key::Quit)
        );
        assert_eq!(Key::of(key('x')), None);
    }
}

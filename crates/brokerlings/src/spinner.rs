//! The one way the CLI shows long work: a spinner with the current step and the
//! time, ending in a check mark. On a terminal it is an indicatif spinner; in a log
//! (CI, a pipe) a plain line per step. Watch mode draws its own screen, with the
//! same frames ([`frame`]).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lab::InstallEvent;

/// The spinner's frames.
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Frame `n` of the spinner.
pub fn frame(n: usize) -> char {
    FRAMES[n % FRAMES.len()]
}

/// A step in progress.
pub struct Spinner {
    bar: ProgressBar,
    started: Instant,
    what: String,
}

impl Spinner {
    /// Starts showing `what` (on stdout; stderr is kept for errors).
    pub fn start(what: impl Into<String>) -> Spinner {
        let what = what.into();
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
        if bar.is_hidden() {
            println!("  … {what}");
        }
        let chars: String = FRAMES.iter().collect();
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                .expect("the spinner template is valid")
                .tick_chars(&format!("{chars} ")),
        );
        bar.set_message(what.clone());
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner {
            bar,
            started: Instant::now(),
            what,
        }
    }

    /// Shows what the step is doing now (in a log: a line, when it changed).
    pub fn set(&self, now: impl Into<String>) {
        let now = now.into();
        if self.bar.is_hidden() && now != self.bar.message() {
            println!("  … {now}");
        }
        self.bar.set_message(now);
    }

    /// Ends the step with a check mark, `note` and how long it took.
    pub fn done(self, note: &str) {
        self.bar.finish_and_clear();
        let secs = self.started.elapsed().as_secs_f64();
        println!("  ✓ {}{note} ({secs:.1} s)", self.what);
    }

    /// Ends the step without a line (its result is printed by the caller).
    pub fn clear(self) {
        self.bar.finish_and_clear();
    }
}

/// Shows the lab's install events as spinners, one per step.
#[derive(Default)]
pub struct InstallView {
    current: RefCell<Option<Spinner>>,
}

impl InstallView {
    /// Shows one event.
    pub fn show(&self, event: InstallEvent) {
        match event {
            InstallEvent::Started(step) => {
                if let Some(old) = self.current.replace(Some(Spinner::start(step))) {
                    old.clear();
                }
            }
            InstallEvent::Finished { note, .. } => {
                if let Some(spinner) = self.current.take() {
                    spinner.done(&note);
                }
            }
        }
    }
}

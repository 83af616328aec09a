//! The CLI's own errors (the lab's, the workbook's and the quiz files' are theirs),
//! one line each, with the command that gets the learner going again. The book's
//! troubleshooting page is generated from [`CliError::troubleshooting`].

use std::path::PathBuf;

/// What the CLI itself refuses or cannot do.
#[derive(Debug, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(CliErrorKind),
    derive(strum::EnumIter),
    doc = "The variants of [`CliError`], for the book's troubleshooting page."
)]
pub enum CliError {
    /// Watch mode was started without a terminal.
    #[error(
        "watch mode needs a terminal; in scripts use `brokerlings check NAME` or `check --all`"
    )]
    WatchNeedsTerminal,

    /// The progress file was unreadable; it was set aside and replaced.
    #[error(
        "{} could not be read ({problem}); it is kept as {} and a fresh progress file took its \
         place: run the command again (`brokerlings check --all` recounts what is done)",
        .path.display(), .aside.display()
    )]
    ProgressUnreadable {
        /// The progress file.
        path: PathBuf,
        /// What was wrong with it.
        problem: String,
        /// Where the old file is kept.
        aside: PathBuf,
    },

    /// `answers NAME` without an answers file.
    #[error(
        "no answers file at {}: write one, or start from `cargo run -p brokerlings -- answers {name} --template`",
        .path.display()
    )]
    NoAnswersFile {
        /// Where it was looked for.
        path: PathBuf,
        /// The chapter.
        name: String,
    },

    /// `answers --template` where an answers file exists.
    #[error("{} already exists; not overwriting your answers", .path.display())]
    AnswersExist {
        /// The existing file.
        path: PathBuf,
    },

    /// The terminal quiz's input ended before the last question.
    #[error("the quiz ended early: no more input")]
    QuizInputEnded,

    /// `solution NAME` before the exercise passes.
    #[error(
        "{name} is not done yet: make its checks pass first (`brokerlings check {name}`), or pass --force"
    )]
    NotDone {
        /// The exercise.
        name: String,
    },

    /// `reset` outside a git clone.
    #[error("reset needs a git checkout: git ls-files failed")]
    NotAGitCheckout,

    /// `reset` of a file git has no committed version of.
    #[error("git has no committed version of {file}")]
    NotCommitted {
        /// The file, relative to the checkout.
        file: String,
    },

    /// `reset` without a terminal to ask on, and without `--yes`.
    #[error("reset would replace your code in {}: pass --yes to do it without asking", .path.display())]
    ResetNeedsYes {
        /// The exercise's folder, relative to the checkout.
        path: PathBuf,
    },

    /// `check` with neither a name nor `--all`.
    #[error("give an exercise name or --all")]
    NoNameOrAll,

    /// cargo built an exercise but reported no `check` test binary.
    #[error("cargo built {package} but named no `check` test binary")]
    NoCheckBinary {
        /// The exercise's package.
        package: String,
    },
}

impl CliError {
    /// Every variant with an example line, its cause and its fix (a new variant
    /// does not compile until it is here).
    pub fn troubleshooting() -> Vec<(String, &'static str, &'static str)> {
        use strum::IntoEnumIterator;
        CliErrorKind::iter().map(trouble).collect()
    }
}

fn trouble(kind: CliErrorKind) -> (String, &'static str, &'static str) {
    use CliErrorKind as K;
    let (error, cause, fix) = match kind {
        K::WatchNeedsTerminal => (
            CliError::WatchNeedsTerminal,
            "`brokerlings` (watch mode) ran with its input or output redirected",
            "run it in a terminal, or use `brokerlings check NAME` in scripts",
        ),
        K::ProgressUnreadable => (
            CliError::ProgressUnreadable {
                path: ".brokerlings/state.toml".into(),
                problem: "expected `=`".into(),
                aside: ".brokerlings/state.toml.corrupt".into(),
            },
            "the progress file was edited or cut short",
            "run the command again; `brokerlings check --all` recounts what is done",
        ),
        K::NoAnswersFile => (
            CliError::NoAnswersFile {
                path: "answers/02_work_queues.toml".into(),
                name: "02_work_queues".into(),
            },
            "`brokerlings answers NAME` before an answers file was written",
            "`brokerlings answers NAME --template` writes one to fill in",
        ),
        K::AnswersExist => (
            CliError::AnswersExist {
                path: "answers/02_work_queues.toml".into(),
            },
            "`--template` would overwrite answers you wrote",
            "fill in the file you have, or move it away first",
        ),
        K::QuizInputEnded => (
            CliError::QuizInputEnded,
            "the terminal quiz read the end of its input (Ctrl-D, or input piped from a file)",
            "run `brokerlings quiz NAME` again in a terminal; nothing is saved before the last question",
        ),
        K::NotDone => (
            CliError::NotDone {
                name: "03_acks".into(),
            },
            "the reference solution is shown only once your own passes",
            "make the checks pass, or pass --force to look anyway",
        ),
        K::NotAGitCheckout => (
            CliError::NotAGitCheckout,
            "reset restores the committed version of an exercise, and this folder is not a git clone",
            "clone the repository with git, or copy the exercise from a fresh clone",
        ),
        K::NotCommitted => (
            CliError::NotCommitted {
                file: "exercises/03_acks/src/lib.rs".into(),
            },
            "a file of the exercise exists only in your copy",
            "`git status` shows it; move it away, then reset",
        ),
        K::ResetNeedsYes => (
            CliError::ResetNeedsYes {
                path: "exercises/03_acks".into(),
            },
            "reset asks before it replaces your code, and there is no terminal to ask on",
            "pass --yes (your version is backed up in `.brokerlings/backups/` first)",
        ),
        K::NoNameOrAll => (
            CliError::NoNameOrAll,
            "`brokerlings check` needs to know what to check",
            "`brokerlings check NAME` or `brokerlings check --all`",
        ),
        K::NoCheckBinary => (
            CliError::NoCheckBinary {
                package: "exercise_03_acks".into(),
            },
            "the exercise's `tests/check.rs` is missing or renamed",
            "restore it: `git checkout -- exercises/NAME/tests/check.rs` (the checks are not yours to edit)",
        ),
    };
    (error.to_string(), cause, fix)
}

//! `hint NAME`: the next hint, and the ones already shown.

use std::process::ExitCode;

use anyhow::Result;
use workbook::Exercise;

use crate::state::State;

/// Reveals the next hint of `name` and prints every hint shown so far.
pub fn run(name: &str) -> Result<ExitCode> {
    let (workbook, mut state) = super::open()?;
    let exercise = workbook.exercise(name)?;
    println!("{}", reveal(&mut state, &workbook.root, exercise)?);
    Ok(ExitCode::SUCCESS)
}

/// Reveals one more hint of `exercise` in `state` (saved in `root`) and returns the
/// text to show; watch mode's `h` uses it too.
pub fn reveal(
    state: &mut State,
    root: &std::path::Path,
    exercise: &Exercise,
) -> Result<String> {
    let shown = state.reveal_hint(exercise);
    state.save(root)?;
    Ok(text(exercise, shown))
}

/// The first `shown` hints of `exercise`, and whether more are to come.
fn text(exercise: &Exercise, shown: usize) -> String {
    let total = exercise.hints.len();
    let mut text = String::new();
    for (i, hint) in exercise.hints.iter().take(shown).enumerate() {
        text.push_str(&format!("Hint {} of {total}: {}\n", i + 1, hint.trim()));
    }
    if shown < total {
        text.push_str("(ask again for the next hint)");
    } else {
        text.push_str(
            "(that was the last hint; the book's chapter and the solution page go further)",
        );
    }
    text
}

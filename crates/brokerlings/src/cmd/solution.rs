//! `solution NAME [--force]`: how the learner's code differs from the reference,
//! once the exercise passes.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

/// Prints a unified diff of the learner's `lib.rs` against the solution's.
pub fn run(name: &str, force: bool) -> Result<ExitCode> {
    let (workbook, state) = super::open()?;
    let exercise = workbook.exercise(name)?;
    if !force && !state.is_done(name) {
        return Err(brokerlings::errors::CliError::NotDone { name: name.into() }.into());
    }
    let mine = exercise.exercise_dir(&workbook.root).join("src/lib.rs");
    let reference = exercise.solution_dir(&workbook.root).join("src/lib.rs");
    let read = |p: &Path| {
        std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
    };
    let (mine_text, reference_text) = (read(&mine)?, read(&reference)?);
    if mine_text == reference_text {
        println!(
            "Your {} is the reference solution, line for line.",
            mine.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let shown = |p: &Path| {
        p.strip_prefix(&workbook.root)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    let diff = similar::TextDiff::from_lines(&mine_text, &reference_text);
    print!(
        "{}",
        diff.unified_diff().context_radius(3).header(
            &format!("yours: {}", shown(&mine)),
            &format!("reference: {}", shown(&reference)),
        )
    );
    Ok(ExitCode::SUCCESS)
}

//! `list [--done | --pending]`: every exercise and its status.

use std::process::ExitCode;

use anyhow::Result;

/// Lists the exercises; `only` keeps the done (`Some(true)`) or pending ones.
pub fn run(only: Option<bool>) -> Result<ExitCode> {
    let (workbook, state) = super::open()?;
    let current = state.current(&workbook.info).map(|e| e.name.clone());
    for exercise in &workbook.info.exercises {
        let done = state.is_done(&exercise.name);
        if only.is_some_and(|want| want != done) {
            continue;
        }
        let mark = if done { "done   " } else { "pending" };
        let here = if current.as_deref() == Some(exercise.name.as_str()) {
            "▶"
        } else {
            " "
        };
        println!("{here} {mark}  {:<24} {}", exercise.name, exercise.chapter);
    }
    let (done, total) = state.progress(&workbook.info);
    println!("{done} of {total} done");
    Ok(ExitCode::SUCCESS)
}

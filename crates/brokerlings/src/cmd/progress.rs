//! `progress [--json]`: the learner's progress; `--json` for instructors' scripts.

use std::process::ExitCode;

use anyhow::Result;

/// Prints the progress. The JSON schema (format_version 1):
/// `{"format_version": 1, "current": "<name>" | null, "done": <n>, "total": <n>,
///   "exercises": [{"name", "chapter", "done": bool, "hints_shown": <n>}]}`
pub fn run(json: bool) -> Result<ExitCode> {
    let (workbook, state) = super::open()?;
    let (done, total) = state.progress(&workbook.info);
    let hints = |name: &str| state.hints_shown.get(name).copied().unwrap_or(0);
    if json {
        let exercises: Vec<serde_json::Value> = workbook
            .info
            .exercises
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "chapter": e.chapter,
                    "done": state.is_done(&e.name),
                    "hints_shown": hints(&e.name),
                })
            })
            .collect();
        let report = serde_json::json!({
            "format_version": 1,
            "current": state.current(&workbook.info).map(|e| e.name.clone()),
            "done": done,
            "total": total,
            "exercises": exercises,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{done} of {total} exercises done");
        for exercise in &workbook.info.exercises {
            let mark = if state.is_done(&exercise.name) {
                "✓"
            } else {
                "·"
            };
            println!(
                "  {mark} {:<24} hints seen: {}",
                exercise.name,
                hints(&exercise.name)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

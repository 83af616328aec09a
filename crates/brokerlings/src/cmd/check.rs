//! `check NAME` / `check --all`: build and check; exits non-zero while any is pending.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use crate::runner;
use crate::spinner::Spinner;

/// Checks one exercise or all of them, recording each verdict.
pub async fn run(name: Option<String>, all: bool) -> Result<ExitCode> {
    let (workbook, mut state) = super::open()?;
    let names: Vec<String> = match (name, all) {
        (Some(name), false) => vec![workbook.exercise(&name)?.name.clone()],
        (None, true) => workbook
            .info
            .exercises
            .iter()
            .map(|e| e.name.clone())
            .collect(),
        _ => return Err(brokerlings::errors::CliError::NoNameOrAll.into()),
    };
    let mut pending = 0;
    for name in names {
        let exercise = workbook.exercise(&name)?;
        let started = Instant::now();
        println!("checking {name} …");
        let spinner = Spinner::start(format!("checking {name}"));
        let outcome =
            runner::check_one(&workbook.root, exercise, &|step| spinner.set(step)).await;
        spinner.clear();
        let outcome = outcome?;
        println!(
            "{} ({:.1} s)",
            outcome.describe(),
            started.elapsed().as_secs_f64()
        );
        if !outcome.passed() {
            pending += 1;
        }
        state.record(&name, outcome.passed());
        state.save(&workbook.root)?;
    }
    let (done, total) = state.progress(&workbook.info);
    println!("{done} of {total} exercises done");
    Ok(if pending == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

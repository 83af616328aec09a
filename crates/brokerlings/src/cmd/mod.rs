//! One module per command, each with a `run` (the shape of mini-redis's `cmd/`).

pub mod answers;
pub mod check;
pub mod doctor;
pub mod hint;
pub mod lab;
pub mod list;
pub mod progress;
pub mod quiz;
pub mod reset;
pub mod solution;

use std::path::PathBuf;

use anyhow::{Context, Result};
use workbook::Workbook;

use crate::state::State;

/// The checkout the CLI works on: found from `BROKERLINGS_ROOT`, else from the
/// current directory.
pub fn workbook() -> Result<Workbook> {
    let start = match std::env::var_os("BROKERLINGS_ROOT") {
        Some(root) => PathBuf::from(root),
        None => std::env::current_dir().context("reading the current directory")?,
    };
    Ok(Workbook::find(&start)?)
}

/// The checkout, with the learner's progress in it.
pub fn open() -> Result<(Workbook, State)> {
    let workbook = workbook()?;
    let state = State::load(&workbook.root)?;
    Ok((workbook, state))
}

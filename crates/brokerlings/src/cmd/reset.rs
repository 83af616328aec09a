//! `reset NAME [--yes]`: the exercise's code back to what git has committed; the
//! learner's version is kept in `.brokerlings/backups/` first. It asks unless
//! `--yes`, and refuses to replace anything without a terminal to ask on.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use brokerlings::errors::CliError;

/// A file of the exercise whose content differs from the committed one.
struct Changed {
    /// Its path in the checkout.
    file: String,
    /// The learner's version.
    current: Vec<u8>,
    /// git's `HEAD` version.
    committed: Vec<u8>,
}

/// Restores `name`'s committed code, after backing up the learner's; asks first
/// unless `yes`.
pub fn run(name: &str, yes: bool) -> Result<ExitCode> {
    let (workbook, mut state) = super::open()?;
    let exercise = workbook.exercise(name)?;
    let src = exercise.exercise_dir(&workbook.root).join("src");
    let relative = src
        .strip_prefix(&workbook.root)
        .context("the exercise is in the checkout")?;
    let changed = changed_files(&workbook.root, relative)?;
    if changed.is_empty() {
        println!("{name} is already at its starting code.");
        return Ok(ExitCode::SUCCESS);
    }
    let backup = backup_dir(&workbook.root, name);
    if !yes && !confirmed(name, relative, changed.len(), &backup)? {
        println!("Nothing changed.");
        return Ok(ExitCode::SUCCESS);
    }
    state.record(name, false);
    state.save(&workbook.root)?;
    for change in changed {
        let kept = backup.join(&change.file);
        std::fs::create_dir_all(kept.parent().context("a backup path has a folder")?)?;
        std::fs::write(&kept, change.current)
            .with_context(|| format!("backing up {}", change.file))?;
        std::fs::write(workbook.root.join(&change.file), change.committed)
            .with_context(|| format!("restoring {}", change.file))?;
        println!(
            "restored {} (your version: {})",
            change.file,
            kept.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The files git tracks under `relative` whose content differs from `HEAD`'s.
fn changed_files(root: &Path, relative: &Path) -> Result<Vec<Changed>> {
    let listed = std::process::Command::new("git")
        .args(["ls-files", "--"])
        .arg(relative)
        .current_dir(root)
        .output()
        .context("running git (reset restores the committed version of the exercise)")?;
    if !listed.status.success() {
        return Err(CliError::NotAGitCheckout.into());
    }
    let mut changed = Vec::new();
    for file in String::from_utf8_lossy(&listed.stdout).lines() {
        let committed = std::process::Command::new("git")
            .args(["show", &format!("HEAD:{file}")])
            .current_dir(root)
            .output()
            .context("running git show")?;
        if !committed.status.success() {
            return Err(CliError::NotCommitted { file: file.into() }.into());
        }
        let current = std::fs::read(root.join(file)).unwrap_or_default();
        if current != committed.stdout {
            changed.push(Changed {
                file: file.to_string(),
                current,
                committed: committed.stdout,
            });
        }
    }
    Ok(changed)
}

/// `.brokerlings/backups/<name>-<seconds since 1970>`.
fn backup_dir(root: &Path, name: &str) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    root.join(".brokerlings")
        .join("backups")
        .join(format!("{name}-{stamp}"))
}

/// Asks on the terminal; without one, refuses with the flag that skips the question.
fn confirmed(name: &str, relative: &Path, files: usize, backup: &Path) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::ResetNeedsYes {
            path: relative.to_path_buf(),
        }
        .into());
    }
    print!(
        "Reset {name}? {files} file(s) go back to the committed version; yours are kept in {}. [y/N] ",
        backup.display()
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().eq_ignore_ascii_case("y"))
}

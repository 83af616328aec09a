//! The one-shot commands: list, check, hint, reset, solution, progress, quiz, doctor.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use lab::Topology;
use workbook::Exercise;

use crate::runner::{self, Outcome};
use crate::workbook_ctx::Workbook;

/// `list [--done | --pending]`.
pub fn list(filter: Option<bool>) -> Result<ExitCode> {
    let workbook = Workbook::open()?;
    let (done, total) = workbook.progress();
    for exercise in &workbook.info.exercises {
        let is_done = workbook.state.done.contains(&exercise.name);
        if filter.is_some_and(|want| want != is_done) {
            continue;
        }
        let mark = if is_done { "done   " } else { "pending" };
        let current = if workbook.current().is_some_and(|c| c.name == exercise.name) {
            "▶"
        } else {
            " "
        };
        println!(
            "{current} {mark}  {:<24} {}",
            exercise.name, exercise.chapter
        );
    }
    println!("{done} of {total} done");
    Ok(ExitCode::SUCCESS)
}

/// The topologies an exercise's checks need.
pub fn topologies(exercise: &Exercise) -> Vec<Topology> {
    exercise
        .brokers
        .iter()
        .filter_map(|b| Topology::from_slug(b))
        .collect()
}

/// Builds and checks one exercise, starting its brokers while it builds. `step`
/// hears what it is doing (for a spinner).
pub async fn check_one(
    workbook: &Workbook,
    exercise: &Exercise,
    step: &(dyn Fn(String) + Sync),
) -> Result<Outcome> {
    let root = workbook.root.clone();
    let package = exercise.exercise_package();
    step(format!("building {package}"));
    let build = {
        let package = package.clone();
        tokio::task::spawn_blocking(move || runner::build(&root, &package))
    };
    // Broker start-up overlaps the build: both take seconds to minutes.
    let lab = lab::lab().await?;
    for topology in topologies(exercise) {
        step(format!("building {package} · starting the {topology}"));
        lab.up(topology).await?;
    }
    if !build.is_finished() {
        step(format!("building {package} · brokers ready"));
    }
    match build.await.context("the build task")?? {
        runner::Build::Failed(errors) => Ok(Outcome::BuildFailed(errors)),
        runner::Build::Ready { executable, dir } => {
            step("running the checks".into());
            tokio::task::spawn_blocking(move || runner::run(&executable, &dir))
                .await
                .context("the check task")?
        }
    }
}

/// Prints an outcome the way `check` and watch mode show it.
pub fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Passed => "✓ all checks pass".into(),
        Outcome::BuildFailed(errors) => format!("✗ does not compile:\n{errors}"),
        Outcome::Failed { check, message } => format!("✗ {check}:\n{message}"),
        Outcome::TimedOut(after) => format!(
            "✗ check timed out after {} s: did your consumer stop after the last message?",
            after.as_secs()
        ),
    }
}

/// `check NAME` or `check --all`: exits non-zero while anything is pending.
pub async fn check(name: Option<String>, all: bool) -> Result<ExitCode> {
    let mut workbook = Workbook::open()?;
    let names: Vec<String> = match (name, all) {
        (Some(name), false) => vec![workbook.exercise(&name)?.name.clone()],
        (None, true) => workbook
            .info
            .exercises
            .iter()
            .map(|e| e.name.clone())
            .collect(),
        _ => bail!("give an exercise name or --all"),
    };
    let mut pending = 0;
    for name in names {
        let exercise = workbook.exercise(&name)?.clone();
        let started = Instant::now();
        println!("checking {name} …");
        let spinner = indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .context("the spinner's template")?,
        );
        spinner.enable_steady_tick(std::time::Duration::from_millis(100));
        let outcome =
            check_one(&workbook, &exercise, &|step| spinner.set_message(step)).await;
        spinner.finish_and_clear();
        let outcome = outcome?;
        println!(
            "{} ({:.1} s)",
            describe(&outcome),
            started.elapsed().as_secs_f64()
        );
        if !outcome.passed() {
            pending += 1;
        }
        workbook.state.record(&name, outcome.passed());
        workbook.state.save(&workbook.root)?;
    }
    let (done, total) = workbook.progress();
    println!("{done} of {total} exercises done");
    Ok(if pending == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `hint NAME`: reveals the next hint, and repeats the ones already shown.
pub fn hint(name: &str) -> Result<ExitCode> {
    let mut workbook = Workbook::open()?;
    let exercise = workbook.exercise(name)?.clone();
    println!("{}", reveal_hint(&mut workbook, &exercise)?);
    Ok(ExitCode::SUCCESS)
}

/// Reveals one more hint of `exercise` and returns the text to show.
pub fn reveal_hint(workbook: &mut Workbook, exercise: &Exercise) -> Result<String> {
    let total = exercise.hints.len();
    let shown = workbook
        .state
        .hints_shown
        .entry(exercise.name.clone())
        .or_insert(0);
    *shown = (*shown + 1).min(total);
    let shown = *shown;
    workbook.state.save(&workbook.root)?;
    let mut text = String::new();
    for (i, hint) in exercise.hints.iter().take(shown).enumerate() {
        text.push_str(&format!("Hint {} of {total}: {}\n", i + 1, hint.trim()));
    }
    if shown < total {
        text.push_str("(ask again for the next hint)");
    } else {
        text.push_str("(that was the last hint; the book's chapter and the solution page go further)");
    }
    Ok(text)
}

/// `reset NAME`: restores the exercise's code as committed in git, after backing up
/// the learner's version; asks first unless `yes`.
pub fn reset(name: &str, yes: bool) -> Result<ExitCode> {
    let workbook = Workbook::open()?;
    let exercise = workbook.exercise(name)?;
    let src = exercise.exercise_dir(&workbook.root).join("src");
    let relative = src
        .strip_prefix(&workbook.root)
        .context("the exercise is in the checkout")?;
    let listed = std::process::Command::new("git")
        .args(["ls-files", "--"])
        .arg(relative)
        .current_dir(&workbook.root)
        .output()
        .context("running git (reset restores the committed version of the exercise)")?;
    if !listed.status.success() {
        bail!("reset needs a git checkout: git ls-files failed");
    }
    let files: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(String::from)
        .collect();
    let mut changed = Vec::new();
    for file in &files {
        let committed = std::process::Command::new("git")
            .args(["show", &format!("HEAD:{file}")])
            .current_dir(&workbook.root)
            .output()
            .context("running git show")?;
        if !committed.status.success() {
            bail!("git has no committed version of {file}");
        }
        let current = std::fs::read(workbook.root.join(file)).unwrap_or_default();
        if current != committed.stdout {
            changed.push((file.clone(), current, committed.stdout));
        }
    }
    if changed.is_empty() {
        println!("{name} is already at its starting code.");
        return Ok(ExitCode::SUCCESS);
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let backup = workbook
        .root
        .join(".brokerlings")
        .join("backups")
        .join(format!("{name}-{stamp}"));
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "reset would replace your code in {}: pass --yes to do it without asking",
                relative.display()
            );
        }
        print!(
            "Reset {name}? {} file(s) go back to the committed version; yours are kept in {}. [y/N] ",
            changed.len(),
            backup.display()
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !answer.trim().eq_ignore_ascii_case("y") {
            println!("Nothing changed.");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let mut workbook = workbook;
    workbook.state.record(name, false);
    workbook.state.save(&workbook.root)?;
    for (file, current, committed) in changed {
        let kept = backup.join(&file);
        std::fs::create_dir_all(kept.parent().context("a backup path has a folder")?)?;
        std::fs::write(&kept, current).with_context(|| format!("backing up {file}"))?;
        std::fs::write(workbook.root.join(&file), committed)
            .with_context(|| format!("restoring {file}"))?;
        println!("restored {file} (your version: {})", kept.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `solution NAME`: the difference between your code and the reference, once done.
pub fn solution(name: &str, force: bool) -> Result<ExitCode> {
    let workbook = Workbook::open()?;
    let exercise = workbook.exercise(name)?;
    if !force && !workbook.state.done.contains(name) {
        bail!(
            "{name} is not done yet: make its checks pass first (`brokerlings check {name}`), or pass --force"
        );
    }
    let mine = exercise.exercise_dir(&workbook.root).join("src/lib.rs");
    let reference = exercise.solution_dir(&workbook.root).join("src/lib.rs");
    let read = |p: &std::path::Path| {
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
    let diff = similar::TextDiff::from_lines(&mine_text, &reference_text);
    print!(
        "{}",
        diff.unified_diff().context_radius(3).header(
            &format!(
                "yours: {}",
                mine.strip_prefix(&workbook.root).unwrap_or(&mine).display()
            ),
            &format!(
                "reference: {}",
                reference
                    .strip_prefix(&workbook.root)
                    .unwrap_or(&reference)
                    .display()
            ),
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// `progress [--json]`. The JSON schema (format_version 1):
/// `{"format_version": 1, "current": "<name>" | null, "done": <n>, "total": <n>,
///   "exercises": [{"name", "chapter", "done": bool, "hints_shown": <n>}]}`
pub fn progress(json: bool) -> Result<ExitCode> {
    let workbook = Workbook::open()?;
    let (done, total) = workbook.progress();
    if json {
        let exercises: Vec<serde_json::Value> = workbook
            .info
            .exercises
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "chapter": e.chapter,
                    "done": workbook.state.done.contains(&e.name),
                    "hints_shown": workbook.state.hints_shown.get(&e.name).copied().unwrap_or(0),
                })
            })
            .collect();
        let report = serde_json::json!({
            "format_version": 1,
            "current": workbook.current().map(|e| e.name.clone()),
            "done": done,
            "total": total,
            "exercises": exercises,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{done} of {total} exercises done");
        for exercise in &workbook.info.exercises {
            let mark = if workbook.state.done.contains(&exercise.name) {
                "✓"
            } else {
                "·"
            };
            let hints = workbook
                .state
                .hints_shown
                .get(&exercise.name)
                .copied()
                .unwrap_or(0);
            println!("  {mark} {:<24} hints seen: {hints}", exercise.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

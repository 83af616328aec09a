//! Checks that bite: every plausible wrong solution kept beside an exercise must
//! fail the checks it names, and every correct solution of another design must
//! pass them all.
//!
//! - `exercises/<name>/wrong/<bug>.rs`: a whole `lib.rs` with one bug the chapter
//!   teaches against, opening with
//!   `//! Wrong: <the bug, in one line>` and
//!   `//! Caught by: <check>[, <check>...]`.
//! - `solutions/<name>/variants/<design>.rs`: a whole `lib.rs`, correct, of another
//!   design, opening with `//! Variant: <the design, in one line>`.
//!
//! Each is put in place of the solution's `src/lib.rs` (the solution runs the
//! exercise's checks and builds its programs), and the original is put back after
//! (a copy waits in `target/xtask/swap/` meanwhile, and is restored first thing if a
//! run was interrupted). In each round, one candidate per exercise is swapped in,
//! all are built by one cargo invocation, and their checks run concurrently: the
//! lab's leases keep fault checks apart. A wrong solution runs only the checks it
//! names; a variant runs them all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use workbook::{Exercise, Info};

use crate::check::Row;

/// How long the checks of one candidate may run.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// What a candidate is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A wrong solution: its bug, and the checks that must catch it.
    Wrong {
        /// The bug, in one line.
        bug: String,
        /// The checks it must fail.
        caught_by: Vec<String>,
    },
    /// A correct solution of another design.
    Variant {
        /// The design, in one line.
        design: String,
    },
}

/// One file to swap in for a solution's `lib.rs`.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its exercise.
    pub exercise: Exercise,
    /// `<exercise>/<file stem>`, for the report.
    pub name: String,
    /// The file.
    pub file: PathBuf,
    /// Wrong or variant.
    pub kind: Kind,
}

/// What running a candidate's checks showed.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The candidate.
    pub candidate: Candidate,
    /// Whether its checks passed.
    pub passed: bool,
    /// The failing checks and their messages, as a learner would see them.
    pub failures: Vec<workbook::libtest::Failure>,
    /// What went wrong before the checks could run (the build, a timeout).
    pub trouble: Option<String>,
}

/// Reads the header of a candidate file: `Some(kind)`, or what is wrong with it.
pub fn header(text: &str, wrong: bool) -> Result<Kind, String> {
    let field = |name: &str| {
        text.lines()
            .take_while(|l| l.starts_with("//!"))
            .find_map(|l| l.trim_start_matches("//!").trim().strip_prefix(name))
            .map(|rest| rest.trim().to_string())
    };
    if wrong {
        let bug = field("Wrong:").ok_or("its first lines need `//! Wrong: <the bug>`")?;
        let caught_by: Vec<String> = field("Caught by:")
            .ok_or("its first lines need `//! Caught by: <check>[, <check>]`")?
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if caught_by.is_empty() {
            return Err("`Caught by:` names no check".into());
        }
        Ok(Kind::Wrong { bug, caught_by })
    } else {
        let design = field("Variant:")
            .ok_or("its first lines need `//! Variant: <the design>`")?;
        Ok(Kind::Variant { design })
    }
}

/// Every candidate of every exercise, and the problems found reading them (a bad
/// header, a check name the checks do not have, fewer than three wrong solutions).
pub fn find(root: &Path, info: &Info) -> (Vec<Candidate>, Vec<Row>) {
    let mut candidates = Vec::new();
    let mut rows = Vec::new();
    for exercise in &info.exercises {
        let checks = std::fs::read_to_string(exercise.checks(root)).unwrap_or_default();
        let known = workbook::libtest::test_names(&checks);
        let mut problems = Vec::new();
        let mut wrong = 0;
        for (dir, is_wrong) in [
            (exercise.wrong_solutions(root), true),
            (exercise.variants(root), false),
        ] {
            for file in rust_files(&dir) {
                let stem = file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let name = format!("{}/{stem}", exercise.name);
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                match header(&text, is_wrong) {
                    Err(problem) => {
                        problems.push(format!("{}: {problem}", file.display()))
                    }
                    Ok(kind) => {
                        if let Kind::Wrong { caught_by, .. } = &kind {
                            wrong += 1;
                            for check in caught_by.iter().filter(|c| !known.contains(c)) {
                                problems.push(format!(
                                    "{name}: no check is called `{check}`"
                                ));
                            }
                        }
                        candidates.push(Candidate {
                            exercise: exercise.clone(),
                            name,
                            file,
                            kind,
                        });
                    }
                }
            }
        }
        if wrong < 3 {
            problems.push(format!(
                "{} has {wrong} wrong solution(s) in {}; it needs at least 3",
                exercise.name,
                exercise.wrong_solutions(root).display()
            ));
        }
        rows.push(Row::from(
            "wrong solutions",
            format!("{} ({wrong} wrong)", exercise.name),
            problems,
        ));
    }
    (candidates, rows)
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs every candidate, round by round, and returns what each showed.
pub fn run(root: &Path, candidates: Vec<Candidate>) -> Vec<Ran> {
    restore_interrupted(root);
    let mut queues: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for candidate in candidates {
        queues
            .entry(candidate.exercise.name.clone())
            .or_default()
            .push(candidate);
    }
    for queue in queues.values_mut() {
        queue.reverse();
    }
    let mut ran = Vec::new();
    loop {
        let round: Vec<Candidate> = queues.values_mut().filter_map(Vec::pop).collect();
        if round.is_empty() {
            return ran;
        }
        ran.extend(run_round(root, round));
    }
}

/// One candidate per exercise: swapped in, built together, checked concurrently.
fn run_round(root: &Path, round: Vec<Candidate>) -> Vec<Ran> {
    let mut swaps = Vec::new();
    let mut ran = Vec::new();
    let mut ready = Vec::new();
    for candidate in round {
        match Swap::install(root, &candidate) {
            Ok(swap) => {
                swaps.push(swap);
                ready.push(candidate);
            }
            Err(trouble) => ran.push(troubled(candidate, trouble)),
        }
    }
    let (built, failed) = build(root, ready);
    ran.extend(failed);
    let started: Vec<_> = built
        .into_iter()
        .map(|(candidate, executable, dir)| {
            std::thread::spawn(move || execute(candidate, &executable, &dir))
        })
        .collect();
    for handle in started {
        if let Ok(result) = handle.join() {
            ran.push(result);
        }
    }
    drop(swaps);
    ran
}

fn troubled(candidate: Candidate, trouble: String) -> Ran {
    Ran {
        candidate,
        passed: false,
        failures: Vec::new(),
        trouble: Some(trouble),
    }
}

/// A candidate in place of its solution's `lib.rs`; dropping it puts the original
/// back.
struct Swap {
    lib: PathBuf,
    saved: PathBuf,
}

impl Swap {
    fn install(root: &Path, candidate: &Candidate) -> Result<Swap, String> {
        let lib = candidate.exercise.solution_dir(root).join("src/lib.rs");
        let saved = saved_copy(root, &candidate.exercise);
        let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
        std::fs::create_dir_all(saved.parent().unwrap_or(root))
            .map_err(|e| io("swap folder", e))?;
        std::fs::copy(&lib, &saved).map_err(|e| io("saving the solution", e))?;
        std::fs::copy(&candidate.file, &lib)
            .map_err(|e| io("putting the candidate in place", e))?;
        Ok(Swap { lib, saved })
    }
}

impl Drop for Swap {
    fn drop(&mut self) {
        if std::fs::copy(&self.saved, &self.lib).is_ok() {
            let _ = std::fs::remove_file(&self.saved);
        }
    }
}

/// Where a solution's `lib.rs` waits while a candidate is in its place.
fn saved_copy(root: &Path, exercise: &Exercise) -> PathBuf {
    crate::target_dir(root)
        .join("xtask")
        .join("swap")
        .join(format!("{}.lib.rs", exercise.name))
}

/// Puts back any solution a previous, interrupted run left swapped.
fn restore_interrupted(root: &Path) {
    let Ok(info) = Info::load(root) else {
        return;
    };
    for exercise in &info.exercises {
        let saved = saved_copy(root, exercise);
        if saved.exists() {
            let lib = exercise.solution_dir(root).join("src/lib.rs");
            if std::fs::copy(&saved, &lib).is_ok() {
                let _ = std::fs::remove_file(&saved);
                println!("restored {} (a run was interrupted)", lib.display());
            }
        }
    }
}

/// Builds the checks of every candidate's solution package in one cargo
/// invocation; returns each check binary, or why a candidate did not build.
fn build(
    root: &Path,
    candidates: Vec<Candidate>,
) -> (Vec<(Candidate, PathBuf, PathBuf)>, Vec<Ran>) {
    if candidates.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut command = crate::cargo::command(root);
    command
        .args([
            "test",
            "--no-run",
            "--message-format",
            "json-render-diagnostics",
        ])
        .args(["--test", "check"]);
    for candidate in &candidates {
        command.args(["-p", &candidate.exercise.solution_package()]);
    }
    let output = match command.stderr(Stdio::piped()).output() {
        Ok(output) => output,
        Err(e) => {
            let failed = candidates
                .into_iter()
                .map(|c| troubled(c, format!("cannot run cargo: {e}")));
            return (Vec::new(), failed.collect());
        }
    };
    if !output.status.success() && candidates.len() > 1 {
        // Which one does not build? Each on its own says.
        let mut built = Vec::new();
        let mut failed = Vec::new();
        for candidate in candidates {
            let (b, f) = build(root, vec![candidate]);
            built.extend(b);
            failed.extend(f);
        }
        return (built, failed);
    }
    if !output.status.success() {
        let errors: Vec<String> = String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|l| l.starts_with("error"))
            .take(3)
            .map(str::to_string)
            .collect();
        let failed = candidates
            .into_iter()
            .map(|c| troubled(c, format!("does not compile: {}", errors.join(" / "))));
        return (Vec::new(), failed.collect());
    }
    let executables = check_binaries(&String::from_utf8_lossy(&output.stdout));
    let mut built = Vec::new();
    let mut failed = Vec::new();
    for candidate in candidates {
        let dir = candidate.exercise.solution_dir(root);
        match executables
            .iter()
            .find(|(manifest_dir, _)| same_dir(manifest_dir, &dir))
        {
            Some((manifest_dir, executable)) => {
                built.push((candidate, executable.clone(), manifest_dir.clone()))
            }
            None => {
                failed.push(troubled(candidate, "cargo named no check binary".into()))
            }
        }
    }
    (built, failed)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// (package folder, check binary) of every `check` test binary cargo's JSON names.
fn check_binaries(json: &str) -> Vec<(PathBuf, PathBuf)> {
    json.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| {
            m["reason"] == "compiler-artifact"
                && m["target"]["name"] == "check"
                && m["profile"]["test"] == true
        })
        .filter_map(|m| {
            let executable = PathBuf::from(m["executable"].as_str()?);
            let dir = Path::new(m["manifest_path"].as_str()?)
                .parent()?
                .to_path_buf();
            Some((dir, executable))
        })
        .collect()
}

/// Runs a candidate's checks: a wrong solution's named checks, a variant's all.
fn execute(candidate: Candidate, executable: &Path, dir: &Path) -> Ran {
    let mut command = Command::new(executable);
    command.current_dir(dir).env("RUST_BACKTRACE", "0");
    if let Kind::Wrong { caught_by, .. } = &candidate.kind {
        command.arg("--exact").args(caught_by);
    }
    let output = match run_bounded(&mut command, RUN_TIMEOUT) {
        Ok(Some(output)) => output,
        Ok(None) => {
            let after = RUN_TIMEOUT.as_secs();
            return troubled(
                candidate,
                format!("its checks did not finish within {after} s"),
            );
        }
        Err(trouble) => return troubled(candidate, trouble),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ran {
        passed: output.status.success(),
        failures: workbook::libtest::failures(&stdout),
        trouble: None,
        candidate,
    }
}

/// Runs `command` with its output captured; `None` if it ran past `timeout` (it is
/// then killed).
fn run_bounded(
    command: &mut Command,
    timeout: Duration,
) -> Result<Option<std::process::Output>, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the checks: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => {
                return child
                    .wait_with_output()
                    .map(Some)
                    .map_err(|e| e.to_string());
            }
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The report's row for what a candidate showed. A rejected wrong solution's
/// messages are compared with `exercises/<name>/snapshots/wrong-<bug>.snap`.
pub fn row(root: &Path, ran: &Ran) -> Row {
    let name = ran.candidate.name.clone();
    match (&ran.candidate.kind, &ran.trouble) {
        (_, Some(trouble)) => {
            Row::bad(check_name(&ran.candidate.kind), name, trouble.clone())
        }
        (Kind::Wrong { caught_by, .. }, None) if ran.passed => Row::bad(
            "wrong solution fails",
            name,
            format!("it passes {}: they do not catch it", caught_by.join(", ")),
        ),
        (Kind::Wrong { .. }, None) => {
            let caught: Vec<&str> =
                ran.failures.iter().map(|f| f.check.as_str()).collect();
            let subject = format!("{name} (caught by {})", caught.join(", "));
            let stem = name.rsplit('/').next().unwrap_or(&name);
            let dir = ran.candidate.exercise.exercise_dir(root).join("snapshots");
            let text = crate::snapshots::text(&ran.failures);
            match crate::snapshots::compare(&dir, &format!("wrong-{stem}"), &text) {
                Ok(()) => Row::ok("wrong solution fails", subject),
                Err(problem) => Row::bad("wrong solution fails", subject, problem),
            }
        }
        (Kind::Variant { .. }, None) if ran.passed => Row::ok("variant passes", name),
        (Kind::Variant { .. }, None) => {
            let failure = ran.failures.first().map_or("a check failed".into(), |f| {
                format!("{}: {}", f.check, f.message)
            });
            Row::bad("variant passes", name, lab::error::one_line(&failure))
        }
    }
}

fn check_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Wrong { .. } => "wrong solution fails",
        Kind::Variant { .. } => "variant passes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wrong solution names its bug and the checks that catch it.
    #[test]
    fn a_wrong_header_names_bug_and_checks() {
        let text = "//! Wrong: acks before the work.\n//! Caught by: a, b\n\nfn x() {}\n";
        assert_eq!(
            header(text, true),
            Ok(Kind::Wrong {
                bug: "acks before the work.".into(),
                caught_by: vec!["a".into(), "b".into()],
            })
        );
        assert!(header("fn x() {}\n", true).is_err(), "no header");
        assert!(header("//! Variant: batches.\n", false).is_ok());
    }
}

//! The CLI as a learner uses it: a process, run in a scratch workbook (the fixture:
//! two exercises whose checks use the real lab), from untouched to done.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh copy of the fixture workbook, as a git checkout, sharing this build's
/// target directory so dependencies are not compiled again.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let root = std::env::temp_dir()
            .join(format!("brokerlings-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture");
        copy_dir(&fixture, &root);
        let lab = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../lab")
            .canonicalize()
            .expect("crates/lab exists");
        let manifest =
            std::fs::read_to_string(root.join("Cargo.toml")).expect("fixture manifest");
        std::fs::write(
            root.join("Cargo.toml"),
            manifest.replace("LAB_PATH", &lab.display().to_string()),
        )
        .expect("scratch manifest");
        // The workspace's lock file pins the same versions the rest of the build uses.
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"),
            root.join("Cargo.lock"),
        )
        .expect("Cargo.lock");
        for args in [
            &["init", "-q"][..],
            &["add", "-A"],
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "start",
            ],
        ] {
            let status = Command::new("git")
                .args(args)
                .current_dir(&root)
                .status()
                .expect("git runs");
            assert!(status.success(), "git {args:?}");
        }
        Scratch { root }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_brokerlings"))
            .args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", target_dir())
            .env("RUST_BACKTRACE", "0")
            .envs(env.iter().copied())
            .output()
            .expect("brokerlings runs")
    }

    fn solve(&self, exercise: &str) {
        let from = self
            .root
            .join("solutions")
            .join(exercise)
            .join("src/lib.rs");
        std::fs::copy(
            from,
            self.root
                .join("exercises")
                .join(exercise)
                .join("src/lib.rs"),
        )
        .expect("copy solution");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// This test binary lives in `<target>/debug/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    exe.ancestors()
        .nth(3)
        .expect("<target>/debug/deps/<binary>")
        .to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("scratch dir");
    for entry in std::fs::read_dir(from).expect("fixture dir") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy fixture file");
        }
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `check --all` fails on the untouched workbook, naming the failing check and its
/// message, ends a hung consumer with the timeout message, and passes once every
/// solution is copied in; progress follows.
#[test]
fn check_all_fails_untouched_and_passes_once_solved() {
    let scratch = Scratch::new("check-all");
    let timeout = [("BROKERLINGS_CHECK_TIMEOUT", "20")];
    let untouched = scratch.run(&["check", "--all"], &timeout);
    let out = text(&untouched);
    assert!(!untouched.status.success(), "{out}");
    assert!(
        out.contains(
            "✗ greets_through_the_lab:\nnot yet implemented: return the greeting"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "✗ check timed out after 20 s: did your consumer stop after the last message?"
        ),
        "{out}"
    );
    assert!(out.contains("0 of 2 exercises done"), "{out}");

    scratch.solve("01_greeting");
    scratch.solve("02_stop");
    let solved = scratch.run(&["check", "--all"], &timeout);
    let out = text(&solved);
    assert!(solved.status.success(), "{out}");
    assert!(out.contains("2 of 2 exercises done"), "{out}");

    let progress = scratch.run(&["progress", "--json"], &[]);
    insta::assert_snapshot!(
        "progress_json_once_solved",
        String::from_utf8_lossy(&progress.stdout)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&progress.stdout).expect("progress --json is JSON");
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["done"], 2);
    assert_eq!(json["total"], 2);
    assert_eq!(json["exercises"][0]["name"], "01_greeting");
    assert_eq!(json["exercises"][0]["done"], true);
}

/// Hints come one at a time, and are remembered.
#[test]
fn hints_are_revealed_one_at_a_time() {
    let scratch = Scratch::new("hints");
    let first = text(&scratch.run(&["hint", "01_greeting"], &[]));
    assert!(
        first.contains("Hint 1 of 2: Return the word.") && !first.contains("Hint 2"),
        "{first}"
    );
    let second = text(&scratch.run(&["hint", "01_greeting"], &[]));
    assert!(second.contains("Hint 2 of 2: It is hello."), "{second}");
}

/// `reset` restores the committed code only when told, and keeps the learner's version.
#[test]
fn reset_asks_and_keeps_a_backup() {
    let scratch = Scratch::new("reset");
    scratch.solve("01_greeting");
    let mine =
        std::fs::read_to_string(scratch.root.join("exercises/01_greeting/src/lib.rs"))
            .expect("solved");
    let refused = scratch.run(&["reset", "01_greeting"], &[]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("pass --yes"), "{}", text(&refused));
    let reset = scratch.run(&["reset", "01_greeting", "--yes"], &[]);
    assert!(reset.status.success(), "{}", text(&reset));
    let restored =
        std::fs::read_to_string(scratch.root.join("exercises/01_greeting/src/lib.rs"))
            .expect("restored");
    assert!(restored.contains("todo!"));
    let backups: Vec<_> = walk(&scratch.root.join(".brokerlings/backups"));
    assert_eq!(backups.len(), 1, "one backup: {backups:?}");
    assert_eq!(std::fs::read_to_string(&backups[0]).expect("backup"), mine);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            files.extend(walk(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}

/// A corrupt progress file is recovered and reported in one line; bad names too.
#[test]
fn bad_inputs_are_one_line_errors() {
    let scratch = Scratch::new("bad-inputs");
    std::fs::create_dir_all(scratch.root.join(".brokerlings")).expect("dir");
    std::fs::write(scratch.root.join(".brokerlings/state.toml"), "done = [[[")
        .expect("corrupt state");
    let list = scratch.run(&["list"], &[]);
    assert!(!list.status.success(), "a corrupt state file is reported");
    let stderr = String::from_utf8_lossy(&list.stderr);
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains("could not be read")
            && stderr.trim_end().lines().count() == 1,
        "{stderr}"
    );
    assert!(
        scratch
            .root
            .join(".brokerlings/state.toml.corrupt")
            .exists(),
        "the unreadable file is kept"
    );
    let again = scratch.run(&["list"], &[]);
    assert!(again.status.success(), "the second run works");
    insta::assert_snapshot!(
        "list_of_a_fresh_workbook",
        String::from_utf8_lossy(&again.stdout)
    );

    let unknown = scratch.run(&["check", "99_nope"], &[]);
    assert!(!unknown.status.success());
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr).trim(),
        "error: unknown exercise `99_nope`; known: 01_greeting, 02_stop"
    );

    let solution = scratch.run(&["solution", "01_greeting"], &[]);
    assert!(!solution.status.success());
    assert!(String::from_utf8_lossy(&solution.stderr).contains("is not done yet"));
    insta::assert_snapshot!(
        "solution_before_done",
        String::from_utf8_lossy(&solution.stderr)
    );

    let watch = scratch.run(&[], &[]);
    assert!(
        !watch.status.success(),
        "watch mode refuses to run without a terminal"
    );
    assert!(
        String::from_utf8_lossy(&watch.stderr).contains("watch mode needs a terminal")
    );
}

/// Watch mode in a real terminal (a pty): the first check fails, saving the solution
/// re-checks once (the compiler reading the file is not a save) and shows the pass
/// with the progress bar; `l` lists, `n` moves on and checks the next exercise at
/// once (a hung consumer ends with the timeout message); `q` quits cleanly.
#[test]
fn watch_mode_rechecks_once_per_save() {
    let scratch = Scratch::new("watch");
    // A warm build first, so that every wait below is short.
    let first = scratch.run(&["check", "01_greeting"], &[]);
    assert!(!first.status.success(), "{}", text(&first));

    let runs = scratch.root.join("runs.log");
    let count_runs = || {
        std::fs::read_to_string(&runs)
            .map(|text| text.lines().count())
            .unwrap_or(0)
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_brokerlings"));
    command
        .current_dir(&scratch.root)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("RUST_BACKTRACE", "0")
        .env("BROKERLINGS_CHECK_TIMEOUT", "10")
        .env("FIXTURE_RUN_LOG", &runs);
    let options = rexpect::reader::Options {
        timeout_ms: Some(90_000),
        strip_ansi_escape_codes: true,
    };
    let mut watch =
        rexpect::session::spawn_with_options(command, options).expect("a pty session");
    // rexpect reads bytes as Latin-1: the needles stay ASCII.
    watch
        .exp_string("01_greeting")
        .expect("watch mode names the exercise");
    watch
        .exp_string("not yet implemented")
        .expect("the untouched exercise fails its first check");
    // Room for a spurious re-check to start before the save.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(count_runs(), 1, "one check at the start, none after it");
    scratch.solve("01_greeting");
    watch
        .exp_string("all checks pass")
        .expect("saving the solution passes");
    watch
        .exp_string("1/2 done")
        .expect("progress counts the pass");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        count_runs(),
        2,
        "one more check for the save, none after it"
    );
    for key in ["l", "n"] {
        watch.send(key).expect("a key");
        watch.flush().expect("the key is sent");
    }
    watch.exp_string(" 02_stop").expect("l lists the exercises");
    watch
        .exp_string("check timed out after 10 s")
        .expect("n checks the next exercise, whose consumer never stops");
    watch.send("q").expect("key q");
    watch.flush().expect("key q sent");
    watch.exp_eof().expect("q ends watch mode");
    let status = watch.process().wait().expect("watch mode ends");
    assert_eq!(
        status,
        rexpect::process::wait::WaitStatus::Exited(watch.process().child_pid, 0),
        "q quits with success"
    );
}

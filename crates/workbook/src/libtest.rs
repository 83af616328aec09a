//! Reading what a check binary printed: libtest's output, as the CLI shows a
//! learner their failing check and `cargo xtask check` shows a rejected wrong
//! solution.

/// A failing check and its own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The check's name.
    pub check: String,
    /// What it said: its assertion or error message, without libtest's framing.
    pub message: String,
}

/// The first failing check in libtest's output, with its message (at most 12 lines).
pub fn first_failure(stdout: &str) -> Option<Failure> {
    let start = stdout.find("---- ")?;
    failure_at(&stdout[start + 5..])
}

/// Every failing check in libtest's output, sorted by name (libtest prints them
/// in the order they finished).
pub fn failures(stdout: &str) -> Vec<Failure> {
    let mut all: Vec<Failure> = format!("\n{stdout}")
        .split("\n---- ")
        .skip(1)
        .filter_map(failure_at)
        .collect();
    all.sort_by(|a, b| a.check.cmp(&b.check));
    all
}

/// The failure whose block starts at `block` (just after `---- `). Its message is
/// what the check said, after whatever the code under test printed: the message of
/// the first panic (an `assert!` of the check, or a `todo!()` of the learner's code
/// in any task), or else the error the check returned (`Error: ...`), up to a blank
/// line.
fn failure_at(block: &str) -> Option<Failure> {
    let check = block.split(" stdout ----").next()?.trim().to_string();
    let body = block
        .split_once("----\n")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let lines: Vec<&str> = body
        .lines()
        .take_while(|line| !line.starts_with("---- ") && !line.starts_with("failures:"))
        .collect();
    let panic =
        |line: &&str| line.starts_with("thread '") && line.contains("panicked at");
    let start = lines
        .iter()
        .position(panic)
        .map(|at| at + 1)
        .or_else(|| lines.iter().position(|line| line.starts_with("Error: ")))
        .unwrap_or(0);
    let mut message = Vec::new();
    for line in &lines[start..] {
        let ends = line.starts_with("note: ")
            || line.starts_with("stack backtrace:")
            || panic(line)
            || (!message.is_empty()
                && (line.trim().is_empty() || line.starts_with("Error: ")));
        if ends {
            break;
        }
        if !line.trim().is_empty() {
            message.push(line.trim_end().to_string());
        }
    }
    let message = message.into_iter().take(12).collect::<Vec<_>>().join("\n");
    Some(Failure { check, message })
}

/// The names of the checks (`#[test]` / `#[tokio::test]` functions) in a checks
/// file's source.
pub fn test_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut attribute = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[tokio::test") || line == "#[test]" {
            attribute = true;
        } else if attribute && (line.starts_with("async fn ") || line.starts_with("fn "))
        {
            let name = line.trim_start_matches("async ").trim_start_matches("fn ");
            names.push(name.split('(').next().unwrap_or_default().to_string());
            attribute = false;
        } else if !line.starts_with("#[") && !line.starts_with("///") {
            attribute = false;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The failing check's own message is what the learner sees.
    #[test]
    fn first_failure_finds_the_check_and_its_message() {
        let stdout = "\nrunning 2 tests\n\
            test a ... ok\n\
            test every_task_arrives_once_in_order ... FAILED\n\n\
            failures:\n\n\
            ---- every_task_arrives_once_in_order stdout ----\n\
            thread 'every_task_arrives_once_in_order' panicked at exercises/01/tests/check.rs:50:9:\n\
            not yet implemented: publish the tasks\n\
            note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\
            failures:\n    every_task_arrives_once_in_order\n";
        assert_eq!(
            first_failure(stdout),
            Some(Failure {
                check: "every_task_arrives_once_in_order".into(),
                message: "not yet implemented: publish the tasks".into(),
            })
        );
    }

    /// A check returning an error (anyhow) shows the error.
    #[test]
    fn first_failure_shows_returned_errors() {
        let stdout = "---- tasks_are_persistent stdout ----\n\
            Error: check timed out after 60 s while sending 3 tasks: did your consumer stop after the last message?\n\n";
        let failure = first_failure(stdout).expect("a failure");
        assert!(
            failure
                .message
                .contains("did your consumer stop after the last message?"),
            "{failure:?}"
        );
    }

    /// What the code under test printed comes before the check's own words, and a
    /// later error does not join a panic's message.
    #[test]
    fn the_message_is_what_the_check_said() {
        let printed = "---- dedup stdout ----\nRecorded: job-3\n\nRecorded: job-4\n\n\
            Error: job-3 was recorded twice\n\n";
        assert_eq!(
            first_failure(printed).expect("a failure").message,
            "Error: job-3 was recorded twice"
        );
        let panicked = "---- worker stdout ----\nstarting\n\
            thread 'tokio-runtime-worker' panicked at src/lib.rs:9:5:\n\
            not yet implemented: subscribe\n\
            Error: jobs never recorded\n\n";
        assert_eq!(
            first_failure(panicked).expect("a failure").message,
            "not yet implemented: subscribe"
        );
    }

    /// All failures, in name order, whatever order they finished in.
    #[test]
    fn failures_are_sorted_by_check() {
        let stdout = "\n---- b stdout ----\nsecond\n\n---- a stdout ----\nfirst\n\nfailures:\n    b\n    a\n";
        let all = failures(stdout);
        let names: Vec<&str> = all.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(all[0].message, "first");
    }

    /// Checks are found by their test attributes, documented or not.
    #[test]
    fn test_names_are_found() {
        let source = "#[test]\nfn a() {}\n/// doc\n#[tokio::test]\nasync fn b() -> Result<()> {}\nfn helper() {}\n";
        assert_eq!(test_names(source), ["a", "b"]);
    }
}

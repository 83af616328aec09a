//! Running cargo from xtask: the one place that knows how to start it, time it,
//! and say in a line why it failed.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// `cargo` (the one that runs xtask, if cargo says which), in `root`.
pub fn command(root: &Path) -> Command {
    let mut command =
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root);
    command
}

/// What one quiet cargo run did.
pub struct Run {
    pub success: bool,
    pub seconds: f64,
    /// stdout then stderr.
    pub text: String,
}

impl Run {
    /// The few lines that say why it failed: panics, errors, failed tests.
    pub fn why(&self) -> String {
        let lines: Vec<&str> = self
            .text
            .lines()
            .filter(|l| {
                l.contains("panicked")
                    || l.starts_with("error")
                    || l.starts_with("Error:")
                    || l.contains("FAILED")
                    || l.contains("failed")
            })
            .take(4)
            .collect();
        lines.join(" / ")
    }

    /// Tests passed, failed and ignored, summed over every `test result:` line.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for line in self.text.lines() {
            let Some(rest) = line.strip_prefix("test result: ") else {
                continue;
            };
            for part in rest.split(';') {
                let words: Vec<&str> = part.split_whitespace().collect();
                let [.., count, what] = words.as_slice() else {
                    continue;
                };
                let Ok(count) = count.parse::<u32>() else {
                    continue;
                };
                match *what {
                    "passed" => tally.passed += count,
                    "failed" => tally.failed += count,
                    "ignored" => tally.ignored += count,
                    _ => {}
                }
            }
        }
        tally
    }
}

/// Counts of tests, as libtest reports them.
#[derive(Default, Debug, PartialEq, Eq, Clone, Copy)]
pub struct Tally {
    pub passed: u32,
    pub failed: u32,
    pub ignored: u32,
}

/// Runs `cargo <args>` in `root`, capturing its output; `Err` only if cargo could
/// not be started.
pub fn run(root: &Path, args: &[&str]) -> Result<Run, String> {
    let started = Instant::now();
    let output = command(root)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    Ok(Run {
        success: output.status.success(),
        seconds: started.elapsed().as_secs_f64(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// Runs `cargo <args>`; its seconds if it succeeded, else the lines saying why.
pub fn succeeds(root: &Path, args: &[&str]) -> Result<f64, String> {
    let run = run(root, args)?;
    if run.success {
        Ok(run.seconds)
    } else {
        Err(run.why())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_sums_every_test_binary() {
        let run = Run {
            success: false,
            seconds: 1.0,
            text: "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 2.01s\n\
                   running 3 tests\n\
                   test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 9.10s\n"
                .into(),
        };
        assert_eq!(
            run.tally(),
            Tally {
                passed: 7,
                failed: 1,
                ignored: 1
            }
        );
    }
}

//! The check pipeline `check` and watch mode share: build the exercise's checks
//! while the lab starts the brokers they need, run the built checks (bounded), and
//! turn what they printed into one [`Outcome`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use workbook::Exercise;

/// Builds and checks one exercise of the checkout at `root`, starting its brokers
/// while it builds. `step` hears what it is doing (for a spinner).
pub async fn check_one(
    root: &Path,
    exercise: &Exercise,
    step: &(dyn Fn(String) + Sync),
) -> Result<Outcome> {
    let package = exercise.exercise_package();
    step(format!("building {package}"));
    let build = {
        let (root, package) = (root.to_path_buf(), package.clone());
        tokio::task::spawn_blocking(move || build(&root, &package))
    };
    // Broker start-up overlaps the build: both take seconds to minutes.
    let lab = crate::cmd::lab::lab_or_install(step).await?;
    for topology in &exercise.brokers {
        step(format!("building {package} · starting the {topology}"));
        lab.up(*topology).await?;
    }
    if !build.is_finished() {
        step(format!("building {package} · brokers ready"));
    }
    match build.await.context("the build task")?? {
        Build::Failed(errors) => Ok(Outcome::BuildFailed(errors)),
        Build::Ready { executable, dir } => {
            step("running the checks".into());
            tokio::task::spawn_blocking(move || run(&executable, &dir))
                .await
                .context("the check task")?
        }
    }
}

/// How long the checks of one exercise may run once built.
pub fn check_timeout() -> Duration {
    let seconds = std::env::var("BROKERLINGS_CHECK_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    Duration::from_secs(seconds)
}

/// How long a build may take (a cold build compiles lapin and rdkafka).
const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The result of checking one exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed.
    Passed,
    /// The crate does not compile; the first compiler errors.
    BuildFailed(String),
    /// A check failed: its name and its own message.
    Failed {
        /// The failing check's name.
        check: String,
        /// What it said (its assertion or error message).
        message: String,
    },
    /// The checks did not finish in time.
    TimedOut(Duration),
}

impl Outcome {
    /// Whether the exercise is done.
    pub fn passed(&self) -> bool {
        *self == Outcome::Passed
    }

    /// The verdict as `check` and watch mode show it.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Passed => "✓ all checks pass".into(),
            Outcome::BuildFailed(errors) => format!("✗ does not compile:\n{errors}"),
            Outcome::Failed { check, message } => format!("✗ {check}:\n{message}"),
            Outcome::TimedOut(after) => format!(
                "✗ check timed out after {} s: did your consumer stop after the last message?",
                after.as_secs()
            ),
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// A built exercise: its checks' test binary, or why it did not build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Build {
    /// The `check` test binary, and the package folder it runs in.
    Ready {
        /// The test binary.
        executable: PathBuf,
        /// The package's folder (cargo runs tests there).
        dir: PathBuf,
    },
    /// The first compiler errors.
    Failed(String),
}

/// Builds the exercise's checks without running them.
pub fn build(root: &Path, package: &str) -> Result<Build> {
    let output = run_bounded(
        cargo()
            .args([
                "test",
                "--no-run",
                "--message-format",
                "json-render-diagnostics",
                "-p",
                package,
            ])
            .args(["--test", "check"])
            .current_dir(root),
        BUILD_TIMEOUT,
    )?;
    let Some(output) = output else {
        let minutes = BUILD_TIMEOUT.as_secs() / 60;
        return Ok(Build::Failed(format!(
            "the build did not finish within {minutes} min"
        )));
    };
    if !output.status.success() {
        let errors: Vec<String> = String::from_utf8_lossy(&output.stderr)
            .lines()
            .skip_while(|l| !l.starts_with("error"))
            .take(12)
            .map(str::to_string)
            .collect();
        return Ok(Build::Failed(errors.join("\n")));
    }
    // Cargo's JSON messages name the test binary it built.
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["target"]["name"] == "check"
            && message["profile"]["test"] == true
            && let (Some(executable), Some(manifest)) = (
                message["executable"].as_str(),
                message["manifest_path"].as_str(),
            )
        {
            let dir = Path::new(manifest)
                .parent()
                .context("a manifest has a folder")?
                .to_path_buf();
            return Ok(Build::Ready {
                executable: PathBuf::from(executable),
                dir,
            });
        }
    }
    Err(brokerlings::errors::CliError::NoCheckBinary {
        package: package.to_string(),
    }
    .into())
}

/// Runs built checks, bounded by [`check_timeout`].
pub fn run(executable: &Path, dir: &Path) -> Result<Outcome> {
    let timeout = check_timeout();
    let output = run_bounded(
        Command::new(executable)
            // The learner reads the check's message; a backtrace would bury it.
            .env("RUST_BACKTRACE", "0")
            .current_dir(dir),
        timeout,
    )?;
    let Some(output) = output else {
        return Ok(Outcome::TimedOut(timeout));
    };
    if output.status.success() {
        return Ok(Outcome::Passed);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    Ok(first_failure(&stdout).unwrap_or_else(|| {
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        Outcome::Failed {
            check: "checks".into(),
            message: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        }
    }))
}

/// The first failing check in libtest's output, with its message.
pub fn first_failure(stdout: &str) -> Option<Outcome> {
    workbook::libtest::first_failure(stdout).map(|failure| Outcome::Failed {
        check: failure.check,
        message: failure.message,
    })
}

/// Runs `command` capturing its output; `None` if it did not finish in `timeout`
/// (it is then killed, with everything it started).
fn run_bounded(
    command: &mut Command,
    timeout: Duration,
) -> Result<Option<std::process::Output>> {
    use std::os::unix::process::CommandExt;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .context("starting cargo")?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let stderr = child.stderr.take().context("cargo's stderr")?;
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buffer = Vec::new();
            let _ = pipe.read_to_end(&mut buffer);
            buffer
        })
    };
    let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().context("waiting for cargo")? {
            let stdout = out.join().unwrap_or_default();
            let stderr = err.join().unwrap_or_default();
            return Ok(Some(std::process::Output {
                status,
                stdout,
                stderr,
            }));
        }
        if started.elapsed() > timeout {
            // The whole group: cargo, the test binary and anything it spawned.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

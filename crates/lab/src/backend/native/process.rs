//! Detached broker processes: start, find, stop, kill.
//!
//! A node is started through `setsid -f`, so it leads its own process group, is not
//! a child of the test binary that started it (no zombies, it outlives the test),
//! and writes its pid into `<run>/pid` before it execs the broker.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::{LabError, Result};

/// How long a clean stop of one node may take before it is killed.
pub(crate) const STOP_TIMEOUT: Duration = Duration::from_secs(45);

/// The node's log (stdout and stderr of the broker).
pub(crate) fn log_path(run: &Path) -> PathBuf {
    run.join("node.log")
}

fn pid_path(run: &Path) -> PathBuf {
    run.join("pid")
}

/// The pid of the node running from `run`, if it is alive.
pub(crate) fn alive(run: &Path) -> Option<i32> {
    let pid: i32 = super::read_trimmed(&pid_path(run))?.parse().ok()?;
    // A pid file can outlive its process (a reboot, a kill); a zombie counts as dead.
    let (state, _) = stat(&format!("/proc/{pid}/stat"))?;
    (state != "Z").then_some(pid)
}

/// The state letter (`R`, `S`, `Z`...) and process group in a `/proc/.../stat` file.
fn stat(path: &str) -> Option<(String, i32)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let mut fields = stat.rsplit_once(") ")?.1.split(' ');
    let state = fields.next()?.to_string();
    let group = fields.nth(1)?.parse().ok()?;
    Some((state, group))
}

/// Whether any thread of any process of group `group` still lives. The pid in the
/// pid file is a start script's shell; the broker is its child in the same group.
/// After a kill the broker's main thread turns zombie at once while its other
/// threads still exit and still hold its sockets: until they are gone, the node's
/// ports are taken (a start right after a kill found them so).
fn group_alive(group: i32) -> bool {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return false;
    };
    processes
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| stat(&format!("/proc/{pid}/stat")).is_some_and(|(_, g)| g == group))
        .any(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/task")).is_ok_and(|threads| {
                threads.filter_map(Result::ok).any(|thread| {
                    let path = thread.path().join("stat");
                    stat(&path.to_string_lossy()).is_some_and(|(state, _)| state != "Z")
                })
            })
        })
}

/// Fails with a clear message if something else listens on `port`.
pub(crate) fn port_free(port: u16, node: &str) -> Result<()> {
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(_) => Err(LabError::PortTaken {
            port,
            what: node.to_string(),
        }),
    }
}

/// The node's wrapper: closes descriptors 3 to 9 (a node outlives the process that
/// started it, and must not hold what that process left open without close-on-exec,
/// such as the lock of `flock cargo test`: the lock would stay held for as long as
/// the broker runs), writes its pid to `$0` and becomes the program. (`sh` here is
/// dash, whose redirections name single-digit descriptors only.)
const INHERIT_NOTHING: &str =
    "exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; echo $$ > \"$0\"; exec \"$@\"";

/// Starts `program args` detached, with exactly the environment `env`, logging to
/// `<run>/node.log`, and waits until it has written its pid.
pub(crate) async fn spawn_detached(
    run: &Path,
    program: &str,
    args: &[String],
    env: &[(String, String)],
) -> Result<()> {
    let pid_file = pid_path(run);
    let _ = std::fs::remove_file(&pid_file);
    let log = File::options()
        .create(true)
        .append(true)
        .open(log_path(run))
        .map_err(LabError::io(format!("opening {}", log_path(run).display())))?;
    let log_err = log
        .try_clone()
        .map_err(LabError::io("duplicating a log handle"))?;
    let mut command = Command::new("setsid");
    command
        .args(["-f", "sh", "-c", INHERIT_NOTHING])
        .arg(&pid_file)
        .arg(program)
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .current_dir(run)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    let status = command
        .status()
        .map_err(|e| LabError::step(format!("starting {program}"), e))?;
    if !status.success() {
        return Err(LabError::step(format!("starting {program}"), status));
    }
    let start = Instant::now();
    while alive(run).is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            return Err(LabError::step(
                format!("starting {program}"),
                format!("no pid within 10 s; see {}", log_path(run).display()),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Stops the node running from `run`: SIGTERM and up to `grace` to exit, or SIGKILL
/// when `kill`. Signals go to the whole process group, so wrapper scripts go too.
pub(crate) async fn stop(
    run: &Path,
    kill: bool,
    grace: Duration,
    node: &str,
) -> Result<()> {
    let Some(pid) = alive(run) else {
        return Ok(());
    };
    let group = Pid::from_raw(pid);
    let signal = if kill {
        Signal::SIGKILL
    } else {
        Signal::SIGTERM
    };
    killpg(group, signal).map_err(|e| LabError::step(format!("signalling {node}"), e))?;
    let start = Instant::now();
    while alive(run).is_some() {
        if start.elapsed() > grace {
            // A clean stop that hangs becomes a kill; the data is as a crash leaves it.
            let _ = killpg(group, Signal::SIGKILL);
        }
        if start.elapsed() > grace + Duration::from_secs(15) {
            return Err(LabError::Timeout {
                what: format!("{node} (pid {pid}) to exit"),
                after: grace + Duration::from_secs(15),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The rest of the group (the broker under its start script, Erlang's port
    // programs) goes too, and is waited for: only then are the node's ports free.
    let _ = killpg(group, Signal::SIGKILL);
    let exiting = Instant::now();
    while group_alive(pid) {
        if exiting.elapsed() > Duration::from_secs(15) {
            return Err(LabError::Timeout {
                what: format!("the processes of {node} (group {pid}) to exit"),
                after: Duration::from_secs(15),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Runs a short command to completion, with a timeout, returning its stdout.
pub(crate) async fn run_bounded(
    step: &str,
    mut command: tokio::process::Command,
    timeout: Duration,
) -> Result<String> {
    command.kill_on_drop(true).stdin(Stdio::null());
    let output = crate::within(timeout, step, command.output())
        .await?
        .map_err(|e| LabError::step(step, e))?;
    if !output.status.success() {
        let mut detail = String::from_utf8_lossy(&output.stderr).to_string();
        if detail.trim().is_empty() {
            detail = String::from_utf8_lossy(&output.stdout).to_string();
        }
        let tail: Vec<&str> = detail.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(LabError::step(
            step,
            format!("{}: {}", output.status, tail.join(" / ")),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).to_string())
}

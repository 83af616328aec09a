//! Client programs run as their own OS processes, so a test can crash them for real.
//!
//! Dropping a future is not a crash: lapin's connection lives on and closes its
//! channels politely. A consumer that dies for real (out of memory, `kill -9`, a
//! power cut) sends nothing at all; the broker only sees its TCP connection go. To
//! show what a broker does then, a check or proof starts the consumer as a separate
//! program with [`ClientProcess::spawn`], follows what it prints, and kills it with
//! SIGKILL.
//!
//! ```no_run
//! # async fn demo() -> lab::Result<()> {
//! use std::time::Duration;
//! let mut worker = lab::ClientProcess::spawn("target/debug/worker", ["amqp://…", "jobs"])?;
//! worker.line_containing("received", Duration::from_secs(30)).await?;
//! worker.kill().await?; // SIGKILL: no goodbye to the broker
//! # Ok(()) }
//! ```

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::{LabError, Result};

/// A running client program whose standard output a test follows line by line.
#[derive(Debug)]
pub struct ClientProcess {
    name: String,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl ClientProcess {
    /// Starts `program` with `args`. Its standard output is read by the test; its
    /// standard error goes to the test's, so a failing client explains itself. It
    /// is killed if the handle is dropped, so a failed test leaves no stray process.
    pub fn spawn<I, S>(program: impl AsRef<Path>, args: I) -> Result<ClientProcess>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let program = program.as_ref();
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.display().to_string());
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(LabError::io(format!("starting {}", program.display())))?;
        let stdout = child
            .stdout
            .take()
            .expect("stdout was configured as a pipe just above");
        Ok(ClientProcess {
            name,
            child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        })
    }

    /// The operating system's id of the process.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Every line the program printed so far, as read by this handle.
    pub fn lines_seen(&self) -> &[String] {
        &self.seen
    }

    /// Reads the program's output until a line contains `needle`, and returns that
    /// line; fails if the program ends first or nothing matches within `timeout`.
    pub async fn line_containing(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<String> {
        let what = format!("{} to print a line containing {needle:?}", self.name);
        let name = self.name.clone();
        let lines = &mut self.lines;
        let seen = &mut self.seen;
        crate::within(timeout, &what, async {
            loop {
                match lines.next_line().await {
                    Ok(Some(line)) => {
                        seen.push(line.clone());
                        if line.contains(needle) {
                            return Ok(line);
                        }
                    }
                    Ok(None) => {
                        return Err(LabError::step(
                            format!("waiting for {name} to print {needle:?}"),
                            format!(
                                "it exited first; its last lines: {:?}",
                                seen.iter().rev().take(3).collect::<Vec<_>>()
                            ),
                        ));
                    }
                    Err(error) => {
                        return Err(LabError::io(format!(
                            "reading the output of {name}"
                        ))(error));
                    }
                }
            }
        })
        .await?
    }

    /// Kills the program with SIGKILL, as a crash would, and waits until it is gone.
    pub async fn kill(mut self) -> Result<()> {
        self.child
            .kill()
            .await
            .map_err(LabError::io(format!("killing {}", self.name)))
    }
}

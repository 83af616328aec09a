//! The ledger: code given to you in chapter 3 (you need not change it). The
//! reference solution uses this same file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

/// The effect of a job: a line in a file, standing for a row in a database or an
/// email sent. It outlives the worker process, as a database would.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    stall: Option<Stall>,
    recorded: usize,
}

/// Where a worker gets stuck, for the crash experiments: the checks start the
/// worker as its own process with a stall, wait until it is stuck there, and kill
/// it (SIGKILL), as a crash would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// Stuck in the middle of the n-th new job (1-based): not yet recorded.
    BeforeRecording(usize),
    /// Stuck right after recording the n-th new job: recorded, not yet acked.
    AfterRecording(usize),
}

impl Ledger {
    /// Opens the ledger in the file `path`, creating it if needed.
    pub fn open(path: impl Into<PathBuf>) -> Result<Ledger> {
        let path = path.into();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening the ledger {}", path.display()))?;
        Ok(Ledger {
            path,
            stall: None,
            recorded: 0,
        })
    }

    /// The same ledger, set to get stuck at `stall`.
    pub fn with_stall(self, stall: Stall) -> Ledger {
        Ledger {
            stall: Some(stall),
            ..self
        }
    }

    /// The jobs recorded so far, in order, duplicates included.
    pub fn jobs(&self) -> Result<Vec<String>> {
        let text = std::fs::read_to_string(&self.path)
            .with_context(|| format!("reading the ledger {}", self.path.display()))?;
        Ok(text.lines().map(str::to_string).collect())
    }

    /// Whether `job` has been recorded.
    pub fn contains(&self, job: &str) -> Result<bool> {
        Ok(self.jobs()?.iter().any(|j| j == job))
    }

    /// Records `job`: the job's effect. Recording the same job twice records it
    /// twice, as sending an email twice sends two emails.
    pub async fn record(&mut self, job: &str) -> Result<()> {
        self.recorded += 1;
        if self.stall == Some(Stall::BeforeRecording(self.recorded)) {
            stuck(&format!("stalled before recording {job}")).await;
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening the ledger {}", self.path.display()))?;
        writeln!(file, "{job}").context("recording a job")?;
        if self.stall == Some(Stall::AfterRecording(self.recorded)) {
            stuck(&format!("stalled after recording {job}")).await;
        }
        Ok(())
    }
}

/// Says where it is stuck, then never returns.
async fn stuck(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
}

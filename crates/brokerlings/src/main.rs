//! `brokerlings`: the learner's and instructor's command line.
//!
//! Without a subcommand it starts watch mode on the current exercise. The other
//! commands are one-shot and script-friendly: non-zero exit codes while something is
//! pending or wrong, one-line errors.
//!
//! # Layout
//!
//! - `main.rs`: the command line (clap) and which command runs.
//! - `cmd/`: one module per command (`list`, `check`, `hint`, `reset`, `solution`,
//!   `quiz`, `answers`, `progress`, `doctor`, `lab`).
//! - `watch/`: watch mode: its state (`state.rs`), its screen (`screen.rs`), its
//!   event sources (`events.rs`) and the loop (`mod.rs`).
//! - `runner.rs`: the check pipeline both use: build, start the brokers, run the
//!   checks, one [`runner::Outcome`].
//! - `state.rs`: the learner's progress file; `spinner.rs`: the one progress
//!   display; `advice.rs`: errors rendered on one line, with the command that fixes
//!   them.

mod advice;
mod cmd;
mod runner;
mod spinner;
mod state;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use lab::Topology;

/// Learn RabbitMQ and Kafka in Rust, checked against real brokers.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Check only when you press `r` (for file systems where watching fails).
    #[arg(long)]
    manual_run: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Watch the current exercise and re-check it on every save (the default).
    Watch {
        /// Check only when you press `r` (for file systems where watching fails).
        #[arg(long)]
        manual_run: bool,
    },
    /// List the exercises and their status.
    List {
        /// Only the done ones.
        #[arg(long, conflicts_with = "pending")]
        done: bool,
        /// Only the pending ones.
        #[arg(long)]
        pending: bool,
    },
    /// Check one exercise, or all; exits non-zero while any is pending.
    Check {
        /// The exercise, e.g. 01_first_contact.
        name: Option<String>,
        /// Check every exercise.
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
    /// Show the next hint of an exercise (and the ones already shown).
    Hint {
        /// The exercise.
        name: String,
    },
    /// Restore an exercise's starting code (your version is backed up).
    Reset {
        /// The exercise.
        name: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Show how your code differs from the reference solution (once done).
    Solution {
        /// The exercise.
        name: String,
        /// Show it even if the exercise is not done.
        #[arg(long)]
        force: bool,
    },
    /// Take a chapter's quiz in the terminal; answers go to answers/NAME.toml.
    Quiz {
        /// The exercise / chapter.
        name: String,
    },
    /// Your progress (for instructors: --json, schema in `brokerlings progress --help`).
    Progress {
        /// Machine-readable: {format_version, current, done, total, exercises[{name, chapter, done, hints_shown}]}.
        #[arg(long)]
        json: bool,
    },
    /// Check this machine: toolchain, Docker, native brokers, ports, settings.
    Doctor,
    /// Check your answers to a chapter's quiz (answers/NAME.toml), with explanations.
    Answers {
        /// The exercise / chapter, e.g. 01_first_contact.
        name: String,
        /// The answers file (default: answers/NAME.toml in the checkout).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Write a starting answers file with every question (never overwrites).
        #[arg(long)]
        template: bool,
    },
    /// Control the broker lab that checks run against.
    Lab {
        #[command(subcommand)]
        action: LabAction,
    },
}

#[derive(Subcommand)]
enum LabAction {
    /// Install the native lab (RabbitMQ 4.0 in a Debian 13 chroot, Kafka 4.x jars). Idempotent.
    Install,
    /// Start brokers (default: single RabbitMQ + single Kafka) and wait until they answer.
    Up {
        /// Which topologies to start.
        #[arg(value_enum)]
        topologies: Vec<TopologyArg>,
        /// Start all four topologies.
        #[arg(long)]
        all: bool,
    },
    /// Stop every broker of the lab.
    Down,
    /// Show which backend serves this machine and what runs.
    Status,
    /// Build Docker images of both brokers here, from the native lab (for CI and
    /// machines that cannot pull the official images). Idempotent.
    Images,
}

#[derive(Clone, Copy, ValueEnum)]
enum TopologyArg {
    Rabbit,
    Kafka,
    RabbitCluster,
    KafkaCluster,
}

impl From<TopologyArg> for Topology {
    fn from(arg: TopologyArg) -> Topology {
        match arg {
            TopologyArg::Rabbit => Topology::Rabbit,
            TopologyArg::Kafka => Topology::Kafka,
            TopologyArg::RabbitCluster => Topology::RabbitCluster,
            TopologyArg::KafkaCluster => Topology::KafkaCluster,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", advice::render(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Some(command) = cli.command else {
        return watch::run(cli.manual_run).await;
    };
    match command {
        Command::Watch { manual_run } => watch::run(manual_run || cli.manual_run).await,
        Command::List { done, pending } => {
            let only = if done {
                Some(true)
            } else if pending {
                Some(false)
            } else {
                None
            };
            cmd::list::run(only)
        }
        Command::Check { name, all } => cmd::check::run(name, all).await,
        Command::Hint { name } => cmd::hint::run(&name),
        Command::Reset { name, yes } => cmd::reset::run(&name, yes),
        Command::Solution { name, force } => cmd::solution::run(&name, force),
        Command::Quiz { name } => cmd::quiz::run(&name),
        Command::Progress { json } => cmd::progress::run(json),
        Command::Doctor => cmd::doctor::run().await,
        Command::Answers {
            name,
            file,
            template,
        } => cmd::answers::run(&name, file, template),
        Command::Lab { action } => match action {
            LabAction::Install => cmd::lab::install().await,
            LabAction::Up { topologies, all } => {
                let topologies: Vec<Topology> = if all {
                    Topology::ALL.to_vec()
                } else if topologies.is_empty() {
                    vec![Topology::Rabbit, Topology::Kafka]
                } else {
                    topologies.into_iter().map(Topology::from).collect()
                };
                cmd::lab::up(&topologies).await
            }
            LabAction::Down => cmd::lab::down().await,
            LabAction::Status => cmd::lab::status().await,
            LabAction::Images => cmd::lab::images().await,
        },
    }
}

//! `brokerlings`: the learner's and instructor's command line.
//!
//! Without a subcommand it starts watch mode on the current exercise. The other
//! commands are one-shot and script-friendly: non-zero exit codes while something is
//! pending or wrong, one-line errors.

mod answers;
mod commands;
mod doctor;
mod quiz_cmd;
mod runner;
mod state;
mod watch;
mod workbook_ctx;

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
        file: Option<std::path::PathBuf>,
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
            eprintln!("error: {}", lab::error::one_line(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => watch::run(cli.manual_run).await,
        Some(Command::Watch { manual_run }) => {
            watch::run(manual_run || cli.manual_run).await
        }
        Some(Command::List { done, pending }) => commands::list(if done {
            Some(true)
        } else if pending {
            Some(false)
        } else {
            None
        }),
        Some(Command::Check { name, all }) => commands::check(name, all).await,
        Some(Command::Hint { name }) => commands::hint(&name),
        Some(Command::Reset { name, yes }) => commands::reset(&name, yes),
        Some(Command::Solution { name, force }) => commands::solution(&name, force),
        Some(Command::Quiz { name }) => quiz_cmd::run(&name),
        Some(Command::Progress { json }) => commands::progress(json),
        Some(Command::Doctor) => doctor::run().await,
        Some(Command::Answers {
            name,
            file,
            template,
        }) => answers::run(&name, file, template),
        Some(Command::Lab { action }) => {
            lab_command(action).await.map(|()| ExitCode::SUCCESS)
        }
    }
}

async fn lab_command(action: LabAction) -> anyhow::Result<()> {
    match action {
        LabAction::Install => {
            let started = std::time::Instant::now();
            lab::install_native().await?;
            println!(
                "Native lab ready ({:.1} s).",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        LabAction::Up { topologies, all } => {
            let topologies: Vec<Topology> = if all {
                Topology::ALL.to_vec()
            } else if topologies.is_empty() {
                vec![Topology::Rabbit, Topology::Kafka]
            } else {
                topologies.into_iter().map(Topology::from).collect()
            };
            up(&topologies).await
        }
        LabAction::Down => {
            let lab = lab::lab().await?;
            lab.down().await?;
            println!("Stopped the {} lab.", lab.kind());
            Ok(())
        }
        LabAction::Status => status().await,
    }
}

async fn up(topologies: &[Topology]) -> anyhow::Result<()> {
    let lab = lab::lab().await?;
    println!("Using the {} lab ({}).", lab.kind(), lab.reason());
    for topology in topologies {
        let step = lab::Progress::step(format!("starting the {topology}"));
        let addresses = lab.up(*topology).await?;
        step.done(&format!(": {}", addresses.join(", ")));
    }
    print_versions(topologies).await;
    Ok(())
}

async fn status() -> anyhow::Result<()> {
    let lab = lab::lab().await?;
    println!("Lab: {} ({})", lab.kind(), lab.reason());
    for (topology, nodes) in lab.status().await {
        let up = nodes.iter().filter(|up| **up).count();
        let state = match up {
            0 => "stopped".to_string(),
            n if n == nodes.len() => "running".to_string(),
            n => format!("{n} of {} nodes running", nodes.len()),
        };
        println!("  {:<24} {state}", topology.to_string());
    }
    let running: Vec<Topology> = lab
        .status()
        .await
        .into_iter()
        .filter(|(_, nodes)| nodes.iter().all(|up| *up))
        .map(|(t, _)| t)
        .collect();
    print_versions(&running).await;
    Ok(())
}

/// Prints the versions the running brokers report about themselves.
async fn print_versions(topologies: &[Topology]) {
    for topology in topologies {
        let version = if topology.is_rabbit() {
            match lab::rabbit_for(*topology).await {
                Ok(rabbit) => rabbit
                    .server_version()
                    .await
                    .map(|v| format!("RabbitMQ {v}")),
                Err(error) => Err(error),
            }
        } else {
            match lab::kafka_for(*topology).await {
                Ok(kafka) => kafka.server_version().await.map(|v| format!("Kafka {v}")),
                Err(error) => Err(error),
            }
        };
        match version {
            Ok(version) => println!("  {topology}: {version} running"),
            Err(error) => println!("  {topology}: version unknown ({error})"),
        }
    }
}

//! Authoring and CI tasks: `cargo xtask <task>`.
//!
//! - `test`: the whole test suite against real brokers. If this machine has no way
//!   of getting brokers yet (no Docker, no native lab, no addresses), it installs
//!   the native lab first, so the command works on a fresh Debian/Ubuntu machine.
//! - `check`: info.toml, crates, solutions, chapters, quizzes and proofs agree;
//!   solutions pass, untouched exercises fail, proofs pass, the book builds.
//! - `book`: build the book with pinned mdBook tools (installed if missing).
//! - `browser-test`: open the built book in headless Chromium and use its quiz.
//! - `measure-lab`: how long the lab takes to get each topology ready, from stopped.
//! - `timings`: what a room waits for per chapter, and the instructors' pages
//!   (timings table, agendas) built from it.
//! - `repeat`: chapters' checks and proofs together, several runs in a row, a line
//!   per run (flakiness shows before CI finds it).

mod book;
mod browser;
mod cargo;
mod check;
mod notes;
mod repeat;
mod results;
mod snapshots;
mod timings;
mod wrong;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use lab::{LabError, Topology};

#[derive(Parser)]
#[command(about = "brokerlings authoring and CI tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run every test of the workspace against real brokers (installs the native lab if needed).
    Test {
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// Check that every chapter is complete and honest (prints a table).
    Check {
        /// Only the checks that read files (no builds, no brokers, no book).
        #[arg(long)]
        static_only: bool,
        /// Run the dynamic checks (solution, untouched exercise, wrong solutions) of
        /// these exercises only, e.g. `--exercise 06_exchanges`; repeatable.
        #[arg(long = "exercise", value_name = "NAME")]
        exercises: Vec<String>,
    },
    /// Build the book into book/book (installs the pinned mdBook tools if missing).
    Book,
    /// Open the built book in headless Chromium: diagram, quiz, feedback.
    BrowserTest,
    /// Measure broker start-up: single nodes, then both 3-node clusters, from stopped.
    MeasureLab,
    /// Measure what a room waits for per chapter; write the timings and agenda pages.
    Timings {
        /// Only render the pages from book/timings.toml (measure nothing).
        #[arg(long)]
        render: bool,
        /// Also measure the lab's start (stops the lab first).
        #[arg(long)]
        lab: bool,
        /// Measure these exercises only, e.g. `--exercise 06_routing`; repeatable.
        #[arg(long = "exercise", value_name = "NAME")]
        exercises: Vec<String>,
    },
    /// Run chapters' checks (on their solutions) and proofs together, several times in a row.
    Repeat {
        /// How many runs in a row.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
        runs: u32,
        /// The chapters, e.g. `--exercise 10_quorum_replication`; repeatable.
        #[arg(long = "exercise", value_name = "NAME", required = true)]
        exercises: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Runtime::new()
        .context("starting the async runtime")
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", lab::error::one_line(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.task {
        Task::Test { cargo_args } => test(&cargo_args).await,
        Task::Check {
            static_only,
            exercises,
        } => run_check(static_only, &exercises),
        Task::Book => {
            let built = book::build(&root())?;
            println!("Book built: {}", built.join("index.html").display());
            Ok(ExitCode::SUCCESS)
        }
        Task::BrowserTest => {
            let built = book::build(&root())?;
            browser::run(&built).await?;
            Ok(ExitCode::SUCCESS)
        }
        Task::MeasureLab => measure_lab().await.map(|_| ExitCode::SUCCESS),
        Task::Timings {
            render,
            lab,
            exercises,
        } => {
            let root = root();
            let workbook = workbook::Workbook::find(&root)?;
            for name in &exercises {
                workbook.exercise(name)?;
            }
            if render {
                timings::render_to_files(&root)?;
            } else {
                timings::measure(&root, &exercises, lab).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Task::Repeat { runs, exercises } => {
            let root = root();
            let workbook = workbook::Workbook::find(&root)?;
            let chosen = exercises
                .iter()
                .map(|name| workbook.exercise(name))
                .collect::<Result<Vec<_>, _>>()?;
            repeat::run(&root, &chosen, runs)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The cargo target directory of the checkout at `root` (`$CARGO_TARGET_DIR` if set).
pub fn target_dir(root: &std::path::Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
}

/// The workspace root: found from the current directory (cargo runs xtask where it
/// was invoked), else the one xtask was compiled in.
fn root() -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|dir| workbook::find_root(&dir))
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(PathBuf::from)
                .expect("xtask lives inside the workspace")
        })
}

fn run_check(static_only: bool, only: &[String]) -> Result<ExitCode> {
    let root = root();
    let workbook = workbook::Workbook::find(&root)?;
    for name in only {
        workbook.exercise(name)?;
    }
    let mut report = check::static_checks(&root);
    if !static_only {
        report.0.extend(check::run_checks(&root, only).0);
        report.0.push(match book::build(&root) {
            Ok(_) => check::Row {
                check: "book builds",
                subject: "book".into(),
                problem: None,
            },
            Err(error) => check::Row {
                check: "book builds",
                subject: "book".into(),
                problem: Some(lab::error::one_line(&format!("{error:#}"))),
            },
        });
    }
    println!("{report}");
    for problem in report.problems() {
        eprintln!("error: {problem}");
    }
    Ok(if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn test(cargo_args: &[String]) -> Result<ExitCode> {
    match lab::lab().await {
        Ok(lab) => println!("Brokers: the {} lab ({}).", lab.kind(), lab.reason()),
        Err(LabError::NoBackend) if lab::can_install_native() => {
            println!(
                "No Docker, no native lab, no broker addresses: installing the native lab once."
            );
            lab::install_native(&|event| {
                if let lab::InstallEvent::Finished { step, note, took } = event {
                    println!("  ✓ {step}{note} ({:.1} s)", took.as_secs_f64());
                }
            })
            .await?;
        }
        Err(error) => return Err(error.into()),
    }
    // The untouched exercises fail by design; their checks run against the
    // solutions, and `cargo xtask check` makes sure the exercises do fail.
    let root = root();
    let info = workbook::Info::load(&root)?;
    results::forget(&root);
    let before = results::fingerprint(&root)?;
    let mut command = cargo::command(&root);
    command.args(["test", "--workspace"]);
    for exercise in &info.exercises {
        command.args(["--exclude", &exercise.exercise_package()]);
    }
    let status = command
        .args(cargo_args)
        .status()
        .context("running cargo test")?;
    if !status.success() {
        return Ok(ExitCode::FAILURE);
    }
    // Only the whole suite counts as proven: with filters, some tests did not run.
    if cargo_args.is_empty() {
        results::record_pass(&root, &before)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Stops the lab, then starts the singles and then both clusters; the seconds each
/// took to be ready.
pub async fn measure_lab() -> Result<Vec<f64>> {
    let lab = lab::lab().await?;
    if lab.kind() == lab::BackendKind::External {
        bail!("the external lab's brokers run elsewhere: nothing to measure");
    }
    println!(
        "Measuring the {} lab. Stopping everything first.",
        lab.kind()
    );
    lab.down().await?;
    let rows = [
        (
            "single RabbitMQ + single Kafka",
            vec![Topology::Rabbit, Topology::Kafka],
            15,
        ),
        (
            "both 3-node clusters",
            vec![Topology::RabbitCluster, Topology::KafkaCluster],
            60,
        ),
    ];
    let mut ready = Vec::new();
    for (what, topologies, target) in rows {
        let started = Instant::now();
        // Started together, as a test run that needs both would start them.
        let ups = topologies.iter().map(|t| lab.up(*t));
        for result in futures::future::join_all(ups).await {
            result?;
        }
        let took = started.elapsed().as_secs_f64();
        let verdict = if took <= f64::from(target) {
            "within"
        } else {
            "OVER"
        };
        println!(
            "measure-lab: {what} ready in {took:.1} s ({verdict} the {target} s target)"
        );
        ready.push(took);
    }
    Ok(ready)
}

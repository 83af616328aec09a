//! `lab install | up | down | status`: the broker lab the checks run against.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use lab::Topology;

use crate::spinner::{InstallView, Spinner};

/// Installs the native lab, showing each step.
pub async fn install() -> Result<ExitCode> {
    let started = Instant::now();
    println!("Native lab in {}", lab::home().display());
    let view = InstallView::default();
    lab::install_native(&|event| view.show(event)).await?;
    println!(
        "Native lab ready ({:.1} s).",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Starts `topologies` and waits until each answers; prints the running versions.
pub async fn up(topologies: &[Topology]) -> Result<ExitCode> {
    let lab = lab::lab().await?;
    println!("Using the {} lab ({}).", lab.kind(), lab.reason());
    for topology in topologies {
        let spinner = Spinner::start(format!("starting the {topology}"));
        let endpoints = lab.up(*topology).await?;
        let shown: Vec<String> = endpoints.iter().map(ToString::to_string).collect();
        spinner.done(&format!(": {}", shown.join(", ")));
    }
    print_versions(topologies).await;
    Ok(ExitCode::SUCCESS)
}

/// Stops every broker of the lab.
pub async fn down() -> Result<ExitCode> {
    let lab = lab::lab().await?;
    lab.down().await?;
    println!("Stopped the {} lab.", lab.kind());
    Ok(ExitCode::SUCCESS)
}

/// Which backend serves this machine, what runs, and the versions running.
pub async fn status() -> Result<ExitCode> {
    let lab = lab::lab().await?;
    println!("Lab: {} ({})", lab.kind(), lab.reason());
    let mut running = Vec::new();
    for (topology, nodes) in lab.status().await {
        let up = nodes.iter().filter(|up| **up).count();
        let state = match up {
            0 => "stopped".to_string(),
            n if n == nodes.len() => "running".to_string(),
            n => format!("{n} of {} nodes running", nodes.len()),
        };
        println!("  {:<24} {state}", topology.to_string());
        if up == nodes.len() {
            running.push(topology);
        }
    }
    print_versions(&running).await;
    Ok(ExitCode::SUCCESS)
}

/// Prints the versions the running brokers report about themselves.
async fn print_versions(topologies: &[Topology]) {
    for topology in topologies {
        let version = match topology.broker() {
            lab::Broker::RabbitMq => match lab::rabbit_for(*topology).await {
                Ok(rabbit) => rabbit
                    .server_version()
                    .await
                    .map(|v| format!("RabbitMQ {v}")),
                Err(error) => Err(error),
            },
            lab::Broker::Kafka => match lab::kafka_for(*topology).await {
                Ok(kafka) => kafka.server_version().await.map(|v| format!("Kafka {v}")),
                Err(error) => Err(error),
            },
        };
        match version {
            Ok(version) => println!("  {topology}: {version} running"),
            Err(error) => println!("  {topology}: version unknown ({error})"),
        }
    }
}

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

/// Builds the brokers' Docker images on this machine, showing each step.
pub async fn images() -> Result<ExitCode> {
    let started = Instant::now();
    let view = InstallView::default();
    let built = lab::build_images(&|event| view.show(event)).await?;
    for image in &built {
        let how = if image.unchanged {
            "unchanged"
        } else {
            "built"
        };
        println!("  {} ({how})", image.name);
    }
    println!(
        "Images ready ({:.1} s). The containers lab uses them when the official images are not here, \
         or set BROKERLINGS_RABBITMQ_IMAGE / BROKERLINGS_KAFKA_IMAGE to them.",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// The lab of this process; on a machine with no Docker, no native lab and no
/// broker addresses, installs the native lab first where it can (Debian-family, as
/// root), telling `step` what it is doing, so a learner's first command works.
pub async fn lab_or_install(step: &(dyn Fn(String) + Sync)) -> Result<&'static lab::Lab> {
    match lab::lab().await {
        Err(lab::LabError::NoBackend) if lab::can_install_native() => {
            // The install reports through a plain `Fn`, so it runs on a thread of
            // its own and its steps come back over a channel.
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let install = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(lab::install_native(&|event| {
                    let _ = tx.send(event);
                }))?;
                anyhow::Ok(())
            });
            while let Some(event) = rx.recv().await {
                if let lab::InstallEvent::Started(what) = event {
                    step(format!(
                        "no Docker and no lab yet: installing the native lab once · {what}"
                    ));
                }
            }
            install
                .join()
                .map_err(|_| anyhow::anyhow!("the native lab's install stopped"))??;
            Ok(lab::lab().await?)
        }
        other => Ok(other?),
    }
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
    let lab = match lab::lab().await {
        Ok(lab) => lab,
        // A native lab that is not installed runs nothing: there is nothing to stop.
        Err(lab::LabError::NotInstalled) => {
            println!("Nothing to stop: the native lab is not installed.");
            return Ok(ExitCode::SUCCESS);
        }
        Err(error) => return Err(error.into()),
    };
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

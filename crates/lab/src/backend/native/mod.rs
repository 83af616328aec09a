//! Real brokers as local processes, for machines without Docker.
//!
//! - RabbitMQ 4.0 from Debian packages: on a host whose own packages are older (Debian
//!   12 ships 3.10), inside a Debian 13 chroot made with debootstrap; on a host whose
//!   packages give 4.0 or newer, from those.
//! - Kafka 4.x from its jars on Maven Central, run with the system Java (17+).
//!
//! Everything lives under the lab's home (`$BROKERLINGS_HOME`, default
//! `~/.local/share/brokerlings`): `native/` holds the installs, `run/<node>/` each
//! node's pid file, configuration, data and log. Brokers run detached, so every test
//! binary of a run (and the CLI) shares them until `lab down`.

mod install;
mod kafka;
mod process;
mod rabbitmq;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::join_all;

pub use install::{Progress, install_native};

use crate::{LabError, NodeLayout, Result, Topology, lease, probe, versions};

/// How long one node gets to come up before we give up and point at its log.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Whether both brokers are installed for the native lab.
pub fn native_installed() -> bool {
    let dirs = Dirs::new(crate::select::home());
    dirs.rabbit_marker().exists() && dirs.kafka_marker().exists()
}

/// The lab's directories.
#[derive(Debug, Clone)]
pub(crate) struct Dirs {
    home: PathBuf,
}

impl Dirs {
    pub(crate) fn new(home: PathBuf) -> Dirs {
        Dirs { home }
    }
    fn rabbit_install(&self) -> PathBuf {
        self.home
            .join("native")
            .join(format!("rabbitmq-{}", versions::RABBITMQ_VERSION))
    }
    fn rabbit_marker(&self) -> PathBuf {
        self.rabbit_install().join("installed")
    }
    fn kafka_install(&self) -> PathBuf {
        self.home
            .join("native")
            .join(format!("kafka-{}", versions::KAFKA_VERSION))
    }
    fn kafka_marker(&self) -> PathBuf {
        self.kafka_install().join("installed")
    }
    fn run(&self, node: NodeLayout) -> PathBuf {
        self.home.join("run").join(node.name())
    }
}

/// The native backend, once it is installed.
pub(crate) struct Native {
    dirs: Dirs,
    rabbit: rabbitmq::RabbitInstall,
    kafka: kafka::KafkaInstall,
}

impl Native {
    pub(crate) fn open() -> Result<Native> {
        let dirs = Dirs::new(crate::select::home());
        if !native_installed() {
            return Err(LabError::Unavailable {
                backend: "native",
                reason:
                    "it is not installed: run `cargo run -p brokerlings -- lab install`"
                        .into(),
            });
        }
        let rabbit = rabbitmq::RabbitInstall::load(&dirs)?;
        let kafka = kafka::KafkaInstall::load(&dirs);
        Ok(Native {
            dirs,
            rabbit,
            kafka,
        })
    }

    /// Whether any node of any topology runs (a lab somebody brought up).
    pub(crate) fn any_running(&self) -> bool {
        Topology::ALL
            .into_iter()
            .any(|t| self.running(t).into_iter().any(|up| up))
    }

    pub(crate) fn running(&self, topology: Topology) -> Vec<bool> {
        topology
            .nodes()
            .map(|node| process::alive(&self.dirs.run(node)).is_some())
            .collect()
    }

    pub(crate) async fn ensure(&self, topology: Topology) -> Result<Vec<String>> {
        let _starting = lease::exclusive(
            &format!("{}.start", topology.slug()),
            START_TIMEOUT * 3,
            &format!("another process to finish starting the {topology}"),
        )
        .await?;
        let missing: Vec<NodeLayout> = topology
            .nodes()
            .filter(|node| process::alive(&self.dirs.run(*node)).is_none())
            .collect();
        for node in &missing {
            for port in node.host_ports() {
                process::port_free(port, &node.to_string())?;
            }
        }
        let starts = missing.iter().map(|node| self.spawn(*node));
        for result in join_all(starts).await {
            result?;
        }
        let waits = topology.nodes().map(|node| self.wait_ready(node));
        for result in join_all(waits).await {
            result?;
        }
        if topology == Topology::RabbitCluster {
            self.rabbit
                .await_cluster(&self.dirs, topology.node(1), START_TIMEOUT)
                .await?;
        }
        Ok(topology.nodes().map(NodeLayout::client_address).collect())
    }

    pub(crate) async fn stop_node(&self, node: NodeLayout, kill: bool) -> Result<()> {
        process::stop(
            &self.dirs.run(node),
            kill,
            process::STOP_TIMEOUT,
            &node.to_string(),
        )
        .await
    }

    pub(crate) async fn start_node(&self, node: NodeLayout) -> Result<()> {
        if process::alive(&self.dirs.run(node)).is_none() {
            for port in node.host_ports() {
                process::port_free(port, &node.to_string())?;
            }
            self.spawn(node).await?;
        }
        self.wait_ready(node).await
    }

    /// The version from the node's log line "Kafka version: X".
    pub(crate) fn kafka_version(&self, node: NodeLayout) -> Result<String> {
        let log = process::log_path(&self.dirs.run(node));
        let text = std::fs::read_to_string(&log)
            .map_err(LabError::io(format!("reading {}", log.display())))?;
        text.lines()
            .rev()
            .find_map(|line| line.split("Kafka version: ").nth(1))
            .map(|rest| rest.split_whitespace().next().unwrap_or(rest).to_string())
            .ok_or_else(|| {
                LabError::step(
                    "reading the Kafka version",
                    format!("no version line in {}", log.display()),
                )
            })
    }

    pub(crate) async fn down(&self) -> Result<()> {
        // All nodes stop together, so a Kafka cluster loses its controller quorum and
        // its brokers cannot finish a controlled shutdown: a short grace, then a kill.
        let grace = Duration::from_secs(10);
        let stops =
            Topology::ALL
                .into_iter()
                .flat_map(Topology::nodes)
                .map(|node| async move {
                    process::stop(&self.dirs.run(node), false, grace, &node.to_string())
                        .await
                });
        for result in join_all(stops).await {
            result?;
        }
        Ok(())
    }

    async fn spawn(&self, node: NodeLayout) -> Result<()> {
        let run = self.dirs.run(node);
        create_dir(&run)?;
        if node.topology.is_rabbit() {
            self.rabbit.spawn(&self.dirs, node).await
        } else {
            self.kafka.spawn(&run, node).await
        }
    }

    async fn wait_ready(&self, node: NodeLayout) -> Result<()> {
        let run = self.dirs.run(node);
        let address = node.client_address();
        let size = node.topology.size();
        let what = format!("{node} to answer at {}", probe::redact(&address));
        let ready =
            crate::until(START_TIMEOUT, &what, Duration::from_millis(250), || {
                let address = address.clone();
                let run = run.clone();
                async move {
                    if process::alive(&run).is_none() {
                        return Err(LabError::step(
                            format!("starting {node}"),
                            format!(
                                "the process exited; see {}",
                                process::log_path(&run).display()
                            ),
                        ));
                    }
                    if node.topology.is_rabbit() {
                        probe::rabbit_ready(&address).await
                    } else {
                        probe::kafka_ready(&address, size).await
                    }
                }
            })
            .await;
        ready.map_err(|error| match error {
            LabError::Timeout { what, after } => LabError::Timeout {
                what: format!("{what}; its log: {}", process::log_path(&run).display()),
                after,
            },
            other => other,
        })
    }
}

/// Reads a small text file, if it exists.
fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Writes a file of the lab, saying which one failed.
fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .map_err(LabError::io(format!("writing {}", path.display())))
}

/// Creates a directory of the lab (and its parents).
fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path)
        .map_err(LabError::io(format!("creating {}", path.display())))
}

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

mod images;
mod install;
mod kafka;
mod process;
mod rabbitmq;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::join_all;

pub use images::{BuiltImage, build_images, local_image};
pub use install::{InstallEvent, can_install_native, install_native};
pub(crate) use process::port_free;

use crate::node::NodeSpec;
use crate::placement::Placement;
use crate::{LabError, NodeLayout, Result, Topology, versions};

/// How long one node gets to come up before we give up and point at its log.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Whether both brokers are installed for the native lab.
pub fn native_installed() -> bool {
    let dirs = Dirs::new(crate::home());
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
    fn install(&self, what: &str, version: &str) -> PathBuf {
        self.home.join("native").join(format!("{what}-{version}"))
    }
    fn rabbit_install(&self) -> PathBuf {
        self.install("rabbitmq", versions::RABBITMQ_VERSION)
    }
    fn rabbit_marker(&self) -> PathBuf {
        self.rabbit_install().join("installed")
    }
    fn kafka_install(&self) -> PathBuf {
        self.install("kafka", versions::KAFKA_VERSION)
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
        let dirs = Dirs::new(crate::home());
        if !native_installed() {
            return Err(LabError::NotInstalled);
        }
        let rabbit = rabbitmq::RabbitInstall::load(&dirs);
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
            .flat_map(Topology::nodes)
            .any(|node| self.running(node))
    }

    pub(crate) fn running(&self, node: NodeLayout) -> bool {
        process::alive(&self.dirs.run(node)).is_some()
    }

    /// Renders `node`'s description into its run folder and starts it detached.
    pub(crate) async fn start(&self, node: NodeLayout) -> Result<()> {
        if self.running(node) {
            return Ok(());
        }
        let run = self.dirs.run(node);
        create_dir(&run)?;
        match NodeSpec::new(node, &Placement::Loopback) {
            NodeSpec::Rabbit(spec) => self.rabbit.spawn(&self.dirs, &spec).await,
            NodeSpec::Kafka(spec) => {
                let spec = spec.with_data_dir(&run.join("data"));
                self.kafka.spawn(&run, &spec).await
            }
        }
    }

    pub(crate) async fn stop(&self, node: NodeLayout, kill: bool) -> Result<()> {
        let run = self.dirs.run(node);
        process::stop(&run, kill, process::STOP_TIMEOUT, &node.to_string()).await
    }

    pub(crate) fn log_path(&self, node: NodeLayout) -> PathBuf {
        process::log_path(&self.dirs.run(node))
    }

    pub(crate) fn log(&self, node: NodeLayout) -> Result<String> {
        let log = self.log_path(node);
        std::fs::read_to_string(&log)
            .map_err(LabError::io(format!("reading {}", log.display())))
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

//! Which backend gives this run its brokers.
//!
//! The order, first match wins:
//! 1. `BROKERLINGS_LAB=containers|native|external`: an explicit choice;
//! 2. `external`, if any `BROKERLINGS_AMQP_*` / `BROKERLINGS_KAFKA_*` address is set;
//! 3. `native`, if native brokers are already running (`lab up` was used);
//! 4. `containers`, if Docker answers;
//! 5. `native`, if it is installed;
//! 6. else [`LabError::NoBackend`], which names the ways to get brokers.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::backend::{Backend, containers, external, native};
use crate::{LabError, Result, Topology};

/// The environment variable that picks a backend explicitly.
pub const LAB_VAR: &str = "BROKERLINGS_LAB";

/// The three ways of getting brokers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Docker containers started through testcontainers.
    Containers,
    /// Local processes (RabbitMQ in a Debian 13 chroot, Kafka from its jars).
    Native,
    /// Brokers somebody else runs (docker compose, a classroom server).
    External,
}

impl BackendKind {
    /// The name used in `BROKERLINGS_LAB` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Containers => "containers",
            BackendKind::Native => "native",
            BackendKind::External => "external",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = LabError;

    fn from_str(value: &str) -> Result<Self> {
        match value {
            "containers" | "docker" => Ok(BackendKind::Containers),
            "native" => Ok(BackendKind::Native),
            "external" => Ok(BackendKind::External),
            _ => Err(LabError::BadSetting {
                name: LAB_VAR,
                value: value.into(),
                expected: "one of containers, native, external".into(),
            }),
        }
    }
}

/// The lab of this process: the chosen backend and why it was chosen.
pub struct Lab {
    pub(crate) backend: Backend,
    reason: String,
}

impl Lab {
    /// Which backend serves this run.
    pub fn kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// Why that backend was chosen, in words for `lab status` and `doctor`.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Stops every broker of this lab (native: processes; containers: removes them).
    pub async fn down(&self) -> Result<()> {
        self.backend.down().await
    }

    /// For each topology, whether each of its nodes is running now.
    pub async fn status(&self) -> Vec<(Topology, Vec<bool>)> {
        let mut rows = Vec::new();
        for topology in Topology::ALL {
            rows.push((topology, self.backend.running(topology).await));
        }
        rows
    }

    /// Starts `topology` (if it is not running) and waits until it is ready.
    pub async fn up(&self, topology: Topology) -> Result<Vec<String>> {
        let _lease = crate::lease::Lease::take(topology, crate::Access::Shared).await?;
        self.backend.ensure(topology).await
    }
}

static LAB: OnceCell<Lab> = OnceCell::const_new();

/// The lab of this process, chosen on first use (see the module docs for the order).
pub async fn lab() -> Result<&'static Lab> {
    LAB.get_or_try_init(choose).await
}

async fn choose() -> Result<Lab> {
    if let Some(value) = std::env::var(LAB_VAR).ok().filter(|v| !v.is_empty()) {
        let kind: BackendKind = value.parse()?;
        let backend = match kind {
            BackendKind::External => Backend::External(external::External::from_env()?),
            BackendKind::Native => Backend::Native(native::Native::open()?),
            BackendKind::Containers => {
                docker_answers()
                    .await
                    .map_err(|reason| LabError::Unavailable {
                        backend: "containers",
                        reason,
                    })?;
                Backend::Containers(containers::Containers::new())
            }
        };
        return Ok(Lab {
            backend,
            reason: format!("{LAB_VAR}={value}"),
        });
    }
    if external::External::configured() {
        let reason = "BROKERLINGS_AMQP_* / BROKERLINGS_KAFKA_* addresses are set".into();
        return Ok(Lab {
            backend: Backend::External(external::External::from_env()?),
            reason,
        });
    }
    if native::native_installed() {
        let native = native::Native::open()?;
        if native.any_running() {
            let reason = "native brokers are already running".into();
            return Ok(Lab {
                backend: Backend::Native(native),
                reason,
            });
        }
    }
    match docker_answers().await {
        Ok(()) => {
            let reason = "Docker answers".into();
            Ok(Lab {
                backend: Backend::Containers(containers::Containers::new()),
                reason,
            })
        }
        Err(_) if native::native_installed() => {
            let reason = "no Docker; the native lab is installed".into();
            Ok(Lab {
                backend: Backend::Native(native::Native::open()?),
                reason,
            })
        }
        Err(_) => Err(LabError::NoBackend),
    }
}

/// Whether a Docker engine answers a ping within a few seconds.
pub async fn docker_answers() -> std::result::Result<(), String> {
    use testcontainers_modules::testcontainers::core::client::docker_client_instance;
    let ping = async {
        let docker = docker_client_instance().await.map_err(|e| e.to_string())?;
        docker.ping().await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(Duration::from_secs(5), ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(format!(
            "Docker does not answer: {}",
            crate::error::one_line(&error)
        )),
        Err(_) => Err("Docker did not answer within 5 s".into()),
    }
}

/// Where the lab keeps installs, running state and locks: `$BROKERLINGS_HOME`, else
/// `~/.local/share/brokerlings` (the platform's data directory).
pub fn home() -> PathBuf {
    if let Some(home) = std::env::var_os("BROKERLINGS_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("brokerlings")
}

//! Which backend gives this run its brokers, and why.
//!
//! The order, first match wins:
//! 1. `BROKERLINGS_LAB=containers|native|external`: an explicit choice;
//! 2. `external`, if any `BROKERLINGS_AMQP_*` / `BROKERLINGS_KAFKA_*` address is set;
//! 3. `native`, if native brokers are already running (`lab up` was used);
//! 4. `containers`, if Docker answers (on this machine) and has the brokers'
//!    images, or the native lab is not installed (the images are then pulled);
//! 5. `native`, if it is installed;
//! 6. else [`LabError::NoBackend`].

use std::time::Duration;

use crate::backend::{Backend, BackendKind, containers, external, native};
use crate::{LabError, Result};

/// The environment variable that picks a backend explicitly.
pub const LAB_VAR: &str = "BROKERLINGS_LAB";

/// Parses a value of [`LAB_VAR`].
fn parse(value: &str) -> Result<BackendKind> {
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

/// Chooses the backend (see the module docs for the order) and says why.
pub(crate) async fn choose() -> Result<(Backend, String)> {
    if let Some(value) = std::env::var(LAB_VAR).ok().filter(|v| !v.is_empty()) {
        let backend = open(parse(&value)?).await?;
        return Ok((backend, format!("{LAB_VAR}={value}")));
    }
    if external::External::configured() {
        let reason = "BROKERLINGS_AMQP_* / BROKERLINGS_KAFKA_* addresses are set";
        return Ok((open(BackendKind::External).await?, reason.into()));
    }
    if native::native_installed() {
        let native = native::Native::open()?;
        if native.any_running() {
            let reason = "native brokers are already running";
            return Ok((Backend::Native(native), reason.into()));
        }
    }
    let docker = docker_answers()
        .await
        .and_then(|()| containers::docker_host_is_local());
    match docker {
        Ok(()) => {
            let missing = containers::missing_images().await;
            if !missing.is_empty() && native::native_installed() {
                let reason = format!(
                    "Docker answers, but {} not here and the native lab is installed",
                    missing.join(" and ")
                );
                return Ok((Backend::Native(native::Native::open()?), reason));
            }
            let reason = if missing.is_empty() {
                "Docker answers and has the images".to_string()
            } else {
                format!("Docker answers; {} will be pulled", missing.join(" and "))
            };
            Ok((Backend::Containers(containers::Containers::new()), reason))
        }
        Err(_) if native::native_installed() => Ok((
            Backend::Native(native::Native::open()?),
            "no Docker; the native lab is installed".into(),
        )),
        Err(_) => Err(LabError::NoBackend),
    }
}

/// The backend of `kind`, if it is usable here.
async fn open(kind: BackendKind) -> Result<Backend> {
    Ok(match kind {
        BackendKind::External => Backend::External(external::External::from_env()?),
        BackendKind::Native => Backend::Native(native::Native::open()?),
        BackendKind::Containers => {
            docker_answers()
                .await
                .and_then(|()| containers::docker_host_is_local())
                .map_err(|reason| LabError::Unavailable {
                    backend: "containers",
                    reason,
                })?;
            Backend::Containers(containers::Containers::new())
        }
    })
}

/// The version of the Docker engine, if one answers within a few seconds.
pub async fn docker_version() -> std::result::Result<String, String> {
    docker_answers().await?;
    use testcontainers_modules::testcontainers::core::client::docker_client_instance;
    let version = async {
        let docker = docker_client_instance().await.map_err(|e| e.to_string())?;
        docker.version().await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(Duration::from_secs(5), version).await {
        Ok(Ok(version)) => Ok(version.version.unwrap_or_else(|| "unknown".into())),
        Ok(Err(error)) => Err(crate::error::one_line(&error)),
        Err(_) => Err("Docker did not say its version within 5 s".into()),
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
